// Seeds: the sync-vs-async benchmark — N URLs that each take a while, one after another and all
// at once with the same client. `spate bench fanout` is the full table.
import { startLab } from '../../src/lab/index.ts';
import { fanout, formatFanout } from '../../src/http/index.ts';

await using lab = await startLab();
const delay = 0.1;
const rows = await fanout({ url: lab.url, delay, sizes: [5, 10], concurrentOnly: [100] });
console.log(formatFanout(rows, delay).split('\n').slice(0, 2).join('\n'));
for (const r of rows) {
  const faster = r.sequential === undefined || r.sequential > r.concurrent * 2;
  console.log(`${r.urls} URLs: concurrent ${faster ? 'beats' : 'does NOT beat'} sequential${r.sequential === undefined ? ' (sequential not run)' : ''}; failed ${r.failed}`);
}
