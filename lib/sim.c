/* SPDX-License-Identifier: MIT */
/* <dpak/hwsim.h>: calls only the hwsim backend answers. */
#include <errno.h>
#include <stdlib.h>
#include "core.h"
#include "event.h"

static int sim_check(struct dpak_dev *dev, const void *op, const char *name)
{
	if (!dev)
		return dpak__err(EINVAL, "dev: NULL");
	if (!op)
		return dpak__err(EOPNOTSUPP, "%s: backend %s is not hwsim", name,
				 dev->ops->name);
	dpak__dev_recover_first(dev);
	return 0;
}

/* A call's result, after restoring what a reset that came with it lost. */
static long done(struct dpak_dev *dev, long r)
{
	dpak__flow_op_reset(dev, (int)r);
	return r;
}

static int port_check(struct dpak_dev *dev, uint32_t port)
{
	uint32_t m[16];
	char name[16];
	int n;

	if (port >= dev->n_ports && (n = dpak__bond_members(dev, port, m, name)) >= 0)
		return dpak__err(EINVAL, "port %u is bond %s: hwsim takes this on its "
				 "members' ports (%d members)", port, name, n);
	if (port >= dev->n_ports)
		return dpak__err(ENOENT, "port %u does not exist (device has %u "
				 "ports)", port, dev->n_ports);
	return 0;
}

/* Capture on a bond: what the device sent out of any of its members. */
static ssize_t bond_capture(struct dpak_dev *dev, uint32_t bond, void *buf, size_t cap)
{
	static __thread uint32_t next;
	uint32_t m[16];
	char name[16];
	ssize_t r, last = -EAGAIN;
	int n = dpak__bond_members(dev, bond, m, name);

	if (n < 0)
		return n;
	for (int k = 0; k < n; k++) {
		r = dev->ops->sim_capture(dev->priv, m[(next + (uint32_t)k) % (uint32_t)n], buf, cap);
		if (r >= 0 || r == -EMSGSIZE) {
			next += (uint32_t)k + 1;
			return r;
		}
		if (r != -EAGAIN && last == -EAGAIN)
			last = r;
	}
	return n ? last : -EAGAIN;
}

DPAK_API int dpak_hwsim_inject(struct dpak_dev *dev, uint32_t port,
			       const void *pkt, size_t len)
{
	int err = sim_check(dev, dev ? dev->ops->sim_inject : NULL,
			    "dpak_hwsim_inject");

	if (err || (err = port_check(dev, port)))
		return err;
	if (!pkt)
		return dpak__err(EINVAL, "pkt: NULL");
	return (int)done(dev, dev->ops->sim_inject(dev->priv, port, pkt, len));
}

DPAK_API ssize_t dpak_hwsim_capture(struct dpak_dev *dev, uint32_t port,
				    void *buf, size_t cap)
{
	int err = sim_check(dev, dev ? dev->ops->sim_capture : NULL,
			    "dpak_hwsim_capture");

	if (err)
		return err;
	if (!buf)
		return dpak__err(EINVAL, "buf: NULL");
	if (port >= dev->n_ports && dpak__port_exists(dev, port))
		return bond_capture(dev, port, buf, cap);
	if ((err = port_check(dev, port)))
		return err;
	return done(dev, dev->ops->sim_capture(dev->priv, port, buf, cap));
}

DPAK_API int dpak_hwsim_run(struct dpak_dev *dev, unsigned int budget)
{
	int err = sim_check(dev, dev ? dev->ops->sim_run : NULL, "dpak_hwsim_run");

	return err ? err : (int)done(dev, dev->ops->sim_run(dev->priv, budget));
}

DPAK_API int dpak_hwsim_set_link(struct dpak_dev *dev, uint32_t port, int up)
{
	int err = sim_check(dev, dev ? dev->ops->sim_set_link : NULL,
			    "dpak_hwsim_set_link");

	if (err || (err = port_check(dev, port)))
		return err;
	if ((err = (int)done(dev, dev->ops->sim_set_link(dev->priv, port, up))))
		return err;
	dpak__event_link(dev, port); /* queued before the call returns */
	/* Bonds react now: their events are queued when this returns. */
	dpak__bonds_poll(dev);
	return 0;
}

DPAK_API int dpak_hwsim_fail_flow_ops(struct dpak_dev *dev, unsigned int count,
				      int err_code)
{
	int err = sim_check(dev, dev ? dev->ops->sim_fail_flow_ops : NULL,
			    "dpak_hwsim_fail_flow_ops");

	if (err)
		return err;
	if (err_code >= 0 && count)
		return dpak__err(EINVAL, "err %d: give a negative errno such as "
				 "-EIO", err_code);
	return (int)done(dev, dev->ops->sim_fail_flow_ops(dev->priv, count, err_code));
}

DPAK_API int dpak_hwsim_attach(struct dpak_dev *dev, uint32_t port,
			       const char *ifname)
{
	int err = sim_check(dev, dev ? dev->ops->sim_attach : NULL,
			    "dpak_hwsim_attach");

	if (err || (err = port_check(dev, port)))
		return err;
	if (!ifname)
		return dpak__err(EINVAL, "ifname: NULL");
	return (int)done(dev, dev->ops->sim_attach(dev->priv, port, ifname));
}

DPAK_API int dpak_hwsim_pcap(struct dpak_dev *dev, uint32_t port,
			     enum dpak_hwsim_pcap_dir dir, const char *path)
{
	int err = sim_check(dev, dev ? dev->ops->sim_pcap : NULL, "dpak_hwsim_pcap");

	if (err)
		return err;
	if (!path)
		return dpak__err(EINVAL, "path: NULL");
	if (dir != DPAK_HWSIM_PCAP_IN && dir != DPAK_HWSIM_PCAP_OUT)
		return dpak__err(EINVAL, "dir %d: DPAK_HWSIM_PCAP_IN or _OUT", (int)dir);
	if (port != DPAK_HWSIM_HOST && port >= dev->n_ports) {
		/* A bond: its output is what any member sends; an input
		 * would have to enter by one member. */
		uint32_t m[16];
		char name[16];
		if (dpak__bond_members(dev, port, m, name) < 0)
			return port_check(dev, port);
		if (dir == DPAK_HWSIM_PCAP_IN)
			return dpak__err(EINVAL, "port %u is bond %s: a pcap input "
					 "enters by one port; attach it to a member's "
					 "port", port, name);
	}
	return dev->ops->sim_pcap(dev->priv, port, (int)dir, path);
}

DPAK_API int dpak_hwsim_reject_action(struct dpak_dev *dev,
				      enum dpak_action_type type)
{
	int err = sim_check(dev, dev ? dev->ops->sim_reject : NULL,
			    "dpak_hwsim_reject_action");

	if (err)
		return err;
	if ((int)type < 0 || type > DPAK_ACTION_VXLAN_DECAP)
		return dpak__err(EINVAL, "action type %d unknown", (int)type);
	return (int)done(dev, dev->ops->sim_reject(dev->priv, type ? 1ull << type : 0));
}

static void lock_tables(struct dpak_dev *dev)
{
	for (uint32_t i = 0; i < dev->cfg.n_tables; i++)
		pthread_mutex_lock(&dev->tables[i].lock);
}

static uint64_t unlock_tables(struct dpak_dev *dev)
{
	uint64_t absent = 0;

	for (uint32_t i = 0; i < dev->cfg.n_tables; i++)
		absent += dev->tables[i].n_absent;
	for (uint32_t i = 0; i < dev->cfg.n_tables; i++)
		pthread_mutex_unlock(&dev->tables[i].lock);
	return absent;
}

/* Every flow back into a device that lost them, under every table's lock
 * (the caller's), the device paused; a flow not restored is logged, not
 * the caller's error. */
static uint64_t restore_locked(struct dpak_dev *dev, void *saved)
{
	struct dpak__errsave es;
	uint64_t restored;

	__atomic_fetch_add(&dev->st.resets, 1, __ATOMIC_RELAXED);
	dpak__err_save(&es);
	restored = dpak__dev_restore(dev, saved);
	dpak__err_restore(&es);
	return restored;
}

/*
 * A device that lost its state by itself (its driver noticed: a reset the
 * device did, a command that timed out and made the driver reset it): the
 * same restore as dpak_hwsim_reset()'s, without the wipe (done) and without
 * counters to carry (the device took them; the counts since the last read
 * are lost). Flows added since the device came back are live and skipped.
 * One caller restores at a time (recover_lock); the others wait for it, so
 * a call that retries a cut op finds the flows back. Under no table lock.
 */
int dpak__dev_recover_check(struct dpak_dev *dev)
{
	struct dpak__errsave es;
	uint64_t lost = 0, restored, absent;

	if (!dev->ops->reset_check)
		return 0;
	pthread_mutex_lock(&dev->recover_lock);
	dpak__err_save(&es);
	int r = dev->ops->reset_check(dev->priv, &lost);
	if (r != 1 && r != 2) {
		dpak__err_restore(&es);
		pthread_mutex_unlock(&dev->recover_lock);
		return 0;
	}
	lock_tables(dev);
	if (dev->ops->sim_pause)
		dev->ops->sim_pause(dev->priv, 1); /* packets wait for the flows */
	restored = restore_locked(dev, NULL);
	if (dev->ops->sim_pause)
		dev->ops->sim_pause(dev->priv, 0);
	absent = unlock_tables(dev);
	dpak__err_restore(&es);
	pthread_mutex_unlock(&dev->recover_lock);
	if (r == 2) { /* not back: no DPAK_EVENT_RESET */
		dpak__log(DPAK_LOG_ERR, "the device did not come back: %llu entries "
			  "lost, %llu flows kept, not restored",
			  (unsigned long long)lost, (unsigned long long)absent);
		return 1;
	}
	dpak__log(absent ? DPAK_LOG_ERR : DPAK_LOG_WARN, "device reset by itself: "
		  "%llu entries lost, %llu flows restored, %llu not restored",
		  (unsigned long long)lost, (unsigned long long)restored,
		  (unsigned long long)absent);
	dpak__event_reset(dev, restored, absent, 0);
	return 1;
}

DPAK_API int dpak_hwsim_reset(struct dpak_dev *dev)
{
	int err = sim_check(dev, dev ? dev->ops->sim_reset : NULL, "dpak_hwsim_reset");
	uint64_t lost = 0, restored = 0, absent = 0;

	if (err)
		return err;
	/* Tables are locked one by one while the device forgets and the core
	 * restores: flow calls wait. The device forwards nothing from before
	 * the counters are read until the flows are back (packets wait in its
	 * receive rings), so no packet is forwarded and left uncounted. */
	/* A reset the device did by itself first: its restore is done before
	 * this one reads counters. */
	dpak__dev_recover_check(dev);
	lock_tables(dev);
	if (dev->ops->sim_pause)
		dev->ops->sim_pause(dev->priv, 1);
	/* What the device counted, read just before it forgets: counters and
	 * last hits continue from these in the restored flows. */
	void *saved = dpak__dev_save(dev);
	err = dev->ops->sim_reset(dev->priv, &lost);
	if (!err)
		restored = restore_locked(dev, saved);
	if (dev->ops->sim_pause)
		dev->ops->sim_pause(dev->priv, 0);
	free(saved);
	absent = unlock_tables(dev);
	if (err)
		return err;
	dpak__log(absent ? DPAK_LOG_ERR : DPAK_LOG_WARN, "device reset: %llu "
		  "entries lost, %llu flows restored, %llu not restored",
		  (unsigned long long)lost, (unsigned long long)restored,
		  (unsigned long long)absent);
	dpak__event_reset(dev, restored, absent, 0);
	return (int)restored;
}

DPAK_API int dpak_hwsim_pcap_stats(struct dpak_dev *dev, uint32_t port,
				   enum dpak_hwsim_pcap_dir dir,
				   struct dpak_hwsim_pcap_stats *stats)
{
	struct dpak_hwsim_pcap_stats s = { 0 };
	int err = sim_check(dev, dev ? dev->ops->sim_pcap_stats : NULL,
			    "dpak_hwsim_pcap_stats");

	if (err)
		return err;
	uint32_t m[16];
	char name[16];
	if (port != DPAK_HWSIM_HOST && (port < dev->n_ports ||
	    dpak__bond_members(dev, port, m, name) < 0) && (err = port_check(dev, port)))
		return err; /* a bond may have an output file */
	if (dir != DPAK_HWSIM_PCAP_IN && dir != DPAK_HWSIM_PCAP_OUT)
		return dpak__err(EINVAL, "dir %d: DPAK_HWSIM_PCAP_IN or _OUT", (int)dir);
	if (!stats)
		return dpak__err(EINVAL, "struct dpak_hwsim_pcap_stats: NULL");
	if ((err = dev->ops->sim_pcap_stats(dev->priv, port, (int)dir, &s)))
		return err;
	return dpak__out(stats, &s, sizeof(s), "dpak_hwsim_pcap_stats");
}
