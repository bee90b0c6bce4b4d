// Starts the lab in a child process, for commands that measure against it: a server in its own
// process has its own event loop, CPU time and file-descriptor limit, so it never skews the client.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface LabProcess extends AsyncDisposable {
  url: string;
  close(): Promise<void>;
}

export function spawnLab(args: readonly string[] = []): Promise<LabProcess> {
  // main.ts from the sources, main.js from dist/.
  const main = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? './main.ts' : './main.js', import.meta.url));
  const child = spawn(process.execPath, [main, 'lab', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (chunk: Buffer) => {
      out += chunk;
      const match = /listening on (http:\/\/\S+)/.exec(out);
      if (!match) return;
      child.stdout.off('data', onData);
      child.stdout.resume();
      const close = () => new Promise<void>((done) => {
        if (child.exitCode !== null || child.signalCode !== null) return done();
        child.once('exit', () => done());
        child.kill('SIGTERM');
      });
      resolve({ url: match[1]!, close, [Symbol.asyncDispose]: close });
    };
    child.stdout.on('data', onData);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the lab exited (code ${code}) before it was listening: ${out.trim()}`)));
  });
}
