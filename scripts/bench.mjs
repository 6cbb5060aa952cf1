// `npm run bench`: Conveyor, graphile-worker and pg-boss side by side on the same Postgres
// server (each in its own freshly created database), plus the pgbench floor of that server.
// Method and how to reproduce: docs/benchmarks.md.
//
//   node scripts/bench.mjs [--quick] [--only=conveyor,graphile,pgboss,floor] [--n=20000]
//                          [--latency-jobs=500] [--rate=50] [--repeat=3] [--conveyor=sql|runtime]
//
// stdout: one results table. stderr: progress as JSON lines. Also writes
// .local/bench/results-<timestamp>.json.
import { fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { baseUrl, checkHandled, clusterCpuMs, cpuMsOf, log, nowMs, percentile, recreateDatabase, ROOT, serverInfo, sleep } from './bench/lib.mjs';

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
// the floor runs take a fraction of a second at N: three times N steadies them
const FLOOR_N = Number(opt('floor-n', 3 * N));
// throughput workloads (and their bulk enqueues) run REPEAT times; the table shows medians
const REPEAT = Math.max(1, Number(opt('repeat', quick ? 1 : 3)));
const CONCURRENCY = 10;
const ALIASES = { 'graphile-worker': 'graphile', 'pg-boss': 'pgboss', pgbench: 'floor' };
const only = String(opt('only', 'conveyor,graphile,pgboss,floor'))
  .split(',')
  .map((s) => s.trim())
  .map((s) => ALIASES[s] ?? s)
  .filter(Boolean);
// Conveyor's worker: `sql` (the adapter's own loop over the SQL contract) or `runtime`
// (functions/_shared/jobs work()); worker processes inherit the choice through the environment.
const conveyorImpl = opt('conveyor', process.env.BENCH_CONVEYOR_IMPL || 'runtime');
process.env.BENCH_CONVEYOR_IMPL = conveyorImpl;
const conveyor = await import('./bench/conveyor.mjs');
const floor = await import('./bench/floor.mjs');
const graphile = await import('./bench/graphile.mjs');
const pgboss = await import('./bench/pgboss.mjs');
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
    execArgv: ADAPTERS[system].execArgv ?? [],
    stdio: ['ignore', 2, 2, 'ipc'], // a library's own console output goes to stderr
  });
  const waiters = new Map();
  const early = new Map();
  let exited = null;
  const state = { handled: 0 };
  child.on('message', (m) => {
    if (m.type === 'progress') {
      state.handled = m.handled;
      return;
    }
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
  return { child, state, next, send: (m) => child.send(m), kill: () => exited === null && child.kill('SIGKILL') };
}

/**
 * Waits until the workers report n handler calls, then polls the database (every 2 ms) until it
 * shows every job completed; returns that time. The database is not polled before: a poll every
 * few ms for the whole run would take CPU from the system under test on a small machine.
 */
async function waitDrained(p, what, workers, n) {
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  while (workers.reduce((s, w) => s + w.state.handled, 0) < n) {
    if (Date.now() > deadline) throw new Error(`${what}: ${workers.reduce((s, w) => s + w.state.handled, 0)} of ${n} jobs handled after ${DRAIN_TIMEOUT_MS} ms`);
    await sleep(2);
  }
  for (;;) {
    if (await p.drained()) return nowMs();
    if (Date.now() > deadline) throw new Error(`${what}: jobs still not completed after ${DRAIN_TIMEOUT_MS} ms`);
    await sleep(2);
  }
}

/** Starts `procs` worker processes on `queue`, waits until the database shows every job done. */
async function drain(system, url, p, queue, procs, n) {
  const workers = Array.from({ length: procs }, () => spawnWorker(system, { url, queue, concurrency: CONCURRENCY }));
  try {
    await Promise.all(workers.map((w) => w.next('ready')));
    const pids = workers.map((w) => w.child.pid);
    const cpu0 = { db: await clusterCpuMs(admin), workers: cpuMsOf(pids), harness: process.cpuUsage() };
    const tGo = nowMs();
    for (const w of workers) w.send({ type: 'go' });
    await Promise.all(workers.map((w) => w.next('started')));
    const tDone = await waitDrained(p, `${system} ${queue}`, workers, n);
    const cpu1 = { db: await clusterCpuMs(admin), workers: cpuMsOf(pids), harness: process.cpuUsage(cpu0.harness) };
    const cpu = {
      wallMs: Math.round(tDone - tGo),
      dbMs: cpu0.db == null ? null : Math.round(cpu1.db - cpu0.db),
      workersMs: Math.round(cpu1.workers - cpu0.workers),
      harnessMs: Math.round((cpu1.harness.user + cpu1.harness.system) / 1000),
    };
    for (const w of workers) w.send({ type: 'stop' });
    const results = await Promise.all(workers.map((w) => w.next('result', 30_000)));
    const handled = results.flatMap((r) => r.handled);
    const starts = results.flatMap((r) => r.starts);
    const lat = results.flatMap((r) => r.lat);
    const firstStart = starts.reduce((a, b) => Math.min(a, b), Infinity);
    const check = checkHandled(n, handled);
    const completed = await p.completed(n);
    const perProcess = results.map((r) => r.handled.length);
    return { tGo, tDone, firstStart, check, completed, perProcess, lat, cpu };
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
      // CPU from "go" to "all completed", whole Postgres cluster and the worker processes
      cpu: r.cpu,
      cpuMsPer1000Jobs: { db: r.cpu.dbMs == null ? null : +((r.cpu.dbMs * 1000) / N).toFixed(1), workers: +((r.cpu.workersMs * 1000) / N).toFixed(1) },
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
    const calls = [];
    for (let i = 0; i < LAT_JOBS; i++) {
      const due = t0 + i * interval;
      const wait = due - nowMs();
      if (wait > 0) await sleep(wait);
      const t = nowMs();
      await p.enqueueOne({ i, t });
      calls.push(nowMs() - t);
    }
    await waitDrained(p, `${system} ${queue}`, [w], LAT_JOBS);
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
      // the producer's enqueue call, commit included (the job can be seen only after it)
      enqueueCallP50: round(percentile([...calls].sort((x, y) => x - y), 50)),
      completedInDb: await p.completed(LAT_JOBS),
      check,
    };
    if (r.parts.length) {
      const p50 = (k) => round(percentile(r.parts.map((x) => x[k]).sort((x, y) => x - y), 50));
      out.breakdownP50 = { enqueueToWakeup: p50(0), claim: p50(1), claimToHandler: p50(2), jobs: r.parts.length };
    }
    log('latency', { system, ...out, check: undefined, ok: check.ok });
    if (!check.ok || out.completedInDb !== LAT_JOBS) out.error = `ids check failed or completed ${out.completedInDb}/${LAT_JOBS}`;
    return out;
  } finally {
    w.kill();
    await p.close();
  }
}

/**
 * Untimed, before every workload: VACUUM ANALYZE the system's database, so each run starts from
 * the same clean state instead of inheriting the previous run's dead rows (every system here
 * deletes or rewrites a row per job; without it later runs measure autovacuum's timing).
 */
async function vacuum(url) {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe('vacuum analyze');
  } finally {
    await sql.end();
  }
}

const medianOf = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : null;
};
const median = (runs) => {
  const m = medianOf(runs.map((r) => r.perSec));
  return runs.find((r) => r.perSec === m);
};
const summary = (r) => ({ perSec: r.perSec, enqueuePerSec: r.enqueuePerSec, seconds: r.seconds, cpuMsPer1000Jobs: r.cpuMsPer1000Jobs, ok: r.check.ok && !r.error });

async function benchSystem(system) {
  const a = ADAPTERS[system];
  const t0 = Date.now();
  const url = await recreateDatabase(a.database);
  await a.setup(url);
  log('setup', { system, database: a.database, ms: Date.now() - t0 });
  const res = { name: a.name, version: a.version(), settings: a.settings, database: a.database };
  const runs1 = [];
  const runs2 = [];
  for (let r = 1; r <= REPEAT; r++) {
    await vacuum(url);
    runs1.push(await throughput(system, url, 1, `bench_1_${r}`));
    await vacuum(url);
    runs2.push(await throughput(system, url, 2, `bench_2_${r}`));
  }
  await vacuum(url);
  res.latency = await latency(system, url, 'bench_lat');
  // the median run of each (its ids check is the one shown); every run is kept, and checked
  res.throughput1 = { ...median(runs1), runs: runs1.map(summary) };
  res.throughput2 = { ...median(runs2), runs: runs2.map(summary) };
  res.enqueuePerSec = medianOf([...runs1, ...runs2].map((x) => x.enqueuePerSec));
  const bad = [...runs1, ...runs2].find((x) => x.error);
  if (bad) res.throughput1.error = bad.error;
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
    ['bulk enqueue (jobs/s)', (r) => medianEnqueue(r), fmtInt, 'high', (f) => f?.enqueuePerSec],
    ['latency p50 (ms)', (r) => r.latency?.p50, fmtMs, 'low'],
    ['latency p95 (ms)', (r) => r.latency?.p95, fmtMs, 'low'],
    ['latency p99 (ms)', (r) => r.latency?.p99, fmtMs, 'low'],
  ];
  const header = ['metric', `conveyor (${conveyorImpl})`, 'graphile-worker', 'pg-boss', 'floor (pgbench)', 'conveyor / best peer'];
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

function medianEnqueue(r) {
  return r.enqueuePerSec ?? null;
}

function targets(results) {
  const c = results.conveyor;
  const g = results.graphile;
  if (!c || !g || c.error || g.error) return [];
  const t = [
    ['throughput 1 process >= 2x graphile-worker', c.throughput1.perSec / g.throughput1.perSec, (x) => x >= 2],
    ['throughput 2 processes >= 2x graphile-worker', c.throughput2.perSec / g.throughput2.perSec, (x) => x >= 2],
    ['bulk enqueue >= 3x graphile-worker', medianEnqueue(c) / medianEnqueue(g), (x) => x >= 3],
    ['latency p50 <= 0.5x graphile-worker', c.latency.p50 / g.latency.p50, (x) => x <= 0.5],
    ['latency p99 <= 1x graphile-worker', c.latency.p99 / g.latency.p99, (x) => x <= 1],
  ];
  return t.map(([what, ratio, ok]) => `${ok(ratio) ? 'met    ' : 'NOT MET'}  ${what}: ${ratio.toFixed(2)}x`);
}

// ------------------------------------------------------------------------------- main
if (!process.env.DATABASE_URL) {
  // the local stack's cluster: start it (Postgres only) if it is not running
  const stack = await import('./lib/stack.mjs');
  await stack.startPostgres();
  process.env.DATABASE_URL = stack.config().dbUrl;
}
const started = new Date();
const results = {};
const meta = {
  started: started.toISOString(),
  command: `node scripts/bench.mjs ${argv.join(' ')}`.trim(),
  n: N,
  floorN: FLOOR_N,
  latencyJobs: LAT_JOBS,
  repeat: REPEAT,
  ratePerSec: RATE,
  concurrency: CONCURRENCY,
  conveyorWorker: conveyorImpl,
  server: { url: baseUrl().replace(/:[^:@/]*@/, ':***@'), ...serverInfo() },
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, memGiB: Math.round(os.totalmem() / 2 ** 30), loadavg: os.loadavg(), node: process.version },
};
log('start', { systems: only, n: N, latencyJobs: LAT_JOBS, loadavg: meta.machine.loadavg });

let failed = false;
const admin = postgres(baseUrl(), { max: 1, onnotice: () => {} });
if (only.includes('floor')) {
  try {
    const url = await recreateDatabase(floor.database);
    results.floor = { name: 'floor', version: floor.version(), settings: floor.settings, database: floor.database, ...(await floor.run(url, { n: FLOOR_N, cpu: () => clusterCpuMs(admin) })) };
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
await admin.end();
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
const cpuRows = ['conveyor', 'graphile', 'pgboss']
  .filter((s) => results[s]?.throughput1?.cpuMsPer1000Jobs)
  .map((s) => {
    const f = (k) => `${fmtMs(results[s][k].cpuMsPer1000Jobs.db)} db + ${fmtMs(results[s][k].cpuMsPer1000Jobs.workers)} worker`;
    return `  ${results[s].name.padEnd(16)} 1 process: ${f('throughput1')}   2 processes: ${f('throughput2')}`;
  });
if (results.floor?.best) {
  const b = results.floor.best;
  cpuRows.push(`  ${'floor (pgbench)'.padEnd(16)} ${fmtMs(b.dbCpuMsPer1000Jobs)} db (best run: ${b.clients} client${b.clients > 1 ? "s" : ""}, batch ${b.batch}, ${fmtInt(b.perSec)} jobs/s)`);
}
if (cpuRows.length) console.log('\nCPU ms per 1,000 jobs while draining (Postgres cluster + worker processes; 2 cores = 2,000 ms/s):\n' + cpuRows.join('\n'));
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
