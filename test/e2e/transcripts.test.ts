/**
 * Replays every oracle transcript of Debian's ovs-dpctl (test/captures/kernel-6.12-*.out.txt):
 * each framed command runs again, in order, against `ovs-dpemu serve` in a fresh namespace, and
 * must print what it printed against the real Linux 6.12 datapath and exit the same way.
 * Normalised: OVS log timestamps; the line order of dump-flows (the kernel walks a hash table
 * with a random seed, so its order is arbitrary). Transcripts that also run other programs
 * (bash pipelines, python) are replayed by their own suites. Runs from the repository root, where
 * the oracle scripts' relative file arguments (test/captures/scripts/*.txt) resolve.
 */
import * as fs from 'fs';
import * as path from 'path';
import { kmsgPath } from '../../lib/kmsg';
import { isRoot, REPO, ServedEmulator, type CmdResult } from '../helpers/served';
import { extractOvsDpctlPy } from '../helpers/selftest-dpctl';

/** A framed command, what it printed, and the kernel log lines the oracle saw it cause (`## dmesg:`). */
interface Step { cmd: string[]; want: CmdResult; dmesg: string[] }

/** steps reads `### CMD` / output / `### rc=N` frames; the command line is split on spaces (no argument has one). */
function steps(file: string): Step[] {
  const out: Step[] = [];
  let cmd: string[] | undefined;
  let text = '';
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const end = /^### rc=(\d+)$/.exec(line);
    if (end && cmd) {
      out.push({ cmd, want: { out: text.replace(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\|/gm, 'TIMESTAMP|'), rc: Number(end[1]) }, dmesg: [] });
      cmd = undefined;
    } else if (line.startsWith('### ') && !line.startsWith('### unexpected')) {
      cmd = line.slice(4).replace(/ \(expect failure\)$/, '').trim().split(/ +/);
      text = '';
    } else if (line.startsWith('## dmesg: ')) {
      // The kernel log lines the oracle appended after a command's frame: what it caused.
      out[out.length - 1]?.dmesg.push(line.slice('## dmesg: '.length));
    } else if (cmd) {
      text += `${line}\n`;
    }
  }
  return out;
}

const sortDump = (cmd: string[], r: CmdResult): CmdResult =>
  cmd.includes('dump-flows') ? { ...r, out: r.out.split('\n').filter((l) => l).sort().join('\n') } : r;

const transcripts = fs.readdirSync(path.join(REPO, 'test', 'captures'))
  .filter((f) => /^kernel-6\.12-.*\.out\.txt$/.test(f))
  .map((f) => path.join(REPO, 'test', 'captures', f))
  .filter((f) => steps(f).every((s) => ['ovs-dpctl', 'ip', 'python3'].includes(s.cmd[0])) && steps(f).length > 0);

/** The oracle ran the kernel selftests' ovs-dpctl.py as `python3 $ORACLE_DIR/selftests/ovs-dpctl.py`. */
const SELFTEST = '$ORACLE_DIR/selftests/ovs-dpctl.py';
let selftestPath: string | undefined;
const PYSHIM = path.join(REPO, 'test', 'fixtures', 'pyshim');

function runStep(emu: ServedEmulator, cmd: string[]): CmdResult {
  if (cmd[0] === 'ip') return emu.sh(cmd);
  if (cmd[0] === 'python3' && cmd[1] === SELFTEST) {
    selftestPath ??= extractOvsDpctlPy();
    const r = emu.run(['/usr/bin/python3', selftestPath, ...cmd.slice(2)], { PYTHONPATH: PYSHIM });
    return { ...r, out: r.out.split(selftestPath).join(SELFTEST) };
  }
  return emu.run(cmd);
}

/**
 * pyroute2Noise removes what ovs-dpctl.py makes up per run: the UFID it draws for a flow given
 * without one (uuid4) and pyroute2's port id (derived from the process id).
 */
function pyroute2Noise(cmd: string[], r: CmdResult): CmdResult {
  if (cmd[1] !== SELFTEST) return r;
  let out = r.out.replace(/'pid': \d+/g, "'pid': PID");
  const randomUfid = cmd.some((a) => a.includes('add-flow')) && !cmd.some((a) => a.startsWith('ufid:'));
  if (randomUfid) out = out.replace(/\('OVS_FLOW_ATTR_UFID', \[[\d, ]+\]\)/g, "('OVS_FLOW_ATTR_UFID', RANDOM)");
  // In dumps the random UFIDs are the ones whose third group is not 0000 (the script's own are 0…0N).
  out = out.replace(/ufid:[0-9a-f]{8}-[0-9a-f]{4}-(?!0000)[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, 'ufid:RANDOM');
  return { ...r, out };
}

const maybe = isRoot() ? describe : describe.skip;

maybe.each(transcripts.map((f) => [path.basename(f), f]))('transcript %s', (_name, file) => {
  const emu = new ServedEmulator('tx');
  beforeAll(async () => {
    await emu.start();
    // The oracle scripts turn IPv6 off before they start (an unframed line, so not replayed as a
    // step): an internal port that comes up would otherwise send router solicitations into the
    // datapath and change its miss/lost counters.
    emu.sh(['sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
  });
  afterAll(async () => {
    await emu.stop();
  });

  const recordsDmesg = fs.readFileSync(file, 'utf8').includes('\n## dmesg: ');
  let logRead = 0;
  /** The emulator's kernel log lines (`ovs-dpemu dmesg`) since the last call, without timestamps. */
  const newKmsg = (): string[] => {
    const text = fs.existsSync(kmsgPath(emu.socket)) ? fs.readFileSync(kmsgPath(emu.socket), 'utf8') : '';
    const lines = text.slice(logRead).split('\n').filter((l) => l).map((l) => l.replace(/^\[[ \d.]+\] /, ''));
    logRead = text.length;
    return lines;
  };

  it.each(steps(file).map((s, i) => [`${i + 1}: ${s.cmd.join(' ')}`.slice(0, 160), s] as const))('%s', (_n, s) => {
    const got = runStep(emu, s.cmd);
    const logged = newKmsg();
    expect(sortDump(s.cmd, pyroute2Noise(s.cmd, got))).toEqual(sortDump(s.cmd, pyroute2Noise(s.cmd, s.want)));
    // The datapath's own log lines (`ovs-dpemu dmesg`) must be the kernel's. Other lines of the
    // guest's log are not the datapath's: "entered/left promiscuous mode" comes from net core for
    // real devices (the host logs it here too), "hrtimer: interrupt took …" from the VM.
    // Only transcripts whose script recorded the kernel log (flows-errors) say what it was.
    if (recordsDmesg) expect(logged).toEqual(s.dmesg.filter((l) => /^(openvswitch: |netlink: )/.test(l)));
  });
});
