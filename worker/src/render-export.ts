// The `export` job handler: export_start → products → HTML → Chromium → Storage →
// export_complete (+ export_completed email, one transaction). On a failure that will not be
// retried (validation/permanent, or the last attempt) export_fail marks it failed and queues
// the export_failed email; otherwise export_fail puts it back to pending and the runtime retries.
import { z } from 'zod';
import type { Job } from '../../functions/_shared/jobs/mod.ts';
import type { Sql } from '../../functions/_shared/db.ts';
import type { BrowserPool, RenderFormat } from './browser.ts';
import type { Config } from './config.ts';
import { categorize, toRuntimeError } from './errors.ts';
import { log } from './log.ts';
import type { Metrics } from './metrics.ts';
import { exportPath, type Storage } from './storage.ts';
import { type ExportKind, type Product, renderTemplate } from './templates.ts';

export const ExportPayload = z.object({ export_id: z.uuid() });
export type ExportPayload = z.infer<typeof ExportPayload>;

export interface HandlerDeps {
  sql: Sql;
  browser: BrowserPool;
  storage: Storage;
  metrics: Metrics;
  config: Config;
}

interface ExportRow {
  id: string;
  org_id: string;
  kind: ExportKind;
  format: RenderFormat;
  options: { title?: string };
}

const CONTENT_TYPES: Record<RenderFormat, string> = { pdf: 'application/pdf', png: 'image/png' };
const KIND_NAMES: Record<ExportKind, string> = { product_catalogue: 'Product catalogue', price_list: 'Price list' };
const MAX_PRODUCTS = 2000;

const sleep = (ms: number, signal?: AbortSignal) => new Promise<void>((resolve) => {
  const t = setTimeout(resolve, ms);
  signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
});

export function createExportHandler(deps: HandlerDeps) {
  const { sql, browser, storage, metrics, config } = deps;
  const progress = (id: string, pct: number) => sql`select public.export_progress(${id}, ${pct})`.catch(() => {});

  return async function renderExport(job: Job<ExportPayload>) {
    const exportId = job.payload.export_id;
    const t0 = Date.now();
    let exportName = 'export';
    try {
      const [{ r }] = await sql`select public.export_start(${exportId}, ${job.attempt}) as r`;
      if (r.status !== 'processing') return { skipped: r.status }; // already finished: re-delivery
      const exp = r.export as ExportRow;
      exportName = exp.options?.title || KIND_NAMES[exp.kind] || exp.kind;
      metrics.created++;
      log('info', 'export.started', { queue: job.queue, job_id: job.id, attempt: job.attempt, export_id: exportId, kind: exp.kind, format: exp.format });

      const products = await sql<Product[]>`
        select sku, name, description, price_cents, currency, image_url
          from public.products where org_id = ${exp.org_id}
         order by name, sku limit ${MAX_PRODUCTS}`;
      await progress(exportId, 10);
      const html = renderTemplate(exp.kind, { orgName: r.org_name ?? '', title: exp.options?.title, products, generatedAt: new Date() });
      if (config.EXPORT_TEST_RENDER_DELAY_MS) await sleep(config.EXPORT_TEST_RENDER_DELAY_MS, job.signal);
      await progress(exportId, 30);

      const bytes = await browser.render(html, exp.format, { timeoutMs: config.JOB_TIMEOUT_SECONDS * 1000, signal: job.signal });
      await progress(exportId, 70);

      const filePath = exportPath(exp.org_id, exp.id, exp.format);
      await storage.put(filePath, bytes, CONTENT_TYPES[exp.format]);
      const url = await storage.url(filePath, config.URL_TTL_SECONDS);
      await progress(exportId, 90);

      const durationMs = Date.now() - t0;
      const expiresAt = new Date(Date.now() + config.URL_TTL_SECONDS * 1000).toISOString().slice(0, 10);
      const [{ done }] = await sql`select public.export_complete(${exportId}, ${filePath}, ${url}, ${bytes.byteLength},
        ${durationMs}, ${sql.json({ export_name: exportName, download_url: url, expires_at: expiresAt })}) as done`;
      if (done) {
        metrics.completed++;
        metrics.observeDuration(durationMs / 1000);
      }
      log('info', 'export.completed', { job_id: job.id, attempt: job.attempt, export_id: exportId, duration_ms: durationMs, size_bytes: bytes.byteLength });
      return { file_path: filePath, size_bytes: bytes.byteLength, duration_ms: durationMs };
    } catch (err) {
      const category = categorize(err);
      const final = category === 'validation' || category === 'permanent' || job.attempt >= job.maxAttempts;
      const message = err instanceof Error ? err.message : String(err);
      log(final ? 'error' : 'warn', final ? 'export.failed' : 'export.retry', {
        job_id: job.id, attempt: job.attempt, export_id: exportId, error_category: category, error: message, duration_ms: Date.now() - t0,
      });
      try {
        await sql`select public.export_fail(${exportId}, ${message}, ${final},
          ${sql.json({ export_name: exportName, reason: message.slice(0, 2000) || 'unknown error', retry_url: config.APP_URL })})`;
      } catch (e) {
        // unknown export (CX006) etc.: nothing to record
        if ((e as { code?: string }).code !== 'CX006') log('error', 'export.fail_not_recorded', { export_id: exportId, error: (e as Error).message });
      }
      if (final) metrics.failed++;
      else metrics.retried++;
      throw toRuntimeError(err);
    }
  };
}

/** Removes files of exports deleted by retention (public.export_file_deletions). Returns how many. */
export async function sweepFileDeletions(sql: Sql, storage: Storage, batch = 100): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await sql.begin(async (tx) => {
      const rows = await tx`select id, file_path from public.export_file_deletions order by id limit ${batch} for update skip locked`;
      for (const r of rows) await storage.delete(r.file_path as string);
      if (rows.length) await tx`delete from public.export_file_deletions where id = any(${rows.map((r) => r.id)}::bigint[])`;
      return rows.length;
    });
    total += n;
    if (n < batch) return total;
  }
}
