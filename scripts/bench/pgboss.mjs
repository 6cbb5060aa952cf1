// pg-boss adapter (v10: the latest major whose engines field admits Node 20). Settings from its
// own docs and maintainer guidance for v10: concurrency is "call work() N times" (each call adds
// one polling worker; teamSize/teamConcurrency were removed in v10), throughput comes from
// `batchSize` (the handler gets an array of jobs), and `pollingIntervalSeconds` is set to its
// documented minimum, 0.5 s. pg-boss has no LISTEN: a worker sleeps out the rest of its polling
// interval after every fetch, so one process completes at most
//   workers x batchSize / pollingIntervalSeconds  jobs per second (10 x 100 / 0.5 s = 2,000/s).
// Each handler call runs its batch one job after another, so at most 10 handlers run at once.
// pg-boss completes a batch after the handler resolves (not awaited by its loop); the harness
// counts state = 'completed' in pgboss.job (and pgboss.archive) before it stops the clock.
import { pathToFileURL } from 'node:url';
import postgres from 'postgres';
import { log, pkgVersion, runWorkerProcess } from './lib.mjs';

export const name = 'pg-boss';
export const database = 'bench_pgboss';

export const settings = {
  workers: 10, // work() calls per process = concurrency
  batchSize: Number(process.env.BENCH_PGBOSS_BATCH || 100),
  pollingIntervalSeconds: 0.5,
  max: 10, // pg pool size (pg-boss default)
  enqueue: 'boss.insert (bulk), boss.send (single)',
};

export function version() {
  return pkgVersion('pg-boss');
}

async function boss(url, opts = {}) {
  const { default: PgBoss } = await import('pg-boss');
  const b = new PgBoss({ connectionString: url, max: settings.max, ...opts });
  b.on('error', (err) => log('pgboss.error', { message: err.message }));
  await b.start();
  return b;
}

export async function setup(url) {
  const b = await boss(url, { supervise: false, schedule: false });
  await b.stop({ graceful: false, wait: true });
}

export async function producer(url, queue) {
  const b = await boss(url, { supervise: false, schedule: false, migrate: false });
  await b.createQueue(queue);
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  return {
    async enqueueBulk(payloads) {
      const ids = await b.insert(payloads.map((data) => ({ name: queue, data })));
      return ids?.length ?? payloads.length;
    },
    async enqueueOne(payload) {
      await b.send(queue, payload);
    },
    async drained() {
      const [r] = await sql`select not exists (select 1 from pgboss.job where name = ${queue} and state < 'completed') as done`;
      return r.done;
    },
    async completed() {
      const [r] = await sql`select (select count(*) from pgboss.job where name = ${queue} and state = 'completed')
                                 + (select count(*) from pgboss.archive where name = ${queue} and state = 'completed') as n`;
      return Number(r.n);
    },
    async close() {
      await b.stop({ graceful: false, wait: true });
      await sql.end();
    },
  };
}

async function prepareWorker(cfg) {
  const b = await boss(cfg.url); // a worker as a user runs it: supervision and scheduling on (defaults)
  return {
    async start(onJob) {
      const workers = cfg.concurrency ?? settings.workers;
      for (let k = 0; k < workers; k++) {
        await b.work(cfg.queue, { batchSize: settings.batchSize, pollingIntervalSeconds: settings.pollingIntervalSeconds }, async (jobs) => {
          for (const job of jobs) onJob(job.data);
        });
      }
    },
    async stop() {
      await b.stop({ graceful: true, wait: true, timeout: 5000 });
    },
  };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href && process.argv[2] === 'worker') {
  await runWorkerProcess(prepareWorker);
}
