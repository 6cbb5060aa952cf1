// pgbench floor: what this Postgres server does for the bare minimum of a queue, with no queue
// library in between. floor_claim_complete.sql claims a batch with SKIP LOCKED (one transaction)
// and deletes it by id (a second transaction), on floor_schema.sql's minimal table; pgbench's
// clients play the workers. Every claim returns a full batch (the table holds twice the jobs the
// run takes), so processed = clients x transactions x batch, checked against the table after.
// Reported: the best run of a small sweep (clients x batch), and one bulk INSERT ... SELECT for
// enqueue (best of 2).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { log, psql, ROOT } from './lib.mjs';

export const name = 'floor';
export const database = 'bench_floor';
const DIR = path.join(ROOT, 'scripts/bench');

export const settings = {
  tool: 'pgbench -n -M prepared',
  batchSweep: [100, 500], // conveyor's adapter claims 500 at a time
  clientsSweep: [1, 2, 4],
};

export function version() {
  const r = spawnSync('pgbench', ['--version'], { encoding: 'utf8' });
  return (r.stdout || '').trim();
}

function pgbench(url, args) {
  const r = spawnSync('pgbench', [...args, url], { encoding: 'utf8', env: { ...process.env, PGSSLMODE: 'disable' } });
  if (r.status !== 0) throw new Error(`pgbench ${args.join(' ')} failed: ${(r.stderr || r.stdout).trim()}`);
  const out = r.stdout;
  const num = (re) => {
    const m = out.match(re);
    return m ? Number(m[1]) : null;
  };
  return {
    txns: num(/number of transactions actually processed: (\d+)/),
    tps: num(/tps = ([\d.]+) \(without initial connection time\)/),
    latencyMs: num(/latency average = ([\d.]+) ms/),
  };
}

const remaining = (url) => Number(psql(url, 'select count(*) from floor_job').trim());

/** Runs the floor workloads on a fresh database; returns { enqueuePerSec, throughput, sweep }. */
export async function run(url, { n, cpu = async () => null }) {
  psql(url, path.join(DIR, 'floor_schema.sql'), { file: true });

  // bulk enqueue: one statement of n rows, best of 2
  const enq = [];
  for (let k = 0; k < 2; k++) {
    psql(url, 'truncate floor_job');
    const r = pgbench(url, ['-n', '-f', path.join(DIR, 'floor_enqueue.sql'), '-D', `n=${n}`, '-c', '1', '-t', '1']);
    enq.push(n / (r.latencyMs / 1000));
  }
  const enqueuePerSec = Math.max(...enq);
  log('floor.enqueue', { n, perSec: Math.round(enqueuePerSec) });

  const sweep = [];
  for (const batch of settings.batchSweep) for (const clients of settings.clientsSweep) {
    const txPerClient = Math.max(1, Math.round(n / (batch * clients)));
    const jobs = txPerClient * clients * batch;
    psql(url, `truncate floor_job; insert into floor_job (payload) select jsonb_build_object('i', g) from generate_series(0, ${2 * jobs - 1}) g; vacuum analyze floor_job;`);
    const c0 = await cpu();
    const r = pgbench(url, ['-n', '-M', 'prepared', '-f', path.join(DIR, 'floor_claim_complete.sql'), '-D', `batch=${batch}`,
      '-c', String(clients), '-j', String(Math.min(clients, 2)), '-t', String(txPerClient)]);
    await new Promise((r) => setTimeout(r, 200)); // pgbench's backends exit and are reaped: their CPU moves to the postmaster's children time
    const c1 = await cpu();
    const processed = 2 * jobs - remaining(url);
    const seconds = r.txns / r.tps;
    const perSec = processed / seconds;
    sweep.push({ clients, batch, jobs: processed, expected: jobs, seconds: +seconds.toFixed(3), perSec: Math.round(perSec),
      dbCpuMsPer1000Jobs: c0 == null ? null : +(((c1 - c0) * 1000) / jobs).toFixed(1) });
    log('floor.throughput', sweep.at(-1));
    if (processed !== jobs) throw new Error(`floor: processed ${processed} jobs, expected ${jobs}`);
  }
  const best = sweep.reduce((a, b) => (b.perSec > a.perSec ? b : a));
  return { enqueuePerSec, enqueueRuns: enq.map(Math.round), throughput: best.perSec, best, sweep };
}
