/**
 * What action execution (lib/ovs/actions.ts, net/openvswitch/actions.c) needs from the rest of
 * the datapath, and the per-CPU state the kernel keeps for it (exec_actions_level, the
 * deferred-action FIFO). One {@link ActionExecState} per emulator instance stands for the CPU
 * the packet runs on: the emulator is single-threaded, so nesting through recirculation is the
 * only concurrency it sees.
 */
import type { CtActionInfo } from './conntrack-action';
import type { FlowActions } from './flow-actions-buffer';
import type { TunnelSetInfo } from './flow-netlink-tunnel-set';
import type { Skb } from './skb';

/** DEFERRED_ACTION_FIFO_SIZE: the FIFO holds one entry less than this. */
export const DEFERRED_ACTION_FIFO_SIZE = 10;
/** OVS_RECURSION_LIMIT: nesting of ovs_execute_actions() (recirculation) beyond this drops. */
export const OVS_RECURSION_LIMIT = 5;
/** OVS_DEFERRED_ACTION_THRESHOLD: deeper than this, sample/clone/recirc are deferred. */
export const OVS_DEFERRED_ACTION_THRESHOLD = OVS_RECURSION_LIMIT - 2;
/** U32_MAX: a sample probability of 100 %, psample's rate outside a sample. */
export const U32_MAX = 0xffffffff;
/** OVS_CB(skb)->cutlen when no trunc is pending (U32_MAX). */
export const CUTLEN_NONE = U32_MAX;

/** SKB_DROP_REASON_SUBSYS_OPENVSWITCH << SKB_DROP_REASON_SUBSYS_SHIFT (net/dropreason.h). */
const OVS_DROP_BASE = 3 << 16;

/** enum ovs_drop_reason (net/openvswitch/drop.h): the reason kfree_skb_reason() reports. */
export const OVS_DROP = {
  LAST_ACTION: OVS_DROP_BASE + 1,
  ACTION_ERROR: OVS_DROP_BASE + 2,
  EXPLICIT: OVS_DROP_BASE + 3,
  EXPLICIT_WITH_ERROR: OVS_DROP_BASE + 4,
  METER: OVS_DROP_BASE + 5,
  RECURSION_LIMIT: OVS_DROP_BASE + 6,
  DEFERRED_LIMIT: OVS_DROP_BASE + 7,
  FRAG_L2_TOO_LONG: OVS_DROP_BASE + 8,
  FRAG_INVALID_PROTO: OVS_DROP_BASE + 9,
  CONNTRACK: OVS_DROP_BASE + 10,
  IP_TTL: OVS_DROP_BASE + 11,
} as const;

export type OvsDropReason = (typeof OVS_DROP)[keyof typeof OVS_DROP];

/** UpcallInfo is struct dp_upcall_info as output_userspace() fills it. */
export interface UpcallInfo {
  /** OVS_PACKET_CMD_* by its ovs_packet schema name. */
  cmd: 'miss' | 'action';
  /** Payload of OVS_USERSPACE_ATTR_USERDATA (emitted as OVS_PACKET_ATTR_USERDATA). */
  userdata?: Buffer;
  /** Tunnel info of the skb after dev_fill_metadata_dst() (OVS_PACKET_ATTR_EGRESS_TUN_KEY). */
  egressTunKey?: TunnelSetInfo;
  /**
   * The action list being executed when the userspace action has OVS_USERSPACE_ATTR_ACTIONS:
   * `bytes` is that (possibly nested) list in stored form, `objs` the flow's objects; emit it
   * with ovsNlaPutActions().
   */
  actions?: FlowActions;
  /** Netlink portid to queue to (the action's PID, or the per-CPU handler's). */
  portid: number;
  /** OVS_CB(skb)->mru (OVS_PACKET_ATTR_MRU when non-zero). */
  mru: number;
  /** OVS_CB(skb)->cutlen: the packet is sent as min(len, cutlen) bytes (+ OVS_PACKET_ATTR_LEN). */
  cutlen: number;
  /** OVS_CB(skb)->acts_origlen: the flow's request action length (reply buffer sizing only). */
  actsOrigLen: number;
}

/** PsampleInfo is what execute_psample() hands psample_sample_packet(). */
export interface PsampleInfo {
  group: number;
  cookie?: Buffer;
  /** The sampling rate as a probability (U32_MAX when not inside a sample action). */
  rate: number;
  /** min(skb->len, cutlen). */
  truncSize: number;
  /** OVS_CB(skb)->input_vport, as a port number (the env maps it to an ifindex). */
  inPort: number;
}

/** CtExec is the datapath's connection tracker, as the ct and ct_clear actions call it. */
export interface CtExec {
  /**
   * execute is ovs_ct_execute(): the packet through conntrack with the action's settings and
   * the ct fields of `key` updated. Returns 0, -EINPROGRESS (the packet was stolen), or another
   * negative errno (the caller drops the packet with OVS_DROP_CONNTRACK).
   */
  execute(skb: Skb, key: Buffer, info: CtActionInfo): number;
  /** clear is ovs_ct_clear(): the skb untracked, and the key's ct fields cleared when given. */
  clear(skb: Skb, key?: Buffer): void;
  /** count is the number of connections the tracker holds in `zone` (for ct_limit). */
  count(zone: number): number;
}

/** DeferredAction is struct deferred_action: a packet whose sample/clone/recirc had to wait. */
export interface DeferredAction {
  env: ExecEnv;
  skb: Skb;
  /** A copy of the key (pkt_key); for a recirculation with the new recirc_id. */
  key: Buffer;
  /** The action list to run (stored form) with its flow's objects, or undefined to recirculate. */
  actions?: { bytes: Buffer; objs?: FlowActions['objs']; origLen: number };
}

/**
 * ActionExecState is the per-CPU state of actions.c: exec_actions_level and the action FIFO
 * (head/tail counters: the FIFO only resets once a top-level execution drained it).
 */
export class ActionExecState {
  level = 0;
  head = 0;
  tail = 0;
  readonly fifo: DeferredAction[] = [];

  /** action_fifo_put(): false when the FIFO is full (it holds DEFERRED_ACTION_FIFO_SIZE - 1). */
  // kernel: action_fifo_put()
  put(da: DeferredAction): boolean {
    if (this.head >= DEFERRED_ACTION_FIFO_SIZE - 1) return false;
    this.fifo[this.head++] = da;
    return true;
  }

  // kernel: action_fifo_get()
  get(): DeferredAction | undefined {
    if (this.head === this.tail) return undefined;
    return this.fifo[this.tail++];
  }

  get empty(): boolean {
    return this.head === this.tail;
  }

  // kernel: action_fifo_init()
  reset(): void {
    this.head = 0;
    this.tail = 0;
    this.fifo.length = 0;
  }
}

/** ExecEnv is the datapath around action execution. */
export interface ExecEnv {
  /**
   * output is ovs_vport_send() after do_output()'s trunc: the port (if it exists and is up)
   * transmits the frame. `macProto` is ovs_key_mac_proto(key). The skb may carry an
   * accelerated VLAN tag (see vlanHwaccelPushInside) and `skb.mru`; the vport owns both.
   */
  output(portNo: number, skb: Skb, macProto: number): void;
  /** upcall is ovs_dp_upcall(): 0 or a positive errno (the datapath counts n_lost itself). */
  upcall(skb: Skb, key: Buffer, info: UpcallInfo): number;
  /** recirc is ovs_dp_process_packet(): flow lookup of `key` and execution (or a miss upcall). */
  recirc(skb: Skb, key: Buffer): void;
  /** meter is ovs_meter_execute(): true when the meter drops the packet. */
  meter(id: number, skb: Skb): boolean;
  /** random is get_random_u32(). */
  random(): number;
  conntrack: CtExec;
  /** now is the monotonic clock in milliseconds. */
  now(): number;
  log?(msg: string): void;
  /** The per-CPU execution state; one per emulator (shared by every datapath on it). */
  readonly state: ActionExecState;
  /**
   * keyUpdate is ovs_flow_key_update(): the headers of the (changed) packet extracted again
   * into `key`, the INVALID mark cleared on success. 0 or a negative errno. Default:
   * ovsFlowKeyUpdate() of lib/ovs/flow.ts.
   */
  keyUpdate?(skb: Skb, key: Buffer): number;
  /** skb_get_hash() and __skb_get_hash_symmetric(); default: lib/ovs/flow-dissector.ts. */
  skbHash?: { get(skb: Skb): number; symmetric(skb: Skb): number };
  /** kfree_skb_reason(): the packet is dropped (not called when it is consumed). */
  drop?(skb: Skb, reason: number): void;
  /** psample_sample_packet(); absent = kernel without CONFIG_PSAMPLE. */
  psample?(skb: Skb, info: PsampleInfo): void;
  /**
   * In per-CPU dispatch mode, ovs_dp_get_upcall_portid(dp, cpu) replaces the action's PID:
   * return the handler's portid, or undefined to keep `pid`.
   */
  upcallPortid?(skb: Skb, pid: number): number | undefined;
  /**
   * dev_fill_metadata_dst() of the vport `portNo`: the skb's egress tunnel info completed with
   * source address and port, or undefined (no such vport, no tunnel info, error).
   */
  egressTunInfo?(portNo: number, skb: Skb): TunnelSetInfo | undefined;
  /** ovs_dp_name(), for the kernel's log lines. */
  dpName?: string;
}
