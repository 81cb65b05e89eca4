/**
 * Capabilities and command name of a peer process, read from /proc at accept time. Together with SO_PEERCRED
 * this is what the kernel would have checked for the opener of a netlink socket; nothing the
 * client sends is trusted for it.
 */
import * as fs from 'fs';

/** CAP_NET_ADMIN's bit number (linux/capability.h). */
export const CAP_NET_ADMIN = 12;

/**
 * True when `pid` has `cap` in its effective set (`CapEff:` of /proc/<pid>/status). False when
 * the process is gone or not visible (pid 0: peer in another pid namespace).
 */
export function hasEffectiveCap(pid: number, cap: number, procRoot = '/proc'): boolean {
  if (pid <= 0) return false;
  let status: string;
  try {
    status = fs.readFileSync(`${procRoot}/${pid}/status`, 'utf8');
  } catch {
    return false;
  }
  const m = /^CapEff:\s*([0-9a-fA-F]+)$/m.exec(status);
  if (m === null) return false;
  return ((BigInt('0x' + m[1]) >> BigInt(cap)) & 1n) === 1n;
}

/** procComm is the command name of `pid` (/proc/<pid>/comm), undefined when not visible. */
export function procComm(pid: number, procRoot = '/proc'): string | undefined {
  if (pid <= 0) return undefined;
  try {
    return fs.readFileSync(`${procRoot}/${pid}/comm`, 'utf8').replace(/\n$/, '');
  } catch {
    return undefined;
  }
}
