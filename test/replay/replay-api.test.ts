/**
 * The README's jest example of the library API, run on the corpus: what another project's
 * suite would write.
 */
import * as path from 'path';
import { replay } from '../../lib/replay/replay';
import { formatReplayResult } from '../../lib/replay/replay-report';

const captures = ['kernel-6.12-pyroute2-basic.pcap', 'kernel-6.12-pyroute2-flows.pcap'].map((f) => path.join(__dirname, '..', 'captures', f));

it.each(captures)('%s replays green', async (file) => {
  const r = await replay(file);
  if (!r.ok) throw new Error(formatReplayResult(r, { verbose: true })); // trees side by side
  expect(r.counts.failed).toBe(0);
  expect(r.counts.skipped).toBe(1); // the oracle's end marker
});

it('onProgress reports every exchange; maxFailures stops comparing', async () => {
  const seen: number[] = [];
  const r = await replay(captures[0], { onProgress: (done, total) => seen.push(done / total) });
  expect(seen).toHaveLength(r.counts.exchanges);
  expect(seen[seen.length - 1]).toBe(1);
  const none = await replay(captures[0], { maxFailures: 0 });
  expect(none.counts.matched).toBe(0);
});
