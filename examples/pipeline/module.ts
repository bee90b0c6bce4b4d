// A module for `spate pipeline run` (the CLI gives it a store with --state):
//   spate pipeline run examples/pipeline/module.ts --state state.sqlite -o squares.jsonl
//   spate pipeline dlq list --state state.sqlite --name squares
import { pipeline } from '../../src/pipeline/index.ts';

export default pipeline(Array.from({ length: 100 }, (_, i) => i), { name: 'squares' })
  .map((x) => { if (x === 13) throw new Error('unlucky'); return { x, square: x * x }; }, { name: 'square', concurrency: 4 });
