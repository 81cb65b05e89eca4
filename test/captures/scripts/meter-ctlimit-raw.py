#!/usr/bin/env python3
"""meter-ctlimit-raw.py - hand-built ovs_meter and ovs_ct_limit requests sent to
the Linux 6.12 openvswitch module, with every answer printed byte for byte.
Standard library only (socket + struct).

Used by meter-ctlimit-raw.sh inside the qemu oracle (root, openvswitch module).
It creates two datapaths ("mdp", "mdp2"), then sends one request per case and
reads, without blocking, everything the kernel queued for it (the kernel
answers inside sendmsg()). Output, one block per case:

    CASE <name> seq=<nlmsg_seq> dp=<dp_ifindex in the request header>
      REQ <hex of the request message>
      RSP <hex of one answer message>          (zero or more, in order)
      dmesg: <kernel log line>                 (zero or more)

EXEC cases are OVS_PACKET_CMD_EXECUTE of a frame of LEN bytes whose only action
is METER(ID): "EXEC <name> meter=<id> len=<LEN>", followed by the same lines.
Lines starting with "#" are comments; "DP <name> <ifindex>" names the
datapaths' ifindexes (test replays map them to their own).

Usage: meter-ctlimit-raw.py
"""
import errno
import os
import socket
import struct
import sys
import time

NETLINK_GENERIC = 16
SOL_NETLINK = 270
NETLINK_EXT_ACK = 11
NLM_F_REQUEST, NLM_F_ACK, NLM_F_ECHO = 0x1, 0x4, 0x8
GENL_ID_CTRL = 0x10
CTRL_CMD_GETFAMILY = 3
CTRL_ATTR_FAMILY_ID, CTRL_ATTR_FAMILY_NAME = 1, 2

DP_CMD_NEW, DP_CMD_GET = 1, 3
DP_ATTR_NAME, DP_ATTR_UPCALL_PID = 1, 2
# ovs_meter
M_FEATURES, M_SET, M_DEL, M_GET = 1, 2, 3, 4
M_ID, M_KBPS, M_STATS, M_BANDS, M_USED, M_CLEAR, M_MAX_METERS, M_MAX_BANDS = 1, 2, 3, 4, 5, 6, 7, 8
B_TYPE, B_RATE, B_BURST, B_STATS = 1, 2, 3, 4
BAND_DROP = 1
# ovs_ct_limit
C_SET, C_DEL, C_GET = 1, 2, 3
C_ZONE_LIMIT = 1
# ovs_packet
P_EXECUTE = 3
P_PACKET, P_KEY, P_ACTIONS = 1, 2, 3
K_IN_PORT = 3
A_METER = 19


def u32(v): return struct.pack('=I', v)
def u64(v): return struct.pack('=Q', v)
def s32(v): return struct.pack('=i', v)
def cat(parts): return b''.join(parts) if isinstance(parts, (list, tuple)) else parts


def A(atype, payload=b''):
    payload = cat(payload)
    return struct.pack('=HH', 4 + len(payload), atype) + payload + b'\0' * ((-len(payload)) % 4)


def cstr(s): return s.encode() + b'\0'


def band(rate=1, burst=1, btype=BAND_DROP, nest_type=0, extra=b''):
    parts = []
    if btype is not None:
        parts.append(A(B_TYPE, u32(btype)))
    if rate is not None:
        parts.append(A(B_RATE, u32(rate)))
    if burst is not None:
        parts.append(A(B_BURST, u32(burst)))
    return A(nest_type, cat(parts) + extra)


def zl(zone, limit=0, count=0): return struct.pack('=iII', zone, limit, count)


class Kmsg:
    def __init__(self):
        try:
            self.fd = os.open('/dev/kmsg', os.O_RDONLY | os.O_NONBLOCK)
            os.lseek(self.fd, 0, os.SEEK_END)
        except OSError:
            self.fd = None

    def lines(self):
        out = []
        while self.fd is not None:
            try:
                rec = os.read(self.fd, 8192)
            except BlockingIOError:
                break
            except OSError as e:
                if e.errno == errno.EPIPE:
                    continue
                break
            out.append(rec.decode(errors='replace').split(';', 1)[-1].split('\n')[0])
        return out


class Runner:
    def __init__(self):
        self.s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
        self.s.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.s.bind((0, 0))
        self.pid = self.s.getsockname()[0]
        self.seq = 5000
        self.kmsg = Kmsg()
        self.fam = {n: self.resolve(n) for n in ('ovs_datapath', 'ovs_meter', 'ovs_ct_limit', 'ovs_packet')}

    def msg(self, mtype, cmd, body=b'', flags=NLM_F_REQUEST | NLM_F_ACK, version=1, hdr=None):
        self.seq += 1
        payload = struct.pack('=BBH', cmd, version, 0)
        if hdr is not None:
            payload += s32(hdr)
        payload += cat(body)
        return struct.pack('=IHHII', 16 + len(payload), mtype, flags, self.seq, 0) + payload, self.seq

    def drain(self):
        """Every message the kernel queued for us (it answers inside sendmsg)."""
        out = []
        while True:
            try:
                data = self.s.recv(1 << 20, socket.MSG_DONTWAIT)
            except BlockingIOError:
                return out
            off = 0
            while off + 16 <= len(data):
                ln = struct.unpack_from('=I', data, off)[0]
                if ln < 16:
                    break
                out.append(data[off:off + ln])
                off += (ln + 3) & ~3

    def resolve(self, name):
        m, seq = self.msg(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, A(CTRL_ATTR_FAMILY_NAME, cstr(name)),
                          flags=NLM_F_REQUEST)
        self.s.send(m)
        for r in self.drain():
            if struct.unpack_from('=H', r, 4)[0] == GENL_ID_CTRL:
                off = 20
                while off + 4 <= len(r):
                    ln, t = struct.unpack_from('=HH', r, off)
                    if t == CTRL_ATTR_FAMILY_ID:
                        return struct.unpack_from('=H', r, off + 4)[0]
                    off += (ln + 3) & ~3
        sys.exit('cannot resolve ' + name)

    def send(self, head, m, seq, dp):
        self.kmsg.lines()
        self.s.send(m)
        got = self.drain()
        print('%s seq=%d dp=%d' % (head, seq, dp))
        print('  REQ ' + m.hex())
        for r in got:
            print('  RSP ' + r.hex())
        for l in self.kmsg.lines():
            print('  dmesg: ' + l)
        sys.stdout.flush()
        return got

    def meter(self, name, cmd, body, flags=NLM_F_REQUEST | NLM_F_ACK, dp=None, quiet=False):
        dp = self.dpi if dp is None else dp
        m, seq = self.msg(self.fam['ovs_meter'], cmd, body, flags=flags, hdr=dp)
        if quiet:
            self.s.send(m)
            return self.drain()
        return self.send('CASE ' + name, m, seq, dp)

    def ct(self, name, cmd, body, flags=NLM_F_REQUEST | NLM_F_ACK, dp=None):
        dp = self.dpi if dp is None else dp
        m, seq = self.msg(self.fam['ovs_ct_limit'], cmd, body, flags=flags, hdr=dp)
        return self.send('CASE ' + name, m, seq, dp)

    def execute(self, name, meter_id, length):
        frame = bytes.fromhex('020000000002' '020000000001' '88b5') + bytes(length - 14)
        body = [A(P_PACKET, frame), A(P_KEY, A(K_IN_PORT, u32(0))), A(P_ACTIONS, A(A_METER, u32(meter_id)))]
        m, seq = self.msg(self.fam['ovs_packet'], P_EXECUTE, body, hdr=self.dpi)
        return self.send('EXEC %s meter=%d len=%d' % (name, meter_id, length), m, seq, self.dpi)

    def new_dp(self, name):
        m, seq = self.msg(self.fam['ovs_datapath'], DP_CMD_NEW,
                          [A(DP_ATTR_NAME, cstr(name)), A(DP_ATTR_UPCALL_PID, u32(self.pid))], version=2, hdr=0)
        self.s.send(m)
        self.drain()
        m, seq = self.msg(self.fam['ovs_datapath'], DP_CMD_GET, A(DP_ATTR_NAME, cstr(name)),
                          flags=NLM_F_REQUEST, version=2, hdr=0)
        self.s.send(m)
        for r in self.drain():
            if struct.unpack_from('=H', r, 4)[0] == self.fam['ovs_datapath']:
                idx = struct.unpack_from('=i', r, 20)[0]
                print('DP %s %d' % (name, idx))
                return idx
        sys.exit('datapath %s not created' % name)


def run(r):
    PROBE = NLM_F_REQUEST | NLM_F_ECHO     # what dpif_netlink_meter_init() sends
    ACK = NLM_F_REQUEST | NLM_F_ACK
    print('# families ' + ' '.join('%s=0x%x' % kv for kv in sorted(r.fam.items())))
    dp1 = r.new_dp('mdp')
    dp2 = r.new_dp('mdp2')
    r.dpi = dp1
    bad = 0x7ff0

    print('# OVS probe_broken_meters__() and features (flags REQUEST|ECHO, as OVS sends)')
    probe = lambda i: [A(M_ID, u32(i)), A(M_KBPS), A(M_BANDS, band(1, 1))]
    r.meter('probe_set_54545401', M_SET, probe(54545401), flags=PROBE)
    r.meter('probe_set_54545402', M_SET, probe(54545402), flags=PROBE)
    r.meter('probe_get_54545401', M_GET, A(M_ID, u32(54545401)), flags=PROBE)
    r.meter('probe_get_54545402', M_GET, A(M_ID, u32(54545402)), flags=PROBE)
    r.meter('probe_del_54545401', M_DEL, A(M_ID, u32(54545401)), flags=PROBE)
    r.meter('probe_del_54545402', M_DEL, A(M_ID, u32(54545402)), flags=PROBE)
    r.meter('features', M_FEATURES, b'', flags=PROBE)

    print('# features')
    r.meter('features_ack', M_FEATURES, b'', flags=ACK)
    r.meter('features_no_flags', M_FEATURES, b'', flags=NLM_F_REQUEST)
    r.meter('features_bad_dp', M_FEATURES, b'', dp=bad)
    r.meter('features_with_attrs_ignored', M_FEATURES, [A(M_ID, u32(3)), A(M_MAX_METERS, u32(5))])

    print('# set errors')
    r.meter('set_without_id', M_SET, [A(M_KBPS), A(M_BANDS, band())])
    r.meter('set_without_bands', M_SET, [A(M_ID, u32(3)), A(M_KBPS)])
    r.meter('set_two_bands', M_SET, [A(M_ID, u32(3)), A(M_BANDS, band() + band())])
    r.meter('set_band_without_type', M_SET, [A(M_ID, u32(3)), A(M_BANDS, band(btype=None))])
    r.meter('set_band_without_rate', M_SET, [A(M_ID, u32(3)), A(M_BANDS, band(rate=None))])
    r.meter('set_band_without_burst', M_SET, [A(M_ID, u32(3)), A(M_BANDS, band(burst=None))])
    r.meter('set_band_rate_0', M_SET, [A(M_ID, u32(3)), A(M_BANDS, band(rate=0))])
    r.meter('set_band_rate_len_2', M_SET, [A(M_ID, u32(3)), A(M_BANDS, A(0, [A(B_TYPE, u32(1)), A(B_RATE, b'\1\0'), A(B_BURST, u32(1))]))])
    r.meter('set_band_stats_len_8', M_SET, [A(M_ID, u32(3)), A(M_BANDS, band(extra=A(B_STATS, u64(1))))])
    r.meter('set_id_len_2', M_SET, [A(M_ID, b'\3\0'), A(M_BANDS, band())])
    r.meter('set_stats_len_8', M_SET, [A(M_ID, u32(3)), A(M_STATS, u64(1)), A(M_BANDS, band())])
    r.meter('set_kbps_with_payload', M_SET, [A(M_ID, u32(3)), A(M_KBPS, u32(1)), A(M_BANDS, band())])
    r.meter('set_bands_len_2', M_SET, [A(M_ID, u32(3)), A(M_BANDS, b'\0\0')])
    r.meter('set_bad_dp', M_SET, [A(M_ID, u32(3)), A(M_BANDS, band())], dp=bad)
    r.meter('set_two_bands_bad_dp', M_SET, [A(M_ID, u32(3)), A(M_BANDS, band() + band())], dp=bad)
    r.meter('set_rate_0_without_id', M_SET, [A(M_BANDS, band(rate=0))])

    print('# set, replace, stats, clear')
    r.meter('set_5_with_stats', M_SET, [A(M_ID, u32(5)), A(M_STATS, u64(7) + u64(700)), A(M_BANDS, band(10, 20))])
    r.meter('get_5', M_GET, A(M_ID, u32(5)))
    r.meter('set_5_replace', M_SET, [A(M_ID, u32(5)), A(M_KBPS), A(M_BANDS, band(30, 40))])
    r.meter('set_5_replace_clear', M_SET, [A(M_ID, u32(5)), A(M_CLEAR), A(M_STATS, u64(9) + u64(900)), A(M_BANDS, band(1, 1))])
    r.meter('get_5_after_clear', M_GET, A(M_ID, u32(5)))
    r.meter('set_5_replace_after_clear', M_SET, [A(M_ID, u32(5)), A(M_BANDS, band(2, 2))])
    r.meter('set_5_no_flags', M_SET, [A(M_ID, u32(5)), A(M_BANDS, band(2, 2))], flags=NLM_F_REQUEST)
    r.meter('set_5_echo_ack', M_SET, [A(M_ID, u32(5)), A(M_BANDS, band(2, 2))], flags=NLM_F_REQUEST | NLM_F_ECHO | NLM_F_ACK)
    r.meter('set_6_band_type_2', M_SET, [A(M_ID, u32(6)), A(M_BANDS, band(5, 5, btype=2))])
    r.meter('set_9_band_nest_type_7', M_SET, [A(M_ID, u32(9)), A(M_BANDS, band(5, 5, nest_type=7))])
    r.meter('set_10_zero_bands', M_SET, [A(M_ID, u32(10)), A(M_BANDS, b'')])
    r.meter('get_10_zero_bands', M_GET, A(M_ID, u32(10)))
    r.meter('set_11_band_stats_ignored', M_SET, [A(M_ID, u32(11)), A(M_BANDS, band(3, 3, extra=A(B_STATS, u64(5) + u64(6))))])
    r.meter('get_11', M_GET, A(M_ID, u32(11)))
    r.meter('set_12_huge_burst', M_SET, [A(M_ID, u32(12)), A(M_BANDS, band(1, 0xffffffff))])
    r.meter('set_13_burst_0', M_SET, [A(M_ID, u32(13)), A(M_BANDS, band(1, 0))])

    print('# get / del')
    r.meter('get_unknown', M_GET, A(M_ID, u32(777)))
    r.meter('get_without_id', M_GET, b'')
    r.meter('get_bad_dp', M_GET, A(M_ID, u32(5)), dp=bad)
    r.meter('get_without_id_bad_dp', M_GET, b'', dp=bad)
    r.meter('del_unknown', M_DEL, A(M_ID, u32(777)))
    r.meter('del_unknown_no_flags', M_DEL, A(M_ID, u32(777)), flags=NLM_F_REQUEST)
    r.meter('del_without_id', M_DEL, b'')
    r.meter('del_bad_dp', M_DEL, A(M_ID, u32(5)), dp=bad)
    r.meter('del_5', M_DEL, A(M_ID, u32(5)))
    r.meter('get_5_after_del', M_GET, A(M_ID, u32(5)))

    print('# slot clash')
    r.meter('set_1', M_SET, [A(M_ID, u32(1)), A(M_BANDS, band())])
    r.meter('set_1025_clash', M_SET, [A(M_ID, u32(1025)), A(M_BANDS, band())])
    r.meter('get_1025', M_GET, A(M_ID, u32(1025)))
    r.meter('get_1', M_GET, A(M_ID, u32(1)))

    print('# token bucket: pps rate 1 burst 1 (1000 units), 3 packets of 60 bytes in well under 1 s')
    r.meter('set_7_pps', M_SET, [A(M_ID, u32(7)), A(M_BANDS, band(1, 1))])
    t0 = time.monotonic()
    for i in range(3):
        r.execute('pps_%d' % i, 7, 60)
    print('# elapsed %.3f s' % (time.monotonic() - t0))
    r.meter('get_7_after_packets', M_GET, A(M_ID, u32(7)))
    print('# token bucket: kbps rate 1 burst 2 (2000 bits), 3 packets of 100 bytes (800 bits) in under 0.4 s')
    r.meter('set_8_kbps', M_SET, [A(M_ID, u32(8)), A(M_KBPS), A(M_BANDS, band(1, 2))])
    t0 = time.monotonic()
    for i in range(3):
        r.execute('kbps_%d' % i, 8, 100)
    print('# elapsed %.3f s' % (time.monotonic() - t0))
    r.meter('get_8_after_packets', M_GET, A(M_ID, u32(8)))
    r.execute('unknown_meter', 4242, 60)
    r.meter('set_8_replace_after_packets', M_SET, [A(M_ID, u32(8)), A(M_BANDS, band(1, 1))])
    r.meter('set_6_execute_type_2', M_SET, [A(M_ID, u32(6)), A(M_BANDS, band(1, 1, btype=2))])
    r.execute('type_2_band_0', 6, 60)
    r.execute('type_2_band_1', 6, 60)
    r.meter('get_6_type_2_after_packets', M_GET, A(M_ID, u32(6)))
    r.meter('set_10_zero_bands_again', M_SET, [A(M_ID, u32(10)), A(M_BANDS, b'')])
    r.execute('zero_bands', 10, 60)
    r.meter('get_10_after_packet', M_GET, A(M_ID, u32(10)))

    print('# growth of the meter array on mdp2: ids 1024..2046 fill slots 0..1022, then 3071 makes it 2048 slots')
    r.dpi = dp2
    for k in range(1023):
        got = r.meter(None, M_SET, [A(M_ID, u32(1024 + k)), A(M_BANDS, band())], quiet=True)
        err = [g for g in got if struct.unpack_from('=H', g, 4)[0] == 2]
        if not err or struct.unpack_from('=i', err[0], 16)[0] != 0:
            print('# unexpected answer to SET %d: %s' % (1024 + k, [g.hex() for g in got]))
    print('# 1023 meters set (ids 1024..2046)')
    r.meter('get_1024_before_growth', M_GET, A(M_ID, u32(1024)))
    r.meter('set_3071_grows', M_SET, [A(M_ID, u32(3071)), A(M_BANDS, band())])
    r.meter('get_3071', M_GET, A(M_ID, u32(3071)))
    r.meter('get_1024_after_growth', M_GET, A(M_ID, u32(1024)))
    r.meter('get_2046_after_growth', M_GET, A(M_ID, u32(2046)))
    r.meter('del_1025_after_growth', M_DEL, A(M_ID, u32(1025)))
    r.meter('set_1024_again', M_SET, [A(M_ID, u32(1024)), A(M_BANDS, band(7, 7))])
    r.meter('get_1024_again', M_GET, A(M_ID, u32(1024)))
    r.meter('set_2048_slot_0_ghost', M_SET, [A(M_ID, u32(2048)), A(M_BANDS, band())])
    r.meter('set_1_slot_1_ghost', M_SET, [A(M_ID, u32(1)), A(M_BANDS, band())])
    r.meter('features_mdp2', M_FEATURES, b'')
    r.dpi = dp1

    print('# ct_limit')
    r.ct('ct_get_all_initial', C_GET, b'')
    r.ct('ct_set_without_attr', C_SET, b'')
    r.ct('ct_del_without_attr', C_DEL, b'')
    r.ct('ct_set_len_2', C_SET, A(C_ZONE_LIMIT, b'\0\0'))
    r.ct('ct_get_len_2', C_GET, A(C_ZONE_LIMIT, b'\0\0'))
    r.ct('ct_set_zones', C_SET, A(C_ZONE_LIMIT, zl(-1, 10) + zl(5, 100) + zl(517, 7) + zl(70000, 1) + zl(-2, 3) + zl(0, 4, 99)))
    r.ct('ct_get_all', C_GET, b'')
    r.ct('ct_get_some', C_GET, A(C_ZONE_LIMIT, zl(5, 1, 2) + zl(6) + zl(-1) + zl(70000) + zl(517) + zl(65535)))
    r.ct('ct_set_replace_5', C_SET, A(C_ZONE_LIMIT, zl(5, 200)))
    r.ct('ct_set_1029_same_bucket', C_SET, A(C_ZONE_LIMIT, zl(1029, 9)))
    r.ct('ct_get_all_2', C_GET, b'')
    r.ct('ct_set_13_bytes', C_SET, A(C_ZONE_LIMIT, zl(20, 21) + b'\x55'))
    r.ct('ct_set_11_bytes', C_SET, A(C_ZONE_LIMIT, zl(30, 31)[:11]))
    r.ct('ct_set_empty', C_SET, A(C_ZONE_LIMIT, b''))
    r.ct('ct_set_no_flags', C_SET, A(C_ZONE_LIMIT, zl(40, 41)), flags=NLM_F_REQUEST)
    r.ct('ct_set_bad_dp_header', C_SET, A(C_ZONE_LIMIT, zl(41, 42)), dp=bad)
    r.ct('ct_get_all_3', C_GET, b'')
    r.ct('ct_get_empty_attr', C_GET, A(C_ZONE_LIMIT, b''))
    r.ct('ct_get_13_bytes', C_GET, A(C_ZONE_LIMIT, zl(20) + b'\x55'))
    r.ct('ct_get_bad_dp_header', C_GET, b'', dp=bad)
    r.ct('ct_del_some', C_DEL, A(C_ZONE_LIMIT, zl(5) + zl(-1) + zl(999) + zl(70000)))
    r.ct('ct_get_all_after_del', C_GET, b'')
    r.ct('ct_del_no_flags', C_DEL, A(C_ZONE_LIMIT, zl(517)), flags=NLM_F_REQUEST)
    r.ct('ct_del_empty', C_DEL, A(C_ZONE_LIMIT, b''))
    r.ct('ct_get_echo', C_GET, b'', flags=NLM_F_REQUEST | NLM_F_ECHO)
    r.ct('ct_set_default_0', C_SET, A(C_ZONE_LIMIT, zl(-1, 0)))
    r.ct('ct_get_all_final', C_GET, b'')


if __name__ == '__main__':
    run(Runner())
