// Writes a lab profile's site to a directory, for a web server of your own to serve:
//   node bench/crawl/write-site.ts --profile=docs --pages=2000 --seed=1 --dir=/tmp/docs
// With nginx, `?page=N` needs one line (bench/crawl/nginx.ts has the whole config):
//   location / { try_files ${uri}page-${arg_page}.html $uri $uri/ =404; }
import { PROFILES, profileSite, writeProfileSite, type ProfileName } from '../../src/lab/profiles.ts';

const get = (name: string): string | undefined => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const profile = get('profile') ?? 'docs';
const dir = get('dir');
if (!dir || !PROFILES.includes(profile as ProfileName)) {
  console.error(`usage: node bench/crawl/write-site.ts --profile=${PROFILES.join('|')} [--pages=N] [--seed=N] --dir=DIR`);
  process.exit(2);
}
const pages = get('pages');
const seed = get('seed');
const site = profileSite(profile as ProfileName, { pages: pages === undefined ? undefined : Number(pages), seed: seed === undefined ? undefined : Number(seed) });
const files = await writeProfileSite(site, dir);
console.log(`${files} files, ${site.pages.length} pages, depths ${site.pagesPerDepth.join('/')} -> ${dir}`);
