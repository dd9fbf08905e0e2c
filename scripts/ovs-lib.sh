# Shell functions that run Debian's Open vSwitch by hand in a private run
# directory (the service scripts are not used): ovsdb-server on its own
# unix socket, then ovs-vswitchd, with or without DPDK. Sourced by the
# Open vSwitch tests and benchmarks, after scripts/netns-lib.sh.
#
#   ovsl_usable_dpdk              is OVS with DPDK installed? (else a reason on stdout)
#   ovsl_plugin_dir SO...         copy DPDK driver plugins into a new root-owned
#                                 0755 directory (DPDK refuses plugins under a
#                                 world-writable one such as /tmp); sets
#                                 OVSL_PLUGIN to it
#   ovsl_start [options]          start ovsdb-server and ovs-vswitchd; options:
#       -d                        DPDK (ovs-vswitchd-dpdk, dpdk-init=true)
#       -o                        hw-offload=true (read once, so set before start)
#       -p DIR                    dpdk-extra "-d DIR": load the plugins in DIR
#       -e ARGS                   more EAL arguments for dpdk-extra
#       -c MASK                   pmd-cpu-mask (default 0x1)
#       -k KEY=VALUE              another Open_vSwitch other_config setting
#                                 (repeatable), set before start
#       -n NETNS                  run ovs-vswitchd in that network namespace:
#                                 its taps (ovs-netdev, one per bridge) are
#                                 there, apart from any other Open vSwitch,
#                                 and so must its ports' interfaces be
#   ovsl_vsctl ARGS / ovsl_appctl ARGS   the tools, pointed at this instance
#   ovsl_stop                     stop both daemons and remove the run directory
#   ovsl_cleanup                  ovsl_stop, and remove the plugin directories;
#                                 both idempotent, never failing (EXIT traps)
#   ovsl_iface_ready IFACE...     wait until the interfaces are set up, no error
#   ovsl_diag [N]                 the log's last N lines (default 40)
#   ovsl_sanitizer_report         with a sanitizer build's driver (its runtime
#                                 is preloaded into ovs-vswitchd): its reports;
#                                 1 if any
#
# The daemons do not inherit descriptor 9, the namespace tests' lock
# (scripts/netns-lib.sh): one left running must not hold up the others.
#
# After ovsl_start, OVSL_DIR is the run directory and OVS_RUNDIR, OVS_DBDIR,
# OVS_LOGDIR, OVS_SYSCONFDIR point there (OVS_PKGDATADIR at the schema's
# directory), so plain ovs-vsctl / ovs-appctl / ovs-ofctl reach this
# instance too.

OVSL_DIR=""
OVSL_PREFIX=""
OVSL_PLUGIN_DIRS=""
OVSL_PLUGIN=""
OVSL_SCHEMA=/usr/share/openvswitch/vswitch.ovsschema
OVSL_VSWITCHD_DPDK=/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk

ovsl_usable_dpdk() {
	for t in ovsdb-tool ovsdb-server ovs-vsctl ovs-appctl ovs-ofctl; do
		command -v "$t" >/dev/null 2>&1 || { echo "$t is not installed (openvswitch-switch)"; return 1; }
	done
	[ -r "$OVSL_SCHEMA" ] || { echo "$OVSL_SCHEMA is missing (openvswitch-common)"; return 1; }
	[ -x "$OVSL_VSWITCHD_DPDK" ] || { echo "$OVSL_VSWITCHD_DPDK is missing (openvswitch-switch-dpdk)"; return 1; }
	return 0
}

ovsl_plugin_dir() {
	local base=/run d so
	[ -d "$base" ] && [ -w "$base" ] || base=/var/tmp
	d=$(mktemp -d "$base/dpak-ovs-plugin.XXXXXX") || return 1
	chmod 0755 "$d"
	OVSL_PLUGIN_DIRS="$OVSL_PLUGIN_DIRS $d"
	for so in "$@"; do
		cp "$so" "$d/" || return 1
		chmod 0644 "$d/$(basename "$so")"
	done
	OVSL_PLUGIN=$d
}

ovsl_vsctl() { ovs-vsctl --db="unix:$OVSL_DIR/db.sock" --timeout=30 "$@"; }

ovsl_appctl() {
	[ -f "$OVSL_DIR/vswitchd.pid" ] || { echo "ovsl_appctl: ovs-vswitchd is not running" >&2; return 1; }
	ovs-appctl -t "$OVSL_DIR/vswitchd.ctl" --timeout=30 "$@"
}

# Poll CMD (a shell string) every 0.1 s for up to N tenths: 0 once it succeeds.
ovsl_wait() {
	local n=$1
	shift
	while [ "$n" -gt 0 ]; do
		eval "$*" >/dev/null 2>&1 && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

ovsl_start() {
	local dpdk=0 offload=0 plugin="" extra="" mask=0x1 keys="" netns="" o vswitchd eal asan so
	local OPTARG
	OPTIND=1
	while getopts dop:e:c:k:n: o; do
		case $o in
		d) dpdk=1 ;;
		o) offload=1 ;;
		p) plugin=$OPTARG ;;
		e) extra=$OPTARG ;;
		c) mask=$OPTARG ;;
		k) keys="$keys other_config:$OPTARG" ;;
		n) netns=$OPTARG ;;
		*) echo "ovsl_start: bad option" >&2; return 2 ;;
		esac
	done
	OVSL_DIR=$(mktemp -d /tmp/dpak-ovs.XXXXXX) || return 1
	OVSL_PREFIX="dpak-ovs-$$-$(basename "$OVSL_DIR" | cut -d. -f2)"
	mkdir -p "$OVSL_DIR/etc/openvswitch"
	export OVS_RUNDIR="$OVSL_DIR" OVS_DBDIR="$OVSL_DIR" OVS_LOGDIR="$OVSL_DIR" \
		OVS_SYSCONFDIR="$OVSL_DIR/etc" OVS_PKGDATADIR="$(dirname "$OVSL_SCHEMA")"
	ovsdb-tool create "$OVSL_DIR/conf.db" "$OVSL_SCHEMA" || return 1
	ovsdb-server "$OVSL_DIR/conf.db" --remote="punix:$OVSL_DIR/db.sock" \
		--pidfile="$OVSL_DIR/ovsdb.pid" --detach --log-file="$OVSL_DIR/ovsdb.log" \
		-vconsole:off 2>>"$OVSL_DIR/ovsdb.err" 9>&- || { cat "$OVSL_DIR/ovsdb.err" >&2; return 1; }
	ovsl_vsctl --no-wait init || return 1
	ovsl_vsctl --no-wait set Open_vSwitch . other_config:pmd-cpu-mask="$mask" $keys || return 1
	vswitchd=ovs-vswitchd
	if [ $dpdk -eq 1 ]; then
		vswitchd=$OVSL_VSWITCHD_DPDK
		eal="--no-huge -m 2048 --legacy-mem --no-pci --file-prefix $OVSL_PREFIX"
		[ -n "$plugin" ] && eal="$eal -d $plugin"
		[ -n "$extra" ] && eal="$eal $extra"
		ovsl_vsctl --no-wait set Open_vSwitch . other_config:dpdk-init=true \
			other_config:dpdk-extra="$eal" || return 1
	fi
	[ $offload -eq 1 ] && { ovsl_vsctl --no-wait set Open_vSwitch . other_config:hw-offload=true || return 1; }
	# A sanitizer build's driver needs its runtime loaded first: preload it
	# into ovs-vswitchd (not instrumented; its exit-time allocations are
	# not reported as leaks).
	asan=""
	[ -n "$plugin" ] && asan=$(for so in "$plugin"/*.so; do ldd "$so" 2>/dev/null; done |
		sed -n 's/.*libasan[^ ]* => \([^ ]*\) .*/\1/p' | head -n 1)
	# Its reports go to files (a detached daemon has no stderr):
	# ovsl_sanitizer_report.
	set -- "$vswitchd"
	[ -n "$asan" ] && set -- env LD_PRELOAD="$asan${LD_PRELOAD:+ $LD_PRELOAD}" \
		ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0:log_path=$OVSL_DIR/sanitizer" \
		UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$OVSL_DIR/sanitizer" "$vswitchd"
	[ -n "$netns" ] && set -- ip netns exec "$netns" "$@"
	"$@" "unix:$OVSL_DIR/db.sock" --pidfile="$OVSL_DIR/vswitchd.pid" --detach \
		--unixctl="$OVSL_DIR/vswitchd.ctl" --log-file="$OVSL_DIR/vswitchd.log" -vconsole:off \
		2>>"$OVSL_DIR/vswitchd.err" 9>&- || { ovsl_diag; return 1; }
	# Up: it answers on its control socket and, with DPDK, says EAL is
	# initialised (generous bounds: a loaded machine).
	ovsl_wait 300 ovsl_appctl version || { echo "ovs-vswitchd does not answer" >&2; ovsl_diag; return 1; }
	if [ $dpdk -eq 1 ]; then
		ovsl_wait 600 '[ "$(ovsl_vsctl get Open_vSwitch . dpdk_initialized)" = true ]' ||
			{ echo "DPDK did not initialise in ovs-vswitchd" >&2; ovsl_diag; return 1; }
	fi
	return 0
}

# Wait (up to 60 s) until the interfaces named have an OpenFlow port and
# no error (a DPDK port may fail once, e.g. a mempool's ENOBUFS, and be
# set up again on the next reconfiguration).
ovsl_iface_ready() {
	local i
	for i in "$@"; do
		ovsl_wait 600 '[ "$(ovsl_vsctl get interface '"$i"' ofport)" -gt 0 ] &&
			[ -z "$(ovsl_vsctl --if-exists get interface '"$i"' error | tr -d \"[]\")" ]' ||
			{ echo "interface $i is not up: $(ovsl_vsctl get interface "$i" error)" >&2; return 1; }
	done
}

ovsl_diag() {
	[ -n "$OVSL_DIR" ] && [ -f "$OVSL_DIR/vswitchd.log" ] || return 0
	echo "--- ovs-vswitchd log (last ${1:-40} lines)"
	tail -n "${1:-40}" "$OVSL_DIR/vswitchd.log"
	[ -s "$OVSL_DIR/vswitchd.err" ] && { echo "--- ovs-vswitchd stderr"; tail -n 20 "$OVSL_DIR/vswitchd.err"; }
	ovsl_sanitizer_report
	return 0
}

# Sanitizer reports of a sanitizer build's driver in ovs-vswitchd: printed;
# 1 if there are any.
ovsl_sanitizer_report() {
	local f r=0
	[ -n "$OVSL_DIR" ] || return 0
	for f in "$OVSL_DIR"/sanitizer.*; do
		[ -s "$f" ] || continue
		echo "--- $f"
		cat "$f"
		r=1
	done
	return $r
}

# Stop a daemon by its pidfile: TERM, up to 10 s, then KILL.
ovsl_kill() {
	local pid n=100
	[ -f "$1" ] || return 0
	pid=$(cat "$1" 2>/dev/null)
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null || return 0
	while kill -0 "$pid" 2>/dev/null && [ $n -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
	kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
	return 0
}

ovsl_stop() {
	local br
	if [ -n "$OVSL_DIR" ]; then
		# The userspace datapath's taps (one per bridge, and ovs-netdev)
		# are persistent: delete the bridges and let ovs-vswitchd clean up
		# its datapath before it goes.
		if [ -f "$OVSL_DIR/vswitchd.pid" ] && kill -0 "$(cat "$OVSL_DIR/vswitchd.pid")" 2>/dev/null; then
			for br in $(ovsl_vsctl list-br 2>/dev/null); do
				ovsl_vsctl --if-exists del-br "$br" >/dev/null 2>&1
			done
			ovs-appctl -t "$OVSL_DIR/vswitchd.ctl" --timeout=10 exit --cleanup >/dev/null 2>&1
		fi
		ovsl_kill "$OVSL_DIR/vswitchd.pid"
		ovsl_kill "$OVSL_DIR/ovsdb.pid"
		rm -rf "$OVSL_DIR"
		# EAL's runtime directory for this file prefix
		[ -n "$OVSL_PREFIX" ] && rm -rf "/var/run/dpdk/$OVSL_PREFIX"
	fi
	OVSL_DIR="" OVSL_PREFIX=""
	return 0
}

ovsl_cleanup() {
	local d
	ovsl_stop
	for d in $OVSL_PLUGIN_DIRS; do rm -rf "$d"; done
	OVSL_PLUGIN_DIRS="" OVSL_PLUGIN=""
	return 0
}
