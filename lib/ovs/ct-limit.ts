/**
 * Per-zone connection tracking limits of one network namespace (net/openvswitch/conntrack.c,
 * struct ovs_ct_limit_info): a default limit and a 512-bucket hash of zone limits, walked in
 * bucket order with the newest zone first in a bucket, as the kernel's hlists are.
 */

/** CT_LIMIT_HASH_BUCKETS. */
export const CT_LIMIT_HASH_BUCKETS = 512;
/** OVS_CT_LIMIT_UNLIMITED: a limit of 0 means no limit. */
export const OVS_CT_LIMIT_UNLIMITED = 0;
/** OVS_CT_LIMIT_DEFAULT: the default limit of a new namespace and after DEL of the default zone. */
export const OVS_CT_LIMIT_DEFAULT = OVS_CT_LIMIT_UNLIMITED;
/** OVS_ZONE_LIMIT_DEFAULT_ZONE (uapi): the zone id that stands for the default limit. */
export const OVS_ZONE_LIMIT_DEFAULT_ZONE = -1;
/** The largest conntrack zone id (u16). */
const NF_CT_ZONE_MAX = 0xffff;

/**
 * ConnCount answers nf_conncount_count_skb() for a zone: the connections conntrack holds in it.
 * The conntrack implementation supplies it; without conntrack every zone has 0.
 */
export type ConnCount = (zone: number) => number;

/** ZoneLimit is struct ovs_ct_limit: one zone's limit. */
export interface ZoneLimit {
  zone: number;
  limit: number;
}

/** checkZoneId is check_zone_id(): 0..65535 are zones; everything else is refused. */
// kernel: check_zone_id()
export function checkZoneId(zoneId: number): boolean {
  return zoneId >= 0 && zoneId <= NF_CT_ZONE_MAX;
}

/** CtLimitInfo is struct ovs_ct_limit_info (ovs_net->ct_limit_info). */
export class CtLimitInfo {
  defaultLimit = OVS_CT_LIMIT_DEFAULT;
  /**
   * The ovs_ct_limit_enabled static key: set by the first successful CT_LIMIT SET, never
   * cleared (in the kernel it is global, here per emulated namespace). Conntrack checks the
   * limits only once it is set.
   */
  enabled = false;
  /** The connection counter; conntrack replaces it. */
  count: ConnCount = () => 0;
  private readonly buckets: ZoneLimit[][] = Array.from({ length: CT_LIMIT_HASH_BUCKETS }, () => []);

  private bucket(zone: number): ZoneLimit[] {
    return this.buckets[zone & (CT_LIMIT_HASH_BUCKETS - 1)];
  }

  /** set replaces the zone's entry in place, or adds it at the head of its bucket. */
  // kernel: ct_limit_set()
  set(zone: number, limit: number): void {
    const head = this.bucket(zone);
    const i = head.findIndex((l) => l.zone === zone);
    if (i >= 0) head[i] = { zone, limit };
    else head.unshift({ zone, limit });
  }

  // kernel: ct_limit_del()
  del(zone: number): void {
    const head = this.bucket(zone);
    const i = head.findIndex((l) => l.zone === zone);
    if (i >= 0) head.splice(i, 1);
  }

  /** limitOf is the zone's limit, or the default limit when it has none (0 = unlimited). */
  // kernel: ct_limit_get()
  limitOf(zone: number): number {
    return this.bucket(zone).find((l) => l.zone === zone)?.limit ?? this.defaultLimit;
  }

  /** zones lists the zone limits in the kernel's walk order (bucket by bucket, newest first). */
  zones(): ZoneLimit[] {
    return this.buckets.flatMap((b) => b.map((l) => ({ ...l })));
  }

  /**
   * exceeds is the test of ovs_ct_check_limit() for a new connection in `zone` once it is
   * counted: true when the zone is limited and `connections` is above its limit (the kernel
   * then refuses the connection with ENOMEM). Always false until a limit was set.
   */
  // kernel: ovs_ct_check_limit()
  exceeds(zone: number, connections: number): boolean {
    if (!this.enabled) return false;
    const limit = this.limitOf(zone);
    return limit !== OVS_CT_LIMIT_UNLIMITED && connections > limit;
  }
}
