// Edge-function mode: a request handler that works one queue within a time budget.
// pg_cron (and the urgent-enqueue trigger) POST {"queue","reason"} via jobs.invoke; the function
// claims, works until the budget is spent or the queue is empty, completes what it did and
// answers with a summary. What remains is picked up by the next call.
import { z } from 'zod';
import { db, type Sql } from '../db.ts';
import { recordHeartbeat } from '../heartbeat.ts';
import { errorResponse, HttpError, json, readJson } from '../http.ts';
import { type Handler, work, type WorkOptions } from './worker.ts';

const InvokeBody = z.object({
  queue: z.string().min(1).max(128).optional(),
  reason: z.enum(['cron', 'enqueue', 'manual']).default('manual'),
  // Supabase's wall-clock limit is 150 s (free) / 400 s (paid): stay well inside it
  budget_ms: z.number().int().min(100).max(140000).optional(),
  // set when the urgent-enqueue trigger invoked us (jobs.dispatch_done protocol)
  dispatch_id: z.number().int().optional(),
}).strict();

export interface ServeQueueOptions<T> extends Omit<WorkOptions<T>, 'sql'> {
  /** Service name for logs and heartbeats (default: the queue). */
  service?: string;
  /** Default time budget per invocation (default 20 s). */
  budgetMs?: number;
  /** Keep the invocation alive for retries due within this many ms (default 0). */
  lingerMs?: number;
  sql?: Sql;
}

export function serveQueue<T>(queue: string, handler: Handler<T>, opts: ServeQueueOptions<T> = {}) {
  const service = opts.service ?? queue;
  return async (req: Request): Promise<Response> => {
    try {
      if (req.method !== 'POST') throw new HttpError(405, 'method_not_allowed', 'use POST');
      const body = InvokeBody.parse(await readJson(req));
      if (body.queue && body.queue !== queue) {
        throw new HttpError(400, 'wrong_queue', `this function works queue "${queue}", not "${body.queue}"`);
      }
      const sql = opts.sql ?? db();
      const deadline = Date.now() + (body.budget_ms ?? opts.budgetMs ?? 20000);
      const summary = { claimed: 0, completed: 0, failed: 0, retried: 0, released: 0, remaining: 0, ms: 0, rounds: 0 };
      for (;;) {
        const s = await work<T>(queue, handler, { ...opts, sql, listen: false }).runFor(Math.max(0, deadline - Date.now()), { lingerMs: opts.lingerMs ?? 0 });
        for (const k of ['claimed', 'completed', 'failed', 'retried', 'released', 'ms'] as const) summary[k] += s[k];
        summary.remaining = s.remaining;
        summary.rounds++;
        if (body.dispatch_id === undefined) break;
        // urgent jobs that arrived while we worked: keep going while the budget allows
        const canContinue = deadline - Date.now() > 1000;
        const [r] = await sql`select jobs.dispatch_done(${service}, ${body.dispatch_id}, ${queue}, ${canContinue}) as again`;
        if (!r.again) break;
      }
      if (summary.remaining > 0) {
        // budget spent with runnable jobs left: have the next call start now, not at the cron tick
        await sql`select jobs.dispatch(${queue})`.catch(() => {});
      }
      await recordHeartbeat(sql, service, { source: body.reason, detail: { ...summary } });
      console.log(JSON.stringify({ ts: new Date().toISOString(), level: 'info', fn: service, event: 'run.summary', queue, reason: body.reason, ...summary }));
      return json({ queue, ...summary });
    } catch (err) {
      return errorResponse(err);
    }
  };
}
