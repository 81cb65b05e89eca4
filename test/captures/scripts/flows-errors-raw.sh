#!/bin/bash
# flows-errors-raw.sh - hand-built, mostly malformed generic netlink requests
# for ovs_flow / ovs_datapath / ovs_vport (and genetlink framing errors) sent
# to the Linux 6.12 openvswitch module by ovs-raw-requests.py (next to this
# script; python3 standard library only: AF_NETLINK socket + struct):
#   ORACLE/run.sh test/captures/scripts/flows-errors-raw.sh OUTDIR
# The python script prints one "CASE <name> seq=<nlmsg_seq> errno=<n> ..."
# line per request (extack message/offset if the kernel sent one) followed by
# the kernel log lines that request caused ("  dmesg: ..."). The requests
# appear in the capture in the same order with those sequence numbers.
# Kept apart from flows-errors.sh so that every ovs_flow GET in that capture
# comes from ovs-dpctl. Framing as in the oracle's basic.sh.

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
HERE=$(dirname "${ORACLE_SCRIPT:-$0}")

echo "ovs-raw-requests.py on $(python3 --version)"
# OVS_NLERR() is net_ratelimit()ed (10 per 5 s): turn that off so every
# rejected request shows its log line. (The genetlink "attribute type N has an
# invalid length" warning has its own per-call-site limit and can still be
# suppressed when many come in a row.)
step ok   sysctl -w net.core.message_cost=0
# a veth end for the netdev vport cases
step ok   ip link add r0 type veth peer name r1
# request_module() from the kernel does not work in the oracle guest (its
# usermode helper runs outside the chroot), so load the vxlan vport by hand
step ok   modprobe vport-vxlan
step ok   python3 "$HERE/ovs-raw-requests.py" --dp rawdp --netdev r0
echo "### unexpected outcomes: $BAD"
exit $BAD
