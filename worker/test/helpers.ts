// Shared by the worker's end-to-end tests: a real worker child process and fixtures.
import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { cfg } from '../../tests/e2e/helpers/stack.ts';

export const ROOT = path.resolve(import.meta.dirname, '../..');

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export interface WorkerProc {
  child: ChildProcess;
  port: number;
  lines: Record<string, unknown>[];
  browserPids: number[];
  waitFor(event: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `node --import tsx worker/src/main.ts` and resolves once it logged worker.ready. */
export async function startWorker(env: Record<string, string>): Promise<WorkerProc> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'worker/src/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: cfg.dbUrl, PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  const waiters: { event: string; resolve: (l: Record<string, unknown>) => void }[] = [];
  const browserPids: number[] = [];
  let stderr = '';
  const onLine = (line: string) => {
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(line);
    } catch {
      return;
    }
    lines.push(rec);
    if (rec.event === 'browser.launched' && typeof rec.pid === 'number') browserPids.push(rec.pid);
    for (const w of waiters.filter((w) => w.event === rec.event)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(rec);
    }
  };
  let buf = '';
  child.stdout!.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      onLine(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
  child.stderr!.on('data', (d) => {
    stderr += d;
    for (const l of String(d).split('\n')) if (l.trim()) onLine(l);
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const proc: WorkerProc = {
    child, port, lines, browserPids,
    waitFor(event, timeoutMs = 20000) {
      const seen = lines.find((l) => l.event === event);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`worker did not log ${event} within ${timeoutMs} ms; stderr: ${stderr.slice(-2000)}`)), timeoutMs);
        waiters.push({ event, resolve: (l) => (clearTimeout(t), resolve(l)) });
        child.once('exit', (code) => reject(new Error(`worker exited (${code}) before ${event}; stderr: ${stderr.slice(-2000)}`)));
      });
    },
    async kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        await Promise.race([exited, new Promise((r) => setTimeout(r, 10000))]);
      }
      for (const pid of browserPids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch { /* already gone */ }
      }
    },
  };
  await proc.waitFor('worker.ready', 30000);
  return proc;
}
