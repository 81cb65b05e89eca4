#!/usr/bin/env python3
"""getpolicy-raw.py - hand-built nlctrl CTRL_CMD_GETPOLICY requests sent to the
Linux 6.12 kernel, with every answer printed byte for byte. Standard library
only (socket + struct).

Used by getpolicy-raw.sh inside the qemu oracle (root, openvswitch module).
For nlctrl and each OVS family it resolves the family id (CTRL_CMD_GETFAMILY),
then dumps the family's policies by id, by name, for single ops, and sends
requests the kernel refuses. Output, one block per case:

    CASE <name> seq=<nlmsg_seq>
      REQ <hex of the request message>
      DGRAM <n>                                (one per datagram read)
      RSP <hex of one answer message>          (the datagram's messages, in order)

Lines starting with "#" are comments; "FAMILY <name> <id>" names the ids the
kernel gave (the emulator uses the same ones).

Usage: getpolicy-raw.py
"""
import socket
import struct
import sys

NETLINK_GENERIC = 16
SOL_NETLINK = 270
NETLINK_EXT_ACK = 11
NLM_F_REQUEST, NLM_F_ACK, NLM_F_ECHO, NLM_F_DUMP = 0x1, 0x4, 0x8, 0x300
GENL_ID_CTRL = 0x10
CTRL_CMD_GETFAMILY, CTRL_CMD_GETPOLICY = 3, 10
CTRL_ATTR_FAMILY_ID, CTRL_ATTR_FAMILY_NAME, CTRL_ATTR_VERSION = 1, 2, 3
CTRL_ATTR_POLICY, CTRL_ATTR_OP_POLICY, CTRL_ATTR_OP = 8, 9, 10
DUMP = NLM_F_REQUEST | NLM_F_DUMP

FAMILIES = ('nlctrl', 'ovs_datapath', 'ovs_vport', 'ovs_flow', 'ovs_packet', 'ovs_meter', 'ovs_ct_limit')
# Every command number of each family (plus one above), for the single-op cases.
OPS = {
    'nlctrl': range(0, 12), 'ovs_datapath': range(0, 6), 'ovs_vport': range(0, 6),
    'ovs_flow': range(0, 6), 'ovs_packet': range(0, 5), 'ovs_meter': range(0, 6),
    'ovs_ct_limit': range(0, 5),
}


def u16(v): return struct.pack('=H', v)
def u32(v): return struct.pack('=I', v)


def A(atype, payload=b''):
    return struct.pack('=HH', 4 + len(payload), atype) + payload + b'\0' * ((-len(payload)) % 4)


def cstr(s): return s.encode() + b'\0'


class Runner:
    def __init__(self):
        self.s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
        self.s.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.s.bind((0, 0))
        self.seq = 7000
        self.fam = {}
        for n in FAMILIES:
            self.fam[n] = self.resolve(n)
            print('FAMILY %s %d' % (n, self.fam[n]))

    def msg(self, cmd, body=b'', flags=DUMP, version=1, mtype=GENL_ID_CTRL, raw_tail=b''):
        self.seq += 1
        payload = struct.pack('=BBH', cmd, version, 0) + body + raw_tail
        return struct.pack('=IHHII', 16 + len(payload), mtype, flags, self.seq, 0) + payload, self.seq

    def drain(self):
        """Every datagram the kernel queued for us; recv() refills a running dump."""
        out = []
        while True:
            try:
                data = self.s.recv(1 << 20, socket.MSG_DONTWAIT)
            except BlockingIOError:
                return out
            msgs = []
            off = 0
            while off + 16 <= len(data):
                ln = struct.unpack_from('=I', data, off)[0]
                if ln < 16:
                    break
                msgs.append(data[off:off + ln])
                off += (ln + 3) & ~3
            out.append(msgs)

    def resolve(self, name):
        m, _ = self.msg(CTRL_CMD_GETFAMILY, A(CTRL_ATTR_FAMILY_NAME, cstr(name)), flags=NLM_F_REQUEST)
        self.s.send(m)
        for dgram in self.drain():
            for r in dgram:
                if struct.unpack_from('=H', r, 4)[0] != GENL_ID_CTRL:
                    continue
                off = 20
                while off + 4 <= len(r):
                    ln, t = struct.unpack_from('=HH', r, off)
                    if t == CTRL_ATTR_FAMILY_ID:
                        return struct.unpack_from('=H', r, off + 4)[0]
                    off += (ln + 3) & ~3
        sys.exit('cannot resolve ' + name)

    def case(self, name, body=b'', flags=DUMP, cmd=CTRL_CMD_GETPOLICY, raw_tail=b'', version=1, short=False):
        m, seq = self.msg(cmd, body, flags=flags, raw_tail=raw_tail, version=version)
        if short:  # nlmsghdr and 2 bytes: shorter than genlmsghdr
            m = struct.pack('=IHHII', 18, GENL_ID_CTRL, flags, seq, 0) + bytes([cmd, version])
        self.s.send(m)
        got = self.drain()
        print('CASE %s seq=%d' % (name, seq))
        print('  REQ ' + m.hex())
        for dgram in got:
            print('  DGRAM %d' % len(dgram))
            for r in dgram:
                print('  RSP ' + r.hex())
        sys.stdout.flush()


def main():
    r = Runner()
    fid = lambda n: A(CTRL_ATTR_FAMILY_ID, u16(r.fam[n]))
    print('# whole-family dumps, by id and by name')
    for n in FAMILIES:
        r.case('%s by-id' % n, fid(n))
        r.case('%s by-name' % n, A(CTRL_ATTR_FAMILY_NAME, cstr(n)))
    print('# single ops (existing and missing commands)')
    for n in FAMILIES:
        for op in OPS[n]:
            r.case('%s op=%d' % (n, op), fid(n) + A(CTRL_ATTR_OP, u32(op)))
    print('# request variants')
    r.case('ovs_flow by-id ack', fid('ovs_flow'), flags=DUMP | NLM_F_ACK)
    r.case('ovs_flow id and name (id wins)', fid('ovs_flow') + A(CTRL_ATTR_FAMILY_NAME, cstr('ovs_vport')))
    r.case('ovs_flow name then id', A(CTRL_ATTR_FAMILY_NAME, cstr('ovs_vport')) + fid('ovs_flow'))
    r.case('ovs_flow id 4-byte', A(CTRL_ATTR_FAMILY_ID, u32(r.fam['ovs_flow'])))
    r.case('ovs_flow op 2-byte', fid('ovs_flow') + A(CTRL_ATTR_OP, u16(1)))
    r.case('ovs_flow op 8-byte', fid('ovs_flow') + A(CTRL_ATTR_OP, u32(1) + u32(0)))
    r.case('ovs_flow with version attr', fid('ovs_flow') + A(CTRL_ATTR_VERSION, u32(1)))
    r.case('ovs_flow with attr 11', fid('ovs_flow') + A(11, u32(1)))
    r.case('ovs_flow with attr 0', fid('ovs_flow') + A(0, u32(1)))
    r.case('ovs_flow trailing bytes', fid('ovs_flow'), raw_tail=b'\x01\x00')
    r.case('ovs_flow nested flag on id', A(CTRL_ATTR_FAMILY_ID | 0x8000, u16(r.fam['ovs_flow'])))
    r.case('version 0 header', fid('ovs_flow'), version=0)
    print('# errors')
    r.case('unknown name', A(CTRL_ATTR_FAMILY_NAME, cstr('no_such_family')))
    r.case('unknown id', A(CTRL_ATTR_FAMILY_ID, u16(0x7ff0)))
    r.case('id 0', A(CTRL_ATTR_FAMILY_ID, u16(0)))
    r.case('no family attribute', b'')
    r.case('only op attribute', A(CTRL_ATTR_OP, u32(1)))
    r.case('name not terminated', A(CTRL_ATTR_FAMILY_NAME, b'ovs_flow'))
    r.case('name too long', A(CTRL_ATTR_FAMILY_NAME, cstr('x' * 16)))
    r.case('name empty', A(CTRL_ATTR_FAMILY_NAME, b''))
    r.case('without NLM_F_DUMP', fid('ovs_flow'), flags=NLM_F_REQUEST)
    r.case('without NLM_F_DUMP ack', fid('ovs_flow'), flags=NLM_F_REQUEST | NLM_F_ACK)
    r.case('only NLM_F_ROOT', fid('ovs_flow'), flags=NLM_F_REQUEST | 0x100)
    r.case('short genl header', short=True)
    print('# done')


if __name__ == '__main__':
    main()
