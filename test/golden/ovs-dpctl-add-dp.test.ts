/**
 * Byte-exact replies for ovs-dpctl's add-dp/show exchange, against Linux 6.12.117.
 * Provenance: ../shared/captures/kernel-6.12-basic.pcap (oracle run of
 * ../shared/oracle/scripts/basic.sh, ovs-dpctl 3.1.0), frames 33–46. The kernel's datapath got
 * ifindex 3 (lo=1, eth-less guest with one more device), so the emulator is given a host whose
 * highest ifindex is 2; the client port ids 215 and 0xf68f13d4 are bound explicitly.
 */
import { emulator, TestSocket } from '../helpers/nltest';
import type { HostNetdevs } from '../../lib/ovs/netdev';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const GUEST: HostNetdevs = { lookup: () => undefined, maxIfindex: () => 2 };

const EXCHANGES: { name: string; pid: number; req: string; replies: string[] }[] = [
  {
    name: 'dp new with unknown feature bit 1<<31 → EOPNOTSUPP, nothing created',
    pid: 215,
    req: '30000000240009000a000000d70000000102000000000000080001006470300008000200000000000800050003000080',
    replies: ['44000000020000000a000000d7000000a1ffffff30000000240009000a000000d70000000102000000000000080001006470300008000200000000000800050003000080'],
  },
  {
    name: 'dp new features 0x9 (unaligned|per-cpu) → NEW reply with stats, features, masks-cache-size',
    pid: 215,
    req: '30000000240009000b000000d70000000102000000000000080001006470300008000200000000000800050009000000',
    replies: ['78000000240000000b000000d70000000102000003000000080001006470300024000300000000000000000000000000000000000000000000000000000000000000000024000400000000000000000000000000000000000000000000000000000000000000000008000500090000000800070000010000'],
  },
  {
    name: 'dp set with tc-recirc-sharing (no CONFIG_NET_TC_SKB_EXT) → EOPNOTSUPP',
    pid: 215,
    req: '28000000240009000c000000d700000004020000030000000800010064703000080005000d000000',
    replies: ['3c000000020000000c000000d7000000a1ffffff28000000240009000c000000d700000004020000030000000800010064703000080005000d000000'],
  },
  {
    name: 'vport dump of dp 3 → local port, then NLMSG_DONE in its own datagram',
    pid: 215,
    req: '1800000025000d030d000000d70000000301000003000000',
    replies: [
      'a0000000250002000d000000d70000000301000003000000080001000000000008000200020000000800030064703000080008000300000044000600000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000001c000a000c00000000000000000000000c00010000000000000000000800050000000000',
      '14000000030002000d000000d700000000000000',
    ],
  },
  {
    name: 'vport get by name from a second socket (dp_ifindex 0)',
    pid: 0xf68f13d4,
    req: '200000002500090001000000d4138ff603010000000000000800030064703000',
    replies: ['a00000002500000001000000d4138ff60301000003000000080001000000000008000200020000000800030064703000080008000300000044000600000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000001c000a000c00000000000000000000000c00010000000000000000000800050000000000'],
  },
];

describe('golden: ovs-dpctl add-dp against Linux 6.12', () => {
  const emu = emulator({ host: GUEST });
  const sockets = new Map<number, TestSocket>();

  it.each(EXCHANGES)('$name', ({ pid, req, replies }) => {
    const s = new TestSocketAt(emu, pid, sockets);
    expect(s.send(hex(req)).map((b) => b.toString('hex'))).toEqual(replies);
  });

});

/** TestSocketAt reuses one socket per captured port id, bound explicitly like the original. */
class TestSocketAt extends TestSocket {
  constructor(emu: ReturnType<typeof emulator>, pid: number, cache: Map<number, TestSocket>) {
    const existing = cache.get(pid);
    if (existing) return existing as TestSocketAt;
    super(emu, { pid, uid: 0, gid: 0, netAdmin: true });
    cache.set(pid, this);
  }
}
