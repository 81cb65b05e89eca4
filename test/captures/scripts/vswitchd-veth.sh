#!/bin/bash
# vswitchd-veth.sh - Debian's unmodified ovsdb-server + ovs-vswitchd
# (openvswitch-switch 3.1.0) driving the Linux 6.12 openvswitch module with
# system (netdev) ports, run in the qemu oracle:
#   ORACLE/run.sh test/captures/scripts/vswitchd-veth.sh OUTDIR
# Like vswitchd.sh, but the bridge's ports are the host ends va1/va2 of two
# veth pairs whose other ends vb1/vb2 sit in network namespaces ns1/ns2
# (10.0.0.1/24, 10.0.0.2/24): the kernel's vport-netdev receives and
# transmits on the veths. A ping from ns1 to ns2 makes MISS upcalls, vswitchd
# installs megaflows, the rest hit them; then port counters (ovs-ofctl
# dump-ports, ovs-dpctl show -s), a veth deleted under vswitchd's feet (the
# kernel detaches the port and multicasts OVS_VPORT_CMD_DEL), and del-br.
# Each command is echoed as "### CMD" and followed by "### rc=N". The
# vswitchd log's WARN/ERR lines are appended to out.txt after a
# "## vswitchd log" marker. The exit status is the number of commands whose
# outcome differed from the expectation.

BAD=0
step() {   # step ok|fail CMD...
  local want=$1; shift
  echo "### $* $( [ "$want" = fail ] && echo '(expect failure)')"
  "$@"
  local rc=$?
  echo "### rc=$rc"
  if { [ "$want" = ok ] && [ $rc -ne 0 ]; } || { [ "$want" = fail ] && [ $rc -eq 0 ]; }; then
    echo "### UNEXPECTED outcome"
    BAD=$((BAD + 1))
  fi
}

# No IPv6 on new interfaces of the initial namespace (br0 and, before they
# move, p1/p2): no router solicitations / DAD packets into the datapath.
sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1

# On an ordinary host the kernel autoloads these when vswitchd opens its
# NETLINK_NETFILTER socket (conntrack flush / timeout policies); in the guest
# request_module() cannot reach the host's module tree, so load them here
# (without them vswitchd logs "netlink_socket|ERR|fcntl: Protocol not
# supported"). They only add NETLINK_NETFILTER traffic, not generic netlink.
modprobe -a nfnetlink nf_conntrack_netlink nfnetlink_cttimeout \
  || echo "## modprobe nfnetlink nf_conntrack_netlink nfnetlink_cttimeout FAILED"

D=/tmp/ovs
rm -rf "$D"; mkdir -p "$D"
export OVS_RUNDIR=$D OVS_LOGDIR=$D OVS_DBDIR=$D OVS_SYSCONFDIR=$D
ovs-vswitchd --version | head -n1

# ---- daemons
step ok   ovsdb-tool create $D/conf.db /usr/share/openvswitch/vswitch.ovsschema
step ok   ovsdb-server $D/conf.db --remote=punix:$D/db.sock --pidfile --detach \
            --log-file=$D/ovsdb-server.log -vconsole:off -vsyslog:off
step ok   ovs-vsctl --no-wait init
# OVS 3.1.0's count_cpu_cores() (lib/ovs-thread.c) starts with last_updated=0
# and refreshes only when time_msec() (CLOCK_MONOTONIC, ~ guest uptime) is
# >= 10000 ms, so in a VM booted less than 10 s ago it returns 0: vswitchd
# then starts 0 per-cpu upcall handlers, never sends OVS_DP_ATTR_PER_CPU_PIDS,
# and every upcall is lost (seen in a first run: "lost:3", ping failed;
# fixed upstream in v3.1.1, commit fff04b838 "ovs-thread: Fix cpus not read
# for the first 10s.", not in Debian's 3.1.0-2+deb12u1). Start vswitchd only once
# the guest has been up for 11 s.
while [ "$(cut -d. -f1 /proc/uptime)" -lt 11 ]; do sleep 0.2; done
step ok   ovs-vswitchd unix:$D/db.sock --pidfile --detach \
            --log-file=$D/ovs-vswitchd.log -vconsole:off -vsyslog:off

# ---- veth pairs: va1 <-> vb1 (ns1, 10.0.0.1/24), va2 <-> vb2 (ns2, 10.0.0.2/24)
step ok   ip netns add ns1
step ok   ip netns add ns2
step ok   ip link add va1 type veth peer name vb1 netns ns1
step ok   ip link add va2 type veth peer name vb2 netns ns2
step ok   ip netns exec ns1 sysctl -w net.ipv6.conf.vb1.disable_ipv6=1
step ok   ip netns exec ns2 sysctl -w net.ipv6.conf.vb2.disable_ipv6=1
# See vswitchd.sh: keep the neighbour state machine from probing mid-scenario.
step ok   ip netns exec ns1 sysctl -w net.ipv4.neigh.vb1.delay_first_probe_time=120
step ok   ip netns exec ns2 sysctl -w net.ipv4.neigh.vb2.delay_first_probe_time=120
step ok   ip -n ns1 addr add 10.0.0.1/24 dev vb1
step ok   ip -n ns2 addr add 10.0.0.2/24 dev vb2
step ok   ip -n ns1 link set vb1 up
step ok   ip -n ns2 link set vb2 up
step ok   ip link set va1 up
step ok   ip link set va2 up

# ---- bridge with the two veth ends as system ports
step ok   ovs-vsctl add-br br0
step ok   ovs-vsctl add-port br0 va1
step ok   ovs-vsctl add-port br0 va2
step ok   ovs-appctl dpif/show
step ok   ovs-dpctl show

# ---- OpenFlow: NORMAL for ARP and IP (on top of the default priority=0 NORMAL)
step ok   ovs-ofctl add-flow br0 'priority=10,arp,actions=NORMAL'
step ok   ovs-ofctl add-flow br0 'priority=10,ip,actions=NORMAL'
step ok   ovs-ofctl dump-flows br0

# ---- traffic: upcalls -> megaflows
step ok   ip netns exec ns1 ping -c 3 -i 0.3 10.0.0.2
step ok   ovs-appctl dpctl/dump-flows
step ok   ovs-dpctl dump-flows
step ok   ovs-dpctl show
step ok   ovs-ofctl dump-flows br0

# ---- port counters: the veths' own (vport-netdev reads dev_get_stats())
step ok   ovs-ofctl dump-ports br0 va1
step ok   ovs-ofctl dump-ports br0 va2
step ok   ovs-dpctl show -s

# ---- a port's device disappears: the kernel detaches the vport and
# multicasts OVS_VPORT_CMD_DEL; vswitchd notices
step ok   ip link del va2
sleep 2
step ok   ovs-dpctl show
step ok   ovs-appctl dpif/show

# ---- teardown
step ok   ovs-appctl dpif/show-dp-features br0
step ok   ovs-vsctl del-br br0
step ok   ovs-dpctl show
step ok   ovs-appctl -t ovs-vswitchd exit
step ok   ovs-appctl -t ovsdb-server exit
for _ in $(seq 1 50); do
  [ -e $D/ovs-vswitchd.pid ] || [ -e $D/ovsdb-server.pid ] || break
  sleep 0.1
done

cp $D/ovs-vswitchd.log "$OUTDIR/vswitchd.log"
cp $D/ovsdb-server.log "$OUTDIR/ovsdb-server.log"
echo "### unexpected outcomes: $BAD"
echo "## vswitchd log"
grep -E '\|(WARN|ERR|EMER)\|' $D/ovs-vswitchd.log
exit $BAD
