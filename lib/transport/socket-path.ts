/**
 * Where the shim server listens and the LD_PRELOAD shim connects. The rule is duplicated in
 * shim/ovsdpemu-preload.c (`default_socket_path`); keep both in step.
 */
/** Environment variable that overrides the socket path for both sides. */
export const SOCKET_ENV = 'OVS_DPEMU_SOCKET';

/** Path used when the effective uid is 0. */
export const ROOT_SOCKET_PATH = '/run/ovs-dpemu/ovs-dpemu.sock';

/** What {@link defaultSocketPath} needs from the process; injectable for tests. */
export interface SocketPathContext {
  env: NodeJS.ProcessEnv;
  uid: number;
}

function currentContext(): SocketPathContext {
  return { env: process.env, uid: typeof process.geteuid === 'function' ? process.geteuid() : 0 };
}

/**
 * The socket path: `$OVS_DPEMU_SOCKET` if set and non-empty; otherwise
 * `/run/ovs-dpemu/ovs-dpemu.sock` for root, else `${XDG_RUNTIME_DIR:-/tmp}/ovs-dpemu-$UID.sock`.
 */
export function defaultSocketPath(ctx: SocketPathContext = currentContext()): string {
  const override = ctx.env[SOCKET_ENV];
  if (override !== undefined && override !== '') return override;
  if (ctx.uid === 0) return ROOT_SOCKET_PATH;
  const runtime = ctx.env.XDG_RUNTIME_DIR;
  const dir = runtime !== undefined && runtime !== '' ? runtime : '/tmp';
  // Plain concatenation, as the C side does, so both produce the identical string.
  return `${dir}/ovs-dpemu-${ctx.uid}.sock`;
}
