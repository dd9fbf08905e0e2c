/* SPDX-License-Identifier: MIT */
/**
 * @file hwsim.h
 * @brief Calls that only hwsim (the software DPU) answers: put packets on
 *        its ports, read what left them, drive its engine and inject
 *        faults. The hwsim backend answers them all; a pci: device that is
 *        hwsim behind its PCIe front end (dpak-hwsim-pci(8)) answers them
 *        over the interface's test harness (docs/device-interface.md 7.12),
 *        all but the pcap calls; other devices return -EOPNOTSUPP.
 *
 * hwsim runs its pipeline when dpak_hwsim_run() is called (step mode, the
 * default, deterministic), or in its own engine thread when opened with
 * "hwsim:engine=thread".
 */
#ifndef DPAK_HWSIM_H
#define DPAK_HWSIM_H

#include <dpak/device.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Put a packet on a port's wire, as if it arrived from outside.
 *
 * The frame is copied into the port's receive ring; the device processes it
 * on the next dpak_hwsim_run() (step mode) or at once (engine thread).
 *
 * @param dev  an hwsim device.
 * @param port the port it arrives on.
 * @param pkt  an Ethernet frame without FCS.
 * @param len  its length, 14 .. 9224 bytes (a 9216-byte jumbo frame, or
 *             an MTU of 9202 with two VLAN tags).
 * @return 0, -EINVAL (length, NULL), -ENOENT (port), -ENOBUFS (receive ring
 *         full; the packet is counted in the port's drops), -EBUSY (the
 *         port takes its input from an attachment), -EOPNOTSUPP (not hwsim).
 * @par Thread safety
 * One thread at a time per port.
 */
DPAK_API int dpak_hwsim_inject(struct dpak_dev *dev, uint32_t port,
			       const void *pkt, size_t len);

/**
 * Take the oldest packet that the device sent out of a port.
 *
 * On a bond (see <dpak/bond.h>), the oldest packet one of its members sent,
 * the members taken in turn: what the bond sent, whichever member carried
 * it. The other calls here that take a port refuse a bond (-EINVAL): they
 * act on a member's port; only dpak_hwsim_pcap() with DPAK_HWSIM_PCAP_OUT
 * and dpak_hwsim_pcap_stats() take a bond too.
 *
 * @param dev  an hwsim device.
 * @param port the port, or a bond.
 * @param buf  where to copy the frame.
 * @param cap  size of @p buf.
 * @return the frame's length, -EAGAIN (nothing sent), -ENOENT (port),
 *         -EMSGSIZE (@p cap too small; the packet stays queued), -EINVAL
 *         (NULL), -EBUSY (the port sends to an attached interface),
 *         -EOPNOTSUPP (not hwsim).
 * @par Thread safety
 * One thread at a time per port.
 */
DPAK_API ssize_t dpak_hwsim_capture(struct dpak_dev *dev, uint32_t port,
				    void *buf, size_t cap);

/**
 * Run the device's pipeline in the calling thread (step mode).
 *
 * @param dev    an hwsim device opened without engine=thread.
 * @param budget the most packets to process; 0 means all that are waiting.
 * @return the number of packets processed, -EBUSY (the device runs its own
 *         engine thread), -EINVAL (NULL) or -EOPNOTSUPP (not hwsim).
 * @par Thread safety
 * One thread at a time per device.
 */
DPAK_API int dpak_hwsim_run(struct dpak_dev *dev, unsigned int budget);

/**
 * Take a port's link down or up.
 *
 * A port whose link is down neither receives nor sends: packets sent to it
 * are dropped and counted in the drops of the port they came in on.
 *
 * @param dev  an hwsim device.
 * @param port the port.
 * @param up   1: link up; 0: link down.
 * @return 0, -ENOENT, -EINVAL (NULL) or -EOPNOTSUPP.
 * @par Thread safety
 * Safe from any thread.
 */
DPAK_API int dpak_hwsim_set_link(struct dpak_dev *dev, uint32_t port, int up);

/**
 * Make the device fail its next @p count flow operations (add, delete,
 * replace) with @p err, as a real device might when busy or broken.
 *
 * @param dev   an hwsim device.
 * @param count operations to fail; 0 stops failing.
 * @param err   negative errno to return, e.g. -EIO.
 * @return 0, -EINVAL (@p err not negative while @p count is not 0) or
 *         -EOPNOTSUPP.
 * @par Thread safety
 * Safe from any thread.
 */
DPAK_API int dpak_hwsim_fail_flow_ops(struct dpak_dev *dev, unsigned int count,
				      int err);

/**
 * Attach a port to a Linux network interface, so that real traffic crosses
 * the simulated device: frames received on the interface enter the port,
 * frames the device sends out of the port leave through the interface.
 *
 * Uses an AF_PACKET socket with shared receive and transmit rings (needs
 * CAP_NET_RAW); brings the interface up and puts it in promiscuous mode.
 * The port takes the interface's MTU (see dpak_port_set_mtu()); the rings
 * are sized for frames of that MTU, so raise an interface's MTU before
 * attaching it. A frame the interface would refuse (longer than its MTU +
 * 14, + 4 with an 802.1Q tag) is dropped and counted in the port's drops
 * and drops_mtu; no refused frame ever stops the ring (PACKET_LOSS, and
 * every kernel ring status handled). Received frames longer than 9224
 * bytes or cut short (segmentation offload on a local sender) and frames
 * whose checksum was left to offload are dropped and counted: turn off
 * TSO/GSO and checksum offload on the sending side (ethtool -K IF tx off
 * tso off gso off). The port's tx_packets count the frames the interface
 * took. An attached port takes no
 * dpak_hwsim_inject() and gives no dpak_hwsim_capture() (-EBUSY). Run the
 * device with engine=thread, or call dpak_hwsim_run() in a loop.
 *
 * @param dev    an hwsim device.
 * @param port   the port.
 * @param ifname the interface, e.g. "veth0".
 * @return 0, -ENOENT (port), -ENODEV (no such interface), -EBUSY (port
 *         already attached), -EPERM (no CAP_NET_RAW), -EOPNOTSUPP.
 * @par Thread safety
 * Safe from any thread, but not while another thread injects into or
 * captures from the same port; attachments last until dpak_dev_close().
 */
DPAK_API int dpak_hwsim_attach(struct dpak_dev *dev, uint32_t port,
			       const char *ifname);

/**
 * Make the device refuse flows that use an action type, as a device whose
 * firmware lacks it would: later adds and replaces with that action fail
 * with -ENOTSUP. The action leaves the device's and the tables'
 * capabilities (action_types of dpak_dev_info() and dpak_table_info()), so
 * dpak_flow_validate() refuses it too ("action 2 (set_tp_dst): refused by
 * the device ..."). Flows already offloaded stay. Each call replaces the
 * previous one.
 *
 * @param dev  an hwsim device.
 * @param type the action type to refuse, or DPAK_ACTION_END to accept all
 *             again.
 * @return 0, -EINVAL (unknown type) or -EOPNOTSUPP (not hwsim).
 * @par Thread safety
 * Safe from any thread.
 */
DPAK_API int dpak_hwsim_reject_action(struct dpak_dev *dev,
				      enum dpak_action_type type);

/**
 * Reset the device: every hardware table loses every entry and its
 * counters, as after a device reset; then the library restores every flow
 * it holds from its records (the packed form it kept). Counters and last
 * hits, read just before the reset, continue in the restored flows.
 * The device forwards nothing from before the counters are read until the
 * flows are back (packets wait in its receive rings), so every packet it
 * forwards is counted and none misses for want of a restored flow. A flow
 * the device refuses back is kept as DPAK_FLOW_NOT_RESTORED (see
 * dpak_flow_state()), out of in_use, and retried: at each later reset, on
 * each pass of the event channel's thread, at each dpak_flow_aged() and
 * each dpak_flow_restore() call. A DPAK_EVENT_RESET event (flows restored
 * and not restored) is queued on the event channel before the call
 * returns (docs/DATAPATH.md, "A device reset loses nothing").
 *
 * @param dev an hwsim device.
 * @return the number of flows restored (>= 0), or -EOPNOTSUPP (not hwsim).
 * @par Thread safety
 * Safe from any thread; flow calls made meanwhile wait for the restore of
 * their table.
 */
DPAK_API int dpak_hwsim_reset(struct dpak_dev *dev);

/** Port value for dpak_hwsim_pcap(): the slow-path packets. */
#define DPAK_HWSIM_HOST 0xffffffffu

/** Direction of a pcap attachment. */
enum dpak_hwsim_pcap_dir {
	DPAK_HWSIM_PCAP_IN = 0,  /**< read the port's input from the file */
	DPAK_HWSIM_PCAP_OUT = 1, /**< write what the device sends out of the port */
};

/**
 * Attach a pcap file to a port, or to the slow path.
 *
 * Files are read and written with libpcap.
 * DPAK_HWSIM_PCAP_IN: the frames of a pcap or pcapng file (Ethernet link
 * type; a regular file, which the device reads as it goes) enter the port
 * as fast as the device takes them; such a port takes no
 * dpak_hwsim_inject().
 * DPAK_HWSIM_PCAP_OUT: every frame sent out of the port, or, with port
 * DPAK_HWSIM_HOST, every packet sent up to the host queues, is written to
 * the file (pcap, readable by tcpdump and tshark). The device never writes
 * the file itself: it queues a copy of each frame (4 MiB of queue) for a
 * writer thread, and a frame that does not fit (the file's reader is slow
 * or stopped) is left out and counted (dpak_hwsim_pcap_stats()). The file
 * is opened without waiting for a FIFO's reader. The file is complete once
 * the device is closed; closing gives up on a reader that stopped after
 * half a second, so it always returns (the device's writers are stopped
 * together: half a second in all, however many files). On a bond, the
 * output file gets every frame any of its members sends (members that
 * join or leave included from then on) and is complete once the bond is
 * destroyed; an input file on a bond is refused (-EINVAL: it enters by
 * one member's port). The file is opened (for output:
 * created or truncated) before the port is checked for an attachment.
 *
 * @return 0, -ENOENT (port), -EBUSY (already attached), -EINVAL (not a
 *         pcap or pcapng file, not a regular file for input, or
 *         DPAK_HWSIM_HOST or a bond with PCAP_IN), -EPROTONOSUPPORT (not Ethernet),
 *         or the error of opening the file.
 * @par Thread safety
 * Safe from any thread, but an input file not while another thread
 * injects into the same port; attachments last until dpak_dev_close().
 */
DPAK_API int dpak_hwsim_pcap(struct dpak_dev *dev, uint32_t port,
			     enum dpak_hwsim_pcap_dir dir, const char *path);

/** Counters of a pcap attachment (see dpak_hwsim_pcap_stats()). */
struct dpak_hwsim_pcap_stats {
	size_t sz;         /**< set by the caller: sizeof(struct dpak_hwsim_pcap_stats) */
	uint64_t packets;  /**< frames written to the file (output) or read
			    *   from it into the port (input) */
	uint64_t drops;    /**< output: frames not written because the file
			    *   fell behind (queue full) or failed; input:
			    *   records skipped (shorter than 14 or longer than
			    *   the largest frame) */
	uint64_t queued;   /**< output: frames waiting for the writer */
	int error;         /**< the file's first error, as a negative errno
			    *   (e.g. -ENOSPC, -EPIPE); 0: none */
};

/**
 * Read the counters of a pcap file attached with dpak_hwsim_pcap().
 *
 * Output files are written by a thread of the attachment's own, never by
 * the device's pipeline: the pipeline puts each frame in a bounded queue
 * (4 MiB) and goes on; when the queue is full (the file's reader is slower
 * than the traffic, or stopped), the frame is not written and is counted
 * in @c drops. The device still forwards it.
 *
 * @param dev   an hwsim device.
 * @param port  the port, or DPAK_HWSIM_HOST for the slow-path file.
 * @param dir   DPAK_HWSIM_PCAP_IN or DPAK_HWSIM_PCAP_OUT.
 * @param stats filled; the caller sets stats->sz first.
 * @return 0, -EINVAL (NULL, sz too small, bad dir), -ENOENT (no such port,
 *         or no file attached there), -EOPNOTSUPP (not hwsim).
 * @par Thread safety
 * Safe from any thread.
 */
DPAK_API int dpak_hwsim_pcap_stats(struct dpak_dev *dev, uint32_t port,
				   enum dpak_hwsim_pcap_dir dir,
				   struct dpak_hwsim_pcap_stats *stats);

#ifdef __cplusplus
}
#endif
#endif /* DPAK_HWSIM_H */
