/**
 * Traffic through netdev vports (lib/ovs/vport-netdev.ts): two client namespaces, each joined
 * by a veth pair to the emulator's namespace, whose ends va1/va2 are attached to dp0 with the
 * unmodified `ovs-dpctl add-if`. What the devices receive must go through the datapath (flow
 * lookup, actions, MISS upcalls) and OUTPUT must transmit on the device, exactly as with
 * openvswitch.ko, because everything observable here is decided by real kernels on both sides:
 *
 * 1. No flows: a ping fails and every frame is a lost miss (no upcall listener). With ARP and
 *    IPv4 flows a ping succeeds and the flow stats count exactly the echo requests/replies.
 * 2. Attaching makes the device promiscuous (dev_set_promiscuity: the `promiscuity` counter of
 *    `ip -d link`; like the kernel, not the PROMISC flag of plain `ip link`, which only shows
 *    the user-requested flag) and turns off the device's IPv4/IPv6 forwarding sysctls,
 *    restoring both on del-if; del-dp at the end restores them for every port.
 * 3. 802.1Q: the receiving kernel strips a VLAN tag into skb metadata (the emulator reads it
 *    from PACKET_AUXDATA) and the emulator must put it back into the frame on transmit. This
 *    kernel has no 8021q module (and no VLAN-aware bridge, no act_vlan), so VLAN interfaces
 *    cannot be made: tagged frames are sent and captured with AF_PACKET sockets instead, both
 *    ways, and the full TCI (PCP too) and TPID must arrive; flow stats count the tag's 4 bytes
 *    like ovs_flow_stats_update().
 * 4. A set(udp(dst)) rewrite of a datagram the client's stack sent with a partial checksum
 *    (CHECKSUM_PARTIAL over veth, seen as TP_STATUS_CSUMNOTREADY on the sender side): the
 *    receiving stack validates UDP checksums (a control frame with a wrong checksum is dropped
 *    and counted in InCsumErrors), so delivery proves the checksum was completed and updated.
 * 5. A 10 MiB TCP transfer (GSO super-packets) arrives intact (sha256, exact byte count).
 */
import { spawn, spawnSync, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { isRoot, ServedEmulator, type CmdResult } from '../helpers/served';

const PY = '/usr/bin/python3';
const MiB10 = 10 * 1024 * 1024;

/** tcp.py recv PORT | send HOST PORT NBYTES: a bulk transfer, both sides print bytes+sha256. */
const TCP_PY = `
import socket, hashlib, json, random, sys
if sys.argv[1] == "recv":
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", int(sys.argv[2]))); s.listen(1); s.settimeout(20)
    print("ready", flush=True)
    c, _ = s.accept(); c.settimeout(20); h = hashlib.sha256(); n = 0
    while True:
        d = c.recv(1 << 20)
        if not d: break
        h.update(d); n += len(d)
    c.close()
    print(json.dumps({"bytes": n, "sha256": h.hexdigest()}), flush=True)
else:
    data = random.Random(20240601).randbytes(int(sys.argv[4]))
    s = socket.create_connection((sys.argv[2], int(sys.argv[3])), timeout=20)
    s.sendall(data); s.shutdown(socket.SHUT_WR); s.recv(1); s.close()
    print(json.dumps({"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}), flush=True)
`;

/**
 * udp.py:
 *   recv IF PORT SECS: a UDP socket on PORT plus a capture of IF; prints the first datagram and,
 *     for every captured IPv4/UDP frame to PORT, its payload and whether its checksum is valid.
 *   send IF DSTIP DPORT SPORT PAYLOAD: sends through the stack and captures the outgoing frame
 *     on IF: TP_STATUS_CSUMNOTREADY tells it left CHECKSUM_PARTIAL.
 *   sendbad IF DSTMAC SRCIP DSTIP DPORT SPORT PAYLOAD: a hand-made frame whose UDP checksum is
 *     wrong (and not 0), sent raw on IF.
 */
const UDP_PY = `
import socket, struct, json, sys, time, select
SOL_PACKET, PACKET_AUXDATA, ETH_P_IP = 263, 8, 0x0800
def fold(b):
    if len(b) % 2: b += b"\\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s >> 16) + (s & 0xffff)
    return s
def udp_ok(ip):
    ihl = (ip[0] & 15) * 4; udp = ip[ihl:ihl + struct.unpack("!H", ip[ihl + 4:ihl + 6])[0]]
    return fold(ip[12:20] + struct.pack("!HH", 17, len(udp)) + udp) == 0xffff
def frames(s, secs):
    end = time.time() + secs
    while time.time() < end:
        if not select.select([s], [], [], 0.05)[0]: continue
        d, anc, _, addr = s.recvmsg(65536, socket.CMSG_SPACE(20))
        st = 0
        for lvl, typ, data in anc:
            if lvl == SOL_PACKET and typ == PACKET_AUXDATA: st = struct.unpack("I", data[:4])[0]
        ip = d[14:]
        if d[12:14] != b"\\x08\\x00" or len(ip) < 28 or ip[9] != 17: continue
        ihl = (ip[0] & 15) * 4
        yield addr[2], st, ip, struct.unpack("!HHHH", ip[ihl:ihl + 8]), ip[ihl + 8:]
mode = sys.argv[1]
if mode == "recv":
    port = int(sys.argv[3])
    cap = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP)); cap.bind((sys.argv[2], ETH_P_IP))
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", port)); u.settimeout(float(sys.argv[4]))
    print("ready", flush=True)
    try:
        d, a = u.recvfrom(4096); got = {"data": d.decode(), "from": list(a)}
    except socket.timeout:
        got = {"data": None}
    got["frames"] = [{"payload": pl.decode("latin1"), "csum": h[3], "valid": udp_ok(ip)}
                     for t, st, ip, h, pl in frames(cap, 0.5) if h[1] == port]
    print(json.dumps(got), flush=True)
elif mode == "send":
    # Outgoing frames reach ETH_P_ALL sockets only (dev_queue_xmit_nit).
    cap = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3)); cap.bind((sys.argv[2], 3))
    cap.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", int(sys.argv[5])))
    u.sendto(sys.argv[6].encode(), (sys.argv[3], int(sys.argv[4])))
    out = [{"partial": bool(st & 8), "valid": udp_ok(ip)} for t, st, ip, h, pl in frames(cap, 0.3)
           if t == socket.PACKET_OUTGOING and pl == sys.argv[6].encode()]
    print(json.dumps(out), flush=True)
else:
    ifname, dmac, sip, dip, dport, sport, pl = sys.argv[2:9]
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW); s.bind((ifname, 0))
    pl = pl.encode(); ulen = 8 + len(pl)
    ips = socket.inet_aton(sip) + socket.inet_aton(dip)
    good = 0xffff - fold(ips + struct.pack("!HHHHHH", 17, ulen, int(sport), int(dport), ulen, 0) + pl)
    bad = good ^ 0x5a5a
    udp = struct.pack("!HHHH", int(sport), int(dport), ulen, bad) + pl
    iph = struct.pack("!BBHHHBBH", 0x45, 0, 20 + ulen, 1, 0x4000, 64, 17, 0) + ips
    iph = iph[:10] + struct.pack("!H", 0xffff - fold(iph)) + iph[12:]
    s.send(bytes.fromhex(dmac.replace(":", "")) + s.getsockname()[4] + b"\\x08\\x00" + iph + udp)
`;

/**
 * vlan.py:
 *   send IF TCI SRCIP DSTIP N TAG: N tagged IPv4/UDP broadcast frames (74 bytes untagged, the
 *     payload starts with TAG-i) and one tagged ARP request (42 bytes untagged), raw on IF.
 *   recv IF WANT TAG SECS: captures up to WANT VLAN-tagged frames (tag from auxdata, or still
 *     in the frame) that are ARP or IPv4 carrying TAG.
 */
const VLAN_PY = `
import socket, struct, sys, json, time, select
SOL_PACKET, PACKET_AUXDATA = 263, 8
def fold(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s >> 16) + (s & 0xffff)
    return s
mode, ifname = sys.argv[1], sys.argv[2]
if mode == "send":
    tci, src, dst, n, tag = int(sys.argv[3]), sys.argv[4], sys.argv[5], int(sys.argv[6]), sys.argv[7]
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW); s.bind((ifname, 0))
    mac = s.getsockname()[4]; head = b"\\xff" * 6 + mac + struct.pack("!HH", 0x8100, tci)
    ips = socket.inet_aton(src) + socket.inet_aton(dst)
    for i in range(n):
        pl = ("%s-%02d" % (tag, i)).encode().ljust(32, b".")
        udp = struct.pack("!HHHH", 40000, 9, 8 + len(pl), 0) + pl
        iph = struct.pack("!BBHHHBBH", 0x45, 0, 20 + len(udp), i, 0, 64, 17, 0) + ips
        iph = iph[:10] + struct.pack("!H", 0xffff - fold(iph)) + iph[12:]
        s.send(head + b"\\x08\\x00" + iph + udp)
    s.send(head + b"\\x08\\x06" + struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, mac, ips[:4], b"\\0" * 6, ips[4:]))
else:
    want, tag, secs = int(sys.argv[3]), sys.argv[4].encode(), float(sys.argv[5])
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3)); s.bind((ifname, 0))
    s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
    print("ready", flush=True)
    out = []; end = time.time() + secs
    while len(out) < want and time.time() < end:
        if not select.select([s], [], [], 0.05)[0]: continue
        d, anc, _, addr = s.recvmsg(4096, socket.CMSG_SPACE(20))
        if addr[2] == socket.PACKET_OUTGOING: continue
        st = tci = tpid = 0
        for lvl, typ, data in anc:
            if lvl == SOL_PACKET and typ == PACKET_AUXDATA: st, _, _, _, _, tci, tpid = struct.unpack("IIIHHHH", data[:20])
        if struct.unpack("!H", d[12:14])[0] == 0x8100:
            st |= 0x50; tpid, tci = 0x8100, struct.unpack("!H", d[14:16])[0]; d = d[:12] + d[16:]
        et = struct.unpack("!H", d[12:14])[0]
        if not st & 0x10: continue
        if et == 0x0806 or (et == 0x0800 and tag in d):
            out.append({"tci": tci, "tpid": tpid if st & 0x40 else None, "type": et, "len": len(d),
                        "payload": d[42:74].decode("latin1") if et == 0x0800 else None})
    print(json.dumps(out), flush=True)
`;

/** Background is a command left running (a receiver) while the test goes on. */
interface Background {
  ready: Promise<void>;
  done: Promise<CmdResult>;
  child: ChildProcess;
}

const maybe = isRoot() ? describe : describe.skip;

maybe('netdev vports carry traffic (AF_PACKET) between two client namespaces', () => {
  const emu = new ServedEmulator('netdev');
  const c1 = `${emu.netns}-c1`;
  const c2 = `${emu.netns}-c2`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dpemu-netdev-'));
  const script = (name: string): string => path.join(dir, name);
  const children: ChildProcess[] = [];

  const dpctl = (...a: string[]): CmdResult => emu.run(['ovs-dpctl', ...a]);
  /** inNs runs argv in a namespace (stdout then stderr). */
  const inNs = (ns: string, argv: string[]): CmdResult => {
    const r = spawnSync('ip', ['netns', 'exec', ns, ...argv], { encoding: 'utf8', timeout: 60000, maxBuffer: 1 << 26 });
    return { out: (r.stdout ?? '') + (r.stderr ?? ''), rc: r.status ?? -1 };
  };
  const must = (ns: string, argv: string[]): string => {
    const r = inNs(ns, argv);
    if (r.rc !== 0) throw new Error(`${argv.join(' ')} in ${ns}: rc=${r.rc} ${r.out}`);
    return r.out;
  };
  /** bg starts argv in a namespace; ready when it printed "ready". */
  const bg = (ns: string, argv: string[]): Background => {
    const child = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    let err = '';
    let onReady: () => void = () => undefined;
    const ready = new Promise<void>((r) => { onReady = r; });
    child.stdout!.setEncoding('utf8').on('data', (s: string) => {
      out += s;
      if (out.startsWith('ready\n')) onReady();
    });
    child.stderr!.setEncoding('utf8').on('data', (s: string) => { err += s; });
    const done = new Promise<CmdResult>((r) => child.on('close', (code) => {
      onReady();
      r({ out: out + err, rc: code ?? -1 });
    }));
    return { ready, done, child };
  };
  /** lastJson parses the last line a python helper printed. */
  const lastJson = (r: CmdResult): any => {
    const lines = r.out.trim().split('\n');
    try {
      return JSON.parse(lines[lines.length - 1]);
    } catch {
      throw new Error(`not JSON (rc=${r.rc}): ${r.out}`);
    }
  };
  /** flows is dump-flows dp0 with `used:` times normalised, one entry per line. */
  const flows = (): string[] => {
    const r = dpctl('dump-flows', 'dp0');
    expect(r.rc).toBe(0);
    return r.out.split('\n').filter((l) => l).map((l) => l.replace(/used:(never|[0-9.]+s)/, 'used:T'));
  };
  /** stats returns packets and bytes of the flow whose dump line starts with `key,`. */
  const stats = (key: string): { packets: number; bytes: number } => {
    const line = flows().find((l) => l.startsWith(`${key}, `));
    const m = line && /, packets:(\d+), bytes:(\d+),/.exec(line);
    if (!m) throw new Error(`no flow ${key}`);
    return { packets: Number(m[1]), bytes: Number(m[2]) };
  };
  /** promiscuity is the device's promiscuity counter (`ip -d link`, dev->promiscuity). */
  const promiscuity = (dev: string): number => {
    const m = /promiscuity (\d+)/.exec(must(emu.netns, ['ip', '-d', 'link', 'show', dev]));
    if (!m) throw new Error(`no promiscuity for ${dev}`);
    return Number(m[1]);
  };
  const sysctl = (dev: string, fam: 'ipv4' | 'ipv6'): string => must(emu.netns, ['cat', `/proc/sys/net/${fam}/conf/${dev}/forwarding`]).trim();
  const snmp = (ns: string, proto: string, field: string): number => {
    const lines = must(ns, ['cat', '/proc/net/snmp']).split('\n').filter((l) => l.startsWith(`${proto}: `));
    const names = lines[0].split(/\s+/);
    return Number(lines[1].split(/\s+/)[names.indexOf(field)]);
  };

  const IP4_1 = 'in_port(1),eth(),eth_type(0x0800),ipv4()';
  const IP4_2 = 'in_port(2),eth(),eth_type(0x0800),ipv4()';

  beforeAll(async () => {
    fs.writeFileSync(script('tcp.py'), TCP_PY);
    fs.writeFileSync(script('udp.py'), UDP_PY);
    fs.writeFileSync(script('vlan.py'), VLAN_PY);
    await emu.start();
    for (const ns of [c1, c2]) spawnSync('ip', ['netns', 'add', ns]);
    for (const [i, ns] of [[1, c1], [2, c2]] as const) {
      must(emu.netns, ['ip', 'link', 'add', `va${i}`, 'type', 'veth', 'peer', 'name', `vb${i}`, 'netns', ns]);
      must(emu.netns, ['ip', 'link', 'set', `va${i}`, 'up']);
      must(ns, ['ip', 'addr', 'add', `10.1.0.${i}/24`, 'dev', `vb${i}`]);
      must(ns, ['ip', 'link', 'set', `vb${i}`, 'up']);
      must(ns, ['ip', 'link', 'set', 'lo', 'up']);
    }
  }, 30000);

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await emu.stop();
    for (const ns of [c1, c2]) spawnSync('ip', ['netns', 'del', ns]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('without flows a ping fails and every frame is a lost miss; with ARP+IPv4 flows it succeeds and is counted', () => {
    expect(dpctl('add-dp', 'dp0').rc).toBe(0);
    expect(dpctl('add-if', 'dp0', 'va1')).toEqual({ out: '', rc: 0 });
    expect(dpctl('add-if', 'dp0', 'va2')).toEqual({ out: '', rc: 0 });
    expect(dpctl('show', 'dp0').out).toMatch(/\n {2}port 1: va1\n {2}port 2: va2\n/);

    expect(inNs(c1, ['ping', '-c', '1', '-W', '1', '10.1.0.2']).rc).toBe(1);
    const show = dpctl('show', 'dp0');
    expect(show.rc).toBe(0);
    const m = /lookups: hit:(\d+) missed:(\d+) lost:(\d+)\n {2}flows: 0\n/.exec(show.out);
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBe(0);
    expect(Number(m![2])).toBeGreaterThanOrEqual(1);
    expect(m![3]).toBe(m![2]);
    // The dead ping's echo request still waits in client1's ARP queue and would go out once
    // an ARP retry gets through the flows added below: drop it with the neighbour entry.
    for (const [ns, dev] of [[c1, 'vb1'], [c2, 'vb2']]) must(ns, ['ip', 'neigh', 'flush', 'dev', dev]);

    for (const [k, out] of [
      ['in_port(1),eth(),eth_type(0x0806),arp()', '2'], ['in_port(2),eth(),eth_type(0x0806),arp()', '1'],
      [IP4_1, '2'], [IP4_2, '1'],
    ]) expect(dpctl('add-flow', 'dp0', k, out)).toEqual({ out: '', rc: 0 });

    const ping = inNs(c1, ['ping', '-c', '3', '-i', '0.2', '-W', '2', '10.1.0.2']);
    expect(ping.out).toContain('3 packets transmitted, 3 received, 0% packet loss');
    expect(ping.rc).toBe(0);
    const dump = flows();
    // 3 echo requests one way, 3 replies the other, 98 bytes each (14 + 20 + 8 + 56).
    expect(dump).toContain('in_port(1),eth(),eth_type(0x0800), packets:3, bytes:294, used:T, actions:2');
    expect(dump).toContain('in_port(2),eth(),eth_type(0x0800), packets:3, bytes:294, used:T, actions:1');
    expect(stats('in_port(1),eth(),eth_type(0x0806)').packets).toBeGreaterThanOrEqual(1);
    expect(stats('in_port(2),eth(),eth_type(0x0806)').packets).toBeGreaterThanOrEqual(1);
    expect(dump).toHaveLength(4);
  }, 30000);

  it('attaching sets the device promiscuous and turns its forwarding off; del-if restores both', () => {
    // va1 is attached since the first test: detach it first, which must leave it as before.
    expect(promiscuity('va1')).toBe(1);
    expect(dpctl('del-if', 'dp0', 'va1')).toEqual({ out: '', rc: 0 });
    expect(promiscuity('va1')).toBe(0);
    expect([sysctl('va1', 'ipv4'), sysctl('va1', 'ipv6')]).toEqual(['0', '0']);

    must(emu.netns, ['sh', '-c', 'echo 1 > /proc/sys/net/ipv4/conf/va1/forwarding; echo 1 > /proc/sys/net/ipv6/conf/va1/forwarding']);
    expect([sysctl('va1', 'ipv4'), sysctl('va1', 'ipv6')]).toEqual(['1', '1']);

    expect(dpctl('add-if', 'dp0', 'va1')).toEqual({ out: '', rc: 0 });
    expect(promiscuity('va1')).toBe(1);
    // Like the kernel's dev_set_promiscuity(): the counter, not the user-visible PROMISC flag.
    expect(must(emu.netns, ['ip', 'link', 'show', 'va1'])).toMatch(/^\d+: va1@\S+: <BROADCAST,MULTICAST,UP,LOWER_UP> /);
    expect([sysctl('va1', 'ipv4'), sysctl('va1', 'ipv6')]).toEqual(['0', '0']);
    expect(promiscuity('va2')).toBe(1);

    expect(dpctl('del-if', 'dp0', 'va1')).toEqual({ out: '', rc: 0 });
    expect(promiscuity('va1')).toBe(0);
    expect([sysctl('va1', 'ipv4'), sysctl('va1', 'ipv6')]).toEqual(['1', '1']);
    expect(promiscuity('va2')).toBe(1);

    // Back as port 1 (the lowest free number) for the other tests; the flows still apply.
    expect(dpctl('add-if', 'dp0', 'va1')).toEqual({ out: '', rc: 0 });
    expect(dpctl('show', 'dp0').out).toMatch(/\n {2}port 1: va1\n {2}port 2: va2\n/);
    expect([sysctl('va1', 'ipv4'), sysctl('va1', 'ipv6')]).toEqual(['0', '0']);
    expect(inNs(c1, ['ping', '-c', '1', '-W', '2', '10.1.0.2']).rc).toBe(0);
  }, 30000);

  it('802.1Q: accelerated tags are matched by vlan() flows and pushed back into the frame on output, both ways', async () => {
    const vflow = (inPort: number, et: string): string => `in_port(${inPort}),eth(),eth_type(0x8100),vlan(vid=10),encap(eth_type(${et}))`;
    for (const [i, o] of [[1, 2], [2, 1]]) {
      expect(dpctl('add-flow', 'dp0', `in_port(${i}),eth(),eth_type(0x8100),vlan(vid=10),encap(eth_type(0x0800),ipv4())`, `${o}`)).toEqual({ out: '', rc: 0 });
      expect(dpctl('add-flow', 'dp0', `in_port(${i}),eth(),eth_type(0x8100),vlan(vid=10),encap(eth_type(0x0806),arp())`, `${o}`)).toEqual({ out: '', rc: 0 });
    }
    const before = flows();
    for (const [i, o] of [[1, 2], [2, 1]]) {
      for (const et of ['0x0800', '0x0806']) expect(before).toContain(`${vflow(i, et)}, packets:0, bytes:0, used:T, actions:${o}`);
    }

    // client1 → client2: PCP 5, VID 10 (TCI 0xa00a).
    const rx2 = bg(c2, [PY, script('vlan.py'), 'recv', 'vb2', '4', 'vt-ab', '5']);
    await rx2.ready;
    expect(inNs(c1, [PY, script('vlan.py'), 'send', 'vb1', String((5 << 13) | 10), '10.2.0.1', '10.2.0.2', '3', 'vt-ab'])).toEqual({ out: '', rc: 0 });
    const got2 = await rx2.done;
    expect(got2.rc).toBe(0);
    const ip = (tci: number, payload: string): object => ({ tci, tpid: 0x8100, type: 0x0800, len: 74, payload: payload.padEnd(32, '.') });
    const arp = (tci: number): object => ({ tci, tpid: 0x8100, type: 0x0806, len: 42, payload: null });
    expect(lastJson(got2)).toEqual([ip(0xa00a, 'vt-ab-00'), ip(0xa00a, 'vt-ab-01'), ip(0xa00a, 'vt-ab-02'), arp(0xa00a)]);

    // client2 → client1: PCP 0, VID 10.
    const rx1 = bg(c1, [PY, script('vlan.py'), 'recv', 'vb1', '3', 'vt-ba', '5']);
    await rx1.ready;
    expect(inNs(c2, [PY, script('vlan.py'), 'send', 'vb2', '10', '10.2.0.2', '10.2.0.1', '2', 'vt-ba'])).toEqual({ out: '', rc: 0 });
    const got1 = await rx1.done;
    expect(got1.rc).toBe(0);
    expect(lastJson(got1)).toEqual([ip(10, 'vt-ba-00'), ip(10, 'vt-ba-01'), arp(10)]);

    // Frame bytes plus the 4 of the accelerated tag (ovs_flow_stats_update()): 78 and 46.
    const after = flows();
    expect(after).toContain(`${vflow(1, '0x0800')}, packets:3, bytes:234, used:T, actions:2`);
    expect(after).toContain(`${vflow(1, '0x0806')}, packets:1, bytes:46, used:T, actions:2`);
    expect(after).toContain(`${vflow(2, '0x0800')}, packets:2, bytes:156, used:T, actions:1`);
    expect(after).toContain(`${vflow(2, '0x0806')}, packets:1, bytes:46, used:T, actions:1`);
  }, 30000);

  it('set(udp(dst)) on a CHECKSUM_PARTIAL datagram: completed, rewritten, accepted by the receiving stack', async () => {
    const UDP = 'in_port(1),eth(),eth_type(0x0800),ipv4(proto=17),udp(dst=7000)';
    // The broader IPv4 flow would take the datagram (and adding an overlapping flow is EEXIST,
    // as in the kernel): take it out while the UDP flow is in.
    expect(dpctl('del-flow', 'dp0', IP4_1)).toEqual({ out: '', rc: 0 });
    try {
      expect(dpctl('add-flow', 'dp0', UDP, 'set(udp(dst=7001)),2')).toEqual({ out: '', rc: 0 });
      expect(flows()).toContain(`${UDP}, packets:0, bytes:0, used:T, actions:set(udp(dst=7001)),2`);
      const mac = JSON.parse(must(c2, ['ip', '-j', 'link', 'show', 'vb2']))[0].address as string;
      const csumErrors = snmp(c2, 'Udp', 'InCsumErrors');

      const rx = bg(c2, [PY, script('udp.py'), 'recv', 'vb2', '7001', '5']);
      await rx.ready;
      // Control: a frame with a wrong UDP checksum gets the same rewrite and must be dropped.
      expect(inNs(c1, [PY, script('udp.py'), 'sendbad', 'vb1', mac, '10.1.0.1', '10.1.0.2', '7000', '5001', 'dpemu-udp-bad!'])).toEqual({ out: '', rc: 0 });
      const sent = inNs(c1, [PY, script('udp.py'), 'send', 'vb1', '10.1.0.2', '7000', '5002', 'dpemu-udp-good']);
      expect(sent.rc).toBe(0);
      // The datagram left client1 with only the pseudo-header sum in its checksum field.
      expect(lastJson(sent)).toEqual([{ partial: true, valid: false }]);
      const got = await rx.done;
      expect(got.rc).toBe(0);
      const r = lastJson(got);
      expect({ data: r.data, from: r.from }).toEqual({ data: 'dpemu-udp-good', from: ['10.1.0.1', 5002] });
      // On the wire into client2: both rewritten to port 7001; the good one with a valid, non-zero checksum.
      expect(r.frames.map((f: any) => ({ payload: f.payload, valid: f.valid }))).toEqual([
        { payload: 'dpemu-udp-bad!', valid: false },
        { payload: 'dpemu-udp-good', valid: true },
      ]);
      expect(r.frames[1].csum).not.toBe(0);
      expect(snmp(c2, 'Udp', 'InCsumErrors')).toBe(csumErrors + 1);
      // Two 56-byte frames (14 + 20 + 8 + 14).
      expect(flows()).toContain(`${UDP}, packets:2, bytes:112, used:T, actions:set(udp(dst=7001)),2`);
    } finally {
      dpctl('del-flow', 'dp0', UDP);
      expect(dpctl('add-flow', 'dp0', IP4_1, '2')).toEqual({ out: '', rc: 0 });
    }
  }, 30000);

  it('10 MiB over TCP arrives intact (GSO super-packets through the datapath)', async () => {
    const s1 = stats('in_port(1),eth(),eth_type(0x0800)');
    const csumErrors = snmp(c2, 'Tcp', 'InCsumErrors');
    const rx = bg(c2, [PY, script('tcp.py'), 'recv', '7100']);
    await rx.ready;
    const tx = inNs(c1, ['timeout', '30', PY, script('tcp.py'), 'send', '10.1.0.2', '7100', String(MiB10)]);
    const got = await rx.done;
    expect(tx.rc).toBe(0);
    expect(got.rc).toBe(0);
    const sent = lastJson(tx);
    const received = lastJson(got);
    expect(sent.bytes).toBe(MiB10);
    expect(received).toEqual(sent);
    expect(snmp(c2, 'Tcp', 'InCsumErrors')).toBe(csumErrors);
    const s2 = stats('in_port(1),eth(),eth_type(0x0800)');
    expect(s2.bytes - s1.bytes).toBeGreaterThan(MiB10);
    // Fewer skbs than 1448-byte segments: the super-packets went through whole.
    expect(s2.packets - s1.packets).toBeLessThan(Math.ceil(MiB10 / 1448));
  }, 60000);

  it('del-dp detaches every netdev port: promiscuity and forwarding restored', () => {
    must(emu.netns, ['sh', '-c', 'echo 1 > /proc/sys/net/ipv4/conf/va2/forwarding']);
    expect(dpctl('del-if', 'dp0', 'va2')).toEqual({ out: '', rc: 0 });
    expect(dpctl('add-if', 'dp0', 'va2')).toEqual({ out: '', rc: 0 });
    expect([promiscuity('va1'), promiscuity('va2')]).toEqual([1, 1]);
    expect([sysctl('va1', 'ipv4'), sysctl('va2', 'ipv4')]).toEqual(['0', '0']);
    expect(dpctl('del-dp', 'dp0')).toEqual({ out: '', rc: 0 });
    expect([promiscuity('va1'), promiscuity('va2')]).toEqual([0, 0]);
    // va1 had forwarding on when attached in the second test, va2 just now.
    expect([sysctl('va1', 'ipv4'), sysctl('va1', 'ipv6'), sysctl('va2', 'ipv4'), sysctl('va2', 'ipv6')]).toEqual(['1', '1', '1', '0']);
    expect(inNs(c1, ['ping', '-c', '1', '-W', '1', '10.1.0.2']).rc).toBe(1);
  }, 30000);
});
