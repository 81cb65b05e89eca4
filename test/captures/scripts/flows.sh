#!/bin/bash
# flows.sh - ovs-dpctl (Debian openvswitch-switch 3.1.0) flow commands against
# the Linux 6.12 openvswitch module, run in the qemu oracle:
#   ORACLE/run.sh test/captures/scripts/flows.sh OUTDIR
# Datapath dp0 with veth ports v0 (port 1), v2 (port 2) and an internal port
# int0 (port 3); then add-flow / mod-flow / get-flow / del-flow / dump-flows /
# del-flows / add-flows FILE with many key and action kinds, with and
# without UFIDs. Each command is echoed as "### CMD" and followed by
# "### rc=N"; commands that must fail say "(expect failure)". The exit status
# is the number of commands whose outcome differed from the expectation.

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
D="ovs-dpctl"
# Commands run from the repository root, so that the transcript names the flow
# files relative to it (test/e2e replays it from there).
cd "$(dirname "${ORACLE_SCRIPT:-$0}")/../../.." || exit 1
# No IPv6 on new interfaces: no router solicitations / DAD from the ports into
# the datapath, so its lookup counters stay 0 (deterministic "show").
sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1

$D --version | head -n1
step ok   $D add-dp dp0
step ok   ip link add v0 type veth peer name v1
step ok   ip link add v2 type veth peer name v3
step ok   ip link set v0 up
step ok   ip link set v2 up
step ok   $D add-if dp0 v0                  # port 1
step ok   $D add-if dp0 v2                  # port 2
step ok   $D add-if dp0 int0,type=internal  # port 3
step ok   $D show dp0

# ---- keys (one flow each); U1..U9 are UFIDs, the rest are keyed by the key
U1=ufid:00000001-0000-0000-0000-000000000001
U2=ufid:00000002-0000-0000-0000-000000000002
U3=ufid:00000003-0000-0000-0000-000000000003
U4=ufid:00000004-0000-0000-0000-000000000004
U5=ufid:00000005-0000-0000-0000-000000000005
U6=ufid:00000006-0000-0000-0000-000000000006
U7=ufid:00000007-0000-0000-0000-000000000007
TCP4='in_port(1),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=6,tos=0,ttl=64,frag=no),tcp(src=1000,dst=80),tcp_flags(0/0)'
UDP4='in_port(1),eth(),eth_type(0x0800),ipv4(src=10.0.0.0/255.255.255.0,dst=10.0.1.1,proto=17,frag=no),udp(dst=53)'
ICMP4='in_port(2),eth(),eth_type(0x0800),ipv4(proto=1,frag=no),icmp(type=8,code=0)'
TCP6='in_port(1),eth(),eth_type(0x86dd),ipv6(src=2001:db8::1,dst=2001:db8::2,proto=6,frag=no),tcp(dst=443),tcp_flags(0x002/0x002)'
UDP6='in_port(2),eth(),eth_type(0x86dd),ipv6(src=fe80::/ffff::,proto=17,hlimit=1,frag=no),udp(src=546,dst=547)'
ICMP6='in_port(2),eth(),eth_type(0x86dd),ipv6(proto=58,frag=no),icmpv6(type=128,code=0)'
ND='in_port(1),eth(),eth_type(0x86dd),ipv6(proto=58,hlimit=255,frag=no),icmpv6(type=135,code=0),nd(target=2001:db8::2,sll=00:00:00:00:00:01)'
ARP='in_port(2),eth(),eth_type(0x0806),arp(sip=10.0.0.1,tip=10.0.0.2,op=1)'
VLAN='in_port(1),eth(),eth_type(0x8100),vlan(vid=10,pcp=3),encap(eth_type(0x0800),ipv4(proto=17,frag=no),udp(dst=4789))'
QINQ='in_port(2),eth(),eth_type(0x88a8),vlan(vid=100,pcp=0),encap(eth_type(0x8100),vlan(vid=10,pcp=0),encap(eth_type(0x0800),ipv4(frag=no)))'
MPLS='in_port(1),eth(),eth_type(0x8847),mpls(label=100,tc=3,ttl=64,bos=1)'
TUN='tunnel(tun_id=0x5,src=192.168.0.1,dst=192.168.0.2,ttl=64,flags(key)),in_port(3),eth(),eth_type(0x0800),ipv4(frag=no)'
GENEVE='tunnel(tun_id=0x7,src=192.168.0.1,dst=192.168.0.3,ttl=64,tp_dst=6081,geneve({class=0x102,type=0x80,len=4,0xa}),flags(key)),in_port(3),eth(),eth_type(0x0800),ipv4(frag=no)'
META='recirc_id(0x5),dp_hash(0x1234/0xff),skb_priority(0x3),skb_mark(0x10/0xf0),in_port(2),eth(),eth_type(0x0800),ipv4(frag=no)'
ETHM='in_port(1),eth(src=00:11:22:00:00:00/ff:ff:ff:00:00:00,dst=00:00:00:00:00:02),eth_type(0x0806),arp()'
ETH0='in_port(2),eth()'
CT='in_port(1),eth(),eth_type(0x0800),ipv4(proto=17,frag=no),udp()'

step ok   $D add-flow dp0 "$U1,$TCP4" 2
step ok   $D add-flow dp0 "$UDP4" 'set(ipv4(dst=10.0.0.9)),2'
step ok   $D add-flow dp0 "$ICMP4" 1,3
step ok   $D add-flow dp0 "$U2,$TCP6" 'userspace(pid=1234)'
step ok   $D add-flow dp0 "$UDP6" 'userspace(pid=4321,userdata(01020304)),1'
step ok   $D add-flow dp0 "$ICMP6" 'sample(sample=50.0%,actions(1)),2'
step ok   $D add-flow dp0 "$U3,$ND" 'clone(push_vlan(vid=5,pcp=1),2),3'
step ok   $D add-flow dp0 "$ARP" 'trunc(100),1,3'
step ok   $D add-flow dp0 "$U4,$VLAN" 'pop_vlan,2'
step ok   $D add-flow dp0 "$QINQ" 'pop_vlan,pop_vlan,1'
step ok   $D add-flow dp0 "$MPLS" 'set(mpls(label=200,tc=3,ttl=63,bos=1)),2'
step ok   $D add-flow dp0 "$U5,$TUN" 'push_vlan(vid=20,pcp=5),1'
step ok   $D add-flow dp0 "$GENEVE" 2
step ok   $D add-flow dp0 "$META" 'recirc(7)'
step ok   $D add-flow dp0 "$U6,$ETHM" 'meter(0),2'
step ok   $D add-flow dp0 "$ETH0" 'check_pkt_len(size=200,gt(2),le(1))'
# recirc() takes a decimal id here: ovs-dpctl 3.1 scans it with %u, so the
# "recirc(0x7)" that dump-flows prints is not accepted back as input
step ok   $D add-flow dp0 "$U7,$CT" 'ct(commit,zone=5,mark=0x1/0xff),recirc(1)'
step ok   $D add-flow dp0 'in_port(3),eth(),eth_type(0x0800),ipv4(proto=17,frag=no),udp()' 'ct(commit,zone=6,nat(src=10.0.0.100-10.0.0.200)),1'
step ok   $D add-flow dp0 'in_port(3),eth(),eth_type(0x0800),ipv4(proto=6,frag=no),tcp(),tcp_flags(0/0)' 'ct_clear,add_mpls(label=300,tc=0,ttl=64,bos=1,eth_type=0x8847),1'
# without a UFID the kernel looks the new flow's masked key up among the
# installed megaflows; 'in_port(2),eth()' (eth_type wildcarded) matches any
# in_port 2 packet, so this overlapping flow gets EEXIST ...
step fail $D add-flow dp0 'in_port(2),eth(src=00:00:00:00:00:0a,dst=00:00:00:00:00:0b),eth_type(0x0800),ipv4(dst=10.1.0.0/255.255.0.0,frag=no)' 'set(eth(src=00:00:00:00:00:0c,dst=00:00:00:00:00:0d)),set(ipv4(src=10.2.0.1,ttl=9)),1'
# ... and is accepted on port 3
step ok   $D add-flow dp0 'in_port(3),eth(src=00:00:00:00:00:0a,dst=00:00:00:00:00:0b),eth_type(0x0800),ipv4(dst=10.1.0.0/255.255.0.0,frag=no)' 'set(eth(src=00:00:00:00:00:0c,dst=00:00:00:00:00:0d)),set(ipv4(src=10.2.0.1,ttl=9)),set(tunnel(tun_id=0x9,dst=192.168.1.1,ttl=64,flags(key))),1'
step ok   $D dump-flows dp0
step ok   $D dump-flows -m dp0
step ok   $D dump-flows dp0 filter=in_port=1
step ok   $D dump-flows -m dp0 filter=tcp,tp_dst=80
# a bare key is not a filter: ovs-dpctl ignores it and dumps everything
step ok   $D dump-flows dp0 'in_port(1)'
step ok   $D get-flow dp0 $U1
step ok   $D get-flow dp0 $U5
step ok   $D get-flow -m dp0 $U7

# ---- mod-flow: by UFID, by key, with -s, --clear, both, --may-create
step ok   $D mod-flow dp0 "$U1,$TCP4" 1,2
step ok   $D mod-flow -s dp0 "$U1,$TCP4" 2
step ok   $D mod-flow --clear dp0 "$U1,$TCP4" 3
step ok   $D mod-flow -s --clear dp0 "$U1,$TCP4" 1
step ok   $D mod-flow dp0 "$UDP4" 'push_vlan(vid=7,pcp=0),2'
step ok   $D mod-flow -s dp0 "$ARP" 2
step ok   $D mod-flow --may-create dp0 'in_port(3),eth(),eth_type(0x0806),arp()' 1
step ok   $D mod-flow --may-create -s dp0 'in_port(3),eth(),eth_type(0x0806),arp()' 2
step ok   $D get-flow dp0 $U1
step ok   $D dump-flows dp0

# ---- del-flow: by UFID and by key; -s prints the final stats
step ok   $D del-flow dp0 "$U1,$TCP4"
step ok   $D del-flow -s dp0 "$UDP4"
step ok   $D del-flow dp0 "$U4,$VLAN"
step ok   $D del-flow dp0 "$QINQ"
step ok   $D dump-flows dp0

# ---- add-flows / del-flows with a file (one request per line; lines may
# start with add/modify/delete). The files are next to this script; paths are
# relative to the repository root (the cwd, see above).
step ok   $D add-flows dp0 test/captures/scripts/flows-add.txt
step ok   $D dump-flows dp0 filter=ip,nw_src=172.16.0.1
step ok   $D dump-flows dp0 filter=ip,nw_src=172.16.0.3
step ok   $D del-flows dp0 test/captures/scripts/flows-del.txt
step ok   $D dump-flows dp0 filter=ip,nw_src=172.16.0.1
step ok   $D del-flows dp0
step ok   $D dump-flows dp0

step ok   $D del-if dp0 int0
step ok   $D del-if dp0 v2
step ok   $D del-if dp0 v0
step ok   $D del-dp dp0
echo "### unexpected outcomes: $BAD"
exit $BAD
