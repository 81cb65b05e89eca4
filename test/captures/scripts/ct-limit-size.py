#!/usr/bin/env python3
"""ct-limit-size.py - how many zone limits fit in one ovs_ct_limit GET reply of the
Linux 6.12 openvswitch module: ovs_ct_limit_cmd_get() fills a reply skb of
NLMSG_DEFAULT_SIZE and answers EMSGSIZE when the zones do not fit. Reuses the
Runner of meter-ctlimit-raw.py (same folder, same output format: CASE blocks).

Cases, on a fresh datapath: the default limit plus N explicit zones for N around
the boundary the emulator derives (652 zones + the default = 653 entries fit),
GET of all, and GET of an explicit list of the same zones.

Used by ct-limit-size.sh inside the qemu oracle.
"""
import importlib.util
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location('raw', os.path.join(HERE, 'meter-ctlimit-raw.py'))
raw = importlib.util.module_from_spec(spec)
spec.loader.exec_module(raw)


def main():
    r = raw.Runner()
    r.dpi = r.new_dp('ctsize')
    A, zl, C_SET, C_GET, C_ZONE_LIMIT = raw.A, raw.zl, raw.C_SET, raw.C_GET, raw.C_ZONE_LIMIT
    # 650 zones in one SET (and the default limit, which every GET of all reports first).
    r.ct('set_650', C_SET, A(C_ZONE_LIMIT, b''.join(zl(z, z) for z in range(1, 651))))
    for total in (651, 652, 653, 654):
        r.ct('set_zone_%d' % total, C_SET, A(C_ZONE_LIMIT, zl(total, total)))
        r.ct('get_all_with_%d_zones' % total, C_GET, b'')
        r.ct('get_list_of_%d_zones' % total, C_GET, A(C_ZONE_LIMIT, b''.join(zl(z) for z in range(1, total + 1))))


if __name__ == '__main__':
    main()
