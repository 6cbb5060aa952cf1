// A real worker process for the shutdown tests: works QUEUE with the runtime and stops on
// SIGTERM/SIGINT through stopOnSignals. Prints JSON lines: {"event":"start","job":id} per job.
import postgres from 'postgres';
import { stopOnSignals, work } from '../../../functions/_shared/jobs/mod.ts';

const [queue, jobMs = '500', concurrency = '2', shutdownMs = '10000'] = process.argv.slice(2);
const sql = postgres(process.env.DATABASE_URL!, { max: 4, onnotice: () => {} });
const worker = work(queue, async (job) => {
  process.stdout.write(JSON.stringify({ event: 'start', job: job.id }) + '\n');
  await new Promise((r) => setTimeout(r, Number(jobMs)));
  return { done: job.id };
}, { sql, concurrency: Number(concurrency), batchSize: 10, shutdownTimeoutMs: Number(shutdownMs), log: () => {} });
stopOnSignals([worker as never], () => sql.end({ timeout: 2 }));
await worker.start();
process.stdout.write(JSON.stringify({ event: 'ready' }) + '\n');
