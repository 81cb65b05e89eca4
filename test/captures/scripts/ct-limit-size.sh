#!/bin/bash
# ct-limit-size.sh - ovs_ct_limit GET replies of growing size against the Linux
# 6.12 openvswitch module (ct-limit-size.py, next to this script), every answer
# printed in hex:
#   ORACLE/run.sh test/captures/scripts/ct-limit-size.sh OUTDIR
HERE=$(dirname "${ORACLE_SCRIPT:-$0}")
sysctl -q -w net.core.message_cost=0
echo "ct-limit-size.py on $(python3 --version)"
python3 "$HERE/ct-limit-size.py"
rc=$?
echo "### rc=$rc"
exit $rc
