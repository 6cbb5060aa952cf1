// A worker process for the engine's concurrency and crash tests (tests/e2e/engine-concurrency.test.ts).
//
//   node --import tsx tests/e2e/helpers/claimer.ts '<json config>'
//
// It speaks only the public SQL contract (jobs.claim, jobs.complete_many, jobs.counts) over ONE
// connection, like a real worker, and reports on stdout, one line per event (stdout to a pipe is
// synchronous on Linux, so a line written before a SIGKILL is never lost):
//   ready                      connected; waiting for `go` on stdin (unless waitForGo is false)
//   claimed {"ids":[...]}      (mode hang) the batch it now holds; then it hangs until killed
//   batch {...}                (mode drain) one claimed batch: ids, how many complete_many accepted,
//                              and with recordTimes the DB-clock interval the batch was held
//   done {...}                 totals and the DB clock when it stopped; the process exits 0 right after
//   error <message>            anything unexpected; the process exits 1
// It exits (3) as soon as its stdin closes, so it never outlives the test that started it.
// Config (JSON): see ClaimerConfig below.
import { connect } from './db.ts';

export interface ClaimerConfig {
  queue: string;
  worker: string;
  /** hang: claim one batch, report it, never finish it. drain: claim and complete until done. */
  mode: 'hang' | 'drain';
  /** max_jobs per jobs.claim call */
  batch: number;
  /** lock_ms passed to jobs.claim (null: the queue's default) */
  lockMs?: number | null;
  /** wait for a `go` line on stdin before the first claim, so several claimers start together */
  waitForGo?: boolean;
  /** hold each batch for a random time in [holdMinMs, holdMaxMs] before completing it */
  holdMinMs?: number;
  holdMaxMs?: number;
  /**
   * report, per batch, on the DB clock (epoch µs): `before` = read just before the claim statement,
   * `start` = read after the claim committed, `end` = read inside the completing transaction
   * before it commits. The claim happened inside [before, start]; [start, end] lies INSIDE the real
   * interval during which the jobs were running, so two such intervals that overlap prove a real
   * overlap.
   */
  recordTimes?: boolean;
  /** drain: stop after this long (from go) even if work remains; otherwise stop when nothing is left */
  durationMs?: number;
  /** drain: pause when a claim came back empty but work remains (locked, delayed or rate-limited) */
  idleMs?: number;
}

const config = JSON.parse(process.argv[2] ?? '{}') as ClaimerConfig;
const sql = connect({ max: 1, name: `claimer:${config.worker}` });

function emit(event: string, data?: unknown): void {
  process.stdout.write(data === undefined ? `${event}\n` : `${event} ${JSON.stringify(data)}\n`);
}

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// stdin carries `go` from the test, and its end means the test runner is gone: never outlive it
// (a hung claimer would otherwise sleep forever as an orphan).
let go: () => void = () => {};
const released = new Promise<void>((resolve) => {
  go = resolve;
});
function watchParent(): void {
  let buffered = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk: string) => {
    buffered += chunk;
    if (buffered.split('\n').some((line) => line.trim() === 'go')) go();
  });
  process.stdin.on('end', () => process.exit(3));
}

/** epoch microseconds of the DB clock, exact in a double until the year 2255 */
const CLOCK_US = `floor(extract(epoch from clock_timestamp()) * 1000000)::int8 as us`;

async function dbClock(): Promise<number> {
  return Number((await sql.unsafe(`select ${CLOCK_US}`))[0].us);
}

async function claim(): Promise<string[]> {
  const rows = await sql.unsafe(
    'select id from jobs.claim($1, $2, $3, $4)',
    [config.queue, config.worker, config.batch, config.lockMs ?? null] as never[],
  );
  return rows.map((r) => String(r.id));
}

/** Jobs of this queue waiting to be claimed, now or later (jobs.counts: queued + delayed). */
async function waiting(): Promise<number> {
  const [c] = await sql.unsafe('select * from jobs.counts($1)', [config.queue] as never[]);
  return c ? Number(c.queued) + Number(c.delayed) : 0;
}

async function drain(): Promise<void> {
  const holdMin = config.holdMinMs ?? 0;
  const holdMax = config.holdMaxMs ?? holdMin;
  const deadline = config.durationMs == null ? Infinity : Date.now() + config.durationMs;
  let claimed = 0;
  let completed = 0;
  let batches = 0;
  while (Date.now() < deadline) {
    let before: number | undefined;
    if (config.recordTimes) before = await dbClock();
    const ids = await claim();
    if (ids.length === 0) {
      // Nothing for us right now. Done when nothing is waiting any more: what is still running
      // belongs to live claimers (a crashed one's jobs are waiting again after rescue_stale).
      if (config.durationMs == null && (await waiting()) === 0) break;
      await pause(config.idleMs ?? 10);
      continue;
    }
    claimed += ids.length;
    batches += 1;
    let start: number | undefined;
    if (config.recordTimes) start = await dbClock();
    if (holdMax > 0) await pause(holdMin + Math.random() * (holdMax - holdMin));
    let end: number | undefined;
    let accepted: number;
    if (config.recordTimes) {
      const out = await sql.begin(async (tx) => {
        const [t] = await tx.unsafe(`select ${CLOCK_US}`);
        const [r] = await tx.unsafe('select jobs.complete_many($1::bigint[], $2) as n', [ids, config.worker] as never[]);
        return { end: Number(t.us), n: Number(r.n) };
      });
      end = out.end;
      accepted = out.n;
    } else {
      const [r] = await sql.unsafe('select jobs.complete_many($1::bigint[], $2) as n', [ids, config.worker] as never[]);
      accepted = Number(r.n);
    }
    completed += accepted;
    emit('batch', { ids, n: accepted, before, start, end });
  }
  emit('done', { claimed, completed, batches, stoppedAt: await dbClock() });
}

async function hang(): Promise<never> {
  const ids = await claim();
  emit('claimed', { ids });
  // Hold the jobs and the connection until SIGKILL: a worker that died mid-batch.
  setInterval(() => {}, 1 << 30);
  return new Promise<never>(() => {});
}

async function main(): Promise<void> {
  watchParent();
  await sql.unsafe('select 1');
  emit('ready');
  if (config.waitForGo !== false) await released;
  if (config.mode === 'hang') await hang();
  await drain();
  await sql.end({ timeout: 5 });
  process.exit(0);
}

main().catch((err: unknown) => {
  emit('error', err instanceof Error ? err.message : String(err));
  process.exit(1);
});
