import * as fs from 'fs';
import createDebug from 'debug';

const debug = createDebug('ovs-dpemu:kmsg');

/** How many lines the in-memory ring keeps (the kernel's log buffer is bounded too). */
const RING = 4096;

/**
 * Kmsg is the emulated kernel's log: the lines openvswitch.ko (and the netlink attribute
 * parser) would printk, such as OVS_NLERR's "openvswitch: netlink: Missing key …", which
 * explain an EINVAL the client only sees as a number. Lines carry dmesg's
 * `[seconds.micros]` stamp (time since the emulator started), go to a ring buffer, to the
 * `ovs-dpemu:kmsg` debug namespace, and to a file when one is opened (`serve` writes
 * SOCKET.kmsg, which `ovs-dpemu dmesg` prints). The kernel rate-limits these messages
 * (net_ratelimit); the emulator keeps them all.
 */
export class Kmsg {
  private readonly start = process.hrtime.bigint();
  /** A ring of the last RING lines; `printed` counts every line ever printed. */
  private readonly ring: string[] = new Array<string>(RING);
  private printed = 0;
  private fd: number | undefined;

  /** print logs one line (no trailing newline). */
  print(text: string): void {
    const us = (process.hrtime.bigint() - this.start) / 1000n;
    const line = `[${`${us / 1000000n}`.padStart(5)}.${`${us % 1000000n}`.padStart(6, '0')}] ${text}`;
    this.ring[this.printed % RING] = line;
    this.printed++;
    debug('%s', text);
    if (this.fd !== undefined) {
      try {
        fs.writeSync(this.fd, `${line}\n`);
      } catch (e) {
        debug('kmsg file: %s', (e as Error).message);
      }
    }
  }

  /** count is how many lines were printed so far (a mark for {@link since}). */
  get count(): number {
    return this.printed;
  }

  /** since returns the lines printed after `mark` (those still in the ring), oldest first. */
  since(mark: number): string[] {
    const from = Math.max(mark, this.printed - RING);
    const out: string[] = [];
    for (let i = from; i < this.printed; i++) out.push(this.ring[i % RING]);
    return out;
  }

  /** lines is what the ring holds, oldest first. */
  lines(): string[] {
    return this.since(0);
  }

  /** openFile appends every later line to `file` (created, truncated). */
  openFile(file: string): void {
    this.closeFile();
    this.fd = fs.openSync(file, 'w', 0o644);
  }

  closeFile(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}

const ratelimits = new Set<Ratelimit>();

/**
 * Ratelimit is the static struct ratelimit_state of one pr_*_ratelimited() call site, with the
 * kernel's defaults (DEFAULT_RATELIMIT_INTERVAL 5 s, DEFAULT_RATELIMIT_BURST 10): `allow()` is
 * ___ratelimit(), which also reports "FUNC: N callbacks suppressed" when a new interval starts
 * after misses. OVS_NLERR's net_ratelimit() is not applied: the oracle transcripts were
 * recorded with net.core.message_cost=0, which turns it off.
 */
export class Ratelimit {
  private begin = 0;
  private printed = 0;
  private missed = 0;

  constructor(private readonly func: string, private readonly intervalMs = 5000, private readonly burst = 10,
    private readonly now: () => number = () => performance.now()) {
    ratelimits.add(this);
  }

  allow(): boolean {
    const t = this.now();
    if (!this.begin || t - this.begin >= this.intervalMs) {
      if (this.missed) kmsg.print(`${this.func}: ${this.missed} callbacks suppressed`);
      this.begin = t;
      this.printed = 0;
      this.missed = 0;
    }
    if (this.printed >= this.burst) {
      this.missed++;
      return false;
    }
    this.printed++;
    return true;
  }

  reset(): void {
    this.begin = 0;
    this.printed = 0;
    this.missed = 0;
  }
}

/** resetRatelimits starts every call site's interval afresh, as after a boot. */
export function resetRatelimits(): void {
  for (const r of ratelimits) r.reset();
}

/** The process's kernel log (one emulated kernel per process, as one kernel per machine). */
export const kmsg = new Kmsg();

/**
 * current is the task on whose behalf the emulated kernel runs (the kernel's `current`): the
 * client process whose request is being handled. Its comm appears in the netlink attribute
 * parser's warnings.
 */
export const current = { comm: '' };

/** withTask runs `fn` as the task named `comm` (current->comm), restoring the previous one after. */
export function withTask<T>(comm: string | undefined, fn: () => T): T {
  const prev = current.comm;
  current.comm = comm ?? '';
  try {
    return fn();
  } finally {
    current.comm = prev;
  }
}

/** kmsgPath is where a server on `socket` writes its kernel log. */
export const kmsgPath = (socket: string): string => `${socket}.kmsg`;
