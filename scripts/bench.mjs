// `npm run bench`: Conveyor, graphile-worker and pg-boss side by side on the same Postgres
// server (each in its own freshly created database), plus the pgbench floor of that server.
// Method and how to reproduce: docs/benchmarks.md.
//
//   node scripts/bench.mjs [--quick] [--only=conveyor,graphile,pgboss,floor] [--n=20000]
//                          [--latency-jobs=500] [--rate=50]
//
// stdout: one results table. stderr: progress as JSON lines. Also writes
// .local/bench/results-<timestamp>.json.
import { fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as conveyor from './bench/conveyor.mjs';
import * as floor from './bench/floor.mjs';
import * as graphile from './bench/graphile.mjs';
import { BASE_URL, checkHandled, log, nowMs, percentile, recreateDatabase, ROOT, serverInfo, sleep } from './bench/lib.mjs';
import * as pgboss from './bench/pgboss.mjs';

// ------------------------------------------------------------------------------- options
const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const a = argv.find((x) => x === `--${name}` || x.startsWith(`--${name}=`));
  if (!a) return dflt;
  return a.includes('=') ? a.slice(a.indexOf('=') + 1) : true;
};
const quick = opt('quick', false) === true;
const N = Number(opt('n', quick ? 2000 : 20000));
const LAT_JOBS = Number(opt('latency-jobs', quick ? 100 : 500));
const RATE = Number(opt('rate', 50));
const CONCURRENCY = 10;
const ALIASES = { 'graphile-worker': 'graphile', 'pg-boss': 'pgboss', pgbench: 'floor' };
const only = String(opt('only', 'conveyor,graphile,pgboss,floor'))
  .split(',')
  .map((s) => s.trim())
  .map((s) => ALIASES[s] ?? s)
  .filter(Boolean);
const ADAPTERS = { conveyor, graphile, pgboss };
const FILES = { conveyor: 'conveyor.mjs', graphile: 'graphile.mjs', pgboss: 'pgboss.mjs' };
for (const s of only) {
  if (!ADAPTERS[s] && s !== 'floor') {
    console.error(`unknown system "${s}" in --only (use conveyor, graphile, pgboss, floor)`);
    process.exit(2);
  }
}
const DRAIN_TIMEOUT_MS = 120_000;

// ------------------------------------------------------------------------------- worker processes
function spawnWorker(system, cfg) {
  const child = fork(path.join(ROOT, 'scripts/bench', FILES[system]), ['worker'], {
    env: { ...process.env, BENCH_WORKER: JSON.stringify(cfg) },
    stdio: ['ignore', 2, 2, 'ipc'], // a library's own console output goes to stderr
  });
  const waiters = new Map();
  const early = new Map();
  let exited = null;
  child.on('message', (m) => {
    if (m.type === 'error') log('worker.error', { system, message: m.message });
    const w = waiters.get(m.type);
    if (w) {
      waiters.delete(m.type);
      w.resolve(m);
    } else early.set(m.type, m);
  });
  child.on('exit', (code) => {
    exited = code;
    for (const [type, w] of waiters) w.reject(new Error(`${system} worker exited (code ${code}) before "${type}"`));
    waiters.clear();
  });
  const next = (type, timeoutMs = 60_000) => {
    if (early.has(type)) {
      const m = early.get(type);
      early.delete(type);
      return Promise.resolve(m);
    }
    if (exited !== null) return Promise.reject(new Error(`${system} worker exited (code ${exited})`));
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`${system} worker: no "${type}" within ${timeoutMs} ms`)), timeoutMs);
      waiters.set(type, {
        resolve: (m) => {
          clearTimeout(t);
          resolve(m);
        },
        reject: (e) => {
          clearTimeout(t);
          reject(e);
        },
      });
    });
  };
  return { child, next, send: (m) => child.send(m), kill: () => exited === null && child.kill('SIGKILL') };
}

async function waitDrained(p, what) {
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  for (;;) {
    if (await p.drained()) return nowMs();
    if (Date.now() > deadline) throw new Error(`${what}: jobs still not completed after ${DRAIN_TIMEOUT_MS} ms`);
    await sleep(5);
  }
}

/** Starts `procs` worker processes on `queue`, waits until the database shows every job done. */
async function drain(system, url, p, queue, procs, n) {
  const workers = Array.from({ length: procs }, () => spawnWorker(system, { url, queue, concurrency: CONCURRENCY }));
  try {
    await Promise.all(workers.map((w) => w.next('ready')));
    const tGo = nowMs();
    for (const w of workers) w.send({ type: 'go' });
    await Promise.all(workers.map((w) => w.next('started')));
    const tDone = await waitDrained(p, `${system} ${queue}`);
    for (const w of workers) w.send({ type: 'stop' });
    const results = await Promise.all(workers.map((w) => w.next('result', 30_000)));
    const handled = results.flatMap((r) => r.handled);
    const starts = results.flatMap((r) => r.starts);
    const lat = results.flatMap((r) => r.lat);
    const firstStart = starts.reduce((a, b) => Math.min(a, b), Infinity);
    const check = checkHandled(n, handled);
    const completed = await p.completed(n);
    const perProcess = results.map((r) => r.handled.length);
    return { tGo, tDone, firstStart, check, completed, perProcess, lat };
  } finally {
    for (const w of workers) w.kill();
  }
}

const payloads = (n) => Array.from({ length: n }, (_, i) => ({ i }));

async function throughput(system, url, procs, queue) {
  const a = ADAPTERS[system];
  const p = await a.producer(url, queue);
  try {
    const jobs = payloads(N);
    const t0 = nowMs();
    const enqueued = await p.enqueueBulk(jobs);
    const enqueueMs = nowMs() - t0;
    if (enqueued !== N) throw new Error(`${system}: enqueued ${enqueued} of ${N}`);
    log('enqueue.bulk', { system, n: N, ms: +enqueueMs.toFixed(1), perSec: Math.round(N / (enqueueMs / 1000)) });
    const r = await drain(system, url, p, queue, procs, N);
    const seconds = (r.tDone - r.firstStart) / 1000;
    const out = {
      procs,
      n: N,
      enqueueMs: +enqueueMs.toFixed(1),
      enqueuePerSec: Math.round(N / (enqueueMs / 1000)),
      seconds: +seconds.toFixed(3),
      perSec: Math.round(N / seconds),
      perSecFromGo: Math.round(N / ((r.tDone - r.tGo) / 1000)),
      perProcess: r.perProcess,
      completedInDb: r.completed,
      check: r.check,
    };
    log('throughput', { system, ...out, check: undefined, ok: r.check.ok });
    if (!r.check.ok || r.completed !== N) out.error = `ids check failed or completed ${r.completed}/${N}`;
    return out;
  } finally {
    await p.close();
  }
}

async function latency(system, url, queue) {
  const a = ADAPTERS[system];
  const p = await a.producer(url, queue);
  const w = spawnWorker(system, { url, queue, concurrency: CONCURRENCY });
  try {
    await w.next('ready');
    w.send({ type: 'go' });
    await w.next('started');
    await sleep(1000); // idle: connected, listening/polling, nothing to do
    const t0 = nowMs();
    const interval = 1000 / RATE;
    for (let i = 0; i < LAT_JOBS; i++) {
      const due = t0 + i * interval;
      const wait = due - nowMs();
      if (wait > 0) await sleep(wait);
      await p.enqueueOne({ i, t: nowMs() });
    }
    await waitDrained(p, `${system} ${queue}`);
    w.send({ type: 'stop' });
    const r = await w.next('result', 30_000);
    const check = checkHandled(LAT_JOBS, r.handled);
    const sorted = [...r.lat].sort((x, y) => x - y);
    const round = (x) => (x === null ? null : +x.toFixed(2));
    const out = {
      jobs: LAT_JOBS,
      ratePerSec: RATE,
      p50: round(percentile(sorted, 50)),
      p95: round(percentile(sorted, 95)),
      p99: round(percentile(sorted, 99)),
      max: round(sorted.at(-1) ?? null),
      mean: round(sorted.reduce((s, x) => s + x, 0) / Math.max(1, sorted.length)),
      completedInDb: await p.completed(LAT_JOBS),
      check,
    };
    log('latency', { system, ...out, check: undefined, ok: check.ok });
    if (!check.ok || out.completedInDb !== LAT_JOBS) out.error = `ids check failed or completed ${out.completedInDb}/${LAT_JOBS}`;
    return out;
  } finally {
    w.kill();
    await p.close();
  }
}

async function benchSystem(system) {
  const a = ADAPTERS[system];
  const t0 = Date.now();
  const url = await recreateDatabase(a.database);
  await a.setup(url);
  log('setup', { system, database: a.database, ms: Date.now() - t0 });
  const res = { name: a.name, version: a.version(), settings: a.settings, database: a.database };
  res.throughput1 = await throughput(system, url, 1, 'bench_1');
  res.latency = await latency(system, url, 'bench_lat');
  res.throughput2 = await throughput(system, url, 2, 'bench_2');
  res.seconds = Math.round((Date.now() - t0) / 1000);
  return res;
}

// ------------------------------------------------------------------------------- report
const fmtInt = (x) => (x == null ? 'n/a' : Math.round(x).toLocaleString('en-US'));
const fmtMs = (x) => (x == null ? 'n/a' : x.toFixed(x < 10 ? 2 : 1));

function table(results) {
  const peers = ['graphile', 'pgboss'];
  const rows = [
    ['throughput, 1 process (jobs/s)', (r) => r.throughput1?.perSec, fmtInt, 'high', (f) => f?.throughput],
    ['throughput, 2 processes (jobs/s)', (r) => r.throughput2?.perSec, fmtInt, 'high', (f) => f?.throughput],
    ['bulk enqueue (jobs/s)', (r) => bestEnqueue(r), fmtInt, 'high', (f) => f?.enqueuePerSec],
    ['latency p50 (ms)', (r) => r.latency?.p50, fmtMs, 'low'],
    ['latency p95 (ms)', (r) => r.latency?.p95, fmtMs, 'low'],
    ['latency p99 (ms)', (r) => r.latency?.p99, fmtMs, 'low'],
  ];
  const header = ['metric', 'conveyor', 'graphile-worker', 'pg-boss', 'floor (pgbench)', 'conveyor / best peer'];
  const lines = [header];
  for (const [label, get, fmt, better, fget] of rows) {
    const v = (s) => (results[s] && !results[s].error ? get(results[s]) : null);
    const peerVals = peers.map(v).filter((x) => x != null);
    const best = peerVals.length ? (better === 'high' ? Math.max(...peerVals) : Math.min(...peerVals)) : null;
    const c = v('conveyor');
    const ratio = c != null && best ? `${(c / best).toFixed(2)}x ${better === 'high' ? '(higher is better)' : '(lower is better)'}` : 'n/a';
    const f = fget && results.floor && !results.floor.error ? fget(results.floor) : null;
    lines.push([label, fmt(c), fmt(v('graphile')), fmt(v('pgboss')), fget ? fmt(f) : 'n/a', ratio]);
  }
  const widths = header.map((_, k) => Math.max(...lines.map((l) => String(l[k]).length)));
  const fmtLine = (l) => '| ' + l.map((x, k) => (k === 0 ? String(x).padEnd(widths[k]) : String(x).padStart(widths[k]))).join(' | ') + ' |';
  const out = [fmtLine(lines[0]), '|' + widths.map((w, k) => (k === 0 ? ':' + '-'.repeat(w + 1) : '-'.repeat(w + 1) + ':')).join('|') + '|'];
  for (const l of lines.slice(1)) out.push(fmtLine(l));
  return out.join('\n');
}

function bestEnqueue(r) {
  const xs = [r.throughput1?.enqueuePerSec, r.throughput2?.enqueuePerSec].filter((x) => x != null);
  return xs.length ? Math.max(...xs) : null;
}

function targets(results) {
  const c = results.conveyor;
  const g = results.graphile;
  if (!c || !g || c.error || g.error) return [];
  const t = [
    ['throughput 1 process >= 2x graphile-worker', c.throughput1.perSec / g.throughput1.perSec, (x) => x >= 2],
    ['throughput 2 processes >= 2x graphile-worker', c.throughput2.perSec / g.throughput2.perSec, (x) => x >= 2],
    ['bulk enqueue >= 3x graphile-worker', bestEnqueue(c) / bestEnqueue(g), (x) => x >= 3],
    ['latency p50 <= 0.5x graphile-worker', c.latency.p50 / g.latency.p50, (x) => x <= 0.5],
    ['latency p99 <= 1x graphile-worker', c.latency.p99 / g.latency.p99, (x) => x <= 1],
  ];
  return t.map(([what, ratio, ok]) => `${ok(ratio) ? 'met    ' : 'NOT MET'}  ${what}: ${ratio.toFixed(2)}x`);
}

// ------------------------------------------------------------------------------- main
const started = new Date();
const results = {};
const meta = {
  started: started.toISOString(),
  command: `node scripts/bench.mjs ${argv.join(' ')}`.trim(),
  n: N,
  latencyJobs: LAT_JOBS,
  ratePerSec: RATE,
  concurrency: CONCURRENCY,
  server: { url: BASE_URL.replace(/:[^:@/]*@/, ':***@'), ...serverInfo() },
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, memGiB: Math.round(os.totalmem() / 2 ** 30), loadavg: os.loadavg(), node: process.version },
};
log('start', { systems: only, n: N, latencyJobs: LAT_JOBS, loadavg: meta.machine.loadavg });

let failed = false;
if (only.includes('floor')) {
  try {
    const url = await recreateDatabase(floor.database);
    results.floor = { name: 'floor', version: floor.version(), settings: floor.settings, database: floor.database, ...(await floor.run(url, { n: N })) };
  } catch (err) {
    failed = true;
    results.floor = { error: err.message };
    log('error', { system: 'floor', message: err.message });
  }
}
for (const system of ['conveyor', 'graphile', 'pgboss'].filter((s) => only.includes(s))) {
  log('system.start', { system });
  try {
    results[system] = await benchSystem(system);
    for (const k of ['throughput1', 'throughput2', 'latency']) if (results[system][k].error) failed = true;
  } catch (err) {
    failed = true;
    results[system] = { error: err.message };
    log('error', { system, message: err.stack || err.message });
  }
}
meta.finished = new Date().toISOString();
meta.seconds = Math.round((Date.now() - started.getTime()) / 1000);
meta.loadavgEnd = os.loadavg();

const dir = path.join(ROOT, '.local/bench');
mkdirSync(dir, { recursive: true });
const file = path.join(dir, `results-${started.toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(file, JSON.stringify({ meta, results }, null, 2) + '\n');

const versions = Object.values(results)
  .filter((r) => r.name)
  .map((r) => `${r.name} ${r.version}`)
  .join(', ');
console.log(`\nConveyor benchmark: ${N.toLocaleString('en-US')} no-op jobs, concurrency ${CONCURRENCY} per worker process; latency: ${LAT_JOBS} single jobs at ${RATE}/s to an idle worker`);
console.log(`Postgres ${meta.server.version} (synchronous_commit=${meta.server.synchronous_commit}, fsync=${meta.server.fsync}), ${meta.machine.cpus} cores, load ${meta.machine.loadavg.map((x) => x.toFixed(1)).join(' ')}`);
console.log(`${versions}\n`);
console.log(table(results));
const tg = targets(results);
if (tg.length) console.log('\nTargets (docs/benchmarks.md):\n' + tg.map((l) => '  ' + l).join('\n'));
for (const [s, r] of Object.entries(results)) {
  if (r.error) console.log(`\n${s}: FAILED: ${r.error}`);
  for (const k of ['throughput1', 'latency', 'throughput2']) {
    const c = r[k]?.check;
    if (c && !c.ok) console.log(`${s} ${k}: ${c.lost} lost, ${c.twice} ran more than once (e.g. lost ${c.lostSample}, twice ${c.twiceSample})`);
  }
}
console.log(`\nEvery job id checked: ${failed ? 'FAILURES above' : 'none lost, none run twice, all completed in the database'}. Results: ${path.relative(ROOT, file)}`);
process.exit(failed ? 1 : 0);
