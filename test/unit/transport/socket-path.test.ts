/** The socket path rule, and that the C shim applies the same one (shim-control.c). */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { ROOT_SOCKET_PATH, defaultSocketPath } from '../../../lib/transport/socket-path';
import { SHIM, buildFixture } from '../../e2e/shim-harness';

describe('defaultSocketPath', () => {
  test.each([
    ['override wins', { OVS_DPEMU_SOCKET: '/x/y.sock', XDG_RUNTIME_DIR: '/run/user/5' }, 1000, '/x/y.sock'],
    ['empty override ignored (root)', { OVS_DPEMU_SOCKET: '' }, 0, ROOT_SOCKET_PATH],
    ['root', {}, 0, '/run/ovs-dpemu/ovs-dpemu.sock'],
    ['user with XDG_RUNTIME_DIR', { XDG_RUNTIME_DIR: '/run/user/1000' }, 1000, '/run/user/1000/ovs-dpemu-1000.sock'],
    ['user, empty XDG_RUNTIME_DIR → /tmp', { XDG_RUNTIME_DIR: '' }, 1000, '/tmp/ovs-dpemu-1000.sock'],
    ['user without XDG_RUNTIME_DIR → /tmp', {}, 42, '/tmp/ovs-dpemu-42.sock'],
  ])('%s', (_name, env, uid, want) => {
    expect(defaultSocketPath({ env, uid })).toBe(want);
  });
});

/** Runs the fixture with no emulator and returns the path named by the shim's stderr hint. */
function hintPath(argv: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(argv[0], argv.slice(1), { env: { LD_PRELOAD: SHIM, ...env } }, (err, _out, stderr) => {
      const m = /emulator not reachable at (\S+) /.exec(stderr);
      if (m === null) reject(new Error(`no hint: ${String(err)} ${stderr}`));
      else resolve(m[1]);
    });
  });
}

describe('the C shim uses the same rule', () => {
  let basic: string;
  beforeAll(() => {
    basic = buildFixture('basic');
  });

  test('root default', async () => {
    if (process.getuid?.() !== 0 || fs.existsSync(ROOT_SOCKET_PATH)) return; // an emulator may be running
    await expect(hintPath([basic, 'absent', 'x'], {})).resolves.toBe(defaultSocketPath({ env: {}, uid: 0 }));
  });

  test('unprivileged user with and without XDG_RUNTIME_DIR', async () => {
    if (process.getuid?.() !== 0 || !fs.existsSync('/usr/bin/setpriv')) return; // needs to switch uid
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dpemu-xdg-'));
    fs.chmodSync(dir, 0o755);
    const bin = path.join(dir, 'basic');
    fs.copyFileSync(basic, bin);
    fs.chmodSync(bin, 0o755);
    const asNobody = ['/usr/bin/setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', bin, 'absent', 'x'];
    try {
      await expect(hintPath(asNobody, { XDG_RUNTIME_DIR: dir })).resolves.toBe(
        defaultSocketPath({ env: { XDG_RUNTIME_DIR: dir }, uid: 65534 }),
      );
      await expect(hintPath(asNobody, {})).resolves.toBe(defaultSocketPath({ env: {}, uid: 65534 }));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
