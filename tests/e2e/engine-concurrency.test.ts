// The job engine under real concurrency and real crashes: separate worker PROCESSES
// (tests/e2e/helpers/claimer.ts) speaking the public SQL contract against a real database.
//
//   DATABASE_URL=postgresql://postgres@127.0.0.1:54322/postgres node --import tsx --test tests/e2e/engine-concurrency.test.ts
//
// Run by `npm test` (scripts/test.mjs sets DATABASE_URL to the local stack). Synchronisation is
// on events (a claimer's `ready` / `claimed` / `done` lines, process exit, a condition polled in
// the database), each under a timeout; nothing waits on a fixed sleep. The only fixed duration is
// the rate-limit test's measurement interval (claimers ask for 3.5 s, then stop). Every test works
// in its own uniquely named queue, removes that queue's rows afterwards and kills any claimer still
// alive, so the file can share a database with other suites.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, uniqueName, type Sql } from './helpers/db.ts';
import type { ClaimerConfig } from './helpers/claimer.ts';
import type { QueueCounts } from '../../functions/_shared/jobs/types.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLAIMER = path.join(ROOT, 'tests', 'e2e', 'helpers', 'claimer.ts');

const sql: Sql = connect({ max: 4, name: 'engine-concurrency.test' });
const live = new Set<Claimer>();

after(async () => {
  // never leave a worker behind, whatever happened
  await Promise.all([...live].map((c) => c.stop()));
  await sql.end({ timeout: 5 });
});

// ------------------------------------------------------------------------------ helpers

interface BatchLine {
  ids: string[];
  /** what complete_many returned for this batch */
  n: number;
  /** DB clock (epoch µs) before the claim statement was sent */
  before?: number;
  /** DB clock after the claim committed */
  start?: number;
  /** DB clock inside the completing transaction, before it committed */
  end?: number;
}
interface DoneLine {
  claimed: number;
  completed: number;
  batches: number;
  stoppedAt: number;
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `check` until it returns a value other than undefined, or fails after timeoutMs. */
async function eventually<T>(what: string, timeoutMs: number, intervalMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** One claimer child process and the events it printed. */
class Claimer {
  readonly child: ChildProcessWithoutNullStreams;
  readonly events: { event: string; data: unknown }[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private stderr = '';
  private listeners: (() => void)[] = [];
  private hasExited = false;

  constructor(readonly config: ClaimerConfig) {
    this.child = spawn(process.execPath, ['--import', 'tsx', CLAIMER, JSON.stringify(config)], {
      cwd: ROOT,
      env: process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    live.add(this);
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      const space = line.indexOf(' ');
      const event = space < 0 ? line : line.slice(0, space);
      const rest = space < 0 ? '' : line.slice(space + 1);
      let data: unknown = rest;
      if (rest.startsWith('{')) data = JSON.parse(rest);
      this.events.push({ event, data });
      for (const l of this.listeners) l();
    });
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.hasExited = true;
        live.delete(this);
        for (const l of this.listeners) l();
        resolve({ code, signal });
      });
    });
  }

  /** Resolves with the data of the first `event` line; rejects on exit without it or timeout. */
  waitFor<T>(event: string, timeoutMs: number): Promise<T> {
    const found = () => this.events.find((e) => e.event === event);
    return withTimeout(
      new Promise<T>((resolve, reject) => {
        const check = () => {
          const hit = found();
          if (hit) return resolve(hit.data as T);
          const error = this.events.find((e) => e.event === 'error');
          if (error || this.hasExited) {
            reject(new Error(`claimer ${this.config.worker} ended without "${event}": ${String(error?.data ?? '')} ${this.stderr}`));
          }
        };
        this.listeners.push(check);
        check();
      }),
      timeoutMs,
      `"${event}" from claimer ${this.config.worker}`,
    );
  }

  go(): void {
    this.child.stdin.write('go\n');
  }

  batches(): BatchLine[] {
    return this.events.filter((e) => e.event === 'batch').map((e) => e.data as BatchLine);
  }

  /** Waits for a clean exit (code 0) and returns its `done` totals. */
  async finished(timeoutMs: number): Promise<DoneLine> {
    const { code, signal } = await withTimeout(this.exited, timeoutMs, `claimer ${this.config.worker} to exit`);
    const error = this.events.find((e) => e.event === 'error');
    assert.equal(code, 0, `claimer ${this.config.worker} exited with ${code ?? signal}: ${String(error?.data ?? '')} ${this.stderr}`);
    const done = this.events.find((e) => e.event === 'done');
    assert.ok(done, `claimer ${this.config.worker} exited without a done line`);
    return done.data as DoneLine;
  }

  async stop(): Promise<void> {
    if (this.hasExited) return;
    this.child.kill('SIGKILL');
    await withTimeout(this.exited, 10_000, `claimer ${this.config.worker} to die`);
  }
}

/** Starts claimers, waits until every one is connected, then releases them together. */
async function startTogether(configs: ClaimerConfig[]): Promise<Claimer[]> {
  const claimers = configs.map((c) => new Claimer({ ...c, waitForGo: true }));
  await Promise.all(claimers.map((c) => c.waitFor('ready', 60_000)));
  for (const c of claimers) c.go();
  return claimers;
}

/** Kills any claimer still alive, then removes every row of the test queue (the engine has no drop-queue function). */
async function dropQueue(queue: string): Promise<void> {
  await Promise.all([...live].map((c) => c.stop()));
  await sql.begin(async (tx) => {
    await tx`delete from jobs.event where queue = ${queue}`;
    await tx`delete from jobs.job where queue = ${queue}`;
    await tx`delete from jobs.job_done where queue = ${queue}`;
    await tx`delete from jobs.queue where name = ${queue}`;
  });
}

type Counts = Omit<QueueCounts, 'queue'>;
async function counts(queue: string): Promise<Counts> {
  const rows = await sql`select * from jobs.counts(${queue})`;
  assert.equal(rows.length, 1, `jobs.counts(${queue}) returns one row`);
  const r = rows[0];
  return {
    queued: Number(r.queued),
    delayed: Number(r.delayed),
    running: Number(r.running),
    completed: Number(r.completed),
    failed: Number(r.failed),
    cancelled: Number(r.cancelled),
  };
}
const allCompleted = (n: number): Counts => ({ queued: 0, delayed: 0, running: 0, completed: n, failed: 0, cancelled: 0 });

/** Enqueues `n` jobs ({"i": 1..n}) in ONE statement; returns their ids. */
async function enqueueMany(queue: string, n: number, options: object = {}): Promise<string[]> {
  const rows = await sql`
    select id::text as id
      from jobs.enqueue_many(${queue},
                             (select jsonb_agg(jsonb_build_object('i', g) order by g) from generate_series(1, ${n}::int) g),
                             ${sql.json(options as never)}) as id`;
  return rows.map((r) => r.id as string);
}

/** Every id listed once, and how often each was seen. */
function tally(ids: Iterable<string>): Map<string, number> {
  const seen = new Map<string, number>();
  for (const id of ids) seen.set(id, (seen.get(id) ?? 0) + 1);
  return seen;
}

// ------------------------------------------------------------------------------ tests

describe('job engine under concurrent worker processes', () => {
  test('8 claimer processes draining 50,000 jobs handle every job exactly once and complete all of them', async (t) => {
    const queue = uniqueName('e2e_drain');
    try {
      const ids = await enqueueMany(queue, 50_000);
      assert.equal(ids.length, 50_000, 'enqueue_many returns one id per payload');
      assert.equal(new Set(ids).size, 50_000, 'enqueue_many returns distinct ids');

      const claimers = await startTogether(
        Array.from({ length: 8 }, (_, i) => ({ queue, worker: `${queue}:w${i}`, mode: 'drain' as const, batch: 100, lockMs: 120_000 })),
      );
      const started = Date.now();
      const done = await Promise.all(claimers.map((c) => c.finished(90_000)));
      const ms = Date.now() - started;
      t.diagnostic(`drained 50000 jobs in ${ms} ms (${Math.round(50_000 / (ms / 1000))} jobs/s incl. process exit); per claimer: ${done.map((d) => d.claimed).join(', ')}`);

      const batches = claimers.flatMap((c) => c.batches());
      const handled = tally(batches.flatMap((b) => b.ids));
      const duplicated = [...handled].filter(([, n]) => n > 1).map(([id]) => id);
      const missing = ids.filter((id) => !handled.has(id));
      const enqueued = new Set(ids);
      const foreign = [...handled.keys()].filter((id) => !enqueued.has(id));
      assert.deepEqual(duplicated.slice(0, 20), [], `${duplicated.length} jobs were handed to more than one claimer`);
      assert.deepEqual(missing.slice(0, 20), [], `${missing.length} jobs were never handed out`);
      assert.deepEqual(foreign.slice(0, 20), [], 'claim returned jobs of another queue');
      assert.equal(handled.size, 50_000);

      const refused = batches.filter((b) => b.n !== b.ids.length);
      assert.deepEqual(refused, [], 'complete_many accepts every job of a batch its claimer holds');
      assert.equal(done.reduce((s, d) => s + d.completed, 0), 50_000, 'completions reported by the claimers');
      for (const [i, d] of done.entries()) assert.ok(d.claimed > 0, `claimer w${i} got work (the claimers ran in parallel)`);

      assert.deepEqual(await counts(queue), allCompleted(50_000));
      const [h] = await sql`
        select count(*)::int as rows, count(distinct id)::int as ids,
               count(*) filter (where state = 'completed' and attempts = 1)::int as once
          from jobs.job_list where queue = ${queue}`;
      assert.deepEqual(h, { rows: 50_000, ids: 50_000, once: 50_000 }, 'each job completed once, on its first attempt');
    } finally {
      await dropQueue(queue);
    }
  });

  test('a claimer killed with SIGKILL mid-batch loses nothing: its jobs come back only after the lock expires and complete exactly once', async () => {
    const queue = uniqueName('e2e_kill');
    const lockMs = 2500;
    const deadWorker = `${queue}:doomed`;
    try {
      const ids = await enqueueMany(queue, 120);

      // a worker takes 50 jobs with a short lock, then hangs; we kill it without mercy
      const doomed = new Claimer({ queue, worker: deadWorker, mode: 'hang', batch: 50, lockMs, waitForGo: false });
      const { ids: held } = await doomed.waitFor<{ ids: string[] }>('claimed', 60_000);
      assert.equal(held.length, 50, 'the doomed claimer holds a full batch');
      doomed.child.kill('SIGKILL');
      assert.equal((await withTimeout(doomed.exited, 10_000, 'the doomed claimer to die')).signal, 'SIGKILL');

      const [claimInfo] = await sql`
        select count(*) filter (where j->>'state' = 'running' and (j->>'attempts')::int = 1)::int as running,
               min((j->>'started_at')::timestamptz) as first_start
          from unnest(${held}::bigint[]) id, jobs.get(id) j`;
      assert.equal(claimInfo.running, 50, "the dead worker's jobs are still running (locked) after its death");

      // Before the lock expires the dead worker's jobs stay locked: claim hands out only the other
      // 70, and rescue_stale leaves them alone. (Both statements also report whether they ran
      // before the earliest lock expiry: the lock is long enough that they do unless the machine
      // stalls for seconds, and an assertion says so rather than misreading a late run.)
      const expiresAt = sql`${claimInfo.first_start}::timestamptz + make_interval(secs => ${lockMs}::int / 1000.0)`;
      const probe = `${queue}:probe`;
      const [probed] = await sql`
        select array(select id::text from jobs.claim(${queue}, ${probe}, 1000, 60000) order by id) as ids,
               now() < ${expiresAt} as before_expiry`;
      assert.ok(probed.before_expiry, 'precondition: the probe claim ran before the dead worker\'s lock expired');
      assert.deepEqual(
        [...probed.ids].sort(),
        ids.filter((id) => !held.includes(id)).sort(),
        'claim returns every job except those the dead worker still holds',
      );
      const [probeDone] = await sql`select jobs.complete_many(${probed.ids}::bigint[], ${probe}) as n`;
      assert.equal(probeDone.n, 70);
      const [early] = await sql`select jobs.rescue_stale() as n, now() < ${expiresAt} as before_expiry`;
      const [stillRunning] = await sql`
        select count(*)::int as n from unnest(${held}::bigint[]) id, jobs.get(id) j where j->>'state' = 'running'`;
      assert.ok(early.before_expiry, 'precondition: the early rescue_stale ran before the dead worker\'s lock expired');
      assert.equal(stillRunning.n, 50, 'rescue_stale before the lock expired rescued nothing of ours');

      // once the locks expire, rescue_stale returns them to the queue (pg_cron may beat us to it)
      await eventually('the dead worker\'s jobs to be rescued', 20_000, 100, async () => {
        await sql`select jobs.rescue_stale()`;
        const [r] = await sql`
          select count(*) filter (where j->>'state' = 'queued')::int as queued
            from unnest(${held}::bigint[]) id, jobs.get(id) j`;
        return r.queued === 50 ? true : undefined;
      });
      const rescued = await sql`
        select id::text as id, j->>'state' as state, (j->>'attempts')::int as attempts,
               j->'last_error'->>'code' as code, j->'last_error'->>'worker_id' as worker,
               (j->'last_error'->>'attempt')::int as attempt,
               (j->'last_error'->>'at')::timestamptz >= (j->>'started_at')::timestamptz
                 + make_interval(secs => ${lockMs}::int / 1000.0) as after_expiry
          from unnest(${held}::bigint[]) id, jobs.get(id) j`;
      for (const r of rescued) {
        assert.deepEqual(
          { state: r.state, attempts: r.attempts, code: r.code, worker: r.worker, attempt: r.attempt, after_expiry: r.after_expiry },
          { state: 'queued', attempts: 1, code: 'lock_expired', worker: deadWorker, attempt: 1, after_expiry: true },
          `job ${r.id} was rescued after its lock expired, with the attempt counted and a lock_expired error`,
        );
      }

      // the dead worker, should it come back, can no longer finish its jobs: not while they wait
      // in the queue, and not while another worker holds one of them
      const [late] = await sql`
        select jobs.complete(${held[0]}::bigint, ${deadWorker}) as one,
               jobs.complete_many(${held}::bigint[], ${deadWorker}) as many`;
      assert.deepEqual({ one: late.one, many: late.many }, { one: false, many: 0 }, 'a late complete by the dead worker changes nothing');
      assert.deepEqual(await counts(queue), { queued: 50, delayed: 0, running: 0, completed: 70, failed: 0, cancelled: 0 });
      const rival = `${queue}:rival`;
      const [taken] = await sql`select id::text as id, attempt from jobs.claim(${queue}, ${rival}, 1, 60000)`;
      assert.ok(held.includes(taken.id), 'the rescued jobs are claimable again');
      assert.equal(taken.attempt, 2, 'the claim after a rescue is the second attempt');
      const [stolen] = await sql`
        select jobs.complete(${taken.id}::bigint, ${deadWorker}) as one,
               jobs.complete_many(${held}::bigint[], ${deadWorker}) as many`;
      assert.deepEqual({ one: stolen.one, many: stolen.many }, { one: false, many: 0 }, "the dead worker cannot complete a job another worker now holds");
      const [takenJob] = await sql`select j->>'state' as state from jobs.get(${taken.id}::bigint) j`;
      assert.equal(takenJob.state, 'running', "the dead worker's late complete left the rival's job running");
      const [rivalDone] = await sql`select jobs.complete(${taken.id}::bigint, ${rival}) as ok`;
      assert.equal(rivalDone.ok, true);

      // a healthy claimer process finishes the rest
      const healthy = new Claimer({ queue, worker: `${queue}:healthy`, mode: 'drain', batch: 20, lockMs: 60_000, waitForGo: false });
      const done = await healthy.finished(60_000);
      const healed = healthy.batches().flatMap((b) => b.ids);
      assert.deepEqual([...healed].sort(), held.filter((id) => id !== taken.id).sort(), "the healthy claimer got the rest of the dead worker's jobs, each once");
      assert.equal(done.completed, 49);

      const final = await sql`
        select id::text as id, j->>'state' as state, (j->>'attempts')::int as attempts
          from unnest(${ids}::bigint[]) id, jobs.get(id) j order by id`;
      for (const r of final) {
        const expected = held.includes(r.id) ? 2 : 1;
        assert.deepEqual({ state: r.state, attempts: r.attempts }, { state: 'completed', attempts: expected }, `job ${r.id}`);
      }
      const [rows] = await sql`select count(*)::int as rows, count(distinct id)::int as ids from jobs.job_list where queue = ${queue}`;
      assert.deepEqual({ rows: rows.rows, ids: rows.ids }, { rows: 120, ids: 120 }, 'one record per job: completion recorded once');
      assert.deepEqual(await counts(queue), allCompleted(120));
      const [again] = await sql`select jobs.complete(${held[1]}::bigint, ${deadWorker}) as ok`;
      assert.equal(again.ok, false, "the dead worker's complete is refused after the job completed, too");
    } finally {
      await dropQueue(queue);
    }
  });

  test('group_concurrency 1 never runs two jobs of the same group at once, sampled live and by per-job intervals', async (t) => {
    const queue = uniqueName('e2e_group');
    const groups = Array.from({ length: 10 }, (_, i) => `g${i}`);
    const perGroup = 24;
    try {
      await sql`select jobs.create_queue(${queue}, ${sql.json({ group_concurrency: 1 })})`;
      const groupOf = new Map<string, string>();
      for (const g of groups) {
        for (const id of await enqueueMany(queue, perGroup, { group_key: g })) groupOf.set(id, g);
      }

      const claimers = await startTogether(
        Array.from({ length: 4 }, (_, i) => ({
          queue, worker: `${queue}:w${i}`, mode: 'drain' as const, batch: 4, lockMs: 60_000,
          holdMinMs: 2, holdMaxMs: 8, recordTimes: true,
        })),
      );

      // sample the running set from a separate connection until every claimer has exited; one
      // statement sees one instant (its snapshot). It reads the hot table jobs.job, where running
      // jobs live, because the public view jobs.job_list also scans the whole history and would
      // sample far less often. Deliberately no filter but queue and state: every running job counts.
      let running = true;
      const all = Promise.all(claimers.map((c) => c.finished(60_000))).finally(() => {
        running = false;
      });
      all.catch(() => {}); // reported by `await all` below; never an unhandled rejection if sampling throws
      let samples = 0;
      let maxGroupsRunning = 0;
      const violations: unknown[] = [];
      while (running) {
        const rows = await sql`
          select group_key, count(*)::int as n from jobs.job
           where queue = ${queue} and state = 'running' group by group_key`;
        samples += 1;
        maxGroupsRunning = Math.max(maxGroupsRunning, rows.length);
        for (const r of rows) if (r.n > 1) violations.push({ sample: samples, group: r.group_key, running: r.n });
      }
      const done = await all;

      // per-job intervals: [start, end] lies inside the time the job really was running, so an
      // overlap between two of them is a real overlap
      const intervals = claimers.flatMap((c) =>
        c.batches().flatMap((b) => b.ids.map((id) => ({ id, group: groupOf.get(id) ?? '?', start: b.start!, end: b.end!, worker: c.config.worker }))),
      );
      assert.equal(intervals.length, groups.length * perGroup, 'every job was handled');
      assert.equal(tally(intervals.map((i) => i.id)).size, groups.length * perGroup, 'each job handled once');
      assert.equal(done.reduce((s, d) => s + d.completed, 0), groups.length * perGroup);
      const overlaps: unknown[] = [];
      for (const g of groups) {
        const mine = intervals.filter((i) => i.group === g).sort((a, b) => a.start - b.start);
        assert.equal(mine.length, perGroup);
        for (let k = 1; k < mine.length; k++) {
          if (mine[k].start < mine[k - 1].end) overlaps.push({ group: g, first: mine[k - 1], second: mine[k] });
        }
      }
      t.diagnostic(`${samples} samples, at most ${maxGroupsRunning} groups running at once`);
      assert.deepEqual(
        { samplesWithTwoRunningInAGroup: violations.length, overlappingIntervals: overlaps.length },
        { samplesWithTwoRunningInAGroup: 0, overlappingIntervals: 0 },
        `two jobs of one group ran at once: ${JSON.stringify({ violations: violations.slice(0, 3), overlaps: overlaps.slice(0, 3) })}`,
      );
      assert.ok(samples >= 20, `the sampler looked often enough (${samples} samples)`);
      assert.ok(maxGroupsRunning >= 2, `jobs of different groups did run in parallel (max ${maxGroupsRunning} groups at once)`);
      const crossGroup = intervals.some((a) => intervals.some((b) => a.group !== b.group && a.start < b.end && b.start < a.end));
      assert.ok(crossGroup, 'jobs of different groups overlapped (the check above could have failed)');
      assert.deepEqual(await counts(queue), allCompleted(groups.length * perGroup));
    } finally {
      await dropQueue(queue);
    }
  });

  test('rate_limit {"limit":20,"interval_ms":1000} holds in every sliding 1 s window and still grants close to 20 per second', async (t) => {
    const queue = uniqueName('e2e_rate');
    const limit = 20;
    const intervalUs = 1_000_000;
    const durationMs = 3500;
    try {
      await sql`select jobs.create_queue(${queue}, ${sql.json({ rate_limit: { limit, interval_ms: intervalUs / 1000 } })})`;
      await enqueueMany(queue, 400);

      const claimers = await startTogether(
        Array.from({ length: 4 }, (_, i) => ({
          queue, worker: `${queue}:w${i}`, mode: 'drain' as const, batch: 8, lockMs: 60_000,
          recordTimes: true, durationMs, idleMs: 2,
        })),
      );
      const done = await Promise.all(claimers.map((c) => c.finished(60_000)));

      // Each claim happened inside [before, start] on the DB clock (before: read just before the
      // claim statement; start: read just after it committed).
      const claims = claimers.flatMap((c) => c.batches()).map((b) => ({ n: b.ids.length, before: b.before!, after: b.start! }));
      const total = claims.reduce((s, c) => s + c.n, 0);
      assert.ok(claims.every((c) => c.n <= limit), 'no single claim exceeds the limit');
      assert.equal(done.reduce((s, d) => s + d.completed, 0), total, 'every claimed job completed');

      // Safety, sound: claims whose brackets all fit in [t, t + interval) were certainly made in
      // one window of interval length; at most `limit` jobs may be among them.
      claims.sort((a, b) => a.before - b.before);
      let worst = { jobs: 0, from: 0 };
      for (const first of claims) {
        const inWindow = claims.filter((c) => c.before >= first.before && c.after < first.before + intervalUs);
        const jobs = inWindow.reduce((s, c) => s + c.n, 0);
        if (jobs > worst.jobs) worst = { jobs, from: first.before };
      }
      assert.ok(worst.jobs <= limit, `at most ${limit} jobs claimed within any ${intervalUs / 1000} ms (saw ${worst.jobs})`);

      // Liveness: over the measured span the claimers, always asking, got close to the maximum a
      // sliding window allows (limit per started interval), not starved.
      const t0 = claims[0].before;
      const tStop = Math.min(...done.map((d) => d.stoppedAt));
      const spanUs = tStop - t0;
      assert.ok(spanUs > 3 * intervalUs, `measured over more than 3 intervals (${spanUs / 1000} ms)`);
      const ceiling = limit * Math.ceil(spanUs / intervalUs);
      const claimedInSpan = claims.filter((c) => c.after <= tStop).reduce((s, c) => s + c.n, 0);
      t.diagnostic(`${total} jobs in ${claims.length} claims; busiest ${intervalUs / 1000} ms window: ${worst.jobs}; ${claimedInSpan} in ${Math.round(spanUs / 1000)} ms (allowed ${ceiling})`);
      assert.ok(
        claimedInSpan >= ceiling - limit / 2,
        `claimed ${claimedInSpan} jobs in ${Math.round(spanUs / 1000)} ms; the limit allows ${ceiling}`,
      );
    } finally {
      await dropQueue(queue);
    }
  });
  test('a queue made group-limited while a transaction is still enqueuing to it honours the limit for those jobs too', async () => {
    const queue = uniqueName('late-limit');
    try {
      await sql`select jobs.create_queue(${queue}, '{}')`;
      const other = connect({ max: 1, name: 'late-limit' });
      try {
        await sql.begin(async (tx) => {
          await tx`select jobs.enqueue(${queue}, '{}', '{"group_key":"shop-1"}')`;
          await tx`select jobs.enqueue(${queue}, '{}', '{"group_key":"shop-1"}')`;
          // another session limits the queue while these inserts are uncommitted
          await other`select jobs.update_queue(${queue}, '{"group_concurrency":1}')`;
        });
      } finally {
        await other.end();
      }
      const a = await sql`select id from jobs.claim(${queue}, 'w1', 1)`;
      const b = await sql`select id from jobs.claim(${queue}, 'w2', 1)`;
      assert.equal(a.length, 1, 'the first claim gets a job');
      assert.equal(b.length, 0, 'the second job of group shop-1 must wait while the first runs');
    } finally {
      await dropQueue(queue);
    }
  });
});
