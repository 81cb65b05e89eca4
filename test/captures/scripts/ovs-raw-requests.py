#!/usr/bin/env python3
"""ovs-raw-requests.py - hand-built generic netlink requests for the Open vSwitch
kernel families (ovs_datapath, ovs_vport, ovs_flow), most of them malformed or
invalid, each sent on its own and answered by the kernel. Standard library only
(socket + struct), so it runs anywhere python3 does.

Used by flows-errors-raw.sh inside the qemu oracle (needs root and the
openvswitch module; a kernel-differential corpus as much as a test). It creates its own datapath (default "rawdp"), sends every case with
NLM_F_REQUEST|NLM_F_ACK (flow NEWs also NLM_F_CREATE; NETLINK_EXT_ACK is on),
and prints one line per case:

    CASE <name> seq=<nlmsg_seq> errno=<n>[ (<ERRNAME>)] [extack="..."] [offs=N]

errno=0 is an ACK, "none" means the kernel sent nothing for that sequence
number (checked with a following nlctrl request), "a,b" lists the answers to a
datagram holding two requests, "done=N" is the errno in a dump's NLMSG_DONE.
Lines "  dmesg: ..." after a case are the kernel log lines it caused (read from
/dev/kmsg; run with net.core.message_cost=0 so OVS_NLERR is not rate-limited;
the genetlink "attribute type N has an invalid length" warning has its own
per-call-site rate limit and may be missing for some cases).
The requests are in the capture in the same order, with the printed seqs.

Usage: ovs-raw-requests.py [--dp NAME] [--netdev IFNAME]
  --netdev: an existing, unused network interface for the netdev vport cases
"""
import errno
import os
import socket
import struct
import sys

# ---------------------------------------------------------------- constants
NETLINK_GENERIC = 16
SOL_NETLINK = 270
NETLINK_EXT_ACK = 11
NLM_F_REQUEST, NLM_F_MULTI, NLM_F_ACK, NLM_F_ECHO = 0x1, 0x2, 0x4, 0x8
NLM_F_DUMP = 0x300
NLM_F_EXCL, NLM_F_CREATE = 0x200, 0x400
NLM_F_CAPPED, NLM_F_ACK_TLVS = 0x100, 0x200
NLMSG_NOOP, NLMSG_ERROR, NLMSG_DONE = 1, 2, 3
GENL_ID_CTRL = 0x10
CTRL_CMD_NEWFAMILY, CTRL_CMD_GETFAMILY = 1, 3
CTRL_ATTR_FAMILY_ID, CTRL_ATTR_FAMILY_NAME = 1, 2
NLMSGERR_ATTR_MSG, NLMSGERR_ATTR_OFFS = 1, 2

# ovs_datapath (genl version 2)
DP_CMD_NEW, DP_CMD_DEL, DP_CMD_GET, DP_CMD_SET = 1, 2, 3, 4
DP_ATTR_NAME, DP_ATTR_UPCALL_PID, DP_ATTR_USER_FEATURES = 1, 2, 5
DP_ATTR_MASKS_CACHE_SIZE, DP_ATTR_IFINDEX = 7, 9
# ovs_vport (genl version 1)
VP_CMD_NEW, VP_CMD_DEL, VP_CMD_GET, VP_CMD_SET = 1, 2, 3, 4
VP_ATTR_PORT_NO, VP_ATTR_TYPE, VP_ATTR_NAME, VP_ATTR_OPTIONS = 1, 2, 3, 4
VP_ATTR_UPCALL_PID, VP_ATTR_STATS, VP_ATTR_IFINDEX = 5, 6, 8
VPORT_NETDEV, VPORT_INTERNAL, VPORT_VXLAN = 1, 2, 4
TUNNEL_ATTR_DST_PORT = 1
# ovs_flow (genl version 1)
FL_CMD_NEW, FL_CMD_DEL, FL_CMD_GET, FL_CMD_SET = 1, 2, 3, 4
FL_ATTR_KEY, FL_ATTR_ACTIONS, FL_ATTR_CLEAR, FL_ATTR_MASK = 1, 2, 6, 7
FL_ATTR_PROBE, FL_ATTR_UFID, FL_ATTR_UFID_FLAGS = 8, 9, 10
UFID_F_OMIT_KEY, UFID_F_OMIT_MASK, UFID_F_OMIT_ACTIONS = 1, 2, 4
# OVS_KEY_ATTR_*
K_ENCAP, K_PRIORITY, K_IN_PORT, K_ETHERNET, K_VLAN, K_ETHERTYPE = 1, 2, 3, 4, 5, 6
K_IPV4, K_IPV6, K_TCP, K_UDP, K_ICMP, K_ICMPV6, K_ARP, K_ND = 7, 8, 9, 10, 11, 12, 13, 14
K_SKB_MARK, K_TUNNEL, K_SCTP, K_TCP_FLAGS, K_DP_HASH, K_RECIRC_ID = 15, 16, 17, 18, 19, 20
K_MPLS, K_CT_STATE, K_CT_ZONE, K_CT_MARK, K_CT_LABELS = 21, 22, 23, 24, 25
K_NSH, K_PACKET_TYPE, K_ND_EXTENSIONS, K_TUNNEL_INFO, K_IPV6_EXTHDRS = 28, 29, 30, 31, 32
# OVS_TUNNEL_KEY_ATTR_* (the kernel's enum starts at 0 with ID)
TK_ID, TK_IPV4_SRC, TK_IPV4_DST, TK_TOS, TK_TTL = 0, 1, 2, 3, 4
TK_GENEVE_OPTS = 8
# OVS_ACTION_ATTR_* as the 6.12 kernel numbers them
A_OUTPUT, A_USERSPACE, A_SET, A_PUSH_VLAN, A_POP_VLAN, A_SAMPLE = 1, 2, 3, 4, 5, 6
A_RECIRC, A_HASH, A_PUSH_MPLS, A_POP_MPLS, A_SET_MASKED, A_CT = 7, 8, 9, 10, 11, 12
A_TRUNC, A_PUSH_ETH, A_POP_ETH, A_CT_CLEAR, A_PUSH_NSH, A_POP_NSH = 13, 14, 15, 16, 17, 18
A_METER, A_CLONE, A_CHECK_PKT_LEN, A_ADD_MPLS, A_DEC_TTL, A_DROP, A_PSAMPLE = \
    19, 20, 21, 22, 23, 24, 25
USERSPACE_ATTR_PID = 1
SAMPLE_ATTR_PROBABILITY, SAMPLE_ATTR_ACTIONS = 1, 2
CPL_ATTR_PKT_LEN, CPL_ATTR_GT, CPL_ATTR_LE = 1, 2, 3
DEC_TTL_ATTR_ACTION = 1
PSAMPLE_ATTR_GROUP, PSAMPLE_ATTR_COOKIE = 1, 2
CT_ATTR_COMMIT, CT_ATTR_ZONE = 1, 2

ERRNAMES = {v: k for k, v in errno.__dict__.items() if k.startswith('E') and isinstance(v, int)}
ERRNAMES[errno.EOPNOTSUPP] = 'EOPNOTSUPP'


# ---------------------------------------------------------------- encoding
def u8(v): return struct.pack('=B', v)
def u16(v): return struct.pack('=H', v)
def u32(v): return struct.pack('=I', v)
def s32(v): return struct.pack('=i', v)
def be16(v): return struct.pack('>H', v)
def be32(v): return struct.pack('>I', v)
def be64(v): return struct.pack('>Q', v)
def ip4(s): return socket.inet_pton(socket.AF_INET, s)
def ip6(s): return socket.inet_pton(socket.AF_INET6, s)
def mac(s): return bytes(int(x, 16) for x in s.split(':'))
def cat(parts): return b''.join(parts) if isinstance(parts, (list, tuple)) else parts


def A(atype, payload=b'', nla_len=None, pad=True):
    """One attribute. nla_len overrides the length field (payload untouched)."""
    payload = cat(payload)
    n = 4 + len(payload) if nla_len is None else nla_len
    return struct.pack('=HH', n, atype) + payload + (b'\0' * ((-len(payload)) % 4) if pad else b'')


def cstr(s): return s.encode() + b'\0'


class NL:
    def __init__(self):
        self.s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
        self.s.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.s.bind((0, 0))
        self.pid = self.s.getsockname()[0]
        self.seq = 1000
        self.s.settimeout(5.0)

    def next_seq(self):
        self.seq += 1
        return self.seq

    def msg(self, mtype, cmd, body=b'', flags=NLM_F_REQUEST | NLM_F_ACK, version=1,
            reserved=0, hdr=None, nlmsg_len=None, seq=None, genl=True):
        """nlmsghdr + genlmsghdr (+ struct ovs_header if hdr is not None) + body."""
        if seq is None:
            seq = self.next_seq()
        payload = b''
        if genl:
            payload += struct.pack('=BBH', cmd, version, reserved)
        if hdr is not None:
            payload += s32(hdr)
        payload += cat(body)
        n = 16 + len(payload) if nlmsg_len is None else nlmsg_len
        return struct.pack('=IHHII', n, mtype, flags, seq, 0) + payload, seq

    def recv_all(self, until_seq):
        """Read messages until a final answer (ERROR/DONE) for until_seq."""
        got = []
        while True:
            try:
                data = self.s.recv(1 << 20)
            except socket.timeout:
                return got
            off = 0
            while off + 16 <= len(data):
                ln, mtype, flags, seq, pid = struct.unpack_from('=IHHII', data, off)
                if ln < 16:
                    break
                got.append((mtype, flags, seq, data[off + 16:off + ln]))
                off += (ln + 3) & ~3
            if any(g[2] == until_seq and g[0] in (NLMSG_ERROR, NLMSG_DONE) for g in got):
                return got


def parse_tlvs(buf):
    out = {}
    off = 0
    while off + 4 <= len(buf):
        ln, t = struct.unpack_from('=HH', buf, off)
        if ln < 4:
            break
        out[t & 0x3fff] = buf[off + 4:off + ln]
        off += (ln + 3) & ~3
    return out


def describe_final(mtype, flags, body):
    """Text for an NLMSG_ERROR or NLMSG_DONE message."""
    err = -struct.unpack_from('=i', body, 0)[0] if len(body) >= 4 else None
    tl = {}
    if flags & NLM_F_ACK_TLVS:
        if mtype == NLMSG_ERROR:
            inner = 16 if flags & NLM_F_CAPPED else struct.unpack_from('=I', body, 4)[0]
            tl = parse_tlvs(body[4 + ((inner + 3) & ~3):])
        else:
            tl = parse_tlvs(body[4:])
    s = str(err) if mtype == NLMSG_ERROR else 'done=%s' % err
    if err:
        s += ' (%s)' % ERRNAMES.get(err, '?')
    if NLMSGERR_ATTR_MSG in tl:
        s += ' extack="%s"' % tl[NLMSGERR_ATTR_MSG].rstrip(b'\0').decode(errors='replace')
    if NLMSGERR_ATTR_OFFS in tl:
        s += ' offs=%d' % struct.unpack('=I', tl[NLMSGERR_ATTR_OFFS][:4])[0]
    return s


class Kmsg:
    """New kernel log lines since the last call (/dev/kmsg, non-blocking)."""
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
            text = rec.decode(errors='replace').split(';', 1)[-1].split('\n')[0]
            out.append(text)
        return out


# ---------------------------------------------------------------- the runner
class Runner:
    def __init__(self, dpname, netdev):
        self.nl = NL()
        self.kmsg = Kmsg()
        self.dpname = dpname
        self.netdev = netdev
        self.fam = {}
        for name in ('ovs_datapath', 'ovs_vport', 'ovs_flow'):
            self.fam[name] = self.resolve(name)
        self.DP, self.VP, self.FL = (self.fam['ovs_datapath'], self.fam['ovs_vport'],
                                     self.fam['ovs_flow'])
        self.ncase = 0

    def resolve(self, name):
        m, seq = self.nl.msg(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, A(CTRL_ATTR_FAMILY_NAME, cstr(name)),
                             flags=NLM_F_REQUEST)
        self.nl.s.send(m)
        for mtype, flags, s, body in self.nl.recv_all(seq):
            if s != seq:
                continue
            if mtype == GENL_ID_CTRL:
                tl = parse_tlvs(body[4:])
                return struct.unpack('=H', tl[CTRL_ATTR_FAMILY_ID][:2])[0]
            if mtype == NLMSG_ERROR:
                sys.exit('cannot resolve %s: %s' % (name, describe_final(mtype, flags, body)))
        sys.exit('cannot resolve %s: no answer' % name)

    def sync_seq(self):
        """An nlctrl request whose answer proves the kernel is done with earlier ones."""
        m, seq = self.nl.msg(GENL_ID_CTRL, CTRL_CMD_GETFAMILY,
                             A(CTRL_ATTR_FAMILY_NAME, cstr('ovs_flow')), flags=NLM_F_REQUEST | NLM_F_ACK)
        return m, seq

    def case(self, name, datagram, seqs, sync=False, quiet=False):
        """Send one datagram, print the kernel's answer(s) to the given seqs."""
        self.ncase += 1
        self.kmsg.lines()                     # drop anything older
        if isinstance(seqs, int):
            seqs = [seqs]
        self.nl.s.send(datagram)
        wait = seqs[-1]
        if sync:
            m, wait = self.sync_seq()
            self.nl.s.send(m)
        got = self.nl.recv_all(wait)
        answers = []
        replies = 0
        for sq in seqs:
            fin = [g for g in got if g[2] == sq and g[0] in (NLMSG_ERROR, NLMSG_DONE)]
            replies += len([g for g in got if g[2] == sq and g[0] not in (NLMSG_ERROR, NLMSG_DONE)])
            answers.append(describe_final(fin[0][0], fin[0][1], fin[0][3]) if fin else 'none')
        line = 'CASE %s seq=%s errno=%s' % (name, ','.join(map(str, seqs)), ','.join(answers))
        if replies:
            line += ' replies=%d' % replies
        if not quiet:
            print(line)
            for l in self.kmsg.lines():
                print('  dmesg: ' + l)
        sys.stdout.flush()
        return answers

    # -- shorthands
    def flow(self, name, body, cmd=FL_CMD_NEW, flags=NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE,
             dp=None, **kw):
        m, seq = self.nl.msg(self.FL, cmd, body, flags=flags, hdr=self.dpi if dp is None else dp, **kw)
        return self.case(name, m, seq)

    def dp(self, name, cmd, body, flags=NLM_F_REQUEST | NLM_F_ACK, hdr=0, **kw):
        m, seq = self.nl.msg(self.DP, cmd, body, flags=flags, version=2, hdr=hdr, **kw)
        return self.case(name, m, seq)

    def vp(self, name, cmd, body, flags=NLM_F_REQUEST | NLM_F_ACK, hdr=None, **kw):
        m, seq = self.nl.msg(self.VP, cmd, body, flags=flags, hdr=self.dpi if hdr is None else hdr, **kw)
        return self.case(name, m, seq)


# ---------------------------------------------------------------- flow pieces
def key_udp4(dport, in_port=None, extra=b''):
    """A complete IPv4/UDP key. dport (also the in_port unless given) makes it
    unique per case: the kernel refuses a new flow whose masked key matches an
    installed flow (EEXIST), so flows with wildcards must not cover others."""
    in_port = dport if in_port is None else in_port
    return cat([A(K_IN_PORT, u32(in_port)),
                A(K_ETHERNET, mac('00:00:00:00:00:01') + mac('00:00:00:00:00:02')),
                A(K_ETHERTYPE, be16(0x0800)),
                A(K_IPV4, ip4('10.0.0.1') + ip4('10.0.0.2') + bytes([17, 0, 64, 0])),
                A(K_UDP, be16(1000) + be16(dport)), extra])


def key_udp6(dport, extra=b''):
    return cat([A(K_IN_PORT, u32(1)),
                A(K_ETHERNET, mac('00:00:00:00:00:01') + mac('00:00:00:00:00:02')),
                A(K_ETHERTYPE, be16(0x86dd)),
                A(K_IPV6, ip6('2001:db8::1') + ip6('2001:db8::2') + be32(0) + bytes([17, 0, 64, 0])),
                A(K_UDP, be16(1000) + be16(dport)), extra])


def key_mpls(label):
    return cat([A(K_IN_PORT, u32(1)), A(K_ETHERNET, bytes(12)), A(K_ETHERTYPE, be16(0x8847)),
                A(K_MPLS, be32((label << 12) | (1 << 8) | 64))])


def key_vlan(vid, tci=None, inner=None, encap=True):
    tci = (0x1000 | vid) if tci is None else tci
    inner = cat([A(K_ETHERTYPE, be16(0x0800)),
                 A(K_IPV4, ip4('10.0.0.1') + ip4('10.0.0.2') + bytes([17, 0, 64, 0])),
                 A(K_UDP, be16(1) + be16(2))]) if inner is None else inner
    parts = [A(K_IN_PORT, u32(1)), A(K_ETHERNET, bytes(12)), A(K_ETHERTYPE, be16(0x8100)),
             A(K_VLAN, be16(tci))]
    if encap:
        parts.append(A(K_ENCAP, inner))
    return cat(parts)


def out(port): return A(A_OUTPUT, u32(port))
def KEY(k): return A(FL_ATTR_KEY, k)
def MASK(k): return A(FL_ATTR_MASK, k)
def ACT(*acts): return A(FL_ATTR_ACTIONS, cat(list(acts)))
def UFID(n): return A(FL_ATTR_UFID, struct.pack('>QQ', 0xfeed, n))


def nested_clones(depth):
    a = out(1)
    for _ in range(depth):
        a = A(A_CLONE, a)
    return a


# ---------------------------------------------------------------- cases
def run(r):
    nl = r.nl
    DP, VP, FL = r.DP, r.VP, r.FL
    upcall = u32(nl.pid)

    # ---- setup: our datapath, its ifindex
    print('# setup')
    r.dp('setup_dp_new', DP_CMD_NEW, [A(DP_ATTR_NAME, cstr(r.dpname)), A(DP_ATTR_UPCALL_PID, upcall)])
    m, seq = nl.msg(DP, DP_CMD_GET, A(DP_ATTR_NAME, cstr(r.dpname)), version=2, hdr=0,
                    flags=NLM_F_REQUEST)
    nl.s.send(m)
    r.dpi = None
    for mtype, flags, s, body in nl.recv_all(seq):
        if s == seq and mtype == DP:
            r.dpi = struct.unpack_from('=i', body, 4)[0]
    if r.dpi is None:
        sys.exit('datapath %s not found' % r.dpname)
    port = [10]

    def nport():          # a fresh UDP port per flow so flows never overlap
        port[0] += 1
        return port[0]

    # ---- netlink / genetlink framing (ovs_flow family)
    print('# netlink and genetlink framing')
    good = lambda: cat([KEY(key_udp4(nport())), ACT(out(2))])
    m, seq = nl.msg(FL, FL_CMD_NEW, good(), flags=NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE, hdr=r.dpi)
    r.case('nlmsg_len_below_header', m[:0] + struct.pack('=I', 8) + m[4:], seq, sync=True)
    m, seq = nl.msg(FL, FL_CMD_NEW, good(), flags=NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE, hdr=r.dpi)
    r.case('nlmsg_len_beyond_datagram', struct.pack('=I', len(m) + 64) + m[4:], seq, sync=True)
    m, seq = nl.msg(FL, FL_CMD_NEW, genl=False)
    r.case('no_genl_header', m, seq)
    m, seq = nl.msg(FL, FL_CMD_NEW, genl=False, body=b'\x01\x01')
    r.case('short_genl_header_2_bytes', m, seq)
    m, seq = nl.msg(FL, FL_CMD_NEW)
    r.case('no_ovs_header', m, seq)
    m, seq = nl.msg(FL, FL_CMD_NEW, hdr=None, body=b'\0\0')
    r.case('short_ovs_header_2_bytes', m, seq)
    m, seq = nl.msg(FL, 99, hdr=r.dpi)
    r.case('unknown_cmd_99', m, seq)
    m, seq = nl.msg(FL, 0, hdr=r.dpi)
    r.case('cmd_0', m, seq)
    m, seq = nl.msg(FL, 5, hdr=r.dpi, reserved=1)
    r.case('cmd_5_reserved_field_set', m, seq)
    m, seq = nl.msg(FL, 5, hdr=r.dpi, flags=NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE)
    r.case('cmd_5_create_flag', m, seq)
    m, seq = nl.msg(FL, FL_CMD_NEW, good(), hdr=r.dpi, reserved=0xffff,
                    flags=NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE)
    r.case('cmd_new_reserved_field_set', m, seq)
    m, seq = nl.msg(FL, FL_CMD_NEW, good(), hdr=r.dpi, version=99,
                    flags=NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE)
    r.case('genl_version_99', m, seq)
    m, seq = nl.msg(0x3ff, FL_CMD_NEW, good(), hdr=r.dpi)
    r.case('unregistered_family_id', m, seq)
    m, seq = nl.msg(FL, FL_CMD_NEW, good(), hdr=r.dpi, flags=NLM_F_ACK | NLM_F_CREATE)
    r.case('no_request_flag', m, seq)
    m, seq = nl.msg(NLMSG_NOOP, 0, hdr=None)
    r.case('nlmsg_type_noop', m, seq)
    m, seq = nl.msg(FL, FL_CMD_NEW, good(), hdr=r.dpi, flags=NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP)
    r.case('dump_flag_on_new', m, seq)
    m1, s1 = nl.msg(FL, FL_CMD_NEW, good(), hdr=r.dpi, flags=NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE)
    m2, s2 = nl.msg(FL, FL_CMD_NEW, ACT(out(2)), hdr=r.dpi, flags=NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE)
    r.case('two_requests_one_datagram', m1 + m2, [s1, s2])
    m1, s1 = nl.msg(FL, FL_CMD_NEW, good(), hdr=r.dpi, flags=NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE)
    m2, s2 = nl.msg(FL, FL_CMD_NEW, good(), hdr=r.dpi, flags=NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE)
    m2 = struct.pack('=I', len(m2) + 8) + m2[4:]
    r.case('second_request_nlmsg_len_too_big', m1 + m2, [s1, s2], sync=True)
    r.flow('top_level_trailing_4_bytes', [good(), b'\x01\x00\x00\x00'])
    r.flow('top_level_actions_len_beyond_end', [KEY(key_udp4(nport())), A(FL_ATTR_ACTIONS, out(2), nla_len=64)])
    r.flow('dp_ifindex_unknown', good(), dp=0x7ffffff0)
    r.flow('dp_ifindex_unknown_and_bad_key',
           [KEY(cat([A(K_IN_PORT, u32(1)), A(K_IN_PORT, u32(1))])), ACT(out(2))], dp=0x7ffffff0)
    r.flow('echo_flag', good(), flags=NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_ECHO)

    # ---- ovs_flow attribute policy
    print('# ovs_flow attribute policy')
    r.flow('no_key', ACT(out(2)))
    r.flow('no_actions', KEY(key_udp4(nport())))
    r.flow('empty_actions_is_drop', [KEY(key_udp4(nport())), ACT()])
    r.flow('key_attr_with_nla_f_nested', [A(FL_ATTR_KEY | 0x8000, key_udp4(nport())), ACT(out(2))])
    r.flow('ufid_len_0', [A(FL_ATTR_UFID, b''), good()])
    r.flow('ufid_len_17', [A(FL_ATTR_UFID, bytes(range(1, 18))), good()])
    r.flow('ufid_len_4', [A(FL_ATTR_UFID, be32(0x4444)), good()])
    r.flow('ufid_flags_len_2', [UFID(0x201), A(FL_ATTR_UFID_FLAGS, u16(0)), good()])
    r.flow('ufid_flags_len_5', [UFID(0x202), A(FL_ATTR_UFID_FLAGS, u32(0) + b'\0'), good()])
    r.flow('ufid_flags_unknown_bits', [UFID(0x203), A(FL_ATTR_UFID_FLAGS, u32(0xfff0)), good()])
    r.flow('probe_flag_bad_key_no_log', [A(FL_ATTR_PROBE),
                                          KEY(cat([A(K_IN_PORT, u32(1)), A(K_IN_PORT, u32(1))])),
                                          ACT(out(2))])
    r.flow('probe_flag_with_payload', [A(FL_ATTR_PROBE, u32(1)), good()])
    r.flow('set_clear_flag_with_payload', [KEY(key_udp4(11)), A(FL_ATTR_CLEAR, u32(1))], cmd=FL_CMD_SET,
           flags=NLM_F_REQUEST | NLM_F_ACK)
    r.flow('unknown_flow_attr_type_20', [good(), A(20, u32(1))])

    # ---- keys
    print('# flow keys')
    r.flow('key_duplicate_in_port', [KEY(cat([A(K_IN_PORT, u32(1)), key_udp4(nport())])), ACT(out(2))])
    r.flow('key_in_port_len_2', [KEY(cat([A(K_IN_PORT, u16(1)), key_udp4(nport())[8:]])), ACT(out(2))])
    r.flow('key_in_port_65535', [KEY(key_udp4(nport(), in_port=65535)), ACT(out(2))])
    r.flow('key_in_port_65536', [KEY(key_udp4(nport(), in_port=65536)), ACT(out(2))])
    r.flow('key_type_33', [KEY(key_udp4(nport(), extra=A(33, u32(0)))), ACT(out(2))])
    r.flow('key_type_29_packet_type', [KEY(key_udp4(nport(), extra=A(K_PACKET_TYPE, u32(0)))), ACT(out(2))])
    r.flow('key_type_30_nd_extensions', [KEY(key_udp4(nport(), extra=A(K_ND_EXTENSIONS, bytes(8)))), ACT(out(2))])
    r.flow('key_type_31_tunnel_info', [KEY(key_udp4(nport(), extra=A(K_TUNNEL_INFO, bytes(8)))), ACT(out(2))])
    r.flow('key_type_0', [KEY(key_udp4(nport(), extra=A(0))), ACT(out(2))])
    r.flow('key_trailing_2_bytes', [A(FL_ATTR_KEY, key_udp4(nport()) + b'\xab\xcd'), ACT(out(2))])
    r.flow('key_ipv6_exthdrs_type_32', [KEY(key_udp6(nport(), extra=A(K_IPV6_EXTHDRS, u16(0)))), ACT(out(2))])
    r.flow('key_ipv4_len_11', [KEY(cat([A(K_IN_PORT, u32(1)), A(K_ETHERNET, bytes(12)),
                                        A(K_ETHERTYPE, be16(0x0800)), A(K_IPV4, bytes(11))])), ACT(out(2))])
    r.flow('key_ethernet_len_13', [KEY(cat([A(K_IN_PORT, u32(1)), A(K_ETHERNET, bytes(13)),
                                            A(K_ETHERTYPE, be16(0x0806)), A(K_ARP, bytes(24))])), ACT(out(2))])
    r.flow('key_tcp_without_tcp_flags',
           [KEY(cat([A(K_IN_PORT, u32(1)), A(K_ETHERNET, bytes(12)), A(K_ETHERTYPE, be16(0x0800)),
                     A(K_IPV4, ip4('10.0.0.1') + ip4('10.0.0.2') + bytes([6, 0, 64, 0])),
                     A(K_TCP, be16(1) + be16(nport()))])), ACT(out(2))])
    r.flow('key_ipv4_frag_type_3',
           [KEY(cat([A(K_IN_PORT, u32(1)), A(K_ETHERNET, bytes(12)), A(K_ETHERTYPE, be16(0x0800)),
                     A(K_IPV4, ip4('10.0.0.1') + ip4('10.0.0.3') + bytes([0, 0, 64, 3]))])), ACT(out(2))])
    r.flow('key_ethertype_0x0500', [KEY(cat([A(K_IN_PORT, u32(1)), A(K_ETHERNET, bytes(12)),
                                             A(K_ETHERTYPE, be16(0x0500))])), ACT(out(2))])
    r.flow('key_ethertype_without_ethernet', [KEY(cat([A(K_IN_PORT, u32(1)), A(K_ETHERTYPE, be16(0x0800)),
                                                       A(K_IPV4, ip4('10.0.0.1') + ip4('10.0.0.4') +
                                                         bytes([0, 0, 64, 0]))])), ACT(out(2))])
    r.flow('key_mpls_4_labels', [KEY(cat([A(K_IN_PORT, u32(1)), A(K_ETHERNET, bytes(12)),
                                          A(K_ETHERTYPE, be16(0x8847)), A(K_MPLS, bytes(16))])), ACT(out(2))])
    r.flow('key_mpls_len_6', [KEY(cat([A(K_IN_PORT, u32(1)), A(K_ETHERNET, bytes(12)),
                                       A(K_ETHERTYPE, be16(0x8847)), A(K_MPLS, bytes(6))])), ACT(out(2))])
    r.flow('key_ct_state_unknown_bits', [KEY(key_udp4(nport(), extra=A(K_CT_STATE, u32(0x80000000)))),
                                         ACT(out(2))])
    r.flow('key_vlan_tci_without_cfi', [KEY(key_vlan(10, tci=0x000a)), ACT(out(2))])
    r.flow('key_vlan_tci_0_empty_encap', [KEY(key_vlan(0, tci=0, inner=b'')), ACT(out(2))])
    r.flow('key_vlan_tci_0_nonempty_encap', [KEY(key_vlan(0, tci=0)), ACT(out(2))])
    r.flow('key_vlan_without_encap', [KEY(key_vlan(11, encap=False)), ACT(out(2))])
    r.flow('key_vlan_ethertype_without_vlan_attr',
           [KEY(cat([A(K_IN_PORT, u32(1)), A(K_ETHERNET, bytes(12)), A(K_ETHERTYPE, be16(0x8100)),
                     A(K_ENCAP, A(K_ETHERTYPE, be16(0x0800)))])), ACT(out(2))])
    r.flow('key_encap_without_vlan_ethertype',
           [KEY(cat([key_udp4(nport()), A(K_ENCAP, A(K_ETHERTYPE, be16(0x0800)))])), ACT(out(2))])
    three = key_vlan(13, inner=cat([A(K_ETHERTYPE, be16(0x8100)), A(K_VLAN, be16(0x1000 | 14)),
                                    A(K_ENCAP, cat([A(K_ETHERTYPE, be16(0x8100)), A(K_VLAN, be16(0x1000 | 15)),
                                                    A(K_ENCAP, A(K_ETHERTYPE, be16(0x0800)))]))]))
    r.flow('key_three_vlan_tags', [KEY(three), ACT(out(2))])
    tun = lambda extra: A(K_TUNNEL, cat([A(TK_ID, be64(5)), A(TK_IPV4_SRC, ip4('192.168.0.1')), extra]))
    r.flow('key_tunnel_without_dst', [KEY(key_udp4(nport(), extra=tun(A(TK_TTL, u8(64))))), ACT(out(2))])
    r.flow('key_tunnel_without_ttl', [KEY(key_udp4(nport(), extra=tun(A(TK_IPV4_DST, ip4('192.168.0.2'))))),
                                      ACT(out(2))])
    r.flow('key_tunnel_attr_type_40', [KEY(key_udp4(nport(), extra=tun(cat([A(TK_IPV4_DST, ip4('192.168.0.2')),
                                                                           A(TK_TTL, u8(64)), A(40, u32(0))])))),
                                       ACT(out(2))])
    r.flow('key_tunnel_ipv4_dst_len_2', [KEY(key_udp4(nport(), extra=tun(cat([A(TK_IPV4_DST, u16(2)),
                                                                             A(TK_TTL, u8(64))])))),
                                         ACT(out(2))])
    r.flow('key_tunnel_geneve_opts_len_3',
           [KEY(key_udp4(nport(), extra=tun(cat([A(TK_IPV4_DST, ip4('192.168.0.2')), A(TK_TTL, u8(64)),
                                                 A(TK_GENEVE_OPTS, b'\x01\x02\x80')])))), ACT(out(2))])
    r.flow('key_nd_on_icmpv6_echo',
           [KEY(cat([A(K_IN_PORT, u32(1)), A(K_ETHERNET, bytes(12)), A(K_ETHERTYPE, be16(0x86dd)),
                     A(K_IPV6, ip6('2001:db8::1') + ip6('2001:db8::2') + be32(0) + bytes([58, 0, 64, 0])),
                     A(K_ICMPV6, bytes([128, 0])), A(K_ND, bytes(28))])), ACT(out(2))])

    # ---- masks
    print('# flow masks')
    r.flow('mask_tcp_on_udp_flow', [KEY(key_udp4(nport())), MASK(cat([A(K_IN_PORT, u32(0xffffffff)),
                                                                       A(K_ETHERTYPE, be16(0xffff)),
                                                                       A(K_TCP, be16(0xffff) * 2)])),
                                    ACT(out(2))])
    r.flow('mask_all_zero_tcp_on_udp_flow', [KEY(key_udp4(nport())), MASK(cat([A(K_IN_PORT, u32(0xffffffff)),
                                                                                A(K_ETHERTYPE, be16(0xffff)),
                                                                                A(K_TCP, bytes(4))])),
                                             ACT(out(2))])
    r.flow('mask_ipv4_with_wildcarded_ethertype',
           [KEY(key_udp4(nport())), MASK(cat([A(K_IN_PORT, u32(0xffffffff)), A(K_ETHERTYPE, be16(0)),
                                              A(K_IPV4, b'\xff' * 4 + bytes(8))])), ACT(out(2))])
    r.flow('mask_encap_without_vlan',
           [KEY(key_udp4(nport())), MASK(cat([A(K_IN_PORT, u32(0xffffffff)), A(K_ETHERTYPE, be16(0xffff)),
                                              A(K_ENCAP, A(K_ETHERTYPE, be16(0xffff)))])), ACT(out(2))])
    r.flow('mask_vlan_tpid_not_exact',
           [KEY(key_vlan(16)), MASK(cat([A(K_IN_PORT, u32(0xffffffff)), A(K_ETHERTYPE, be16(0xff00)),
                                         A(K_VLAN, be16(0xffff)), A(K_ENCAP, A(K_ETHERTYPE, be16(0xffff)))])),
            ACT(out(2))])
    r.flow('mask_vlan_tci_without_cfi_bit',
           [KEY(key_vlan(17)), MASK(cat([A(K_IN_PORT, u32(0xffffffff)), A(K_ETHERTYPE, be16(0xffff)),
                                         A(K_VLAN, be16(0x0fff)), A(K_ENCAP, A(K_ETHERTYPE, be16(0xffff)))])),
            ACT(out(2))])
    r.flow('mask_in_port_len_2', [KEY(key_udp4(nport())), MASK(A(K_IN_PORT, u16(0xffff))), ACT(out(2))])
    r.flow('mask_type_33', [KEY(key_udp4(nport())), MASK(cat([A(K_IN_PORT, u32(0xffffffff)), A(33, u32(1))])),
                            ACT(out(2))])
    r.flow('mask_duplicate_ethertype', [KEY(key_udp4(nport())), MASK(cat([A(K_ETHERTYPE, be16(0xffff)),
                                                                            A(K_ETHERTYPE, be16(0xffff))])),
                                        ACT(out(2))])
    r.flow('mask_attr_not_in_key_skb_mark', [KEY(key_udp4(nport())),
                                             MASK(cat([A(K_IN_PORT, u32(0xffffffff)), A(K_ETHERTYPE, be16(0xffff)),
                                                       A(K_SKB_MARK, u32(0xff))])), ACT(out(2))])
    r.flow('mask_empty', [KEY(key_udp4(nport())), MASK(b''), ACT(out(2))])
    r.flow('flush_after_masks', b'', cmd=FL_CMD_DEL, flags=NLM_F_REQUEST | NLM_F_ACK)

    # ---- actions
    print('# actions')
    k = lambda: KEY(key_udp4(nport()))
    r.flow('action_type_0', [k(), ACT(A(0, u32(1)))])
    r.flow('action_type_26_above_max', [k(), ACT(A(26, u32(1)))])
    r.flow('action_type_200', [k(), ACT(A(200))])
    r.flow('output_len_2', [k(), ACT(A(A_OUTPUT, u16(2)))])
    r.flow('output_port_65536', [k(), ACT(out(65536))])
    r.flow('drop_24_not_last', [k(), ACT(A(A_DROP, u32(0)), out(2))])
    r.flow('drop_24_last', [k(), ACT(out(2), A(A_DROP, u32(7)))])
    r.flow('drop_len_0', [k(), ACT(A(A_DROP))])
    r.flow('ovs31_drop_as_type_25', [k(), ACT(A(A_PSAMPLE, u32(0)))])
    # psample is parsed with nla_parse_nested(): the attribute needs NLA_F_NESTED
    NESTED = 0x8000
    r.flow('psample_without_nla_f_nested', [k(), ACT(A(A_PSAMPLE, cat([A(PSAMPLE_ATTR_GROUP, u32(7)),
                                                                        A(PSAMPLE_ATTR_COOKIE, b'\x01\x02\x03\x04')])))])
    r.flow('psample_group_and_cookie', [k(), ACT(A(A_PSAMPLE | NESTED, cat([A(PSAMPLE_ATTR_GROUP, u32(7)),
                                                                             A(PSAMPLE_ATTR_COOKIE, b'\x01\x02\x03\x04')])))])
    r.flow('psample_group_only_then_output', [k(), ACT(A(A_PSAMPLE | NESTED, A(PSAMPLE_ATTR_GROUP, u32(8))), out(2))])
    r.flow('psample_without_group', [k(), ACT(A(A_PSAMPLE | NESTED, A(PSAMPLE_ATTR_COOKIE, b'\x01')))])
    r.flow('psample_cookie_17_bytes', [k(), ACT(A(A_PSAMPLE | NESTED, cat([A(PSAMPLE_ATTR_GROUP, u32(7)),
                                                                            A(PSAMPLE_ATTR_COOKIE, bytes(17))])))])
    r.flow('psample_group_len_2', [k(), ACT(A(A_PSAMPLE | NESTED, A(PSAMPLE_ATTR_GROUP, u16(7))))])
    r.flow('psample_unknown_attr_3', [k(), ACT(A(A_PSAMPLE | NESTED, cat([A(PSAMPLE_ATTR_GROUP, u32(7)),
                                                                          A(3, u32(0))])))])
    r.flow('dec_ttl_with_actions', [k(), ACT(A(A_DEC_TTL, A(DEC_TTL_ATTR_ACTION, out(1))), out(2))])
    r.flow('dec_ttl_without_action_attr', [k(), ACT(A(A_DEC_TTL, b''))])
    r.flow('hash_l4', [k(), ACT(A(A_HASH, u32(0) + u32(0x1234)), A(A_RECIRC, u32(3)))])
    r.flow('hash_alg_7', [k(), ACT(A(A_HASH, u32(7) + u32(0)))])
    r.flow('hash_len_4', [k(), ACT(A(A_HASH, u32(0)))])
    r.flow('push_mpls_on_ipv4', [k(), ACT(A(A_PUSH_MPLS, be32((100 << 12) | (1 << 8) | 64) + be16(0x8847) + b'\0\0'),
                                         out(2))])
    r.flow('push_mpls_ethertype_0x0800', [k(), ACT(A(A_PUSH_MPLS, be32(1 << 8) + be16(0x0800) + b'\0\0'))])
    r.flow('pop_mpls_on_mpls', [KEY(key_mpls(nport())), ACT(A(A_POP_MPLS, be16(0x0800)), out(2))])
    r.flow('pop_mpls_on_ipv4', [k(), ACT(A(A_POP_MPLS, be16(0x0800)))])
    r.flow('push_vlan_without_cfi', [k(), ACT(A(A_PUSH_VLAN, be16(0x8100) + be16(5)))])
    r.flow('push_vlan_tpid_0x0800', [k(), ACT(A(A_PUSH_VLAN, be16(0x0800) + be16(0x1005)))])
    r.flow('push_eth_on_ethernet_flow', [k(), ACT(A(A_PUSH_ETH, bytes(12)))])
    r.flow('pop_eth', [k(), ACT(A(A_POP_ETH), out(2))])
    r.flow('trunc_13', [k(), ACT(A(A_TRUNC, u32(13)), out(2))])
    r.flow('trunc_14', [k(), ACT(A(A_TRUNC, u32(14)), out(2))])
    r.flow('userspace_pid_0', [k(), ACT(A(A_USERSPACE, A(USERSPACE_ATTR_PID, u32(0))))])
    r.flow('userspace_without_pid', [k(), ACT(A(A_USERSPACE, b''))])
    r.flow('set_two_nested_keys', [k(), ACT(A(A_SET, cat([A(K_SKB_MARK, u32(1)), A(K_PRIORITY, u32(1))])))])
    r.flow('set_ipv4_on_ipv6_flow', [KEY(key_udp6(nport())),
                                     ACT(A(A_SET, A(K_IPV4, ip4('1.1.1.1') + ip4('2.2.2.2') + bytes([17, 0, 64, 0]))))])
    r.flow('set_ipv4_changes_proto', [k(), ACT(A(A_SET, A(K_IPV4, ip4('10.0.0.1') + ip4('10.0.0.2') +
                                                          bytes([6, 0, 64, 0]))))])
    r.flow('set_masked_tunnel', [k(), ACT(A(A_SET_MASKED, A(K_TUNNEL, cat([A(TK_IPV4_DST, ip4('1.2.3.4')),
                                                                           A(TK_TTL, u8(1))]))))])
    r.flow('set_in_port', [k(), ACT(A(A_SET, A(K_IN_PORT, u32(2))))])
    r.flow('set_skb_mark', [k(), ACT(A(A_SET, A(K_SKB_MARK, u32(9))), out(2))])
    r.flow('sample_without_probability', [k(), ACT(A(A_SAMPLE, A(SAMPLE_ATTR_ACTIONS, out(1))))])
    r.flow('check_pkt_len_without_len', [k(), ACT(A(A_CHECK_PKT_LEN, cat([A(CPL_ATTR_GT, out(1)),
                                                                          A(CPL_ATTR_LE, out(2))])))])
    r.flow('ct_on_non_ip_flow', [KEY(key_mpls(nport())), ACT(A(A_CT, A(CT_ATTR_COMMIT)))])
    r.flow('ct_zone_len_4', [k(), ACT(A(A_CT, cat([A(CT_ATTR_COMMIT), A(CT_ATTR_ZONE, u32(5))])))])
    r.flow('ct_unknown_attr_30', [k(), ACT(A(A_CT, A(30, u32(0))))])
    r.flow('clone_depth_16', [k(), ACT(nested_clones(16))])
    r.flow('clone_depth_17', [k(), ACT(nested_clones(17))])
    r.flow('actions_trailing_2_bytes', [k(), A(FL_ATTR_ACTIONS, out(2) + b'\x01\x02')])
    r.flow('action_nla_len_3', [k(), ACT(struct.pack('=HH', 3, A_OUTPUT) + b'\0\0\0\0')])

    # ---- other flow commands
    print('# flow get/set/del/dump')
    r.flow('get_without_key_or_ufid', b'', cmd=FL_CMD_GET, flags=NLM_F_REQUEST | NLM_F_ACK)
    r.flow('get_unknown_ufid', UFID(0xdead), cmd=FL_CMD_GET, flags=NLM_F_REQUEST | NLM_F_ACK)
    r.flow('del_unknown_ufid', UFID(0xdead), cmd=FL_CMD_DEL, flags=NLM_F_REQUEST | NLM_F_ACK)
    r.flow('set_unknown_key', [KEY(key_udp4(9999)), ACT(out(1))], cmd=FL_CMD_SET, flags=NLM_F_REQUEST | NLM_F_ACK)
    r.flow('new_with_ufid', [UFID(0x300), KEY(key_udp4(3000)), ACT(out(1))])
    r.flow('new_same_ufid_other_key', [UFID(0x300), KEY(key_udp4(3001)), ACT(out(1))])
    r.flow('new_same_ufid_no_create_flag', [UFID(0x300), KEY(key_udp4(3000)), ACT(out(2))],
           flags=NLM_F_REQUEST | NLM_F_ACK)
    r.flow('set_by_ufid_other_key', [UFID(0x300), KEY(key_udp4(3002)), ACT(out(2))], cmd=FL_CMD_SET,
           flags=NLM_F_REQUEST | NLM_F_ACK)
    r.flow('set_by_ufid_without_key', [UFID(0x300), ACT(out(2))], cmd=FL_CMD_SET, flags=NLM_F_REQUEST | NLM_F_ACK)
    r.flow('get_by_ufid_omit_all', [UFID(0x300), A(FL_ATTR_UFID_FLAGS, u32(7))], cmd=FL_CMD_GET,
           flags=NLM_F_REQUEST | NLM_F_ACK)
    r.flow('new_exclusive_existing', [UFID(0x300), KEY(key_udp4(3000)), ACT(out(2))],
           flags=NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL)
    r.flow('del_by_ufid', UFID(0x300), cmd=FL_CMD_DEL, flags=NLM_F_REQUEST | NLM_F_ACK)
    r.flow('dump_terse', A(FL_ATTR_UFID_FLAGS, u32(7)), cmd=FL_CMD_GET, flags=NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP)
    r.flow('dump_unknown_dp', b'', cmd=FL_CMD_GET, flags=NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP, dp=0x7ffffff0)
    r.flow('del_all_unknown_dp', b'', cmd=FL_CMD_DEL, flags=NLM_F_REQUEST | NLM_F_ACK, dp=0x7ffffff0)

    # ---- ovs_datapath
    print('# ovs_datapath')
    r.dp('dp_new_without_name', DP_CMD_NEW, A(DP_ATTR_UPCALL_PID, upcall))
    r.dp('dp_new_without_upcall_pid', DP_CMD_NEW, A(DP_ATTR_NAME, cstr('rawdp2')))
    r.dp('dp_new_name_not_nul_terminated', DP_CMD_NEW, [A(DP_ATTR_NAME, b'rawdp2'), A(DP_ATTR_UPCALL_PID, upcall)])
    r.dp('dp_new_name_16_chars', DP_CMD_NEW, [A(DP_ATTR_NAME, cstr('a' * 16)), A(DP_ATTR_UPCALL_PID, upcall)])
    r.dp('dp_new_name_len_0', DP_CMD_NEW, [A(DP_ATTR_NAME, b''), A(DP_ATTR_UPCALL_PID, upcall)])
    r.dp('dp_new_name_empty_string', DP_CMD_NEW, [A(DP_ATTR_NAME, b'\0'), A(DP_ATTR_UPCALL_PID, upcall)])
    r.dp('dp_new_upcall_pid_len_3', DP_CMD_NEW, [A(DP_ATTR_NAME, cstr('rawdp2')),
                                                 A(DP_ATTR_UPCALL_PID, upcall[:3])])
    r.dp('dp_new_user_features_len_2', DP_CMD_NEW, [A(DP_ATTR_NAME, cstr('rawdp2')), A(DP_ATTR_UPCALL_PID, upcall),
                                                    A(DP_ATTR_USER_FEATURES, u16(1))])
    r.dp('dp_new_ifindex_negative', DP_CMD_NEW, [A(DP_ATTR_NAME, cstr('rawdp2')), A(DP_ATTR_UPCALL_PID, upcall),
                                                 A(DP_ATTR_IFINDEX, s32(-1))])
    r.dp('dp_new_existing_name', DP_CMD_NEW, [A(DP_ATTR_NAME, cstr(r.dpname)), A(DP_ATTR_UPCALL_PID, upcall)])
    r.dp('dp_new_upcall_pid_len_5', DP_CMD_NEW, [A(DP_ATTR_NAME, cstr('rawdp2')),
                                                 A(DP_ATTR_UPCALL_PID, upcall + b'\0')])
    r.dp('dp_new_upcall_pid_len_0', DP_CMD_NEW, [A(DP_ATTR_NAME, cstr('rawdp2')), A(DP_ATTR_UPCALL_PID, b'')])
    r.dp('dp_new_name_15_chars_two_upcall_pids', DP_CMD_NEW, [A(DP_ATTR_NAME, cstr('rawdp-fifteen15')),
                                                              A(DP_ATTR_UPCALL_PID, upcall + upcall)])
    r.dp('dp_del_name_15_chars', DP_CMD_DEL, A(DP_ATTR_NAME, cstr('rawdp-fifteen15')))
    r.dp('dp_new_name_with_nla_f_nested', DP_CMD_NEW, [A(DP_ATTR_NAME | 0x8000, cstr('rawdp3')),
                                                       A(DP_ATTR_UPCALL_PID, upcall)])
    r.dp('dp_del_rawdp3_by_name_plus_extra_nul', DP_CMD_DEL, A(DP_ATTR_NAME, cstr('rawdp3') + b'\0'))
    r.dp('dp_get_unknown_name', DP_CMD_GET, A(DP_ATTR_NAME, cstr('nosuchdp')))
    r.dp('dp_get_no_name_ifindex_0', DP_CMD_GET, b'')
    r.dp('dp_get_by_ifindex', DP_CMD_GET, b'', hdr=r.dpi)
    r.dp('dp_set_user_features_unknown_bit', DP_CMD_SET, [A(DP_ATTR_NAME, cstr(r.dpname)),
                                                          A(DP_ATTR_USER_FEATURES, u32(0x80000000))])
    r.dp('dp_set_masks_cache_size_huge', DP_CMD_SET, [A(DP_ATTR_NAME, cstr(r.dpname)),
                                                      A(DP_ATTR_MASKS_CACHE_SIZE, u32(0x100000))])
    r.dp('dp_set_masks_cache_size_not_pow2', DP_CMD_SET, [A(DP_ATTR_NAME, cstr(r.dpname)),
                                                          A(DP_ATTR_MASKS_CACHE_SIZE, u32(1000))])
    r.dp('dp_set_masks_cache_size_0', DP_CMD_SET, [A(DP_ATTR_NAME, cstr(r.dpname)),
                                                   A(DP_ATTR_MASKS_CACHE_SIZE, u32(0))])
    r.dp('dp_set_masks_cache_size_len_2', DP_CMD_SET, [A(DP_ATTR_NAME, cstr(r.dpname)),
                                                       A(DP_ATTR_MASKS_CACHE_SIZE, u16(256))])
    r.dp('dp_set_unknown_attr_type_50', DP_CMD_SET, [A(DP_ATTR_NAME, cstr(r.dpname)), A(50, u32(1))])
    r.dp('dp_dump', DP_CMD_GET, b'', flags=NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP)

    # ---- ovs_vport (on our datapath)
    print('# ovs_vport')
    name = lambda n: A(VP_ATTR_NAME, cstr(n))
    typ = lambda t: A(VP_ATTR_TYPE, u32(t))
    pid = A(VP_ATTR_UPCALL_PID, upcall)
    r.vp('vport_new_without_name', VP_CMD_NEW, [typ(VPORT_INTERNAL), pid])
    r.vp('vport_new_without_type', VP_CMD_NEW, [name('rawp1'), pid])
    r.vp('vport_new_without_upcall_pid', VP_CMD_NEW, [name('rawp1'), typ(VPORT_INTERNAL)])
    r.vp('vport_new_type_99', VP_CMD_NEW, [name('rawp1'), typ(99), pid])
    r.vp('vport_new_netdev_missing', VP_CMD_NEW, [name('nosuchif0'), typ(VPORT_NETDEV), pid])
    r.vp('vport_new_port_no_70000', VP_CMD_NEW, [name('rawp1'), typ(VPORT_INTERNAL), pid,
                                                 A(VP_ATTR_PORT_NO, u32(70000))])
    r.vp('vport_new_port_no_0_means_any', VP_CMD_NEW, [name('rawp0'), typ(VPORT_INTERNAL), pid,
                                                       A(VP_ATTR_PORT_NO, u32(0))])
    r.vp('vport_new_type_len_3', VP_CMD_NEW, [name('rawp1'), A(VP_ATTR_TYPE, u32(2)[:3]), pid])
    r.vp('vport_new_name_16_chars', VP_CMD_NEW, [name('b' * 16), typ(VPORT_INTERNAL), pid])
    r.vp('vport_new_name_not_nul_terminated', VP_CMD_NEW, [A(VP_ATTR_NAME, b'rawp1'), typ(VPORT_INTERNAL), pid])
    r.vp('vport_new_upcall_pid_len_0', VP_CMD_NEW, [name('rawp1'), typ(VPORT_INTERNAL), A(VP_ATTR_UPCALL_PID, b'')])
    r.vp('vport_new_upcall_pid_len_6', VP_CMD_NEW, [name('rawp1'), typ(VPORT_INTERNAL),
                                                    A(VP_ATTR_UPCALL_PID, upcall + b'\0\0')])
    r.vp('vport_new_stats_len_8', VP_CMD_NEW, [name('rawp1'), typ(VPORT_INTERNAL), pid, A(VP_ATTR_STATS, bytes(8))])
    r.vp('vport_new_options_len_3', VP_CMD_NEW, [name('rawp1'), typ(VPORT_INTERNAL), pid,
                                                 A(VP_ATTR_OPTIONS, b'\x01\x02\x03')])
    r.vp('vport_new_ifindex_negative', VP_CMD_NEW, [name('rawp1'), typ(VPORT_INTERNAL), pid,
                                                    A(VP_ATTR_IFINDEX, s32(-5))])
    r.vp('vport_new_ifindex_on_netdev_type', VP_CMD_NEW, [name('rawp1'), typ(VPORT_NETDEV), pid,
                                                          A(VP_ATTR_IFINDEX, s32(500))])
    r.vp('vport_new_unknown_dp', VP_CMD_NEW, [name('rawp1'), typ(VPORT_INTERNAL), pid], hdr=0x7ffffff0)
    r.vp('vport_new_internal_type_len_5_port_7', VP_CMD_NEW, [name('rawp1'), A(VP_ATTR_TYPE, u32(2) + b'\0'), pid,
                                                              A(VP_ATTR_PORT_NO, u32(7))])
    r.vp('vport_new_port_no_7_in_use', VP_CMD_NEW, [name('rawp2'), typ(VPORT_INTERNAL), pid,
                                                    A(VP_ATTR_PORT_NO, u32(7))])
    r.vp('vport_new_existing_name', VP_CMD_NEW, [name('rawp1'), typ(VPORT_INTERNAL), pid])
    if r.netdev:
        r.vp('vport_new_netdev', VP_CMD_NEW, [name(r.netdev), typ(VPORT_NETDEV), pid])
        r.vp('vport_new_netdev_again', VP_CMD_NEW, [name(r.netdev), typ(VPORT_NETDEV), pid])
    r.vp('vport_new_vxlan_dst_port_len_3', VP_CMD_NEW, [name('rawvx1'), typ(VPORT_VXLAN), pid,
                                                        A(VP_ATTR_OPTIONS, A(TUNNEL_ATTR_DST_PORT, b'\x12\xb5\x00'))])
    r.vp('vport_new_vxlan_dst_port_len_1', VP_CMD_NEW, [name('rawvx1'), typ(VPORT_VXLAN), pid,
                                                        A(VP_ATTR_OPTIONS, A(TUNNEL_ATTR_DST_PORT, b'\x12'))])
    r.vp('vport_new_vxlan_without_options', VP_CMD_NEW, [name('rawvx1'), typ(VPORT_VXLAN), pid])
    r.vp('vport_new_vxlan_dst_port_4789', VP_CMD_NEW, [name('rawvx1'), typ(VPORT_VXLAN), pid,
                                                       A(VP_ATTR_OPTIONS, A(TUNNEL_ATTR_DST_PORT, u16(4789)))])
    r.vp('vport_del_vxlan', VP_CMD_DEL, name('rawvx1'))
    r.vp('vport_get_port_no_70000', VP_CMD_GET, A(VP_ATTR_PORT_NO, u32(70000)))
    r.vp('vport_get_port_no_500', VP_CMD_GET, A(VP_ATTR_PORT_NO, u32(500)))
    r.vp('vport_get_port_no_len_2', VP_CMD_GET, A(VP_ATTR_PORT_NO, u16(7)))
    r.vp('vport_get_no_attrs', VP_CMD_GET, b'')
    r.vp('vport_get_name_wrong_dp', VP_CMD_GET, name('rawp1'), hdr=0x7ffffff0)
    r.vp('vport_get_name_dp_0', VP_CMD_GET, name('rawp1'), hdr=0)
    r.vp('vport_get_by_name', VP_CMD_GET, name('rawp1'))
    r.vp('vport_set_type_mismatch', VP_CMD_SET, [name('rawp1'), typ(VPORT_NETDEV)])
    r.vp('vport_set_upcall_pid_len_3', VP_CMD_SET, [name('rawp1'), A(VP_ATTR_UPCALL_PID, upcall[:3])])
    r.vp('vport_set_options_on_internal', VP_CMD_SET, [name('rawp1'), A(VP_ATTR_OPTIONS, A(1, u16(1)))])
    r.vp('vport_del_local_port', VP_CMD_DEL, A(VP_ATTR_PORT_NO, u32(0)))
    r.vp('vport_set_upcall_pid_two', VP_CMD_SET, [name('rawp1'), A(VP_ATTR_UPCALL_PID, upcall + upcall)])
    r.vp('vport_del_by_name', VP_CMD_DEL, name('rawp1'))
    r.vp('vport_del_by_port_no_and_wrong_name', VP_CMD_DEL, [A(VP_ATTR_PORT_NO, u32(7)), name('rawp0')])
    r.vp('vport_del_again', VP_CMD_DEL, name('rawp1'))
    r.vp('vport_dump', VP_CMD_GET, b'', flags=NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP)

    # ---- teardown
    print('# teardown')
    r.flow('flush_flows', b'', cmd=FL_CMD_DEL, flags=NLM_F_REQUEST | NLM_F_ACK)
    r.dp('teardown_dp_del', DP_CMD_DEL, A(DP_ATTR_NAME, cstr(r.dpname)))
    print('# %d cases' % r.ncase)


def main():
    args = sys.argv[1:]
    dpname, netdev = 'rawdp', None
    while args:
        a = args.pop(0)
        if a == '--dp':
            dpname = args.pop(0)
        elif a == '--netdev':
            netdev = args.pop(0)
        else:
            sys.exit(__doc__)
    run(Runner(dpname, netdev))


if __name__ == '__main__':
    main()
