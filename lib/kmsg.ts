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
  private readonly ring: string[] = [];
  private fd: number | undefined;

  /** print logs one line (no trailing newline). */
  print(text: string): void {
    const us = (process.hrtime.bigint() - this.start) / 1000n;
    const line = `[${`${us / 1000000n}`.padStart(5)}.${`${us % 1000000n}`.padStart(6, '0')}] ${text}`;
    this.ring.push(line);
    if (this.ring.length > RING) this.ring.shift();
    debug('%s', text);
    if (this.fd !== undefined) {
      try {
        fs.writeSync(this.fd, `${line}\n`);
      } catch (e) {
        debug('kmsg file: %s', (e as Error).message);
      }
    }
  }

  /** lines is what the ring holds, oldest first. */
  lines(): string[] {
    return [...this.ring];
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

/**
 * Ratelimit is a struct ratelimit_state with the kernel's defaults (DEFAULT_RATELIMIT_INTERVAL
 * 5 s, DEFAULT_RATELIMIT_BURST 10): `allow()` is __ratelimit(), for per-packet messages such as
 * pr_info_ratelimited(). OVS_NLERR's net_ratelimit() is not applied: the oracle transcripts
 * were recorded with net.core.message_cost=0, which turns it off.
 */
export class Ratelimit {
  private begin = 0;
  private printed = 0;
  constructor(private readonly intervalMs = 5000, private readonly burst = 10, private readonly now: () => number = () => performance.now()) {}

  allow(): boolean {
    const t = this.now();
    if (!this.begin || t - this.begin >= this.intervalMs) {
      this.begin = t;
      this.printed = 0;
    }
    if (this.printed >= this.burst) return false;
    this.printed++;
    return true;
  }
}

/** The process's kernel log (one emulated kernel per process, as one kernel per machine). */
export const kmsg = new Kmsg();

/** kmsgPath is where a server on `socket` writes its kernel log. */
export const kmsgPath = (socket: string): string => `${socket}.kmsg`;
