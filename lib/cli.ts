import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { native } from './native';
import { preloadLibrary } from './paths';
import { framesFromHex, framesFromPcap, inject } from './inject';
import { startServer, type DeviceMode } from './server';
import { defaultSocketPath, SOCKET_ENV } from './transport/socket-path';

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

function serve(argv: { socket: string; netns?: string; cpus?: number; numaNodes?: number; devices: DeviceMode }): void {
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
  const srv = startServer({ socket: argv.socket, cpus: argv.cpus, numaNodes: argv.numaNodes, devices: argv.devices });
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
    .command('env', 'print the shell exports that send a shell\'s commands to the emulator', (y) => y.option('socket', socketOpt),
      (argv) => {
        const env = shimEnv(argv.socket, {});
        process.stdout.write(`export LD_PRELOAD=${env.LD_PRELOAD}\nexport ${SOCKET_ENV}=${argv.socket}\n`);
      })
    .demandCommand(1, 'name a command: serve, exec or env')
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
