import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { native } from './native';
import { preloadLibrary } from './paths';
import { framesFromHex, framesFromPcap, inject } from './inject';
import { startServer, type DeviceMode } from './server';
import { decodeCapture } from './replay/decode';
import { messageJson, messageText } from './replay/decode-text';
import { recordCommand } from './replay/passthrough-recorder';
import { defaultSocketPath, SOCKET_ENV } from './transport/socket-path';
import { kmsgPath } from './kmsg';

/** Set in the re-executed child of `serve --netns`, so it does not enter the namespace twice. */
const IN_NETNS_ENV = 'OVS_DPEMU_IN_NETNS';

/** listening tells whether an emulator answers at `path`. */
export function listening(path: string): boolean {
  if (!fs.existsSync(path)) return false;
  const fd = native().seqpacketConnect(path);
  if (fd < 0) return false;
  native().close(fd);
  return true;
}

/** shimEnv is the environment that sends a command's generic netlink traffic to the emulator. */
export function shimEnv(socket: string, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const lib = preloadLibrary();
  const preload = base.LD_PRELOAD ? `${lib}:${base.LD_PRELOAD}` : lib;
  return { ...base, LD_PRELOAD: preload, [SOCKET_ENV]: socket };
}

function serve(argv: { socket: string; netns?: string; cpus?: number; numaNodes?: number; devices: DeviceMode; record?: string }): void {
  if (argv.netns && process.env[IN_NETNS_ENV] !== argv.netns) {
    // `ip netns exec` also gives the child a /sys of that namespace, which the netdev lookups read.
    if (!fs.existsSync(`/run/netns/${argv.netns}`)) {
      const add = spawnSync('ip', ['netns', 'add', argv.netns], { stdio: 'inherit' });
      if (add.status !== 0) throw new Error(`ip netns add ${argv.netns} failed`);
    }
    const child = spawn('ip', ['netns', 'exec', argv.netns, process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
      stdio: 'inherit', env: { ...process.env, [IN_NETNS_ENV]: argv.netns },
    });
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => child.kill(sig));
    child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 + 15 : 1)));
    return;
  }
  const srv = startServer({ socket: argv.socket, cpus: argv.cpus, numaNodes: argv.numaNodes, devices: argv.devices, record: argv.record });
  process.stderr.write(`ovs-dpemu: serving on ${argv.socket} (internal ports: ${srv.deviceMode})\n`);
  const stop = (): void => {
    srv.close();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

function exec(argv: { socket: string; command: string[] }): void {
  if (!argv.command.length) throw new Error('exec: no command given (use: ovs-dpemu exec -- CMD ARGS…)');
  const embedded = listening(argv.socket) ? undefined : startServer({ socket: argv.socket });
  const child = spawn(argv.command[0], argv.command.slice(1), { stdio: 'inherit', env: shimEnv(argv.socket) });
  const finish = (code: number): void => {
    embedded?.close();
    process.exit(code);
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => child.kill(sig));
  child.on('error', (e) => {
    process.stderr.write(`ovs-dpemu: ${argv.command[0]}: ${e.message}\n`);
    finish(127);
  });
  child.on('exit', (code, signal) => finish(code ?? 128 + (signal ? (require('os').constants.signals[signal] as number) : 0)));
}

async function injectCmd(argv: { socket: string; port: string; pcap?: string; hex?: string[]; count: number; rate?: number }): Promise<void> {
  const frames = argv.pcap ? framesFromPcap(argv.pcap) : framesFromHex(argv.hex ?? []);
  const tty = process.stderr.isTTY;
  const s = await inject({
    socket: argv.socket, port: argv.port, frames, count: argv.count, rate: argv.rate,
    onProgress: (n, t) => {
      if (tty) process.stderr.write(`\rinjected ${n}/${t}`);
    },
  });
  if (tty) process.stderr.write('\n');
  process.stdout.write(`${s.sent} frames into ${argv.port}: hit ${s.hit}, missed ${s.missed}, lost ${s.lost}, dropped ${s.dropped}\n`);
}

/** main parses the command line (exported for tests). */
export function main(args: string[] = hideBin(process.argv)): void {
  const socketOpt = {
    type: 'string' as const,
    default: defaultSocketPath(),
    describe: `emulator socket path (env ${SOCKET_ENV}; root: /run/ovs-dpemu/ovs-dpemu.sock, else $XDG_RUNTIME_DIR/ovs-dpemu-UID.sock)`,
  };
  void yargs(args)
    .scriptName('ovs-dpemu')
    .usage('$0 <command>\n\nA userspace emulator of the Linux Open vSwitch datapath (openvswitch.ko), spoken to over\ngeneric netlink through an LD_PRELOAD shim by unmodified ovs-dpctl, ovs-vswitchd and pyroute2.')
    .command('serve', 'run the emulator until SIGINT/SIGTERM', (y) => y
      .option('socket', socketOpt)
      .option('netns', { type: 'string', describe: 'run inside this network namespace (created if missing); internal ports appear there' })
      .option('cpus', { type: 'number', describe: 'simulated CPU count (nr_cpu_ids); packets are spread over them by flow hash (RSS); default: the host\'s' })
      .option('numa-nodes', { type: 'number', describe: 'simulated NUMA nodes (per-node flow stats shards); CPUs are split into contiguous blocks; default 1' })
      .option('devices', { choices: ['auto', 'tap', 'virtual'] as const, default: 'auto' as const, describe: 'internal ports as TAP devices (needs CAP_NET_ADMIN), in memory only, or TAP when possible' })
      .option('record', { type: 'string', describe: 'write every datagram in both directions to this capture (pcap LINKTYPE_NETLINK as nlmon; FILE.pcapng adds port ids)' })
      .example('$0 serve --netns dpemu', 'serve in namespace dpemu; run clients with `ip netns exec dpemu ovs-dpemu exec -- …`'),
    (argv) => serve(argv))
    .command('exec', 'run a command with its generic netlink sockets sent to the emulator; starts an embedded emulator when none listens', (y) => y
      .option('socket', socketOpt)
      .example('$0 exec -- ovs-dpctl show', 'show datapaths of the running (or an embedded) emulator'),
    (argv) => exec({ socket: argv.socket, command: argv._.slice(1).map(String) }))
    .command('inject', 'put frames into a vport of the running emulator, as if its device received them', (y) => y
      .option('socket', socketOpt)
      .option('port', { type: 'string', demandOption: true, describe: 'vport (device) name, e.g. p1' })
      .option('pcap', { type: 'string', describe: 'pcap or pcapng file of Ethernet frames' })
      .option('hex', { type: 'string', array: true, describe: 'frame(s) as hex (repeatable)' })
      .option('count', { type: 'number', default: 1, describe: 'send the frame list this many times' })
      .option('rate', { type: 'number', describe: 'frames per second (default: as fast as possible)' })
      .check((a) => (a.pcap || a.hex?.length ? true : 'give --pcap FILE or --hex FRAME'))
      .example('$0 inject --port p1 --pcap arp.pcap --count 100 --rate 50', ''),
    async (argv) => {
      try {
        await injectCmd(argv);
      } catch (e) {
        process.stderr.write(`ovs-dpemu: inject: ${e instanceof Error ? e.message : String(e)}\n`);
        process.exit(1);
      }
    })
    // --- fuzz (lib/fuzz/) ---
    .command('fuzz', 'fuzz the emulator in-process (schema-driven requests, netlink mutators, invariants); exits 1 on findings', (y) => y
      .option('seed', { type: 'number', describe: 'PRNG seed (default: from the clock; printed)' })
      .option('iterations', { type: 'number', describe: 'stop after N inputs' })
      .option('time', { type: 'number', describe: 'stop after T seconds' })
      .option('corpus', { type: 'string', default: 'fuzz-corpus', describe: 'folder for minimised failing inputs' })
      .option('replay', { type: 'string', array: true, describe: 'replay saved case file(s) instead of fuzzing' })
      .option('differential', { type: 'string', describe: 'replay a real-kernel capture (pcap) and compare errno/extack per request' })
      .option('transcript', { type: 'string', describe: 'with --differential: the capture\'s .out.txt (case names)' })
      .option('quiet', { type: 'boolean', default: false, describe: 'no progress lines' })
      .example('$0 fuzz --seed 1 --iterations 100000', '')
      .example('$0 fuzz --differential test/captures/kernel-6.12-flows-errors-raw.pcap', ''),
    async (argv) => {
      const { fuzzMain } = await import('./fuzz/cli-fuzz');
      process.exitCode = fuzzMain(argv);
    })
    // --- end fuzz ---
    .command('env', 'print the shell exports that send a shell\'s commands to the emulator', (y) => y.option('socket', socketOpt),
      (argv) => {
        const env = shimEnv(argv.socket, {});
        process.stdout.write(`export LD_PRELOAD=${env.LD_PRELOAD}\nexport ${SOCKET_ENV}=${argv.socket}\n`);
      })
    .command('dmesg', 'print the kernel log of the running emulator (OVS_NLERR lines explaining rejected requests)', (y) => y
      .option('socket', socketOpt)
      .option('follow', { alias: 'w', type: 'boolean', default: false, describe: 'wait for new lines (like dmesg -w) until the emulator stops or SIGINT' })
      .example('$0 exec -- ovs-dpctl add-flow dp0 "in_port(1)" 2; $0 dmesg', 'why was the flow refused?'),
    (argv) => {
      const file = kmsgPath(argv.socket);
      let at = 0;
      let seen = false;
      const readNew = (): boolean => {
        let fd: number;
        try {
          fd = fs.openSync(file, 'r');
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          // Once the log was read, its removal means the emulator stopped: end quietly.
          if (!seen || code !== 'ENOENT') {
            process.stderr.write(`ovs-dpemu: dmesg: ${code === 'ENOENT' ? `no kernel log at ${file} (is an emulator serving on ${argv.socket}?)` : (e as Error).message}\n`);
            process.exitCode = 1;
          }
          return false;
        }
        seen = true;
        try {
          const size = fs.fstatSync(fd).size;
          if (size < at) at = 0; // a new emulator started a new log
          if (size > at) {
            const buf = Buffer.alloc(size - at);
            fs.readSync(fd, buf, 0, buf.length, at);
            process.stdout.write(buf);
            at = size;
          }
        } finally {
          fs.closeSync(fd);
        }
        return true;
      };
      if (!readNew() || !argv.follow) return;
      const timer = setInterval(() => {
        if (!readNew()) clearInterval(timer);
      }, 200);
    })
    // ---- record and decode (issue 6 items 2 and 4) ----
    .command('record', 'run a command against the real kernel, recording its generic netlink traffic (shim passthrough mode)', (y) => y
      .option('out', { type: 'string', default: 'ovs-dpemu-record.pcap', describe: 'capture file (pcap LINKTYPE_NETLINK as nlmon writes; FILE.pcapng adds port ids and pids)' })
      .option('quiet', { type: 'boolean', default: false, describe: 'no summary line on stderr' })
      .example('$0 record --out dpctl.pcap -- ovs-dpctl show', 'capture what ovs-dpctl and the kernel say'),
    async (argv) => {
      try {
        const r = await recordCommand({ out: argv.out, command: argv._.slice(1).map(String), forwardSignals: true });
        if (!argv.quiet) process.stderr.write(`ovs-dpemu: ${r.records} datagrams recorded to ${argv.out}\n`);
        process.exit(r.code);
      } catch (e) {
        process.stderr.write(`ovs-dpemu: record: ${e instanceof Error ? e.message : String(e)}\n`);
        process.exit(1);
      }
    })
    .command('decode <file>', 'print the messages of a netlink capture with names from the schemas (like tshark -V, OVS-aware)', (y) => y
      .positional('file', { type: 'string', demandOption: true, describe: 'pcap or pcapng file (LINKTYPE_NETLINK)' })
      .option('json', { type: 'boolean', default: false, describe: 'one JSON object per message (JSON Lines)' })
      .option('all', { type: 'boolean', default: false, describe: 'also records of other netlink protocols, and binary values uncut' })
      .example('$0 decode test/captures/kernel-6.12-basic.pcap', ''),
    async (argv) => {
      // stdout may be a non-blocking pipe: fs.writeSync would write part of a chunk and drop the
      // rest (EAGAIN), so go through the stream and wait for 'drain' before queueing more.
      const stdout = process.stdout;
      stdout.on('error', (e: NodeJS.ErrnoException) => process.exit(e.code === 'EPIPE' ? 0 : 1));
      const write = (text: string): Promise<void> => new Promise((resolve) => {
        if (stdout.write(text)) resolve();
        else stdout.once('drain', resolve);
      });
      try {
        let out: string[] = [];
        for (const m of decodeCapture(fs.readFileSync(argv.file), { all: argv.all })) {
          if (argv.json) out.push(messageJson(m));
          else out.push(...messageText(m));
          if (out.length > 4096) {
            await write(`${out.join('\n')}\n`);
            out = [];
          }
        }
        if (out.length) await write(`${out.join('\n')}\n`);
      } catch (e) {
        process.stderr.write(`ovs-dpemu: decode: ${e instanceof Error ? e.message : String(e)}\n`);
        process.exitCode = 1;
      }
    })
    // ---- end of record and decode ----
    // ---- replay (issue 6 items 3 and 5; lib/replay/replay*.ts) ----
    .command('replay <files..>', 'replay netlink captures against a fresh emulator and compare every reply with the captured one; exits 1 on a mismatch', (y) => y
      .positional('files', { type: 'string', array: true, demandOption: true, describe: 'pcap or pcapng files (LINKTYPE_NETLINK, e.g. tcpdump -i nlmon0)' })
      .option('update', { type: 'boolean', default: false, describe: 'rewrite each file\'s expected replies with the emulator\'s' })
      .option('json', { type: 'boolean', default: false, describe: 'print a JSON report instead of text' })
      .option('verbose', { type: 'boolean', default: false, describe: 'every failure with both decoded trees, skipped exchanges, rules applied' })
      .option('cpus', { type: 'number', describe: 'simulated CPU count (default 2, as the oracle guest)' })
      .option('kernel', { type: 'boolean', default: false, describe: 'send the requests to this host\'s kernel instead of an emulator (root; changes its datapaths: use a scratch VM or netns)' })
      .example('$0 replay test/captures/*.pcap', 'replay the real-kernel corpus')
      .example('$0 replay --kernel dpctl.pcap', 'replay a capture against this host\'s kernel'),
    async (argv) => {
      const { replayMain } = await import('./replay/replay-cli');
      process.exitCode = await replayMain({ files: (argv.files ?? []).map(String), update: argv.update, json: argv.json, verbose: argv.verbose, cpus: argv.cpus, kernel: argv.kernel });
    })
    // ---- end of replay ----
    .demandCommand(1, 'name a command: serve, exec, env, inject, dmesg, record, decode, replay or fuzz')
    .strict()
    .parserConfiguration({ 'populate--': false })
    .help()
    .fail((msg, err) => {
      process.stderr.write(`ovs-dpemu: ${err?.message ?? msg}\n`);
      process.exit(2);
    })
    .parse();
}

if (require.main === module) main();
