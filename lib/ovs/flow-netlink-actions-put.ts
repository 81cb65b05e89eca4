import { NLA_HDRLEN } from '../nl/constants';
import type { NlWriter } from '../nl/writer';
import { AttrEncoder } from '../schema/codec';
import type { AttrSet } from '../schema/model';
import { forEachAttr, type Attr } from '../schema/validate';
import { ctActionToAttr } from './conntrack-action';
import type { ActionObject, FlowActions } from './flow-actions-buffer';
import { actionSchema, type ActionSchema } from './flow-actions-schema';
import { tunToNlattr } from './flow-netlink-tunnel-set';

/** The attributes of a stored nest after its leading argument attribute (sample_arg, clone exec, …). */
function afterFirst(p: Buffer): Buffer {
  let rest: Buffer = Buffer.alloc(0);
  let first = true;
  forEachAttr(p, 0, (a) => {
    if (!first) return;
    first = false;
    rest = p.subarray(Math.min(p.length, (a.payload.length + NLA_HDRLEN + 3) & ~3));
  });
  return rest;
}

const firstAttr = (p: Buffer): Attr | undefined => {
  let out: Attr | undefined;
  forEachAttr(p, 0, (a) => { out ??= a; });
  return out;
};

function objectAt<K extends ActionObject['kind']>(a: Attr, objs: readonly ActionObject[] | undefined, kind: K): Extract<ActionObject, { kind: K }> {
  const o = objs?.[a.payload.readUInt32LE(0)];
  if (!o || o.kind !== kind) throw new Error(`stored action refers to a missing ${kind} object`);
  return o as Extract<ActionObject, { kind: K }>;
}

/** putList emits a stored action list as the kernel reports it. */
// kernel: ovs_nla_put_actions()
function putList(w: NlWriter, bytes: Buffer, objs: readonly ActionObject[] | undefined, S: ActionSchema): void {
  const enc = new AttrEncoder(w, S.actions);
  forEachAttr(bytes, 0, (a) => {
    const name = a.type === S.setToMasked ? 'set-to-masked' : S.actions.byType.get(a.type)?.name;
    switch (name) {
      // kernel: set_action_to_attr()
      case 'set': {
        const k = firstAttr(a.payload);
        if (k && k.type === S.num(S.keys, 'tunnel-info')) {
          enc.nest('set', (e) => tunToNlattr(e, objectAt(k, objs, 'tunnel')));
        } else {
          w.attr(a.type, a.payload);
        }
        return;
      }
      // kernel: masked_set_action_to_set_action_attr()
      case 'set-to-masked': {
        const k = firstAttr(a.payload);
        w.nestStart(S.num(S.actions, 'set'));
        if (k) w.attr(k.type, k.payload.subarray(0, k.payload.length >> 1));
        w.nestEnd();
        return;
      }
      // kernel: sample_action_to_attr()
      case 'sample': {
        const arg = firstAttr(a.payload);
        enc.nest('sample', (e) => {
          e.int('probability', arg ? arg.payload.readUInt32LE(S.off('sample-arg', 'probability')) : 0);
          w.nestStart(S.num(S.sample, 'actions'));
          putList(w, afterFirst(a.payload), objs, S);
          w.nestEnd();
        });
        return;
      }
      case 'ct':
        ctActionToAttr(w, objectAt(a, objs, 'ct'), S);
        return;
      // kernel: clone_action_to_attr()
      case 'clone':
        w.nestStart(a.type);
        putList(w, afterFirst(a.payload), objs, S);
        w.nestEnd();
        return;
      // kernel: check_pkt_len_action_to_attr()
      case 'check-pkt-len': {
        const arg = firstAttr(a.payload);
        enc.nest('check-pkt-len', (e) => {
          e.int('pkt-len', arg ? arg.payload.readUInt16LE(S.off('check-pkt-len-arg', 'pkt-len')) : 0);
          forEachAttr(afterFirst(a.payload), 0, (branch) => {
            w.nestStart(branch.type);
            putList(w, branch.payload, objs, S);
            w.nestEnd();
          });
        });
        return;
      }
      // kernel: dec_ttl_action_to_attr()
      case 'dec-ttl':
        w.nestStart(a.type);
        forEachAttr(a.payload, 0, (x) => {
          if (x.type !== S.num(S.decTtl, 'action')) return;
          w.nestStart(x.type);
          putList(w, x.payload, objs, S);
          w.nestEnd();
        });
        w.nestEnd();
        return;
      default:
        w.attr(a.type, a.payload);
    }
  });
}

/**
 * ovsNlaPutActions writes `acts` the way the kernel reports a flow's actions: a nest `attr`
 * (a number, or a name in `set`, by default ovs_flow's flow-attrs) holding the list converted
 * back (set_to_masked → set with the value only, set(tunnel) re-encoded, sample / clone /
 * check_pkt_len / dec_ttl without their internal arguments, ct from its parsed form, everything
 * else as received, with NLA_F_* flags stripped from the outer type).
 */
// kernel: ovs_flow_cmd_fill_actions() → ovs_nla_put_actions()
export function ovsNlaPutActions(w: NlWriter, attr: number | string, acts: FlowActions, set?: AttrSet, S: ActionSchema = actionSchema()): void {
  const type = typeof attr === 'number' ? attr : S.num(set ?? S.fam.set('flow-attrs'), attr);
  w.nestStart(type);
  putList(w, acts.bytes, acts.objs, S);
  // The kernel sizes the reply for the actions as received (orig_len); a list that grows when
  // converted back (e.g. every ct() gains its zone) may not fit, and then the nest is cancelled
  // and the message goes without actions. The emulator cancels it when it could not even be
  // described (nla_len is 16 bits), where the kernel's skb is always too small.
  if (w.openNestLength > 0xffff) w.nestCancel();
  else w.nestEnd();
}

/** putActionList writes the converted-back list without an enclosing nest (ovs_nla_put_actions). */
export function putActionList(w: NlWriter, acts: FlowActions, S: ActionSchema = actionSchema()): void {
  putList(w, acts.bytes, acts.objs, S);
}
