// The runtime against the real local database (DATABASE_URL, set by `npm test`).
import assert from 'node:assert/strict';
import postgres from 'postgres';
import { z } from 'zod';
import { sqlClient } from './client.ts';
import { ConveyorError, httpError, PermanentError, RateLimitedError } from './errors.ts';
import { work } from './worker.ts';

const url = Deno.env.get('DATABASE_URL') ?? 'postgresql://postgres:postgres@127.0.0.1:54322/postgres';
const opts = { sanitizeOps: false, sanitizeResources: false };
const q = (name: string) => `rt-${name}-${crypto.randomUUID().slice(0, 8)}`;
const quiet = () => {};

function withDb(name: string, fn: (sql: postgres.Sql, jobs: ReturnType<typeof sqlClient>) => Promise<void>) {
  Deno.test({ name, ...opts }, async () => {
    const sql = postgres(url, { max: 6, onnotice: () => {} });
    try {
      await fn(sql, sqlClient(sql));
    } finally {
      await sql.end({ timeout: 2 });
    }
  });
}

async function until<T>(what: string, f: () => Promise<T | null | undefined | false>, ms = 10000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

withDb('runFor drains a queue: every job handled exactly once and completed durably', async (sql, jobs) => {
  const queue = q('drain');
  const ids = await jobs.enqueueMany(queue, Array.from({ length: 500 }, (_, i) => ({ i })));
  const seen = new Map<number, number>();
  const summary = await work<{ i: number }>(queue, (job) => {
    seen.set(job.id, (seen.get(job.id) ?? 0) + 1);
  }, { sql, concurrency: 10, batchSize: 50, log: quiet }).runFor(20000);
  assert.equal(summary.completed, 500);
  assert.equal(summary.remaining, 0);
  assert.deepEqual([...seen.keys()].sort((a, b) => a - b), [...ids].sort((a, b) => a - b));
  assert.ok([...seen.values()].every((n) => n === 1), 'a job ran twice');
  const [c] = await jobs.counts(queue);
  assert.equal(c.completed, 500);
  assert.equal(c.queued + c.running, 0);
});

withDb('a payload that fails its zod schema fails permanently with an error naming the field', async (sql, jobs) => {
  const queue = q('schema');
  const id = await jobs.enqueue(queue, { to: { email: 'not-an-email' } });
  let ran = false;
  await work(queue, () => {
    ran = true;
  }, { sql, schema: z.object({ to: z.object({ email: z.email() }) }), log: quiet }).runFor(5000);
  assert.equal(ran, false);
  const job = await jobs.get(id);
  assert.equal(job?.state, 'failed');
  assert.equal(job?.attempts, 1);
  assert.match(JSON.stringify(job?.last_error), /payload\.to\.email/);
});

withDb('errors are classified: permanent fails at once, transient retries with backoff, 429 keeps the attempt', async (sql, jobs) => {
  const queue = q('classify');
  const perm = await jobs.enqueue(queue, { kind: 'permanent' }, { maxAttempts: 5 });
  const trans = await jobs.enqueue(queue, { kind: 'transient' }, { maxAttempts: 5, backoff: { kind: 'fixed', baseMs: 60000 } });
  const limited = await jobs.enqueue(queue, { kind: 'limited' }, { maxAttempts: 5 });
  await work<{ kind: string }>(queue, (job) => {
    if (job.payload.kind === 'permanent') throw new PermanentError('bad request');
    if (job.payload.kind === 'limited') throw new RateLimitedError('slow down', 30000);
    throw new Error('connection reset');
  }, { sql, log: quiet }).runFor(5000);
  const [p, t, l] = await Promise.all([jobs.get(perm), jobs.get(trans), jobs.get(limited)]);
  assert.equal(p?.state, 'failed');
  assert.equal(p?.attempts, 1);
  assert.equal(t?.state, 'queued');
  assert.equal(t?.attempts, 1);
  assert.ok(new Date(t!.run_at).getTime() > Date.now() + 50000, 'transient retry should wait its fixed 60 s backoff');
  assert.equal(l?.state, 'queued');
  assert.equal(l?.attempts, 0, 'a 429 must not spend an attempt');
  const wait = new Date(l!.run_at).getTime() - Date.now();
  assert.ok(wait > 25000 && wait <= 30000, `429 retry should be ~30 s away, was ${wait} ms`);
});

withDb('a handler past its timeout is aborted and the attempt fails as a timeout', async (sql, jobs) => {
  const queue = q('timeout');
  const id = await jobs.enqueue(queue, {}, { timeoutMs: 200, maxAttempts: 1 });
  let aborted = false;
  await work(queue, (job) =>
    new Promise((resolve) => {
      job.signal.addEventListener('abort', () => {
        aborted = true;
        resolve(null);
      });
    }), { sql, log: quiet }).runFor(3000);
  assert.equal(aborted, true);
  const job = await jobs.get(id);
  assert.equal(job?.state, 'failed');
  assert.match(JSON.stringify(job?.last_error), /timed out after 200 ms/);
});

withDb('job.progress is visible through jobs.get while the job runs; results are stored', async (sql, jobs) => {
  const queue = q('progress');
  const id = await jobs.enqueue(queue, {});
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const w = work(queue, async (job) => {
    await job.progress(40, { step: 'rendering' });
    await gate;
    return { pages: 3 };
  }, { sql, log: quiet });
  await w.start();
  const p = await until('progress', async () => {
    const j = await jobs.get(id);
    return (j?.progress as { percent?: number } | null)?.percent === 40 ? j!.progress : null;
  });
  assert.deepEqual((p as { data: unknown }).data, { step: 'rendering' });
  release();
  await until('completion', async () => (await jobs.get(id))?.state === 'completed');
  await w.stop();
  assert.deepEqual((await jobs.get(id))?.result, { pages: 3 });
});

withDb('stop() lets the running handler finish and hands back buffered jobs without spending attempts', async (sql, jobs) => {
  const queue = q('stop');
  const ids = await jobs.enqueueMany(queue, Array.from({ length: 5 }, (_, i) => ({ i })));
  let started = 0;
  let finish!: () => void;
  const gate = new Promise<void>((r) => (finish = r));
  const w = work(queue, async () => {
    started++;
    await gate;
  }, { sql, concurrency: 1, batchSize: 5, log: quiet });
  await w.start();
  await until('the first handler to start', async () => started === 1);
  const stopping = w.stop({ timeoutMs: 5000 });
  setTimeout(finish, 200);
  await stopping;
  assert.equal(started, 1);
  const states = await Promise.all(ids.map((id) => jobs.get(id)));
  assert.equal(states.filter((j) => j?.state === 'completed').length, 1);
  const back = states.filter((j) => j?.state === 'queued');
  assert.equal(back.length, 4);
  assert.ok(back.every((j) => j?.attempts === 0 && j?.last_error === null), 'handed-back jobs must not look failed');
});

withDb('an idle worker is woken by NOTIFY, long before its polling interval', async (sql, jobs) => {
  const queue = q('wake');
  let got = 0;
  const w = work(queue, () => {
    got = Date.now();
  }, { sql, pollIntervalMs: 60000, log: quiet });
  await w.start();
  await new Promise((r) => setTimeout(r, 200)); // let the first (empty) claim finish and the worker sleep
  const sent = Date.now();
  await jobs.enqueue(queue, {});
  await until('the handler to run', async () => got > 0, 5000);
  await w.stop();
  assert.ok(got - sent < 2000, `woken after ${got - sent} ms`);
});

withDb('engine errors surface as ConveyorError naming the option', async (_sql, jobs) => {
  await assert.rejects(
    // deno-lint-ignore no-explicit-any
    () => jobs.enqueue(q('bad'), {}, { priorty: 5 } as any),
    (err: unknown) => err instanceof ConveyorError && err.code === 'unknown_option' && err.field === 'priorty',
  );
});

Deno.test('httpError maps upstream statuses: 429 with Retry-After, 4xx permanent, 5xx transient', () => {
  const r = httpError(429, 'too many', '7');
  assert.ok(r instanceof RateLimitedError && r.retryAfterMs === 7000);
  const d = httpError(429, 'too many', new Date(Date.now() + 5000).toUTCString());
  assert.ok(d instanceof RateLimitedError && d.retryAfterMs > 3000 && d.retryAfterMs <= 5000);
  assert.ok(httpError(422, 'invalid') instanceof PermanentError);
  const t = httpError(503, 'unavailable');
  assert.ok(!(t instanceof PermanentError) && !(t instanceof RateLimitedError));
});
