/**
 * Errno values the emulator answers with (Linux x86-64 <asm-generic/errno*.h>). Domain code
 * uses these names, never numeric literals.
 */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  EINTR: 4,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  EINVAL: 22,
  EFBIG: 27,
  ERANGE: 34,
  EMSGSIZE: 90,
  EPROTONOSUPPORT: 93,
  EOPNOTSUPP: 95,
  EAFNOSUPPORT: 97,
  EADDRINUSE: 98,
  ENOBUFS: 105,
  ENOTCONN: 107,
  ENOPROTOOPT: 92,
  EOVERFLOW: 75,
  ECONNREFUSED: 111,
  ENOSPC: 28,
  EPROTO: 71,
  ENETDOWN: 100,
  ENODATA: 61,
  EHOSTUNREACH: 113,
  EINPROGRESS: 115,
} as const;

export type ErrnoName = keyof typeof Errno;

const byNumber = new Map<number, ErrnoName>(
  (Object.entries(Errno) as [ErrnoName, number][]).map(([k, v]) => [v, k]),
);

/** errnoName returns the symbolic name of a positive errno ("E22" when unknown). */
export function errnoName(errno: number): string {
  return byNumber.get(errno) ?? `E${errno}`;
}

/** errnoByName resolves a schema's errno name (e.g. `x-check-errno: EINVAL`). */
export function errnoByName(name: string): number {
  const v = (Errno as Record<string, number>)[name];
  if (v === undefined) throw new Error(`unknown errno name ${name}`);
  return v;
}
