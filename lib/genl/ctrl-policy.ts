import { NLM_F, NL_POLICY_TYPE_ATTR } from '../nl/constants';
import { Errno } from '../nl/errno';
import { NlError } from '../nl/errors';
import type { NlWriter } from '../nl/writer';
import { AttrEncoder, attrString, attrU16, attrU32 } from '../schema/codec';
import type { AttrSpec, FamilySpec, OpPolicy, OpSpec } from '../schema/model';
import { describePolicy } from '../schema/policy-describe';
import { parseBySet } from '../schema/validate';
import { genlMessage, type Genetlink, type GenlRequest } from './genetlink';

/**
 * nlctrl CTRL_CMD_GETPOLICY: the policy dump of net/netlink/genetlink.c (ctrl_dumppolicy_start(),
 * ctrl_dumppolicy()) over net/netlink/policy.c (netlink_policy_dump_*), built from the schemas'
 * per-op policies (OpMode.policy: x-policy-set / x-policy-maxattr).
 *
 * Messages: one per op with a policy (CTRL_ATTR_OP_POLICY {cmd {DO idx, DUMP idx}}), then one per
 * (policy, attribute) pair with something to say (CTRL_ATTR_POLICY {idx {type {...}}}); every
 * nest carries NLA_F_NESTED. NL_POLICY_TYPE_ATTR_PAD never appears: x86 has efficient unaligned
 * access, so nla_put_u64_64bit() does not pad.
 */

/** The nested policy an attribute's policy entry points at (nested_policy, len), if any. */
function nestedPolicy(a: AttrSpec | undefined): OpPolicy | undefined {
  if (!a || a.nla !== 'nested' || !a.policyNested || !a.nested) return undefined;
  return { set: a.nested, maxType: a.nested.maxType };
}

/** PolicyTable is the kernel's netlink_policy_dump_state: a list of distinct (policy, maxtype). */
class PolicyTable {
  readonly list: OpPolicy[] = [];

  // kernel: netlink_policy_dump_get_policy_idx()
  indexOf(p: OpPolicy): number {
    return this.list.findIndex((q) => q.set === p.set && q.maxType === p.maxType);
  }

  // kernel: add_policy()
  private addOne(p: OpPolicy | undefined): void {
    if (p && p.maxType && this.indexOf(p) < 0) this.list.push(p);
  }

  /** Adds a policy, then walks every listed policy for nested ones (breadth first). */
  // kernel: netlink_policy_dump_add_policy()
  add(p: OpPolicy | undefined): void {
    this.addOne(p);
    for (let i = 0; i < this.list.length; i++) {
      const { set, maxType } = this.list[i];
      for (let t = 0; t <= maxType; t++) this.addOne(nestedPolicy(set.byType.get(t)));
    }
  }
}

/** The ops genl_op_iter_next() visits: those with a do or a dump half, in the family's order. */
function familyOps(f: FamilySpec): OpSpec[] {
  return f.ops.filter((o) => o.do || o.dump);
}

/** writeAttrPolicy fills one attribute's policy nest; false for entries that are skipped (NLA_UNSPEC). */
// kernel: __netlink_policy_dump_write_attr()
function writeAttrPolicy(w: NlWriter, a: AttrSpec | undefined, table: PolicyTable): boolean {
  const d = a && describePolicy(a);
  if (!a || d?.nlAttrType === undefined) return false;
  const nested = nestedPolicy(a);
  if (nested) {
    w.attrU32(NL_POLICY_TYPE_ATTR.POLICY_IDX, table.indexOf(nested));
    w.attrU32(NL_POLICY_TYPE_ATTR.POLICY_MAXTYPE, nested.maxType);
  }
  if (d.minU !== undefined && d.maxU !== undefined) {
    w.attrU64(NL_POLICY_TYPE_ATTR.MIN_VALUE_U, d.minU).attrU64(NL_POLICY_TYPE_ATTR.MAX_VALUE_U, d.maxU);
  }
  if (d.minS !== undefined && d.maxS !== undefined) {
    w.attrS64(NL_POLICY_TYPE_ATTR.MIN_VALUE_S, d.minS).attrS64(NL_POLICY_TYPE_ATTR.MAX_VALUE_S, d.maxS);
  }
  if (d.minLength) w.attrU32(NL_POLICY_TYPE_ATTR.MIN_LENGTH, d.minLength);
  if (d.maxLength) w.attrU32(NL_POLICY_TYPE_ATTR.MAX_LENGTH, d.maxLength);
  w.attrU32(NL_POLICY_TYPE_ATTR.TYPE, d.nlAttrType);
  return true;
}

interface DumpContext {
  ctrl: FamilySpec;
  cmd: number;
  req: GenlRequest;
  famId: number;
  table: PolicyTable;
  /** The ops whose policy indexes come first (all of the family's, or the one CTRL_ATTR_OP named). */
  ops: OpSpec[];
}

// kernel: ctrl_dumppolicy_prep()
function prep(c: DumpContext): AttrEncoder {
  const w = genlMessage(c.ctrl, c.cmd, NLM_F.MULTI, c.req.msg.seq, c.req.portid);
  return new AttrEncoder(w, c.ctrl.set('ctrl-attrs')).int('family-id', c.famId);
}

// kernel: ctrl_dumppolicy(), ctrl_dumppolicy_put_op(), netlink_policy_dump_write()
function* dumpPolicies(c: DumpContext): Generator<Buffer> {
  const opPol = c.ctrl.set('op-policy-attrs');
  for (const op of c.ops) {
    if (!op.do?.policy && !op.dump?.policy) continue;
    const e = prep(c);
    e.w.nestStart(e.typeOf('op-policy'), true).nestStart(op.cmd, true);
    const o = new AttrEncoder(e.w, opPol);
    if (op.do?.policy) o.int('do', c.table.indexOf(op.do.policy));
    if (op.dump?.policy) o.int('dump', c.table.indexOf(op.dump.policy));
    yield e.w.nestEnd().nestEnd().endMessage().finish();
  }
  for (const [idx, p] of c.table.list.entries()) {
    for (let t = 0; t <= p.maxType; t++) {
      const e = prep(c);
      e.w.nestStart(e.typeOf('policy'), true).nestStart(idx, true).nestStart(t, true);
      // Skipped entries cost nothing: the kernel cancels the nests and moves on.
      if (!writeAttrPolicy(e.w, p.set.byType.get(t), c.table)) continue;
      yield e.w.nestEnd().nestEnd().nestEnd().endMessage().finish();
    }
  }
}

/**
 * getPolicyDump parses and checks the request, then returns the dump. Errors here answer the
 * request with NLMSG_ERROR (the kernel's start() callback), not in NLMSG_DONE.
 * @throws {@link NlError}
 */
// kernel: genl_start() + ctrl_dumppolicy_start()
export function getPolicyDump(genl: Genetlink, req: GenlRequest): Iterable<Buffer> {
  const ctrl = genl.registry.family('nlctrl');
  const policy = req.op.dump?.policy;
  if (!policy) throw new NlError(Errno.EOPNOTSUPP);
  const tb = parseBySet(req.msg.bytes.subarray(req.attrBase), policy.set, { base: req.attrBase, extack: req.extack });
  const id = attrU16(tb.get('family-id'));
  const name = attrString(tb.get('family-name'));
  if (id === undefined && name === undefined) throw new NlError(Errno.EINVAL);
  const fam = id !== undefined ? genl.byId(id) : genl.byName(name ?? '');
  if (!fam) throw new NlError(Errno.ENOENT);
  const table = new PolicyTable();
  let ops = familyOps(fam);
  const opAttr = tb.get('op');
  if (opAttr) {
    const cmd = attrU32(opAttr);
    const op = ops.find((o) => o.cmd === cmd);
    // NL_SET_BAD_ATTR(): the offset only, no message.
    if (!op) throw new NlError(Errno.ENOENT, { offset: opAttr.offset });
    ops = [op];
  }
  for (const op of ops) {
    table.add(op.do?.policy);
    table.add(op.dump?.policy);
  }
  // No policy at all (psample).
  if (!table.list.length) throw new NlError(Errno.ENODATA);
  return dumpPolicies({ ctrl, cmd: req.cmd, req, famId: fam.familyId, table, ops });
}
