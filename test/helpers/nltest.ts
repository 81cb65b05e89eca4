/**
 * nltest: an in-memory transport for driving an Emulator from jest (mdlayher's nltest idea).
 * A TestSocket collects what the emulator delivers and offers request builders.
 */
import { Emulator, type EmulatorOptions } from '../../lib/emulator';
import { NETLINK_GENERIC, NETLINK_OPT, NLM_F, NLMSG_DONE, NLMSG_ERROR } from '../../lib/nl/constants';
import { splitDatagram, type NlMessage } from '../../lib/nl/message';
import { NlWriter } from '../../lib/nl/writer';
import type { FamilySpec } from '../../lib/schema/model';
import type { NlSocket, PeerCred } from '../../lib/transport/transport';

export const ROOT: PeerCred = { pid: 4242, uid: 0, gid: 0, netAdmin: true };
export const NOBODY: PeerCred = { pid: 4343, uid: 65534, gid: 65534, netAdmin: false };

/** TestSocket is one client socket whose receive queue is an array. */
export class TestSocket {
  readonly queue: Buffer[] = [];
  readonly sock: NlSocket;
  /** When set, deliveries beyond this many queued datagrams fail (a full receive queue). */
  capacity = Infinity;
  overruns = 0;
  seq = 1;

  constructor(readonly emu: Emulator, cred: PeerCred = ROOT) {
    this.sock = emu.openSocket(cred, NETLINK_GENERIC, {
      deliver: (d) => {
        if (this.queue.length >= this.capacity) return false;
        this.queue.push(d);
        return true;
      },
      signalOverrun: () => {
        if (this.queue.length >= this.capacity) return false;
        this.overruns++;
        return true;
      },
    });
    this.sock.connect();
  }

  setOpt(name: number, v: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    this.sock.setNetlinkOption(name, b);
    return this;
  }

  extAck(): this {
    return this.setOpt(NETLINK_OPT.EXT_ACK, 1);
  }

  /** send delivers one datagram and returns what became readable (dump pages included). */
  send(dgram: Buffer): Buffer[] {
    let r = this.sock.send(dgram, 0);
    while (r.dumpPending && this.queue.length < this.capacity) r = this.sock.refill();
    return this.queue.splice(0);
  }

  /** msg builds a genl request in `family` with attributes written by `fill`. */
  msg(family: FamilySpec, cmd: string, flags: number, fixed: Buffer | number | undefined, fill?: (w: NlWriter) => void): Buffer {
    const w = new NlWriter();
    const op = family.op(cmd);
    w.beginMessage(family.familyId, NLM_F.REQUEST | flags, this.seq++, this.sock.portid).genlHeader(op.cmd, family.version);
    if (family.hdrsize) {
      const h = Buffer.alloc(family.hdrsize);
      if (typeof fixed === 'number') h.writeInt32LE(fixed);
      else if (fixed) fixed.copy(h);
      w.raw(h);
    }
    fill?.(w);
    return w.endMessage().finish();
  }
}

/** errnoOf returns the positive errno of an NLMSG_ERROR datagram (0 for an ACK). */
export function errnoOf(dgram: Buffer): number {
  const m = [...splitDatagram(dgram)][0];
  if (!m || m.type !== NLMSG_ERROR) throw new Error(`not an NLMSG_ERROR: type ${m?.type}`);
  return 0 - m.bytes.readInt32LE(16) || 0;
}

/** messages flattens datagrams into messages. */
export function messages(dgrams: Buffer[]): NlMessage[] {
  return dgrams.flatMap((d) => [...splitDatagram(d)]);
}

/** isDone tells NLMSG_DONE apart and returns its payload errno. */
export function doneErrno(m: NlMessage): number | undefined {
  return m.type === NLMSG_DONE ? 0 - m.bytes.readInt32LE(16) || 0 : undefined;
}

export function emulator(opts: EmulatorOptions = {}): Emulator {
  return new Emulator({ cpus: 4, ...opts });
}
