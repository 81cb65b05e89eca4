#!/bin/bash
# flows-many.sh - 3000 flows installed with ovs-dpctl (Debian 3.1.0)
# "add-flows FILE" (one OVS_FLOW_CMD_NEW per line, all from one process), then
# dumped: shows how the Linux 6.12 openvswitch module splits a large flow dump
# into datagrams (several NLM_F_MULTI messages per datagram, where NLMSG_DONE
# goes). Run with: ORACLE/run.sh test/captures/scripts/flows-many.sh OUTDIR
# Framing as in the oracle's basic.sh ("### CMD" ... "### rc=N").

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
N=${1:-3000}

# No IPv6 on new interfaces: no router solicitations / DAD from the ports into
# the datapath (upcall misses would make "show" counters timing-dependent).
sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
$D --version | head -n1
step ok   $D add-dp dp0
step ok   ip link add v0 type veth peer name v1
step ok   ip link add v2 type veth peer name v3
step ok   $D add-if dp0 v0                  # port 1
step ok   $D add-if dp0 v2                  # port 2

# N distinct flows, same mask (in_port + ipv4 src exact), 10.0.0.1 upwards;
# every 10th one with a UFID
F=/tmp/flows-many.txt
for ((i = 1; i <= N; i++)); do
  ip="10.$(( (i >> 16) & 255 )).$(( (i >> 8) & 255 )).$(( i & 255 ))"
  if (( i % 10 == 0 )); then
    printf 'ufid:%08x-0000-0000-0000-00000000f10e,' "$i"
  fi
  printf 'in_port(1),eth(),eth_type(0x0800),ipv4(src=%s,frag=no) 2\n' "$ip"
done > "$F"
echo "# $(wc -l < "$F") lines in the flow file; first and last:"
head -n1 "$F"; tail -n1 "$F"
step ok   $D add-flows dp0 "$F"
step ok   $D show dp0
step ok   bash -c "$D dump-flows dp0 | wc -l"
step ok   $D dump-flows dp0
step ok   $D del-flows dp0
step ok   bash -c "$D dump-flows dp0 | wc -l"
rm -f "$F"
step ok   $D del-if dp0 v2
step ok   $D del-if dp0 v0
step ok   $D del-dp dp0
echo "### unexpected outcomes: $BAD"
exit $BAD
