#!/bin/bash
# pyroute2-flows.sh - flows through the kernel selftests' ovs-dpctl.py
# (linux-source 6.12, unmodified, on Debian's python3-pyroute2 0.7.2) against
# the Linux 6.12 openvswitch module. Run in the qemu oracle:
#   ORACLE/run.sh test/captures/scripts/pyroute2-flows.sh OUTDIR
# ovs-dpctl.py 6.12 has add-flow, dump-flows and del-flows (no mod-flow,
# get-flow or del-flow). Its add-flow always sends OVS_FLOW_ATTR_UFID (a
# random uuid4 unless the flow starts with "ufid:") and
# OVS_FLOW_ATTR_UFID_FLAGS = OMIT_KEY|OMIT_MASK|OMIT_ACTIONS (terse); its
# dump-flows asks for full flows. Key fields are matched in one fixed order
# (skb_priority, skb_mark, recirc_id, tunnel, dp_hash, ct_*, in_port, eth,
# eth_type, ipv4, ipv6, arp, tcp, udp, icmp, tcp_flags); no vlan/encap/icmpv6/nd.
# PYTHONPATH=$ORACLE_DIR/pyshim works around pyroute2.__version__ == 'unknown'.
# Framing as in the oracle's basic.sh ("### CMD" ... "### rc=N").

export PYTHONPATH=$ORACLE_DIR/pyshim
DPCTL="python3 $ORACLE_DIR/selftests/ovs-dpctl.py"
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
U=ufid:00000000-0000-0000-0000-0000000000

python3 -c 'import pyroute2; print("pyroute2", pyroute2.__version__)'
step ok   $DPCTL add-dp dp1
step ok   ip link add p0 type veth peer name p1
step ok   ip link add p2 type veth peer name p3
step ok   $DPCTL add-if dp1 p0                      # port 1
step ok   $DPCTL add-if dp1 p2                      # port 2
step ok   $DPCTL add-if -t internal dp1 pint0       # port 3
step ok   $DPCTL add-flow dp1 "${U}01,in_port(1),eth(),eth_type(0x0806),arp()" 2
step ok   $DPCTL add-flow dp1 "${U}02,in_port(2),eth(),eth_type(0x0800),ipv4(src=10.0.0.2,proto=17),udp(dst=53)" 'ct(commit,zone=5),recirc(1)'
step ok   $DPCTL add-flow dp1 "${U}03,in_port(1),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=6),tcp(dst=80),tcp_flags(0x02)" 'userspace(pid=1234),2'
# ovs-dpctl.py's ipv6() puts the proto value (0x11) into the mask instead of
# 0xff, so the kernel refuses the udp() mask ("Unexpected mask") ...
step fail $DPCTL add-flow dp1 "${U}04,in_port(2),eth(),eth_type(0x86dd),ipv6(src=2001:db8::1,proto=17),udp(dst=547)" 'clone(1),3'
# ... an IPv6 flow without L4 fields goes in
step ok   $DPCTL add-flow dp1 "${U}0b,in_port(2),eth(),eth_type(0x86dd),ipv6(src=2001:db8::1)" 'clone(1),3'
step ok   $DPCTL add-flow dp1 "${U}05,skb_mark(0x10),recirc_id(0x5),in_port(3),eth(),eth_type(0x0800),ipv4(proto=1),icmp(type=8)" 'sample(sample=50%,actions(1)),trunc(100),2'
step ok   $DPCTL add-flow dp1 "${U}06,in_port(3),eth(),eth_type(0x0806),arp(op=2)" 'drop(10)'
step ok   $DPCTL add-flow dp1 "${U}07,tunnel(tun_id=5,src=192.168.0.1,dst=192.168.0.2,ttl=64),in_port(3),eth(),eth_type(0x0800),ipv4(proto=17),udp(dst=4789)" 'psample(group=3,cookie=0102),1'
step ok   $DPCTL add-flow dp1 "${U}08,in_port(1),eth(),eth_type(0x0800),ipv4(src=10.9.0.1,proto=17),udp(dst=123)" drop
# without "ufid:" the tool makes up a random UFID (differs between runs)
step ok   $DPCTL add-flow dp1 'in_port(2),eth(),eth_type(0x0806),arp()' 1
# the same UFID and key again: ovs-dpctl.py sends NEW without NLM_F_CREATE,
# so the kernel updates the existing flow (new actions) instead of EEXIST
step ok   $DPCTL add-flow dp1 "${U}01,in_port(1),eth(),eth_type(0x0806),arp()" 3
# rejected by the kernel (EINVAL): TCP without tcp_flags, tcp() without ipv4()
step fail $DPCTL add-flow dp1 "${U}09,in_port(1),eth(),eth_type(0x0800),ipv4(src=10.0.0.9,proto=6),tcp(dst=22)" 2
step fail $DPCTL add-flow dp1 "${U}0a,in_port(1),eth(),eth_type(0x0800),tcp(dst=80)" 2
step ok   $DPCTL dump-flows dp1
step ok   $DPCTL -v dump-flows dp1
step ok   $DPCTL del-flows dp1
step ok   $DPCTL dump-flows dp1
step fail $DPCTL add-flow nosuchdp 'in_port(1),eth(),eth_type(0x0806),arp()' 2
step ok   $DPCTL del-if dp1 pint0
step ok   $DPCTL del-dp dp1
echo "### unexpected outcomes: $BAD"
exit $BAD
