// The export worker process: config → database → storage → browser (+ canary render) →
// work('export') → HTTP (/health, /metrics, /files). SIGTERM/SIGINT: graceful stop within
// GRACEFUL_SHUTDOWN_TIMEOUT_MS (running renders finish or are handed back), then close all.
import os from 'node:os';
import postgres from 'postgres';
import { stopOnSignals, work } from '../../functions/_shared/jobs/mod.ts';
import { BrowserPool } from './browser.ts';
import { ConfigError, loadConfig } from './config.ts';
import { log } from './log.ts';
import { Metrics } from './metrics.ts';
import { createExportHandler, ExportPayload, sweepFileDeletions } from './render-export.ts';
import { createServer } from './server.ts';
import { GuardedStorage, LocalStorage, type Storage, SupabaseStorage } from './storage.ts';
import { renderTemplate } from './templates.ts';

let config;
try {
  config = loadConfig();
} catch (err) {
  log('error', 'config.invalid', { error: (err as Error).message, variable: (err as ConfigError).variable });
  process.exit(1);
}
const workerId = config.WORKER_ID ?? `export:${os.hostname()}:${process.pid}`;
const sql = postgres(config.DATABASE_URL, { max: config.MAX_CONCURRENT_RENDERS + 4, onnotice: () => {} });

const inner: Storage = config.SUPABASE_URL && config.SUPABASE_SERVICE_ROLE_KEY && config.EXPORT_BUCKET
  ? new SupabaseStorage(config.SUPABASE_URL, config.SUPABASE_SERVICE_ROLE_KEY, config.EXPORT_BUCKET)
  : new LocalStorage(config.STORAGE_DIR, config.PUBLIC_URL ?? `http://127.0.0.1:${config.PORT}`, config.STORAGE_URL_SECRET);
const storage = new GuardedStorage(inner);
const metrics = new Metrics();
const browser = new BrowserPool({
  executablePath: config.PUPPETEER_EXECUTABLE_PATH,
  imageHosts: config.IMAGE_HOSTS,
  rendersPerBrowser: config.RENDERS_PER_BROWSER,
  log: (level, event, fields) => log(level, event, { worker_id: workerId, ...fields }),
});

async function canary() {
  const t0 = Date.now();
  const html = renderTemplate('price_list', {
    orgName: 'Canary', products: [{ sku: 'C-1', name: 'Canary <check>', description: null, price_cents: 100, currency: 'USD', image_url: null }],
    generatedAt: new Date(),
  });
  const pdf = await browser.render(html, 'pdf', { timeoutMs: config.JOB_TIMEOUT_SECONDS * 1000 });
  if (Buffer.from(pdf.subarray(0, 4)).toString() !== '%PDF') throw new Error('canary render did not produce a PDF');
  log('info', 'canary.ok', { worker_id: workerId, ms: Date.now() - t0, size_bytes: pdf.byteLength });
}

try {
  await storage.check();
  if (config.ENABLE_CANARY_EXPORT) await canary();
  else await browser.warm();
} catch (err) {
  log('error', 'startup.failed', { worker_id: workerId, error: (err as Error).message });
  await browser.close();
  await sql.end({ timeout: 2 });
  process.exit(1);
}

const worker = work<ExportPayload>('export', createExportHandler({ sql, browser, storage, metrics, config }), {
  sql,
  schema: ExportPayload,
  concurrency: config.MAX_CONCURRENT_RENDERS,
  batchSize: config.MAX_CONCURRENT_RENDERS,
  shutdownTimeoutMs: config.GRACEFUL_SHUTDOWN_TIMEOUT_MS,
  workerId,
});

const server = createServer({ sql, storage, browser, metrics });
await new Promise<void>((resolve) => server.listen(config.PORT, resolve));

const sweep = () => sweepFileDeletions(sql, storage)
  .then((n) => n && log('info', 'files.deleted', { worker_id: workerId, count: n }))
  .catch((err) => log('warn', 'files.sweep_failed', { worker_id: workerId, error: (err as Error).message }));
const sweepTimer = setInterval(sweep, 3600_000);
sweepTimer.unref();
void sweep();

stopOnSignals([worker as never], async () => {
  clearInterval(sweepTimer);
  server.close();
  await browser.close();
  await sql.end({ timeout: 5 });
});
await worker.start();
const addr = server.address();
log('info', 'worker.ready', {
  worker_id: workerId, port: typeof addr === 'object' && addr ? addr.port : config.PORT,
  concurrency: config.MAX_CONCURRENT_RENDERS, storage: storage.kind,
});
