// Seed 004's aiofiles examples: write then read a file, upper-case several files concurrently, and
// process a large file line by line "without loading it all into memory".
// spate: lines() reads 64 KiB at a time through the thread pool (the event loop never waits on the
// disk), and a file a job writes appears whole or not at all (temp file, fsync, rename).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gather } from '../../src/core/index.ts';
import { lines, linesFile, pipeline } from '../../src/pipeline/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'spate-files-'));
try {
  // read_file / write_file
  await writeFile(join(dir, 'test.txt'), 'Hello, async file I/O!');
  console.log(`Read: ${await readFile(join(dir, 'test.txt'), 'utf8')}`);

  // process_file on three files at once, each line by line, output complete-or-absent
  const names = [1, 2, 3].map((i) => [join(dir, `input${i}.txt`), join(dir, `output${i}.txt`)] as const);
  for (const [input] of names) writeFileSync(input, 'one\ntwo\nthree\n');
  const results = await gather(names.map(([input, output]) => async () => {
    await pipeline(lines(input)).map((l) => l.toUpperCase(), { ordered: true }).into(linesFile(output));
    return `Processed ${input.slice(dir.length + 1)} -> ${output.slice(dir.length + 1)}: ${JSON.stringify(await readFile(output, 'utf8'))}`;
  }));
  for (const r of results) console.log(r);

  // process_large_file: count non-empty lines of a 500,000-line file
  const big = join(dir, 'large_data.txt');
  writeFileSync(big, Array.from({ length: 500_000 }, (_, i) => (i % 10 === 9 ? '' : `record ${i}`)).join('\n') + '\n');
  const before = process.memoryUsage().rss;
  let count = 0;
  const result = await pipeline(lines(big)).filter((l) => l.trim() !== '').sink(() => { count++; }).run();
  const grew = (process.memoryUsage().rss - before) / 1e6;
  console.log(`Processed ${result.read} lines, ${count} not empty`);
  console.log(grew < 50 ? 'memory stayed flat while reading (well under the file size)' : `memory grew ${grew.toFixed(0)} MB`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
