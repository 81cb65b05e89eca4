/**
 * The bounded fuzz smoke of `npm test`: a fixed seed, 20 000 inputs over every family, zero
 * findings (any exception other than NlError, malformed reply, failed request that changed
 * state, broken invariant).
 */
import { runCampaign } from '../../lib/fuzz/runner';
import { loadSchemas } from '../../lib/schema/load';

const SEED = 20261121;
const INPUTS = 20000;

describe('fuzz smoke', () => {
  it(`seed ${SEED}: ${INPUTS} inputs across all families, zero findings`, () => {
    const r = runCampaign({ seed: SEED, iterations: INPUTS, minimise: true });
    const found = r.unique.map((f) => `${f.signature}\n${f.finding.detail.split('\n').slice(0, 12).join('\n')}`);
    expect(found).toEqual([]);
    expect(r.execs).toBe(INPUTS);
    // Every family and every op with a handler was exercised.
    const families = new Set(Object.keys(r.perOp).map((k) => k.split('/')[0]));
    for (const f of loadSchemas().families) expect(families).toContain(f.name);
    for (const op of ['ovs_flow/new', 'ovs_flow/del', 'ovs_flow/set', 'ovs_flow/get(dump)', 'ovs_vport/new', 'ovs_datapath/new', 'ovs_packet/execute', 'ovs_meter/set', 'ovs_ct_limit/set']) {
      expect(r.perOp[op] ?? 0).toBeGreaterThan(20);
    }
    // Valid requests are accepted often enough for the stateful paths to be reached.
    expect(r.errnos['0'] ?? 0).toBeGreaterThan(INPUTS / 20);
  });
});
