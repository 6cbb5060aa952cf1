// Conveyor adapter: the engine's own SQL contract (supabase/migrations/*jobs_engine*.sql) with
// postgres.js, in the shape of the runtime's work(queue, handler, {concurrency, batchSize}):
//   enqueue   select jobs.enqueue_many(queue, payloads) / select jobs.enqueue(queue, payload)
//   worker    claims batches (jobs.claim) into a local buffer, runs up to `concurrency` handlers,
//             completes in batches (jobs.complete_many) without a handler waiting for its
//             completion's round trip, LISTEN jobs.wake with a polling fallback.
// Two worker implementations, chosen with BENCH_CONVEYOR_IMPL (or `--conveyor=` of bench.mjs):
//   sql      workerLoop() below: the contract with nothing else, a reference for what
//            any client can get from the engine;
//   runtime  (default) the TypeScript runtime users run, functions/_shared/jobs `work(queue, handler,
//            { sql, concurrency, batchSize })`, loaded in the worker process with tsx.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import postgres from 'postgres';
import { log, nowMs, psql, ROOT, runWorkerProcess } from './lib.mjs';

export const name = 'conveyor';
export const database = 'bench_conveyor';
const WAKE_CHANNEL = 'jobs.wake';

export const impl = process.env.BENCH_CONVEYOR_IMPL || 'runtime';
if (!['sql', 'runtime'].includes(impl)) throw new Error(`BENCH_CONVEYOR_IMPL must be sql or runtime, not "${impl}"`);
/** Node flags of the worker process: the runtime is TypeScript. */
export const execArgv = impl === 'runtime' ? ['--import', 'tsx'] : [];

// BENCH_CONVEYOR_RETENTION=drop (default): retention.completed_ms = 0, completed jobs are deleted
// as graphile-worker deletes them; =keep: the default 7-day history in jobs.job_done.
const retention = process.env.BENCH_CONVEYOR_RETENTION || 'drop';
if (!['drop', 'keep'].includes(retention)) throw new Error(`BENCH_CONVEYOR_RETENTION must be drop or keep, not "${retention}"`);

export const settings = {
  worker: impl === 'runtime' ? 'functions/_shared/jobs work() (the runtime)' : 'scripts/bench/conveyor.mjs workerLoop() over the SQL contract',
  concurrency: 10,
  batchSize: Number(process.env.BENCH_CONVEYOR_BATCH || 500), // local buffer, as graphile-worker's localQueue 500
  pollIntervalMs: 1000, // fallback when no NOTIFY arrives
  listen: WAKE_CHANNEL,
  lockMs: null, // the queue's default lock (jobs.queue.lock_ms)
  connections: `postgres.js, max ${Number(process.env.BENCH_CONVEYOR_CONNECTIONS || 3)} per process (claims, completions, failures) + 1 LISTEN`,
  retention: retention === 'drop' ? 'completed jobs not kept (retention.completed_ms = 0, as graphile-worker)' : 'completed jobs kept 7 days in jobs.job_done (default)',
};

export function version() {
  const files = readdirSync(path.join(ROOT, 'supabase/migrations')).filter((f) => f.endsWith('.sql')).sort();
  return `engine @ ${files.filter((f) => f.includes('jobs')).at(-1) ?? files.at(-1)}`;
}

// pg_cron can only be created in the cluster's cron.database_name (`postgres`). This bench
// database gets a stub `cron` schema instead: cron.schedule/unschedule record the job in
// cron.job and never run it. The engine's enqueue/claim/complete paths do not use cron.
const CRON_STUB = `
create schema if not exists cron;
create table if not exists cron.job (
  jobid bigint generated always as identity primary key, jobname text unique, schedule text not null,
  command text not null, database text not null default current_database(),
  username text not null default current_user, active boolean not null default true);
create or replace function cron.schedule(job_name text, schedule text, command text) returns bigint
language sql as $$
  insert into cron.job (jobname, schedule, command) values ($1, $2, $3)
  on conflict (jobname) do update set schedule = excluded.schedule, command = excluded.command
  returning jobid $$;
create or replace function cron.schedule(schedule text, command text) returns bigint
language sql as $$ insert into cron.job (schedule, command) values ($1, $2) returning jobid $$;
create or replace function cron.unschedule(job_name text) returns boolean
language sql as $$ with d as (delete from cron.job where jobname = $1 returning 1) select count(*) > 0 from d $$;
create or replace function cron.unschedule(job_id bigint) returns boolean
language sql as $$ with d as (delete from cron.job where jobid = $1 returning 1) select count(*) > 0 from d $$;
`;

/** Fresh database: the local Supabase compatibility layer, the cron stub, then every migration. */
export async function setup(url) {
  psql(url, path.join(ROOT, 'sql/local/supabase_compat.sql'), { file: true });
  psql(url, CRON_STUB);
  const dir = path.join(ROOT, 'supabase/migrations');
  const files = readdirSync(dir).filter((f) => f.endsWith('.sql')).sort();
  for (const f of files) {
    const text = readFileSync(path.join(dir, f), 'utf8').replace(
      /^\s*create\s+extension\s+(if\s+not\s+exists\s+)?"?pg_cron"?[^;]*;/gim,
      '-- (bench: pg_cron stubbed in this database)',
    );
    try {
      psql(url, text);
    } catch (err) {
      throw new Error(`migration ${f}: ${err.message}`);
    }
  }
  log('conveyor.migrated', { migrations: files.length });
}

/** The harness's side: enqueue and check the database. */

export async function producer(url, queue) {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  await sql`select jobs.create_queue(${queue}, ${sql.json(retention === 'drop' ? { retention: { completed_ms: 0 } } : {})})`;
  return {
    async enqueueBulk(payloads) {
      const ids = await sql`select jobs.enqueue_many(${queue}, ${sql.json(payloads)}) as id`;
      return ids.length;
    },
    async enqueueOne(payload) {
      await sql`select jobs.enqueue(${queue}, ${sql.json(payload)})`;
    },
    async drained() {
      // both partial indexes (queued, running): cheap however many jobs are done
      const [r] = await sql`select not exists (select 1 from jobs.job where queue = ${queue} and state = 'queued')
                               and not exists (select 1 from jobs.job where queue = ${queue} and state = 'running') as done`;
      return r.done;
    },
    async completed(expected) {
      if (retention === 'keep') {
        const [r] = await sql`select count(*)::int as n from jobs.job_done where queue = ${queue} and state = 'completed'`;
        return r.n;
      }
      // completed jobs are deleted: none is left in jobs.job and none finished otherwise (failed,
      // cancelled); with the workers' per-id check (each handled exactly once) that is all completed
      const [r] = await sql`select (select count(*) from jobs.job where queue = ${queue})::int as active,
                                   (select count(*) from jobs.job_done where queue = ${queue})::int as finished`;
      return r.active === 0 && r.finished === 0 ? expected : -1;
    },
    close: () => sql.end(),
  };
}

// ------------------------------------------------------------------------------- worker process
function workerLoop(sql, queue, handler, { concurrency, batchSize, pollIntervalMs, lockMs }) {
  const workerId = `bench-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const buffer = []; // claimed, not started
  let running = 0;
  let pending = []; // completed by the handler, not yet by the database
  let flushing = null;
  let claiming = false;
  let empty = false; // the last claim came back short: wait for NOTIFY or the poll timer
  let wakeSeq = 0;
  let lastWakeAt = 0; // when the last NOTIFY arrived
  let stopping = false;
  let pollTimer = null;
  let listener = null;
  let fatal = null;

  const fail = (err) => {
    fatal = err;
    log('conveyor.worker.error', { message: err.message });
  };

  function flush() {
    if (flushing || pending.length === 0) return;
    const ids = pending;
    pending = [];
    flushing = sql`select jobs.complete_many(${'{' + ids.join(',') + '}'}::bigint[], ${workerId})`
      .catch(fail)
      .finally(() => {
        flushing = null;
        flush();
      });
  }

  async function claim() {
    if (claiming || stopping || empty) return;
    claiming = true;
    const seq = wakeSeq;
    const wakeAt = lastWakeAt;
    try {
      const want = Math.max(1, batchSize - buffer.length);
      const rows = await sql`select id, payload from jobs.claim(${queue}, ${workerId}, ${want}, ${lockMs})`;
      const claimedAt = nowMs();
      for (const r of rows) {
        r.wakeAt = wakeAt; // timing for the latency breakdown only
        r.claimedAt = claimedAt;
        buffer.push(r);
      }
      if (rows.length < want && seq === wakeSeq) empty = true;
    } catch (err) {
      fail(err);
    } finally {
      claiming = false;
    }
    pump();
  }

  function run(job) {
    running++;
    Promise.resolve()
      .then(() => handler(job))
      .then(
        () => pending.push(job.id),
        (err) => sql`select jobs.fail(${job.id}, ${workerId}, ${sql.json({ message: String(err?.message ?? err) })})`.catch(fail),
      )
      .finally(() => {
        running--;
        flush();
        pump();
      });
  }

  function pump() {
    while (running < concurrency && buffer.length > 0) run(buffer.shift());
    if (buffer.length < concurrency) void claim();
  }

  const wake = () => {
    wakeSeq++;
    empty = false;
    pump();
  };

  return {
    workerId,
    async start() {
      listener = await sql.listen(WAKE_CHANNEL, (q) => {
        if (q !== queue) return;
        lastWakeAt = nowMs();
        wake();
      });
      pollTimer = setInterval(wake, pollIntervalMs);
      wake();
    },
    async stop() {
      stopping = true;
      clearInterval(pollTimer);
      while (running > 0 || claiming || flushing || pending.length > 0) {
        flush();
        await new Promise((r) => setTimeout(r, 2));
      }
      if (buffer.length > 0) {
        const ids = buffer.splice(0).map((r) => r.id);
        await sql`select jobs.release(${'{' + ids.join(',') + '}'}::bigint[], ${workerId})`;
      }
      await listener?.unlisten();
      if (fatal) throw fatal;
    },
  };
}

async function prepareWorker(cfg) {
  const sql = postgres(cfg.url, { max: Number(process.env.BENCH_CONVEYOR_CONNECTIONS || 3), onnotice: () => {}, idle_timeout: 0 });
  await sql`select 1`;
  const concurrency = cfg.concurrency ?? settings.concurrency;
  let loop;
  if (impl === 'runtime') {
    const { work } = await import('../../functions/_shared/jobs/mod.ts');
    return {
      async start(onJob) {
        loop = work(cfg.queue, async (job) => onJob(job.payload), {
          sql,
          concurrency,
          batchSize: settings.batchSize,
          pollIntervalMs: settings.pollIntervalMs,
          log: (r) => r.level !== 'info' && log('conveyor.runtime', r),
        });
        await loop.start();
      },
      async stop() {
        await loop?.stop();
        await sql.end({ timeout: 5 });
      },
    };
  }
  return {
    async start(onJob) {
      loop = workerLoop(sql, cfg.queue, async (job) => onJob(job.payload, job), { ...settings, concurrency });
      await loop.start();
    },
    async stop() {
      await loop?.stop();
      await sql.end({ timeout: 5 });
    },
  };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href && process.argv[2] === 'worker') {
  await runWorkerProcess(prepareWorker);
}
