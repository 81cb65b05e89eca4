#!/bin/bash
# getpolicy-raw.sh - hand-built nlctrl CTRL_CMD_GETPOLICY dumps (whole families
# by id and by name, single ops, malformed and refused requests) for nlctrl and
# the openvswitch families, sent to the Linux 6.12 kernel by getpolicy-raw.py
# (next to this script; python3 standard library only), every answer printed
# in hex, datagram by datagram:
#   ORACLE/run.sh test/captures/scripts/getpolicy-raw.sh OUTDIR
# The requests appear in the capture in the same order with the printed seqs.
HERE=$(dirname "${ORACLE_SCRIPT:-$0}")
echo "getpolicy-raw.py on $(python3 --version); kernel $(uname -r)"
python3 "$HERE/getpolicy-raw.py"
rc=$?
echo "### rc=$rc"
exit $rc
