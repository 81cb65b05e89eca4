/**
 * The in-process fuzz target: one emulator with a fuzzing socket and a listener subscribed to
 * every multicast group. `send` runs one datagram and returns what went wrong: an exception
 * other than NlError (thrown, or caught by the dispatcher and reported through its bug hook),
 * a malformed reply, a failed request that changed state, a broken invariant, a dump that does
 * not end.
 */
import { Emulator } from '../emulator';
import { NETLINK_GENERIC, NETLINK_OPT, NLMSG_DONE, NLMSG_ERROR, NLM_F, NLMSG_MIN_TYPE } from '../nl/constants';
import { splitDatagram, type NlMessage } from '../nl/message';
import { ARPHRD_ETHER, ARPHRD_LOOPBACK, zeroStats, type HostDevice, type HostNetdevs } from '../ovs/netdev';
import type { NlSocket, PeerCred } from '../transport/transport';
import type { StateView } from './gen-requests';
import { ReplyCheck } from './reply-check';
import { StateChecker } from './state';

/** Finding is one problem an input revealed. */
export interface Finding {
  /** Category: exception, bug, reply, state-changed, invariant, dump-hang. */
  kind: string;
  detail: string;
}

/** FakeHost is the interface list the emulator sees: lo, eth0 and a veth pair r0/r1. */
export class FakeHost implements HostNetdevs {
  private readonly devs = new Map<string, HostDevice>();
  constructor(names: readonly string[] = ['lo', 'eth0', 'r0', 'r1']) {
    names.forEach((name, i) => this.devs.set(name, {
      name, ifindex: i + 1, arphrd: name === 'lo' ? ARPHRD_LOOPBACK : ARPHRD_ETHER, loopback: name === 'lo', hasMaster: false, stats: zeroStats,
    }));
  }
  lookup(name: string): HostDevice | undefined {
    return this.devs.get(name);
  }
  maxIfindex(): number {
    return this.devs.size;
  }
}

export const FUZZ_CRED: PeerCred = { pid: 4242, uid: 0, gid: 0, netAdmin: true };

/**
 * WORK_BUDGET bounds the packets one input may push through the datapath
 * (ovs_dp_process_packet() calls). A catch-all flow whose action list holds thousands of
 * clone(recirc) actions recirculating into itself fans out exponentially up to the kernel's
 * recursion and FIFO limits — as slow in the kernel as here, so not a finding; the input is
 * abandoned (and its session ended) instead of hanging the campaign.
 */
const WORK_BUDGET = 200000;
/** …or this many milliseconds (a pass may run thousands of actions before the next one). */
const TIME_BUDGET_MS = 3000;

/** WorkBudgetExceeded is thrown from inside the packet path when an input exceeds the budget. */
export class WorkBudgetExceeded extends Error {
  constructor() {
    super(`input exceeded the fuzzer's work budget (${WORK_BUDGET} datapath passes or ${TIME_BUDGET_MS} ms)`);
  }
}
/** A dump is expected to end within this many refills. */
const MAX_REFILLS = 100000;

class Queue {
  readonly items: Buffer[] = [];
  capacity = Infinity;
  sink = {
    deliver: (d: Buffer): boolean => {
      if (this.items.length >= this.capacity) return false;
      this.items.push(d);
      return true;
    },
    signalOverrun: (): boolean => this.items.length < this.capacity,
  };
}

/** TargetOptions choose the socket options of a session (they shape ACKs). */
export interface TargetOptions {
  extAck?: boolean;
  capAck?: boolean;
  cpus?: number;
}

export class FuzzTarget {
  readonly emu: Emulator;
  readonly sock: NlSocket;
  private readonly q = new Queue();
  private readonly lq = new Queue();
  private readonly state: StateChecker;
  private readonly replies: ReplyCheck;
  private bugs: string[] = [];
  private now = 1000;
  /** The snapshot after the previous input, when it was taken and nothing ran since. */
  private lastSnap?: string;
  private work = 0;
  private started = 0;
  /** The last input hit the work budget: its checks were skipped, the session should end. */
  overBudget = false;

  constructor(opts: TargetOptions = {}) {
    this.emu = new Emulator({ cpus: opts.cpus ?? 2, host: new FakeHost(), clock: () => this.now, maxMeters: 4096 });
    this.emu.genl.bugHook = (e, where) => {
      if (e instanceof WorkBudgetExceeded) this.overBudget = true;
      else this.bugs.push(`${where}: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
    };
    const pp = this.emu.packets;
    const process = pp.process.bind(pp);
    pp.process = (dp, skb, key) => {
      if (++this.work > WORK_BUDGET || Date.now() - this.started > TIME_BUDGET_MS) throw new WorkBudgetExceeded();
      process(dp, skb, key);
    };
    this.sock = this.emu.openSocket(FUZZ_CRED, NETLINK_GENERIC, this.q.sink);
    this.sock.bind(FUZZ_CRED.pid, 0);
    const opt = (name: number, on: boolean): void => {
      const b = Buffer.alloc(4);
      b.writeUInt32LE(on ? 1 : 0);
      this.sock.setNetlinkOption(name, b);
    };
    opt(NETLINK_OPT.EXT_ACK, opts.extAck ?? true);
    opt(NETLINK_OPT.CAP_ACK, opts.capAck ?? false);
    const listener = this.emu.openSocket({ ...FUZZ_CRED, pid: 4343 }, NETLINK_GENERIC, this.lq.sink);
    listener.bind(4343, 0);
    for (const fam of this.emu.registry.families) {
      for (const g of fam.mcastGroups) {
        const b = Buffer.alloc(4);
        b.writeUInt32LE(g.id);
        listener.setNetlinkOption(NETLINK_OPT.ADD_MEMBERSHIP, b);
      }
    }
    this.state = new StateChecker(this.emu);
    this.replies = new ReplyCheck(this.emu.registry);
  }

  get portid(): number {
    return this.sock.portid;
  }

  /** view is the state the request generator draws from. */
  view(): StateView {
    return {
      portid: this.sock.portid,
      nrCpus: this.emu.nrCpus,
      dps: this.emu.ovs.net.dps.map((dp) => ({
        name: dp.name,
        ifindex: dp.ifindex,
        ports: [...dp.ports.values()].map((v) => ({ no: v.portNo, name: v.name })),
        ufids: [...dp.table.ufidIndex()].slice(0, 32).map(([id]) => Buffer.from(id, 'latin1')),
        nFlows: dp.flowCount,
        meterIds: dp.meters.occupied().map((o) => o.meter.id),
      })),
    };
  }

  /** send runs one datagram through the fuzzing socket and checks everything after it. */
  send(dgram: Buffer): { findings: Finding[]; replies: NlMessage[] } {
    const findings: Finding[] = [];
    this.now += 7;
    this.bugs = [];
    this.work = 0;
    this.started = Date.now();
    this.overBudget = false;
    const requests = [...splitDatagram(dgram)];
    const before = this.lastSnap ?? this.state.snapshot();
    this.lastSnap = undefined;
    try {
      let r = this.sock.send(dgram, 0);
      let n = 0;
      while (r.dumpPending) {
        if (++n > MAX_REFILLS) {
          findings.push({ kind: 'dump-hang', detail: `dump still pending after ${MAX_REFILLS} refills` });
          break;
        }
        r = this.sock.refill();
      }
    } catch (e) {
      if (e instanceof WorkBudgetExceeded) this.overBudget = true;
      else findings.push({ kind: 'exception', detail: e instanceof Error ? e.stack ?? e.message : String(e) });
    }
    for (const b of this.bugs) findings.push({ kind: 'bug', detail: b });
    if (this.overBudget) {
      this.lastSnap = undefined;
      this.q.items.length = 0;
      this.lq.items.length = 0;
      return { findings, replies: [] };
    }
    const problems: string[] = [];
    const replies = this.q.items.splice(0).flatMap((d) => this.replies.datagram(d, problems));
    for (const d of this.lq.items.splice(0)) this.replies.datagram(d, problems);
    this.replies.answers(requests, replies, problems);
    for (const p of problems) findings.push({ kind: 'reply', detail: p });
    const finals = replies.filter((m) => m.type === NLMSG_ERROR || m.type === NLMSG_DONE);
    const requestish = requests.filter((m) => m.flags & NLM_F.REQUEST && m.type >= NLMSG_MIN_TYPE);
    const allFailed = requestish.length > 0 && requestish.every((m) => finals.some((f) => f.seq === m.seq && f.bytes.length >= 20 && f.bytes.readInt32LE(16) < 0));
    if (allFailed && new Set(requestish.map((m) => m.seq)).size === requestish.length) {
      const after = this.state.snapshot();
      this.lastSnap = after;
      // The kernel's one deliberate change on failure: an OVS_DP_CMD_NEW of genl version < 2
      // (OVS_DP_VER_FEATURES) that fails with EEXIST drops the existing datapath's user
      // features (ovs_dp_reset_user_features()).
      const lenient = (s: string): string => (requestish.some((m) => this.resetsFeatures(m)) ? s.replace(/"features":\d+/g, '"features":0') : s);
      if (lenient(after) !== lenient(before)) {
        const what = requestish.map((m) => this.opName(m)).join(', ');
        findings.push({ kind: 'state-changed', detail: `a request (${what}) answered with an error changed state:\nbefore ${before}\nafter  ${after}` });
      }
    }
    const cleared = { flows: requests.some((m) => m.type === this.emu.registry.family('ovs_flow').familyId) };
    for (const v of this.state.invariants(cleared)) findings.push({ kind: 'invariant', detail: v });
    return { findings, replies };
  }

  private opName(m: NlMessage): string {
    const fam = this.emu.registry.byId(m.type);
    const cmd = m.bytes.length > 16 ? m.bytes[16] : -1;
    return `${fam?.name ?? `type ${m.type}`} ${fam?.ops.find((o) => o.cmd === cmd)?.name ?? `cmd ${cmd}`}`;
  }

  private resetsFeatures(m: NlMessage): boolean {
    const dp = this.emu.ovs.dpFamily;
    return m.type === dp.familyId && m.bytes.length > 17 && m.bytes[16] === dp.op('new').cmd && m.bytes[17] < dp.version;
  }

  /** inject runs a frame through a port's receive path and checks the invariants after it. */
  inject(port: string, frame: Buffer): Finding[] {
    const findings: Finding[] = [];
    this.now += 3;
    this.lastSnap = undefined;
    this.work = 0;
    this.started = Date.now();
    this.overBudget = false;
    try {
      this.emu.inject(FUZZ_CRED, port, frame);
    } catch (e) {
      if (e instanceof WorkBudgetExceeded) this.overBudget = true;
      else findings.push({ kind: 'exception', detail: `inject: ${e instanceof Error ? e.stack ?? e.message : String(e)}` });
    }
    if (this.overBudget) {
      this.q.items.length = 0;
      this.lq.items.length = 0;
      return findings;
    }
    const problems: string[] = [];
    for (const d of this.q.items.splice(0)) this.replies.datagram(d, problems);
    for (const d of this.lq.items.splice(0)) this.replies.datagram(d, problems);
    for (const p of problems) findings.push({ kind: 'reply', detail: `upcall: ${p}` });
    for (const v of this.state.invariants({ flows: false })) findings.push({ kind: 'invariant', detail: v });
    return findings;
  }

  /** close releases the emulator's datapaths (their devices). */
  close(): void {
    this.sock.close();
  }
}
