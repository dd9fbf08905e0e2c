/* SPDX-License-Identifier: MIT */
/**
 * @file device.h
 * @brief Opening a device, its capabilities, and its ports.
 */
#ifndef DPAK_DEVICE_H
#define DPAK_DEVICE_H

#include <dpak/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/** An open device (opaque). */
struct dpak_dev;

/** Options for dpak_dev_open(); declare with DPAK_OPTS(). */
struct dpak_dev_opts {
	size_t sz; /**< sizeof(struct dpak_dev_opts) */
	/** Path of a configinfo file declaring the device's tables
	 *  (see dpak-configinfo(5)). NULL: the built-in default. */
	const char *configinfo;
	/** Configinfo text given directly instead of a file; ignored when
	 *  @ref configinfo is set. NULL: the built-in default. */
	const char *configinfo_text;
	/** Host receive queues (and as many transmit queues), 1-64; 0: 1.
	 *  Packets for the slow path are spread over them by a flow hash. */
	uint32_t queues;
	/** Entries per host queue, a power of two 2-65536; 0: 1024. */
	uint32_t queue_size;
	/** Packet buffers in the pool shared by the host queues; at least
	 *  queue_size; 0: 4 * queues * queue_size. */
	uint32_t pool_size;
	/** Path of a Unix socket on which the library answers dpak-ctl(8),
	 *  created with owner-only permissions; connections from other users
	 *  are refused. NULL: no control socket. An existing socket file at
	 *  that path is replaced. */
	const char *ctl_path;
};

/**
 * Open a device.
 *
 * @param devspec which backend and device, as "backend:args":
 *   - "hwsim:" or "hwsim:uplinks=2,pfs=1,vfs=8" — the software DPU in this
 *     process; defaults uplinks=2, pfs=1, vfs=4; at most 64 ports in all;
 *     ring=N slots per port ring (a power of two, default 256);
 *     engine=step (default: the pipeline runs in dpak_hwsim_run()) or
 *     engine=thread (a thread of the device's own runs it);
 *     mtu=N every port's MTU, 68 to 9202, default 1500 (see
 *     dpak_port_set_mtu());
 *   - "pci:0000:03:00.0" (domain:bus:device.function; "pci:03:00.0" is
 *     domain 0) or "pci:" (the first device in bus order whose revision
 *     this library drives) — the libdpak PCIe device, found with libpci
 *     (its management function: vendor 0xd9ac, a placeholder id, device
 *     0xd001; see docs/device-interface.md), driven from user space
 *     through its registers, command queue and data rings; option
 *     ",timeout_ms=N" caps command timeouts. None, an address that is
 *     absent or another vendor's, a revision or interface version not
 *     driven give ENODEV, naming the address; a device another process
 *     drives, EBUSY. With the environment variable DPAK_PCI_DUMP
 *     naming a file, that libpci dump file (the text `lspci -xxx` prints)
 *     is read instead of the bus;
 *   - "xdp:eth0,eth1" is reserved for the backend of that name (not built
 *     yet: -ENODEV).
 * @param opts NULL for defaults.
 * @return the device, or NULL with errno set: EINVAL (bad devspec or
 *         option, see dpak_errmsg(); a DPAK_PCI_DUMP file libpci cannot
 *         read; a configinfo beyond a pci device's limits), ENODEV (no
 *         such backend or device), EBUSY (a pci device another process
 *         drives), ETIMEDOUT (a pci device that does not answer), ENOMEM,
 *         or the configinfo parser's or DPAK_PCI_DUMP's open error.
 * @par Thread safety
 * Safe from any thread; each call opens a separate device.
 */
DPAK_API struct dpak_dev *dpak_dev_open(const char *devspec,
					const struct dpak_dev_opts *opts);

/**
 * Close a device: remove every flow it holds and free everything.
 *
 * Flow, table and port handles of the device are invalid afterwards.
 *
 * @param dev the device; NULL is ignored.
 * @par Thread safety
 * No other call may use @p dev during or after this call.
 */
DPAK_API void dpak_dev_close(struct dpak_dev *dev);

/** Table types. */
enum dpak_table_type {
	DPAK_TABLE_EXACT = 0,    /**< exact match on every key field */
	DPAK_TABLE_WILDCARD = 1, /**< masked match, highest priority wins */
	DPAK_TABLE_LPM = 2,      /**< longest prefix on one field */
};

/** What a device can offload (see dpak_dev_info()). */
struct dpak_dev_info {
	size_t sz;              /**< set by the caller: sizeof(struct dpak_dev_info) */
	const char *backend;    /**< backend name, e.g. "hwsim" */
	const char *devspec;    /**< the devspec it was opened with */
	uint32_t n_ports;       /**< number of ports */
	uint32_t n_tables;      /**< number of declared tables */
	uint64_t item_types;    /**< bit (1 << enum dpak_item_type) per item it matches */
	uint64_t action_types;  /**< bit (1 << enum dpak_action_type) per action it applies */
	uint32_t table_types;   /**< bit (1 << enum dpak_table_type) per table type */
	/* Since 0.2.0; a caller that sets sz to the 0.1.0 size does not
	 * receive it. */
	uint32_t max_push_bytes; /**< the device's headroom: the most bytes one
				  *   flow's actions may put in front of a frame
				  *   (4 per vlan_push, 50 per vxlan_encap, 70
				  *   per vxlan_encap6; a vlan_pop gives 4
				  *   back, a vxlan_decap 50);
				  *   validation refuses an action list whose
				  *   running total exceeds it. 0: no limit
				  *   declared. hwsim: 128 */
	/* Since 0.2.0 (a caller whose sz ends before them does not get them). */
	uint32_t max_bonds;     /**< bonds the device can hold: bond port ids are
				 *   n_ports .. n_ports + max_bonds - 1; 0: no bonds */
	uint32_t n_bonds;       /**< bonds that exist now */
};

/**
 * Describe a device and its capabilities.
 *
 * @param dev  the device.
 * @param info filled; the caller sets info->sz first. Fields beyond
 *             info->sz are not written (older callers).
 * @return 0, or -EINVAL (NULL argument or sz too small).
 * @par Thread safety
 * Safe from any thread.
 */
DPAK_API int dpak_dev_info(struct dpak_dev *dev, struct dpak_dev_info *info);

/** Port types. */
enum dpak_port_type {
	DPAK_PORT_UPLINK = 0, /**< physical network port */
	DPAK_PORT_PF = 1,     /**< host physical function (virtio-net PF) */
	DPAK_PORT_VF = 2,     /**< virtual function (virtio-net VF) */
	DPAK_PORT_BOND = 3,   /**< a bond of uplinks (see <dpak/bond.h>) */
};

/** A port's description (see dpak_port_info()). */
struct dpak_port_info {
	size_t sz;                 /**< set by the caller */
	uint32_t id;               /**< port id */
	enum dpak_port_type type;  /**< uplink, PF, VF or bond */
	char name[16];             /**< e.g. "uplink0", "pf0", "vf3" */
	uint8_t mac[6];            /**< the port's MAC address */
	uint16_t mtu;              /**< MTU in bytes: the largest L3 payload the
				    *   port sends (see dpak_port_set_mtu()) */
	int link_up;               /**< 1 if the link is up */
	/* Since 0.2.0; a caller that sets sz to the 0.1.0 size does not
	 * receive them. */
	uint16_t min_mtu;          /**< smallest MTU dpak_port_set_mtu() takes;
				    *   0: the MTU cannot be set */
	uint16_t max_mtu;          /**< largest MTU dpak_port_set_mtu() takes */
};

/**
 * Describe a port.
 *
 * @param dev  the device.
 * @param port a port id, 0 .. n_ports-1, or a bond's, n_ports ..
 *             n_ports + max_bonds - 1 (see dpak_dev_info()); looping over
 *             all these ids enumerates every port, bonds included.
 * @param info filled; the caller sets info->sz first.
 * @return 0, -EINVAL (NULL argument, sz too small) or -ENOENT (no such port,
 *         or a bond id no bond holds now).
 * @par Thread safety
 * Safe from any thread, also while other threads create or destroy bonds.
 */
DPAK_API int dpak_port_info(struct dpak_dev *dev, uint32_t port,
			    struct dpak_port_info *info);

/**
 * Set a port's MTU: the largest L3 payload (IP packet) the port sends.
 *
 * The device checks every frame it sends out of the port, after all its
 * actions (VLAN push, VXLAN encapsulation): a frame longer than
 * @p mtu + 14 bytes (the Ethernet header), plus 4 bytes for each 802.1Q or
 * 802.1ad tag it carries (at most two), is dropped and counted in the
 * port's drops and drops_mtu (dpak_port_stats()). Frames the port receives
 * are not checked against it. The rule is IEEE 802.3's: the MTU bounds the
 * MAC client data (clause 3.2.7), a tag adds 4 bytes (clause 3.5, the
 * tagged MAC frame).
 *
 * Every port starts with the MTU of the devspec's mtu= (hwsim, default
 * 1500); a port attached to a Linux interface (dpak_hwsim_attach()) takes
 * that interface's MTU. hwsim takes 68 (RFC 791's minimum) to 9202 (a
 * 9216-byte untagged frame); dpak_port_info() gives each port's range in
 * min_mtu and max_mtu.
 *
 * @param dev  the device.
 * @param port a port id, 0 .. n_ports-1 (not a bond: set its members).
 * @param mtu  the MTU in bytes.
 * @return 0; -EINVAL (NULL dev, or @p mtu outside the port's range: the
 *         message names the range), -ENOENT (no such port), -EOPNOTSUPP
 *         (a bond, or a backend whose MTU is fixed). A failed call
 *         changes nothing.
 * @par Thread safety
 * Safe from any thread, while the device forwards: packets already past
 * the check leave under the old MTU.
 */
DPAK_API int dpak_port_set_mtu(struct dpak_dev *dev, uint32_t port, uint32_t mtu);

/**
 * Find a port by name.
 *
 * @param dev  the device.
 * @param name the port's name, e.g. "vf0", or a bond's.
 * @return the port id (>= 0), -ENOENT, or -EINVAL (NULL argument).
 * @par Thread safety
 * Safe from any thread, also while other threads create or destroy bonds.
 */
DPAK_API int dpak_port_by_name(struct dpak_dev *dev, const char *name);

/** Port counters (see dpak_port_stats()). */
struct dpak_port_stats {
	size_t sz;           /**< set by the caller */
	uint64_t rx_packets; /**< packets received by the device on this port */
	uint64_t rx_bytes;   /**< their bytes */
	uint64_t tx_packets; /**< packets the device sent out of this port */
	uint64_t tx_bytes;   /**< their bytes */
	uint64_t rx_misses;  /**< received packets that matched no flow */
	uint64_t drops;      /**< packets dropped (drop action, full ring, bad
			      *   packet); every drop counted below is in it too */
	/* Since 0.2.0: drops by reason, each also counted in @ref drops.
	 * A caller that sets sz to the 0.1.0 size does not receive them. */
	uint64_t drops_action; /**< an action needed a header the packet lacks
				*   (e.g. set_tp_dst on a frame without a
				*   complete TCP/UDP header); counted on the
				*   ingress port; the frame is not sent */
	uint64_t drops_mtu;    /**< frames longer than this port's MTU + its
				*   L2 header, dropped on egress (counted on
				*   the egress port) */
	uint64_t drops_bond_rx;/**< frames received on a bond member that may
				*   not receive (active-backup backup, 802.3ad
				*   member not collecting); IEEE 802.1AX-2020
				*   6.4.15 */
};

/**
 * Read a port's counters; exact at the moment of the call.
 *
 * @param dev   the device.
 * @param port  a port id.
 * @param stats filled; the caller sets stats->sz first.
 * @return 0, -EINVAL, -ENOENT, or -EOPNOTSUPP (the backend keeps none).
 * @par Thread safety
 * Safe from any thread.
 */
DPAK_API int dpak_port_stats(struct dpak_dev *dev, uint32_t port,
			     struct dpak_port_stats *stats);

#ifdef __cplusplus
}
#endif
#endif /* DPAK_DEVICE_H */
