#!/bin/bash
# flows-errors.sh - flow (and some datapath/vport) requests the Linux 6.12
# openvswitch module rejects, for comparing errnos and log messages:
#   ORACLE/run.sh test/captures/scripts/flows-errors.sh OUTDIR
# Debian's ovs-dpctl 3.1.0 only; byte-level malformed requests that ovs-dpctl
# cannot send are in flows-errors-raw.sh (ovs-raw-requests.py).
# Framing as in the oracle's basic.sh: "### CMD" ... "### rc=N", commands that
# must fail say "(expect failure)". After each command, the kernel log lines
# it caused are printed as "## dmesg: ..." (not part of the command output).
# net.core.message_cost=0 turns off the rate limit of OVS_NLERR, so every
# rejected request that logs shows its line.

BAD=0
KLINES=$(dmesg -t | wc -l)
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
  local n; n=$(dmesg -t | wc -l)
  [ "$n" -gt "$KLINES" ] && dmesg -t | tail -n +"$((KLINES + 1))" | sed 's/^/## dmesg: /'
  KLINES=$n
}
D="ovs-dpctl"

# No IPv6 on new interfaces: no router solicitations / DAD from the ports into
# the datapath (upcall misses would make "show" counters timing-dependent).
sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
$D --version | head -n1
sysctl -q -w net.core.message_cost=0
KLINES=$(dmesg -t | wc -l)
step ok   $D add-dp dp0
step ok   ip link add v0 type veth peer name v1
step ok   ip link add v2 type veth peer name v3
step ok   $D add-if dp0 v0                  # port 1
step ok   $D add-if dp0 v2                  # port 2
step ok   $D add-if dp0 int0,type=internal  # port 3

U1=ufid:0000e001-0000-0000-0000-000000000001
U9=ufid:0000e009-0000-0000-0000-000000000009
E='in_port(1),eth(),eth_type(0x0800)'
TCP="$E,ipv4(src=10.0.0.1,dst=10.0.0.2,proto=6,frag=no),tcp(src=1,dst=2),tcp_flags(0/0)"
UDP="$E,ipv4(src=10.0.0.1,dst=10.0.0.2,proto=17,frag=no),udp(src=1,dst=2)"
ARP='in_port(2),eth(),eth_type(0x0806),arp()'

# ---- keys the kernel rejects
step fail $D add-flow dp0 "$E,ipv4(proto=6,frag=no),tcp(dst=80)" 2             # no tcp_flags
step fail $D add-flow dp0 "$E,tcp(dst=80),tcp_flags(0/0)" 2                     # tcp() without ipv4()
step fail $D add-flow dp0 'in_port(1),eth(),eth_type(0x0800/0x0000),ipv4(src=10.0.0.1,frag=no)' 2
# a partial ETHERTYPE mask is accepted: the kernel always makes it exact (0xffff)
step ok   $D add-flow dp0 'in_port(4),eth(),eth_type(0x0800/0xff00),ipv4(src=10.0.0.1,frag=no)' 2
# in_port must be < DP_MAX_PORTS (65535)
step fail $D add-flow dp0 'in_port(65536),eth(),eth_type(0x0806),arp()' 2
step fail $D add-flow dp0 'in_port(65535),eth(),eth_type(0x0806),arp()' 2
step ok   $D add-flow dp0 'in_port(65534),eth(),eth_type(0x0806),arp()' 2
step fail $D add-flow dp0 'in_port(1),eth(),eth_type(0x8100),vlan(vid=10,pcp=0,cfi=0),encap(eth_type(0x0800),ipv4(frag=no))' 2
step fail $D add-flow dp0 'in_port(1),eth(),eth_type(0x8100),vlan(vid=0,pcp=0,cfi=0),encap(eth_type(0x0800))' 2
# truncated VLAN header (TCI 0, empty encap()): the key passes, but the
# exact VLAN mask ovs-dpctl sends is refused ("Unknown key attributes 20")
step fail $D add-flow dp0 'in_port(1),eth(),eth_type(0x8100),vlan(vid=0,pcp=0,cfi=0),encap()' 2
step fail $D add-flow dp0 'in_port(1),eth(),eth_type(0x8100)' 2
step fail $D add-flow dp0 'in_port(1),eth(),eth_type(0x88a8),vlan(vid=1,pcp=0),encap(eth_type(0x8100),vlan(vid=2,pcp=0),encap(eth_type(0x8100),vlan(vid=3,pcp=0),encap(eth_type(0x0800))))' 2
step fail $D add-flow dp0 'in_port(1),eth(),eth_type(0x0500)' 2
step fail $D add-flow dp0 'in_port(1),eth(),eth_type(0x8847)' 2                 # no mpls()
step fail $D add-flow dp0 "$E,ipv4(frag=no),arp(op=1)" 2                        # arp() on IPv4
step fail $D add-flow dp0 "$E,ipv4(proto=17,frag=later),udp(dst=53)" 2          # L4 on a later fragment
step fail $D add-flow dp0 'in_port(1),eth(),eth_type(0x86dd),ipv6(proto=58,frag=no),icmpv6(type=128,code=0),nd(target=::1)' 2
step fail $D add-flow dp0 "tunnel(tun_id=0x5,ttl=64),$E,ipv4(frag=no)" 2       # no tunnel dst
step fail $D add-flow dp0 "tunnel(tun_id=0x5,dst=192.168.0.2),$E,ipv4(frag=no)" 2   # no tunnel ttl
step ok   $D dump-flows dp0
step ok   $D del-flows dp0

# ---- actions the kernel rejects
step fail $D add-flow dp0 "$UDP" drop               # OVS 3.1 "drop" = type 25 = 6.12 PSAMPLE
step fail $D add-flow dp0 "$UDP" 'tnl_pop(0),2'     # OVS 3.1 tnl_pop = type 24 = 6.12 DROP, not last
step ok   $D add-flow dp0 "$UDP" 'tnl_pop(0)'       # ... accepted when it is the last action
step fail $D add-flow dp0 "$TCP" 'lb_output(1)'     # type 26 > OVS_ACTION_ATTR_MAX
step fail $D add-flow dp0 "$TCP" 'userspace(pid=0)'
step fail $D add-flow dp0 "$TCP" 65536
step fail $D add-flow dp0 "$TCP" 'push_vlan(vid=5,pcp=0,cfi=0),2'
step fail $D add-flow dp0 "$TCP" 'trunc(13),2'
step fail $D add-flow dp0 "$TCP" 'set(ipv4(proto=17)),2'
step fail $D add-flow dp0 "$ARP" 'set(ipv4(dst=10.0.0.9)),1'
step fail $D add-flow dp0 "$ARP" 'ct(commit),1'
C16=1; for i in $(seq 16); do C16="clone($C16)"; done
C17="clone($C16)"
step ok   $D add-flow dp0 "$TCP" "$C16"
step fail $D mod-flow dp0 "$TCP" "$C17"                # 17 nested clones: EOVERFLOW
step fail $D add-flow dp0 "$UDP" "$C17"

# ---- flows that do not exist / already exist
step ok   $D add-flow dp0 "$U1,$ARP" 1
step fail $D add-flow dp0 "$U1,$ARP" 1                 # same UFID and key
step fail $D add-flow dp0 "$U1,$TCP" 1                 # same UFID, other key
step fail $D add-flow dp0 "$TCP" 1                     # same key, no UFID
step fail $D add-flow dp0 "$ARP" 1                     # key of a UFID flow
step fail $D mod-flow dp0 "$ARP" 2                     # ... is not found by key
step fail $D del-flow dp0 "$ARP"
step ok   $D mod-flow dp0 "$U1,$ARP" 2
step ok   $D mod-flow dp0 "$U1,$TCP" 3                 # SET by UFID, other key
step ok   $D get-flow dp0 $U1
step fail $D mod-flow dp0 "$U9,$ARP" 2
step fail $D mod-flow dp0 "$E,ipv4(src=10.9.9.9,dst=10.0.0.2,proto=17,frag=no),udp(src=1,dst=2)" 2
step fail $D del-flow dp0 "$U9,$ARP"
step fail $D del-flow dp0 "$E,ipv4(src=10.9.9.9,dst=10.0.0.2,proto=17,frag=no),udp(src=1,dst=2)"
step fail $D get-flow dp0 $U9
step ok   $D dump-flows dp0
step ok   $D del-flows dp0
step fail $D del-flow dp0 "$U1,$ARP"
step fail $D get-flow dp0 $U1
step fail $D add-flow nosuchdp "$TCP" 1
step fail $D dump-flows nosuchdp
# with one argument, del-flows takes it as a FILE of flows for the only
# datapath: fopen fails, ovs-dpctl prints the error but exits 0
step ok   $D del-flows nosuchdp

step ok   $D del-if dp0 int0
step ok   $D del-dp dp0
echo "### unexpected outcomes: $BAD"
exit $BAD
