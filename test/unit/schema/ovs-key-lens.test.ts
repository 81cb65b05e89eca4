/**
 * The kernel's hand-written length tables, transcribed from Linux 6.12, compared entry by entry
 * (both directions: no type missing, no type extra) with the compiled ovs-key sets.
 *
 * Source: linux-6.12 net/openvswitch/flow_netlink.c
 *   ovs_vxlan_ext_key_lens   lines 387-389
 *   ovs_tunnel_key_lens      lines 391-409
 *   ovs_nsh_key_attr_lens    lines 411-416
 *   ovs_key_lens             lines 418-454   (used by __parse_flow_nlattrs, lines 477-525)
 *   action_lens              lines 3275-3301 (inside __ovs_nla_copy_actions)
 * sizeof() values are written out as numbers (the uapi structs have the same layout on every
 * Linux ABI). An index the C initialiser leaves out is 0, as C zero-fills the array: that is how
 * OVS_TUNNEL_KEY_ATTR_PAD gets length 0. Type 0 of the 1-based tables is such a hole too; it is
 * not a schema attribute and is left out of the comparison.
 */
import { loadSchemas } from '../../../lib/schema/load';
import type { AttrSet, AttrSpec } from '../../../lib/schema/model';

const NESTED = 'NESTED';     // OVS_ATTR_NESTED (-1)
const VARIABLE = 'VARIABLE'; // OVS_ATTR_VARIABLE (-2)
const ANY = 'ANY';           // (u32)-1 in action_lens: any length
const REJECTED = 'REJECTED'; // refused by __parse_flow_nlattrs before the length check
type Len = number | typeof NESTED | typeof VARIABLE | typeof ANY | typeof REJECTED;
type Table = [type: number, name: string, len: Len][];

// ovs_key_lens[] (flow_netlink.c:418-454), numbered by enum ovs_key_attr.
const OVS_KEY_LENS: Table = [
  [1, 'encap', NESTED],
  [2, 'priority', 4],               // sizeof(u32)
  [3, 'in-port', 4],                // sizeof(u32)
  [4, 'ethernet', 12],              // sizeof(struct ovs_key_ethernet)
  [5, 'vlan', 2],                   // sizeof(__be16)
  [6, 'ethertype', 2],              // sizeof(__be16)
  [7, 'ipv4', 12],                  // sizeof(struct ovs_key_ipv4)
  [8, 'ipv6', 40],                  // sizeof(struct ovs_key_ipv6)
  [9, 'tcp', 4],                    // sizeof(struct ovs_key_tcp)
  [10, 'udp', 4],                   // sizeof(struct ovs_key_udp)
  [11, 'icmp', 2],                  // sizeof(struct ovs_key_icmp)
  [12, 'icmpv6', 2],                // sizeof(struct ovs_key_icmpv6)
  [13, 'arp', 24],                  // sizeof(struct ovs_key_arp): 22 bytes of members + 2 padding
  [14, 'nd', 28],                   // sizeof(struct ovs_key_nd)
  [15, 'skb-mark', 4],              // sizeof(u32)
  [16, 'tunnel', NESTED],           // .next = ovs_tunnel_key_lens
  [17, 'sctp', 4],                  // sizeof(struct ovs_key_sctp)
  [18, 'tcp-flags', 2],             // sizeof(__be16)
  [19, 'dp-hash', 4],               // sizeof(u32)
  [20, 'recirc-id', 4],             // sizeof(u32)
  [21, 'mpls', VARIABLE],
  [22, 'ct-state', 4],              // sizeof(u32)
  [23, 'ct-zone', 2],               // sizeof(u16)
  [24, 'ct-mark', 4],               // sizeof(u32)
  [25, 'ct-labels', 16],            // sizeof(struct ovs_key_ct_labels)
  [26, 'ct-orig-tuple-ipv4', 16],   // sizeof(struct ovs_key_ct_tuple_ipv4): 13 + 3 padding
  [27, 'ct-orig-tuple-ipv6', 40],   // sizeof(struct ovs_key_ct_tuple_ipv6): 37 + 3 padding
  [28, 'nsh', NESTED],              // .next = ovs_nsh_key_attr_lens
  [29, 'packet-type', REJECTED],    // no table entry; refused at flow_netlink.c:496-501
  [30, 'nd-extensions', REJECTED],  // no table entry; refused at flow_netlink.c:496-501
  [31, 'tunnel-info', REJECTED],    // no table entry; refused at flow_netlink.c:496-501
  [32, 'ipv6-exthdrs', 2],          // sizeof(struct ovs_key_ipv6_exthdrs)
];

// ovs_tunnel_key_lens[] (flow_netlink.c:391-409), numbered by enum ovs_tunnel_key_attr (from 0).
const OVS_TUNNEL_KEY_LENS: Table = [
  [0, 'id', 8],                     // sizeof(u64)
  [1, 'ipv4-src', 4],               // sizeof(u32)
  [2, 'ipv4-dst', 4],               // sizeof(u32)
  [3, 'tos', 1],
  [4, 'ttl', 1],
  [5, 'dont-fragment', 0],
  [6, 'csum', 0],
  [7, 'oam', 0],
  [8, 'geneve-opts', VARIABLE],
  [9, 'tp-src', 2],                 // sizeof(u16)
  [10, 'tp-dst', 2],                // sizeof(u16)
  [11, 'vxlan-opts', NESTED],       // .next = ovs_vxlan_ext_key_lens
  [12, 'ipv6-src', 16],             // sizeof(struct in6_addr)
  [13, 'ipv6-dst', 16],             // sizeof(struct in6_addr)
  [14, 'pad', 0],                   // not initialised → 0 (accepted empty, ignored by ip_tun_from_nlattr)
  [15, 'erspan-opts', VARIABLE],
  [16, 'ipv4-info-bridge', 0],
];

// ovs_vxlan_ext_key_lens[] (flow_netlink.c:387-389).
const OVS_VXLAN_EXT_KEY_LENS: Table = [
  [1, 'gbp', 4],                    // sizeof(u32)
];

// ovs_nsh_key_attr_lens[] (flow_netlink.c:411-416).
const OVS_NSH_KEY_ATTR_LENS: Table = [
  [1, 'base', 8],                   // sizeof(struct ovs_nsh_key_base)
  [2, 'md1', 16],                   // sizeof(struct ovs_nsh_key_md1)
  [3, 'md2', VARIABLE],
];

// action_lens[] (flow_netlink.c:3275-3301), numbered by enum ovs_action_attr.
const ACTION_LENS: Table = [
  [1, 'output', 4],                 // sizeof(u32)
  [2, 'userspace', ANY],
  [3, 'set', ANY],
  [4, 'push-vlan', 4],              // sizeof(struct ovs_action_push_vlan)
  [5, 'pop-vlan', 0],
  [6, 'sample', ANY],
  [7, 'recirc', 4],                 // sizeof(u32)
  [8, 'hash', 8],                   // sizeof(struct ovs_action_hash)
  [9, 'push-mpls', 8],              // sizeof(struct ovs_action_push_mpls): 6 + 2 padding
  [10, 'pop-mpls', 2],              // sizeof(__be16)
  [11, 'set-masked', ANY],
  [12, 'ct', ANY],
  [13, 'trunc', 4],                 // sizeof(struct ovs_action_trunc)
  [14, 'push-eth', 12],             // sizeof(struct ovs_action_push_eth)
  [15, 'pop-eth', 0],
  [16, 'ct-clear', 0],
  [17, 'push-nsh', ANY],
  [18, 'pop-nsh', 0],
  [19, 'meter', 4],                 // sizeof(u32)
  [20, 'clone', ANY],
  [21, 'check-pkt-len', ANY],
  [22, 'add-mpls', 8],              // sizeof(struct ovs_action_add_mpls)
  [23, 'dec-ttl', ANY],
  [24, 'drop', 4],                  // sizeof(u32)
  [25, 'psample', ANY],
];

/** What the kernel table would say for a compiled attribute. */
function lenOf(a: AttrSpec, tableHasAny: boolean): Len | string {
  if (a.kernelOnly) return REJECTED;
  if (a.lenMode === 'nested') return tableHasAny ? ANY : NESTED;
  if (a.lenMode === 'variable') return tableHasAny ? ANY : VARIABLE;
  if (a.exactLen !== undefined) return a.exactLen;
  // The walker expects 0 bytes where the schema gives no length; only pad/unused may rely on it.
  return a.kind === 'pad' || a.kind === 'unused' ? 0 : `fixed ${a.kind} without a length`;
}

function compare(set: AttrSet, table: Table): void {
  const tableHasAny = table.some(([, , l]) => l === ANY);
  const want = Object.fromEntries(table.map(([t, n, l]) => [t, `${n} ${l}`]));
  const have = Object.fromEntries(set.attrs.map((a) => [a.type, `${a.name} ${lenOf(a, tableHasAny)}`]));
  expect(have).toEqual(want);
  expect(set.maxType).toBe(Math.max(...table.map(([t]) => t)));
}

describe('ovs length tables of Linux 6.12 vs compiled ovs-key sets', () => {
  const flow = loadSchemas().family('ovs_flow');

  it('key-attrs matches ovs_key_lens', () => compare(flow.set('key-attrs'), OVS_KEY_LENS));
  it('tunnel-key-attrs matches ovs_tunnel_key_lens', () => compare(flow.set('tunnel-key-attrs'), OVS_TUNNEL_KEY_LENS));
  it('vxlan-ext-attrs matches ovs_vxlan_ext_key_lens', () => compare(flow.set('vxlan-ext-attrs'), OVS_VXLAN_EXT_KEY_LENS));
  it('nsh-key-attrs matches ovs_nsh_key_attr_lens', () => compare(flow.set('nsh-key-attrs'), OVS_NSH_KEY_ATTR_LENS));
  it('action-attrs matches action_lens', () => compare(flow.set('action-attrs'), ACTION_LENS));

  it('the nested entries point at the sets the kernel parses them with', () => {
    const nest = (set: string, attr: string): string | undefined => {
      const a = flow.set(set).byName.get(attr);
      return a?.nested ? `${a.nested.family}/${a.nested.name}` : undefined;
    };
    expect(nest('key-attrs', 'encap')).toBe('ovs_flow/key-attrs');
    expect(nest('key-attrs', 'tunnel')).toBe('ovs_flow/tunnel-key-attrs');
    expect(nest('key-attrs', 'nsh')).toBe('ovs_flow/nsh-key-attrs');
    expect(nest('tunnel-key-attrs', 'vxlan-opts')).toBe('ovs_flow/vxlan-ext-attrs');
    expect(nest('action-attrs', 'clone')).toBe('ovs_flow/action-attrs');
    expect(nest('action-attrs', 'sample')).toBe('ovs_flow/sample-attrs');
    expect(nest('sample-attrs', 'actions')).toBe('ovs_flow/action-attrs');
    expect(nest('dec-ttl-attrs', 'action')).toBe('ovs_flow/action-attrs');
    expect(nest('check-pkt-len-attrs', 'actions-if-greater')).toBe('ovs_flow/action-attrs');
    expect(nest('ct-attrs', 'nat')).toBe('ovs_flow/nat-attrs');
    const packet = loadSchemas().family('ovs_packet').set('packet-attrs');
    expect(packet.byName.get('key')?.nested?.name).toBe('key-attrs');
    expect(packet.byName.get('actions')?.nested?.name).toBe('action-attrs');
    expect(packet.byName.get('egress-tun-key')?.nested?.name).toBe('tunnel-key-attrs');
  });

  it('each set carries the parse mode of the kernel code that parses it', () => {
    const modes = Object.fromEntries([...flow.sets.values()].map((s) => [s.name, s.mode]));
    expect(modes).toEqual({
      'flow-attrs': 'genl-legacy',           // flow_policy, GENL_DONT_VALIDATE_STRICT
      'key-attrs': 'ovs-key',                // __parse_flow_nlattrs
      'tunnel-key-attrs': 'ovs-key',         // ip_tun_from_nlattr
      'vxlan-ext-attrs': 'ovs-key',          // vxlan_tun_opt_from_nlattr
      'nsh-key-attrs': 'ovs-key',            // nsh_key_put_from_nlattr
      'action-attrs': 'ovs-key',             // __ovs_nla_copy_actions
      'userspace-attrs': 'genl-legacy',      // validate_userspace: nla_parse_nested_deprecated
      'sample-attrs': 'ovs-key',             // validate_and_copy_sample (hand-written)
      'check-pkt-len-attrs': 'deprecated-strict', // nla_parse_deprecated_strict
      'dec-ttl-attrs': 'ovs-key',            // validate_and_copy_dec_ttl (hand-written)
      'ct-attrs': 'ovs-key',                 // parse_ct with ovs_ct_attr_lens (conntrack.c)
      'nat-attrs': 'ovs-key',                // parse_nat with ovs_nat_attr_lens (conntrack.c)
      'psample-attrs': 'strict',             // validate_psample: nla_parse_nested
    });
    expect(loadSchemas().family('ovs_packet').set('packet-attrs').mode).toBe('genl-legacy');
  });
});
