/**
 * A small userspace connection tracker behind the ct and ct_clear actions: ovs_ct_execute(),
 * ovs_ct_clear() and the key updates of net/openvswitch/conntrack.c over a per-zone tuple table
 * standing in for nf_conntrack (nf_conntrack_in(), resolve_normal_ct(), init_conntrack(),
 * nf_conntrack_confirm(), ICMP-related lookup). NAT: see conntrack-nat.ts. Not reproduced:
 * fragment reassembly (non-first fragments stay untracked), helpers and expectations (no
 * RELATED beyond ICMP errors), TCP window tracking, SCTP/DCCP/GRE state machines.
 */
import { Errno } from '../nl/errno';
import type { CtExec } from './actions-env';
import { NFPROTO } from './conntrack-helpers';
import type { CtActionInfo } from './conntrack-action';
import { CTINFO, IPS, OVS_CS_F, OVS_CS_F_NAT_MASK, TCP_CT, ctinfo2dir, isConfirmed, skbCt, type Conn, type SkbCt } from './conntrack-conn';
import { ctFillKey, ctUpdateKey, natUpdateKey } from './conntrack-key';
import { ctNat } from './conntrack-nat';
import { icmpCheck, l4Packet } from './conntrack-proto';
import { copyTuple, getTuplePr, invertTuple, tupleId, type CtTuple, type PacketTuple } from './conntrack-tuple';
import { SWKEY } from './flow-key';
import { ETH_P } from './net-consts';
import type { Skb } from './skb';

export { ctFillKey } from './conntrack-key';

/** The part of the ct_limit state conntrack consults (lib/ovs/ct-limit.ts CtLimitInfo). */
export interface CtLimits {
  exceeds(zone: number, connections: number): boolean;
  count: (zone: number) => number;
}

export interface ConnTrackerOptions {
  /** Monotonic milliseconds. */
  now: () => number;
  /** nf_conntrack_checksum: verify L4 checksums of tracked packets (default true). */
  checksum?: boolean;
  /** Zone limits; the tracker installs its counter into `count`. */
  limits?: CtLimits;
  log?: (msg: string) => void;
}

/** A table entry: the connection and the direction of the tuple it was found by. */
interface Hash {
  conn: Conn;
  dir: number;
}

/** The untracked mark ovs_ct_clear() leaves. */
const UNTRACKED: SkbCt = { kind: 'nfct', conn: null, ctinfo: CTINFO.UNTRACKED };

/** ovs_ct_get_info(): the ctinfo of a packet found by tuple direction `dir`. */
function ctGetInfo(conn: Conn, dir: number): number {
  if (dir) return CTINFO.ESTABLISHED_REPLY;
  if (conn.status & IPS.SEEN_REPLY) return CTINFO.ESTABLISHED;
  if (conn.status & IPS.EXPECTED) return CTINFO.RELATED;
  return CTINFO.NEW;
}

/** The family of a ct action's flow (key_to_nfproto), from the packet's EtherType. */
const familyOf = (skb: Skb): number => (skb.protocol === ETH_P.IPV6 ? NFPROTO.IPV6 : skb.protocol === ETH_P.IP ? NFPROTO.IPV4 : NFPROTO.UNSPEC);

/** ConnTracker is one network namespace's conntrack as the OVS datapath uses it. */
export class ConnTracker implements CtExec {
  private readonly table = new Map<string, Hash>();
  private readonly conns = new Set<Conn>();
  private readonly checksum: boolean;

  constructor(private readonly opts: ConnTrackerOptions) {
    this.checksum = opts.checksum ?? true;
    if (opts.limits) opts.limits.count = (zone) => this.count(zone);
  }

  /** count is the number of live (confirmed) connections in `zone`. */
  count(zone: number): number {
    this.gc();
    let n = 0;
    for (const c of this.conns) if (c.zone === zone) n++;
    return n;
  }

  /** connections lists the live connections (for tests and dumps). */
  connections(): Conn[] {
    this.gc();
    return [...this.conns];
  }

  /** flush removes every connection (of one zone when given). */
  flush(zone?: number): void {
    for (const c of [...this.conns]) if (zone === undefined || c.zone === zone) this.remove(c);
  }

  private remove(c: Conn): void {
    this.conns.delete(c);
    for (const [i, t] of c.tuples.entries()) {
      const id = tupleId(c.zone, t);
      if (this.table.get(id)?.conn === c && this.table.get(id)?.dir === i) this.table.delete(id);
    }
  }

  /** gc drops expired connections. */
  private gc(): void {
    const now = this.opts.now();
    for (const c of this.conns) if (c.expires <= now) this.remove(c);
  }

  /** find is nf_conntrack_find_get(): a live connection by tuple in a zone. */
  private find(zone: number, t: CtTuple): Hash | undefined {
    const h = this.table.get(tupleId(zone, t));
    if (h && h.conn.expires <= this.opts.now()) {
      this.remove(h.conn);
      return undefined;
    }
    return h;
  }

  /** clear is ovs_ct_clear(). */
  // kernel: ovs_ct_clear()
  clear(skb: Skb, key?: Buffer): void {
    skb.ct = UNTRACKED;
    if (key) ctFillKey(skb, key, false);
  }

  /**
   * execute is ovs_ct_execute(): lookup (and with commit, confirm) of the packet in the
   * action's zone; the key's ct fields follow. 0 or a negative errno.
   */
  // kernel: ovs_ct_execute()
  execute(skb: Skb, key: Buffer, info: CtActionInfo): number {
    const nh = skb.networkHeader;
    if (nh < 0) return -Errno.EINVAL;
    this.networkTrim(skb, info.family);
    return info.commit ? this.commit(skb, key, info) : this.ctLookup(skb, key, info); // ovs_ct_lookup()
  }

  /** nf_ct_skb_network_trim(): the frame cut to the IP datagram's length (no Ethernet padding). */
  // kernel: nf_ct_skb_network_trim()
  private networkTrim(skb: Skb, family: number): void {
    const nh = skb.networkHeader;
    const d = skb.data;
    let len = d.length - nh;
    if (family === NFPROTO.IPV4 && d.length >= nh + 4) len = d.readUInt16BE(nh + 2);
    else if (family === NFPROTO.IPV6 && d.length >= nh + 6) len = 40 + d.readUInt16BE(nh + 4);
    if (nh + len < d.length) skb.data = Buffer.from(d.subarray(0, nh + len));
  }

  /** ovs_ct_find_existing(): the connection of a packet that already went through conntrack. */
  // kernel: ovs_ct_find_existing()
  private findExisting(skb: Skb, zone: number, family: number, natted: boolean): Conn | undefined {
    const pt = getTuplePr(skb.data, skb.networkHeader, family);
    if (!pt) return undefined;
    const t = natted ? invertTuple(pt.tuple) : pt.tuple;
    if (!t) return undefined;
    const h = this.find(zone, t);
    if (!h) return undefined;
    const dir = natted ? 1 - h.dir : h.dir;
    skb.ct = { kind: 'nfct', conn: h.conn, ctinfo: ctGetInfo(h.conn, dir) };
    return h.conn;
  }

  /** skb_nfct_cached(): the packet's conntrack result can be reused for this action. */
  // kernel: skb_nfct_cached(), ovs_ct_executed()
  private cached(skb: Skb, key: Buffer, info: CtActionInfo): boolean {
    let ct = skbCt(skb.ct)?.conn ?? undefined;
    let executed = true;
    if (!ct) {
      const state = key[SWKEY.ctState.off];
      executed = (state & OVS_CS_F.TRACKED) !== 0 && !(state & OVS_CS_F.INVALID) && key.readUInt16LE(SWKEY.ctZone.off) === info.zone;
      if (executed || (!state && info.force)) ct = this.findExisting(skb, info.zone, info.family, (state & OVS_CS_F_NAT_MASK) !== 0);
    }
    if (!ct) return false;
    if (ct.zone !== info.zone) return false;
    if (info.helper !== undefined && ct.helper !== undefined && ct.helper !== info.helper) return false;
    // info->nf_ct_timeout is never set: no timeout policy exists (only its name is kept).
    const s = skbCt(skb.ct);
    if (info.force && s && ctinfo2dir(s.ctinfo) !== 0) {
      if (isConfirmed(ct)) this.remove(ct);
      skb.ct = undefined;
      return false;
    }
    return executed;
  }

  /** nf_conntrack_in() for the ct action's zone: the packet's connection (new ones unconfirmed). */
  // kernel: nf_conntrack_in(), resolve_normal_ct(), init_conntrack(), nf_conntrack_inet_error()
  private conntrackIn(skb: Skb, zone: number, family: number): void {
    skb.ct = undefined;
    const pt = getTuplePr(skb.data, skb.networkHeader, family);
    if (!pt) return;
    const d = skb.data;
    const icmp = pt.tuple.proto === (family === NFPROTO.IPV6 ? 58 : 1);
    if (icmp) {
      const check = icmpCheck(d, pt, this.checksum);
      if (check === 'invalid') return;
      if (check === 'untracked') {
        skb.ct = UNTRACKED;
        return;
      }
      if (check === 'error') {
        this.related(skb, pt, zone, family);
        return;
      }
    }
    const now = this.opts.now();
    for (let attempt = 0; attempt < 2; attempt++) {
      let h = this.find(zone, pt.tuple);
      let ctinfo: number;
      if (!h) {
        const reply = invertTuple(pt.tuple);
        if (!reply) return;
        const conn: Conn = { zone, tuples: [copyTuple(pt.tuple), reply], status: 0, mark: 0, expires: now, tcpState: TCP_CT.NONE };
        h = { conn, dir: 0 };
        ctinfo = CTINFO.NEW;
      } else {
        ctinfo = ctGetInfo(h.conn, h.dir);
      }
      const v = l4Packet(h.conn, d, pt, ctinfo, now, this.checksum);
      if (v === 'repeat') {
        this.remove(h.conn);
        continue;
      }
      if (v === 'invalid') return;
      if (ctinfo === CTINFO.ESTABLISHED_REPLY) h.conn.status |= IPS.SEEN_REPLY;
      skb.ct = { kind: 'nfct', conn: h.conn, ctinfo };
      return;
    }
  }

  /** nf_conntrack_inet_error(): an ICMP error relates to the connection of its embedded packet. */
  // kernel: nf_conntrack_inet_error()
  private related(skb: Skb, pt: PacketTuple, zone: number, family: number): void {
    const d = skb.data;
    const inner = getTuplePr(d, pt.l4 + 8, family);
    if (!inner) return;
    const t = invertTuple(inner.tuple);
    if (!t) return;
    const h = this.find(zone, t);
    if (!h) return;
    const outerDst = family === NFPROTO.IPV6 ? d.subarray(pt.l3 + 24, pt.l3 + 40) : d.subarray(pt.l3 + 16, pt.l3 + 20);
    if (!outerDst.equals(h.conn.tuples[h.dir].dst)) return;
    skb.ct = { kind: 'nfct', conn: h.conn, ctinfo: h.dir ? CTINFO.RELATED_REPLY : CTINFO.RELATED };
  }

  /** Whether a NAT binding's reply tuple would collide with a live connection. */
  private readonly taken = (reply: CtTuple, zone: number): boolean => this.find(zone, reply) !== undefined;

  /** __ovs_ct_lookup(): 0 or a negative errno. */
  // kernel: __ovs_ct_lookup()
  private ctLookup(skb: Skb, key: Buffer, info: CtActionInfo): number {
    const cached = this.cached(skb, key, info);
    if (!cached) {
      this.conntrackIn(skb, info.zone, info.family);
      key[SWKEY.ctState.off] = 0;
      ctUpdateKey(skb, info.zone, key, true, true);
    }
    const s = skbCt(skb.ct);
    const ct = s?.conn;
    if (s && ct && info.nat && !(key[SWKEY.ctState.off] & OVS_CS_F_NAT_MASK) && (isConfirmed(ct) || info.commit)) {
      const pt = getTuplePr(skb.data, skb.networkHeader, familyOf(skb) || info.family);
      const l4 = pt?.l4 ?? skb.transportHeader;
      const done = ctNat({ buf: skb.data, l3: skb.networkHeader, l4, proto: pt?.tuple.proto ?? 0 }, ct, s.ctinfo, info,
        (r) => this.taken(r, ct.zone));
      if (done === undefined) return -Errno.EINVAL;
      natUpdateKey(skb, key, done);
    }
    return 0;
  }

  /** ovs_ct_commit(): lookup, then the connection confirmed with the action's mark and labels. */
  // kernel: ovs_ct_commit()
  private commit(skb: Skb, key: Buffer, info: CtActionInfo): number {
    const err = this.ctLookup(skb, key, info);
    if (err) return err;
    const s = skbCt(skb.ct);
    const ct = s?.conn;
    if (!ct) return 0;
    if (!isConfirmed(ct) && this.opts.limits?.exceeds(info.zone, this.count(info.zone) + 1)) {
      this.opts.log?.(`openvswitch: zone: ${info.zone} exceeds conntrack limit`);
      return -Errno.ENOMEM;
    }
    if (info.eventmask !== undefined) ct.eventmask = info.eventmask;
    if (info.mark && info.mark.readUInt32LE(4)) {
      const mask = info.mark.readUInt32LE(4);
      const mark = (info.mark.readUInt32LE(0) | (ct.mark & ~mask)) >>> 0;
      if (mark !== ct.mark) {
        ct.mark = mark;
        key.writeUInt32LE(mark, SWKEY.ctMark.off);
      }
    }
    const labels = info.labels;
    const haveMask = labels !== undefined && labels.subarray(16).some((b) => b !== 0);
    if (!isConfirmed(ct)) {
      // ovs_ct_init_labels(): inherit the master's, then apply the action's.
      const master = ct.master?.labels;
      if (master || haveMask) {
        ct.labels = Buffer.from(master ?? Buffer.alloc(16));
        if (labels && haveMask) for (let i = 0; i < 16; i++) ct.labels[i] = (ct.labels[i] & ~labels[16 + i]) | (labels[i] & labels[16 + i]);
        ct.labels.copy(key, SWKEY.ctLabels.off);
      }
      if (info.helper !== undefined) ct.helper = info.helper;
      if (info.timeout) ct.timeoutPolicy = info.timeout;
    } else if (labels && haveMask) {
      // ovs_ct_set_labels() (nf_connlabels_replace)
      ct.labels ??= Buffer.alloc(16);
      for (let i = 0; i < 16; i++) ct.labels[i] = (ct.labels[i] & ~labels[16 + i]) | (labels[i] & labels[16 + i]);
      ct.labels.copy(key, SWKEY.ctLabels.off);
    }
    return this.confirm(ct);
  }

  /** nf_conntrack_confirm(): a new connection enters the table in both directions. */
  // kernel: nf_conntrack_confirm(), __nf_conntrack_confirm()
  private confirm(ct: Conn): number {
    if (isConfirmed(ct)) return 0;
    // A connection with one of these tuples was confirmed in the meantime: NF_DROP.
    if (ct.tuples.some((t) => this.find(ct.zone, t))) return -Errno.EINVAL;
    const ids = ct.tuples.map((t) => tupleId(ct.zone, t));
    ct.status |= IPS.CONFIRMED;
    this.conns.add(ct);
    ids.forEach((id, dir) => this.table.set(id, { conn: ct, dir }));
    return 0;
  }
}
