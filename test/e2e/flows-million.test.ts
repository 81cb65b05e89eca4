/**
 * One million flows installed by Debian's ovs-dpctl (add-flows, batched by dpif_operate) through
 * the shim, then dumped back completely by ovs-dpctl dump-flows (the count is checked).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { isRoot, ServedEmulator } from '../helpers/served';

const N = 1_000_000;
const maybe = isRoot() ? describe : describe.skip;

maybe('a million flows through the shim', () => {
  const emu = new ServedEmulator('1m');
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dpemu-1m-')), 'flows.txt');

  beforeAll(async () => {
    const lines: string[] = [];
    for (let i = 0; i < N; i++) {
      lines.push(`in_port(1),eth(),eth_type(0x0800),ipv4(src=10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255},dst=10.0.0.1,proto=17,tos=0,ttl=64,frag=no),udp(src=1,dst=2) 2`);
    }
    fs.writeFileSync(file, `${lines.join('\n')}\n`);
    await emu.start(['--devices', 'virtual']);
  }, 120000);
  afterAll(async () => {
    await emu.stop();
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  });

  it('add-dp, add-flows of 1 000 000 flows, show reports them, dump-flows returns every one', () => {
    expect(emu.run(['ovs-dpctl', 'add-dp', 'dp0']).rc).toBe(0);
    const add = emu.run(['ovs-dpctl', 'add-flows', 'dp0', file]);
    expect(add.rc).toBe(0);
    expect(emu.run(['ovs-dpctl', 'show', 'dp0']).out).toContain(`  flows: ${N}\n`);
    const dump = emu.run(['sh', '-c', 'ovs-dpctl dump-flows dp0 | wc -l']);
    expect(dump.out.trim().split('\n').pop()).toBe(String(N));
  }, 900000);
});
