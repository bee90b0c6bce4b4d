// Shared by the crawl variants: their arguments (`--site=<spec> --pages=N --concurrency=C`).
export function crawlArgs(): { site: string; pages: number; concurrency: number; url: string } {
  const get = (name: string): string | undefined => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const lab = process.env.LAB_URL;
  const site = get('site') ?? 'pages=10000,extras=0';
  const pages = Number(get('pages') ?? 10_000);
  const concurrency = Number(get('concurrency') ?? 32);
  // A site served by nginx (the profile cases) is given whole.
  if (process.env.SITE_URL) return { site, pages, concurrency, url: process.env.SITE_URL };
  if (!lab) throw new Error('LAB_URL is not set (the case setup starts the lab)');
  return { site, pages, concurrency, url: `${lab}/site/${site}/` };
}

/** Fails the run when a crawler did not reach every page (a fast wrong answer is no answer). */
export function checkPages(got: number, expected: number, impl: string): void {
  if (got !== expected) throw new Error(`${impl} crawled ${got} pages, expected ${expected}`);
}
