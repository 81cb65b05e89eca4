#!/bin/bash
# meter-ctlimit-raw.sh - hand-built ovs_meter / ovs_ct_limit requests (and
# OVS_PACKET_CMD_EXECUTE through meters) sent to the Linux 6.12 openvswitch
# module by meter-ctlimit-raw.py (next to this script; python3 standard
# library only), every answer printed in hex:
#   ORACLE/run.sh test/captures/scripts/meter-ctlimit-raw.sh OUTDIR
# The requests appear in the capture in the same order with the printed seqs.
HERE=$(dirname "${ORACLE_SCRIPT:-$0}")
sysctl -q -w net.core.message_cost=0
echo "meter-ctlimit-raw.py on $(python3 --version); guest RAM: $(grep MemTotal /proc/meminfo)"
python3 "$HERE/meter-ctlimit-raw.py"
rc=$?
echo "### rc=$rc"
exit $rc
