// Serves a lab profile's site with nginx (the Debian package) on a loopback port, from files
// written to a temp dir, with a temp config: the web server costs what a real one costs.
// `?page=N` maps to the file `page-N.html` next to the directory's index (query-string pagination).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { profileSite, writeProfileSite, type ProfileName } from '../../src/lab/profiles.ts';

export function nginxPath(): string | undefined {
  for (const exe of ['/usr/sbin/nginx', 'nginx']) {
    if (spawnSync(exe, ['-v'], { stdio: 'ignore' }).status === 0) return exe;
  }
  return undefined;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** nginx serving `name` with `pages` pages; env SITE_URL and SITE_PAGES for the variants. */
export async function serveProfile(name: ProfileName, pages: number): Promise<{ env: Record<string, string>; close(): Promise<void> }> {
  const exe = nginxPath();
  if (exe === undefined) throw new Error('nginx not found (apt-get install nginx)');
  const dir = mkdtempSync(join(tmpdir(), `spate-bench-${name}-`));
  const root = join(dir, 'site');
  let child: ChildProcess | undefined;
  try {
    await writeProfileSite(profileSite(name, { pages }), root);
    const port = await freePort();
    const conf = join(dir, 'nginx.conf');
    writeFileSync(conf, [
      'user root;', 'worker_processes 1;', 'daemon off;', `pid ${join(dir, 'nginx.pid')};`, `error_log ${join(dir, 'error.log')} warn;`,
      'events { worker_connections 1024; }',
      'http {',
      '  include /etc/nginx/mime.types; default_type application/octet-stream;',
      `  access_log off; sendfile on; tcp_nopush on; keepalive_requests 100000;`,
      `  client_body_temp_path ${dir}/tmp; proxy_temp_path ${dir}/tmp; fastcgi_temp_path ${dir}/tmp; uwsgi_temp_path ${dir}/tmp; scgi_temp_path ${dir}/tmp;`,
      `  server { listen 127.0.0.1:${port}; root ${root}; index index.html;`,
      '    location / { try_files ${uri}page-${arg_page}.html $uri $uri/ =404; } }',
      '}', '',
    ].join('\n'));
    child = spawn(exe, ['-c', conf, '-p', dir], { stdio: 'ignore' });
    const url = `http://127.0.0.1:${port}/`;
    for (let i = 0; ; i++) {
      try {
        const res = await fetch(url);
        await res.arrayBuffer();
        if (res.ok) break;
      } catch {
        // not listening yet
      }
      if (i > 100 || child.exitCode !== null) throw new Error(`nginx did not start (see ${dir}/error.log)`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const running = child;
    return {
      env: { SITE_URL: url, SITE_PAGES: String(pages) },
      close: async () => {
        running.kill('SIGQUIT');
        if (running.exitCode === null) await new Promise((r) => running.once('exit', r));
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
