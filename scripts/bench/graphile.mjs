// graphile-worker adapter. Settings from its own docs (website/docs/performance.md, "Quick
// stats" / perfTest configuration: batching on, local queue 500, completion and failure
// batching with no delay) with concurrency 10, and the pool size its config docs recommend
// (max(10, concurrentJobs + 2)). New jobs wake the worker by LISTEN/NOTIFY; pollInterval (its
// default 2000 ms) only matters for future-dated jobs and retries.
// Completed jobs are deleted by graphile-worker, so "completed durably" = the row is gone.
import { pathToFileURL } from 'node:url';
import postgres from 'postgres';
import { log, pkgVersion, runWorkerProcess } from './lib.mjs';

export const name = 'graphile-worker';
export const database = 'bench_graphile';

const PROFILES = {
  // performance.md "Quick stats" configuration, concurrency 10 instead of 24
  perf: { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 },
  // performance.md "Batching" starting point
  batching: { localQueue: { size: 11 }, completeJobBatchDelay: 25, failJobBatchDelay: 25 },
  // library defaults (no batching)
  default: {},
};
const profile = process.env.BENCH_GRAPHILE_PROFILE || 'perf';

export const settings = {
  concurrentJobs: 10,
  maxPoolSize: 12,
  pollInterval: 2000,
  profile,
  ...PROFILES[profile],
  enqueue: 'workerUtils.addJobs (bulk), workerUtils.addJob (single)',
};

export function version() {
  return pkgVersion('graphile-worker');
}

const quietLogger = async () => {
  const { Logger } = await import('graphile-worker');
  return new Logger(() => (level, message) => {
    if (level === 'error' || level === 'warning') log('graphile.log', { level, message });
  });
};

function preset(url) {
  const { profile: _p, enqueue: _e, ...worker } = settings;
  return { worker: { connectionString: url, ...worker } };
}

export async function setup(url) {
  const { runMigrations } = await import('graphile-worker');
  await runMigrations({ connectionString: url, logger: await quietLogger() });
}

export async function producer(url, queue) {
  const { makeWorkerUtils } = await import('graphile-worker');
  const utils = await makeWorkerUtils({ connectionString: url, logger: await quietLogger() });
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  return {
    async enqueueBulk(payloads) {
      const jobs = await utils.addJobs(payloads.map((payload) => ({ identifier: queue, payload })));
      return jobs.length;
    },
    async enqueueOne(payload) {
      await utils.addJob(queue, payload);
    },
    async drained() {
      const [r] = await sql`select not exists (select 1 from graphile_worker._private_jobs) as done`;
      return r.done;
    },
    // graphile-worker deletes completed jobs: what is gone was completed (failures stay, with last_error)
    async completed(n) {
      const [r] = await sql`select count(*)::int as n from graphile_worker._private_jobs`;
      return n - r.n;
    },
    async close() {
      await utils.release();
      await sql.end();
    },
  };
}

async function prepareWorker(cfg) {
  const { run } = await import('graphile-worker');
  const logger = await quietLogger();
  let runner;
  return {
    async start(onJob) {
      const handler = async (payload) => {
        onJob(payload);
      };
      const p = preset(cfg.url);
      if (cfg.concurrency) p.worker.concurrentJobs = cfg.concurrency;
      runner = await run({ preset: p, logger, noHandleSignals: true, taskList: { [cfg.queue]: handler } });
    },
    async stop() {
      await runner?.stop();
    },
  };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href && process.argv[2] === 'worker') {
  await runWorkerProcess(prepareWorker);
}
