// HTTP: GET /health (the seed's JSON shape; 503 when a check fails), GET /metrics (Prometheus),
// GET /files/<org>/<export>.<ext>?exp=&sig= (local store only: HMAC-signed download links).
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import type { Sql } from '../../functions/_shared/db.ts';
import type { BrowserPool } from './browser.ts';
import type { Metrics } from './metrics.ts';
import { LocalStorage, type Storage } from './storage.ts';

export interface ServerDeps {
  sql: Sql;
  storage: Storage;
  browser: BrowserPool;
  metrics: Metrics;
  /** Memory above this share of the limit is unhealthy (default 0.9). */
  memoryLimitRatio?: number;
}

type Check = { healthy: boolean; message: string };

async function timed(fn: () => Promise<string>, ms = 3000): Promise<Check> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const message = await Promise.race([fn(), new Promise<never>((_, rej) => (timer = setTimeout(() => rej(new Error(`timed out after ${ms} ms`)), ms)))]);
    return { healthy: true, message };
  } catch (err) {
    return { healthy: false, message: (err as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

/** The memory limit: the cgroup's when set (containers), else the machine's. */
function memoryLimit(): number {
  for (const f of ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes']) {
    try {
      const v = fs.readFileSync(f, 'utf8').trim();
      const n = Number(v);
      if (v !== 'max' && Number.isFinite(n) && n > 0 && n < os.totalmem()) return n;
    } catch { /* not in a cgroup */ }
  }
  return os.totalmem();
}

export async function health(deps: ServerDeps) {
  const storageCheck = deps.storage as Storage & { breaker?: { state: string } };
  const [database, storage, puppeteer] = await Promise.all([
    timed(async () => {
      await deps.sql`select 1`;
      return 'Database connection OK';
    }),
    timed(async () => {
      const state = storageCheck.breaker?.state ?? 'closed';
      if (state === 'open') throw new Error('Storage circuit breaker is open');
      await deps.storage.check();
      return `Storage connection OK (${deps.storage.kind})`;
    }),
    timed(async () => {
      await deps.browser.warm();
      return `Puppeteer OK (${deps.browser.activeRenders} active renders)`;
    }, 10000),
  ]);
  const ratio = process.memoryUsage.rss() / memoryLimit();
  const memory = { healthy: ratio < (deps.memoryLimitRatio ?? 0.9), message: `Memory usage: ${(ratio * 100).toFixed(1)}%` };
  const checks = { database, storage, puppeteer, memory };
  const healthy = Object.values(checks).every((c) => c.healthy);
  return { status: healthy ? 'healthy' : 'unhealthy', timestamp: new Date().toISOString(), checks };
}

export function createServer(deps: ServerDeps): http.Server {
  return http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' }).end();
        return;
      }
      if (url.pathname === '/health') {
        const body = await health(deps);
        res.writeHead(body.status === 'healthy' ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(body));
        return;
      }
      if (url.pathname === '/metrics') {
        let queueDepth: number | null = null;
        try {
          const [c] = await deps.sql`select queued, delayed from jobs.counts('export')`;
          queueDepth = c ? Number(c.queued) + Number(c.delayed) : 0;
        } catch { /* database down: omit the gauge */ }
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' })
          .end(deps.metrics.render({ queueDepth, activeRenders: deps.browser.activeRenders }));
        return;
      }
      const store = (deps.storage as { inner?: Storage }).inner ?? deps.storage;
      const m = /^\/files\/([0-9a-f-]{36}\/[0-9a-f-]{36}\.(pdf|png))$/.exec(url.pathname);
      if (m && store instanceof LocalStorage) {
        if (!store.verify(m[1], url.searchParams.get('exp'), url.searchParams.get('sig'))) {
          res.writeHead(403, { 'content-type': 'text/plain' }).end('invalid or expired link\n');
          return;
        }
        const full = store.resolve(m[1]);
        if (!fs.existsSync(full)) {
          res.writeHead(404).end();
          return;
        }
        res.writeHead(200, { 'content-type': m[2] === 'pdf' ? 'application/pdf' : 'image/png', 'cache-control': 'private, no-store' });
        fs.createReadStream(full).pipe(res);
        return;
      }
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    } catch (err) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`${(err as Error).message}\n`);
    }
  });
}
