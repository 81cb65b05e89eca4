/** The ovs-dpemu command line: env, exec (embedded emulator, exit status), serve shutdown, help. */
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { isRoot, REPO } from '../helpers/served';

const CLI = path.join(REPO, 'dist', 'lib', 'cli.js');
const cli = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60000 });
const tmpSock = (): string => path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dpemu-cli-')), 'emu.sock');

describe('ovs-dpemu CLI', () => {
  it('env prints the exports for a shell', () => {
    const r = cli(['env', '--socket', '/tmp/x.sock'], { LD_PRELOAD: '' });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`export LD_PRELOAD=${path.join(REPO, 'shim', 'libovsdpemu-preload.so')}\nexport OVS_DPEMU_SOCKET=/tmp/x.sock\n`);
  });

  it('--help names every command', () => {
    const r = cli(['--help']);
    expect(r.status).toBe(0);
    for (const c of ['serve', 'exec', 'env']) expect(r.stdout).toContain(`ovs-dpemu ${c}`);
  });

  it('an unknown command exits 2 with a message', () => {
    const r = cli(['frobnicate']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^ovs-dpemu: /);
  });

  it('exec returns the command\'s exit status', () => {
    expect(cli(['exec', '--socket', tmpSock(), '--', 'sh', '-c', 'exit 7']).status).toBe(7);
  });

  it('exec of a missing program exits 127', () => {
    const r = cli(['exec', '--socket', tmpSock(), '--', 'no-such-program-xyz']);
    expect(r.status).toBe(127);
    expect(r.stderr).toContain('no-such-program-xyz');
  });

  (isRoot() ? it : it.skip)('exec starts an embedded emulator: ovs-dpctl show just works, the socket is removed after', () => {
    const sock = tmpSock();
    const r = cli(['exec', '--socket', sock, '--', 'ovs-dpctl', 'show'], { OVS_DPEMU_SOCKET: '' });
    expect({ out: r.stdout + r.stderr, rc: r.status }).toEqual({ out: '', rc: 0 });
    expect(fs.existsSync(sock)).toBe(false);
  });

  it('serve exits 0 on SIGTERM and removes its socket', async () => {
    const sock = tmpSock();
    const child = spawn(process.execPath, [CLI, 'serve', '--socket', sock, '--devices', 'virtual'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    for (let i = 0; i < 200 && !err.includes('serving on'); i++) await new Promise((r) => setTimeout(r, 50));
    expect(fs.existsSync(sock)).toBe(true);
    const code = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    child.kill('SIGTERM');
    expect(await code).toBe(0);
    expect(fs.existsSync(sock)).toBe(false);
  });
});

describe('ovs-dpemu dmesg', () => {
  it('without an emulator: exit 1 and says where it looked', () => {
    const sock = tmpSock();
    const r = cli(['dmesg', '--socket', sock]);
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 1, stderr: `ovs-dpemu: dmesg: no kernel log at ${sock}.kmsg (is an emulator serving on ${sock}?)\n` });
  });

  (isRoot() ? it : it.skip)('prints why the datapath refused a flow, as the kernel logs it; -w follows until the emulator stops', async () => {
    const sock = tmpSock();
    const serve = spawn(process.execPath, [CLI, 'serve', '--socket', sock, '--devices', 'virtual'], { stdio: 'ignore' });
    for (let i = 0; i < 100 && !fs.existsSync(`${sock}.kmsg`); i++) await new Promise((r) => setTimeout(r, 50));
    const follow = spawn(process.execPath, [CLI, 'dmesg', '-w', '--socket', sock], { stdio: ['ignore', 'pipe', 'pipe'] });
    let followed = '';
    follow.stdout.on('data', (d: Buffer) => { followed += d.toString(); });
    const followEnd = new Promise<number | null>((r) => follow.once('exit', r));
    // No IPv4 key under eth_type 0x0800: flow_netlink.c's "Missing key" line (the flows-errors transcript has it).
    const add = cli(['exec', '--socket', sock, '--', 'sh', '-c', "ovs-dpctl add-dp dp0 && ovs-dpctl add-flow dp0 'in_port(1),eth(),eth_type(0x0800),tcp(dst=80),tcp_flags(0/0)' 2"]);
    expect(add.status).toBe(1);
    const r = cli(['dmesg', '--socket', sock]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^\[ *\d+\.\d{6}\] openvswitch: netlink: Missing key \(keys=40258, expected=80\)\n$/);
    await new Promise((res) => setTimeout(res, 500));
    serve.kill('SIGTERM');
    expect(await followEnd).toBe(0);
    expect(followed).toBe(r.stdout);
  });
});
