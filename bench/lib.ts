// Shared by the benchmark scripts: how a variant reports, and how the runner measures.
//
// Each variant runs in a process of its own, so that one's garbage and JIT state never weighs on
// another, and its peak RSS is its own. A variant prints one JSON line as its last line:
// {"value": <number>, "rss_mb": <peak RSS>} (or {"skipped": "<reason>"}).

/** Called by a variant script when it is done. */
export function report(value: number, extra: Record<string, number> = {}): void {
  const rssMb = process.resourceUsage().maxRSS / 1024;
  console.log(JSON.stringify({ value, rss_mb: Math.round(rssMb * 10) / 10, ...extra }));
}

/** The p-th percentile (0–100) of `values` (sorted in place). */
export function percentile(values: number[], p: number): number {
  values.sort((a, b) => a - b);
  return values[Math.min(values.length - 1, Math.floor((p / 100) * values.length))] ?? 0;
}

/** Parses `--key=value` arguments of a variant script. */
export function args(defaults: Record<string, number>): Record<string, number> {
  const out = { ...defaults };
  for (const arg of process.argv.slice(2)) {
    const match = /^--([\w-]+)=(.+)$/.exec(arg);
    if (match) out[match[1]!] = Number(match[2]);
  }
  return out;
}
