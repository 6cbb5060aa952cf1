// Shared plumbing of the benchmark (scripts/bench.mjs): logging, databases, the worker-process
// protocol and statistics. Each system's adapter (conveyor.mjs, graphile.mjs, pgboss.mjs) is
// both a module the harness imports (setup, enqueue, drain checks) and the entry point of its
// worker process, run by runWorkerProcess() below.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The server under test: DATABASE_URL, else the local stack's cluster (scripts/lib/stack.mjs). */
export const baseUrl = () => process.env.DATABASE_URL || 'postgresql://postgres:postgres@127.0.0.1:54322/postgres';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across processes. */
export const nowMs = () => performance.timeOrigin + performance.now();

/** Progress as one JSON line on stderr (stdout carries only the results table). */
export function log(event, fields = {}) {
  process.stderr.write(JSON.stringify({ ts: new Date().toISOString(), fn: 'bench', pid: process.pid, event, ...fields }) + '\n');
}

export function pkgVersion(name) {
  return JSON.parse(readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;
}

// ------------------------------------------------------------------------------- databases
export function dbUrl(name, base = baseUrl()) {
  const u = new URL(base);
  u.pathname = '/' + name;
  return u.toString();
}

/** Drops (terminating its sessions) and creates a database on the same server; returns its URL. */
export async function recreateDatabase(name) {
  const admin = postgres(baseUrl(), { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
    await admin.unsafe(`create database "${name}"`);
  } finally {
    await admin.end();
  }
  return dbUrl(name);
}

/** Runs SQL text (or a file with { file: true }) through psql, stopping at the first error. */
export function psql(url, sqlOrFile, { file = false } = {}) {
  const args = [url, '-v', 'ON_ERROR_STOP=1', '-X', '-q', '-At'];
  const opts = { encoding: 'utf8', env: { ...process.env, PGSSLMODE: 'disable', PGOPTIONS: '-c client_min_messages=warning' } };
  if (file) args.push('-f', sqlOrFile);
  else opts.input = sqlOrFile;
  const r = spawnSync('psql', args, opts);
  if (r.status !== 0) throw new Error(`psql failed (exit ${r.status}): ${(r.stderr || r.stdout || '').trim()}`);
  return r.stdout;
}

export function serverInfo() {
  const out = psql(baseUrl(), `select current_setting('server_version'), current_setting('synchronous_commit'), current_setting('fsync'), current_setting('shared_buffers')`);
  const [version, synchronous_commit, fsync, shared_buffers] = out.trim().split('|');
  return { version, synchronous_commit, fsync, shared_buffers };
}

// ------------------------------------------------------------------------------- CPU accounting
const TICK_MS = 1000 / Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100);

function statOf(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' '); // fields from #3 (state) on
    // utime + stime; cutime + cstime: children that exited and were waited for
    return { ppid: Number(f[1]), cpuMs: (Number(f[11]) + Number(f[12])) * TICK_MS, childrenMs: (Number(f[13]) + Number(f[14])) * TICK_MS };
  } catch {
    return null;
  }
}

/** CPU ms used so far by the given processes (children of a Node process are not included). */
export function cpuMsOf(pids) {
  return pids.reduce((sum, pid) => sum + (statOf(pid)?.cpuMs ?? 0), 0);
}

/**
 * CPU ms used so far by the whole Postgres cluster behind the connection (its postmaster, every
 * live child: backends, WAL writer, checkpointer, autovacuum; and the children that already
 * exited, which the postmaster has reaped). Local servers only; null when /proc does not show
 * the server (a remote DATABASE_URL).
 */
export async function clusterCpuMs(sql) {
  const [{ pid }] = await sql`select pg_backend_pid() as pid`;
  const postmaster = statOf(pid)?.ppid;
  if (!postmaster) return null;
  const pm = statOf(postmaster);
  let sum = (pm?.cpuMs ?? 0) + (pm?.childrenMs ?? 0);
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const st = statOf(d);
    if (st && st.ppid === postmaster) sum += st.cpuMs;
  }
  return sum;
}

// ------------------------------------------------------------------------------- statistics
export function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx];
}

/**
 * Every job carries a sequence number `i` in 0..n-1 in its payload (unique per enqueued job, so
 * it identifies the job across systems whose ids are bigints, strings or UUIDs). Returns what
 * was lost (never handled) and what ran more than once.
 */
export function checkHandled(n, handled) {
  const seen = new Uint16Array(n);
  let outOfRange = 0;
  for (const i of handled) {
    if (Number.isInteger(i) && i >= 0 && i < n) seen[i] = Math.min(seen[i] + 1, 65535);
    else outOfRange++;
  }
  let lost = 0;
  let twice = 0;
  const lostSample = [];
  const twiceSample = [];
  for (let i = 0; i < n; i++) {
    if (seen[i] === 0) {
      lost++;
      if (lostSample.length < 5) lostSample.push(i);
    } else if (seen[i] > 1) {
      twice++;
      if (twiceSample.length < 5) twiceSample.push(i);
    }
  }
  return { ok: lost === 0 && twice === 0 && outOfRange === 0, lost, twice, outOfRange, lostSample, twiceSample };
}

// ------------------------------------------------------------------------------- worker processes
//
// Protocol (Node IPC over child_process.fork):
//   child  -> {type:'ready'}                 library loaded, connected, not yet working
//   parent -> {type:'go'}                    start working
//   child  -> {type:'started', at}           the worker is running (idle or busy)
//   child  -> {type:'progress', handled}     handler calls so far (every 5 ms while it changes)
//   parent -> {type:'stop'}                  the harness saw every job completed in the database
//   child  -> {type:'result', handled, starts, lat, parts}   then the child exits
// `handled[k]` is the payload sequence number of the k-th handler call, `starts[k]` its start
// time (nowMs()); `latency` jobs also carry their enqueue time in the payload (`t`): `lat` is
// handler start - t, and `parts` splits it where the adapter knows how (conveyor: enqueue to
// wake-up NOTIFY received, the claim's round trip, claim returned to handler start).

/**
 * Entry point of a worker process. `prepare(cfg)` loads the library and connects; it returns
 * { start(onJob), stop() }. `onJob(payload)` must be called when a handler starts.
 */
export async function runWorkerProcess(prepare) {
  const cfg = JSON.parse(process.env.BENCH_WORKER || '{}');
  const handled = [];
  const starts = [];
  const lat = [];
  const parts = [];
  // meta (optional, from adapters that know): { wakeAt, claimedAt } of the claim that got the job
  const onJob = (payload, meta) => {
    const t = nowMs();
    handled.push(payload.i);
    starts.push(t);
    if (payload.t !== undefined) {
      lat.push(t - payload.t);
      if (meta?.wakeAt >= payload.t) parts.push([meta.wakeAt - payload.t, meta.claimedAt - meta.wakeAt, t - meta.claimedAt]);
    }
  };
  let worker;
  let progress;
  try {
    worker = await prepare(cfg);
  } catch (err) {
    process.send({ type: 'error', message: err.stack || err.message });
    process.exit(1);
  }
  process.on('message', async (m) => {
    try {
      if (m.type === 'go') {
        await worker.start(onJob);
        process.send({ type: 'started', at: nowMs() });
        // how many handlers have started, every 5 ms while it changes: the harness polls the
        // database only once every job has been handled (polling earlier would load it)
        let sent = 0;
        progress = setInterval(() => {
          if (handled.length !== sent) process.send({ type: 'progress', handled: (sent = handled.length) });
        }, 5);
      } else if (m.type === 'stop') {
        clearInterval(progress);
        await worker.stop();
        process.send({ type: 'result', handled, starts, lat, parts }, () => process.exit(0));
      }
    } catch (err) {
      process.send({ type: 'error', message: err.stack || err.message });
      process.exit(1);
    }
  });
  process.send({ type: 'ready' });
}
