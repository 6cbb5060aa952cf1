// Export worker benchmark: renders per minute and peak memory (PSS of the worker and its
// Chromium processes) for one worker at MAX_CONCURRENT_RENDERS 1, 2, 3, against relaunching
// the browser for every job (RENDERS_PER_BROWSER=1). N product-catalogue PDFs per run (20
// products each); the worker is started and warm (canary done) before the jobs are enqueued.
//   node scripts/bench-exports.mjs [jobs=30]
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';

const JOBS = Number(process.argv[2] ?? 30);
const DB = process.env.DATABASE_URL ?? 'postgresql://postgres:postgres@127.0.0.1:54322/postgres';
const ROOT = path.resolve(import.meta.dirname, '..');
const sql = postgres(DB, { max: 4, onnotice: () => {} });

const freePort = () => new Promise((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => {
    const { port } = s.address();
    s.close(() => resolve(port));
  });
});

// Memory of a process tree from /proc (kB → MB)
function treeRss(root) {
  const kids = new Map();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!kids.has(ppid)) kids.set(ppid, []);
      kids.get(ppid).push(Number(d));
    } catch { /* gone */ }
  }
  let total = 0;
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop();
    try {
      // PSS: shared pages split between the processes sharing them (summed RSS would count
      // Chromium's shared libraries once per process)
      const m = /^Pss:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
      if (m) total += Number(m[1]);
    } catch { /* gone */ }
    stack.push(...(kids.get(pid) ?? []));
  }
  return total / 1024;
}

async function startWorker(env) {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'worker/src/main.ts'], {
    cwd: ROOT, env: { ...process.env, DATABASE_URL: DB, PORT: String(port), ...env }, stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += d;
      if (buf.includes('"worker.ready"')) resolve();
    });
    child.once('exit', (c) => reject(new Error(`worker exited ${c}`)));
  });
  return child;
}

async function run(label, env) {
  const uid = randomUUID();
  await sql`insert into auth.users (id, email) values (${uid}, ${`bench-${uid.slice(0, 8)}@example.com`})`;
  const [{ id: org }] = await sql`insert into public.organizations (name, slug, created_by) values ('Bench shop', ${'bench-' + uid.slice(0, 8)}, ${uid}) returning id`;
  await sql`insert into public.memberships (user_id, org_id, role) values (${uid}, ${org}, 'owner')`;
  await sql`insert into public.products (org_id, sku, name, description, price_cents)
            select ${org}, 'SKU-' || i, 'Product ' || i, repeat('A fine product. ', 10), 100 * i from generate_series(1, 20) i`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-exports-'));
  const child = await startWorker({ STORAGE_DIR: dir, ...env });
  let peak = treeRss(child.pid);
  const sampler = setInterval(() => (peak = Math.max(peak, treeRss(child.pid))), 100);
  const t0 = Date.now();
  const ids = await sql.begin(async (tx) => {
    const rows = await tx`insert into public.export_jobs (org_id, user_id, kind, format)
                          select ${org}, ${uid}, 'product_catalogue', 'pdf' from generate_series(1, ${JOBS}) returning id`;
    for (const r of rows) {
      const [{ j }] = await tx`select jobs.enqueue('export', ${tx.json({ export_id: r.id })}, '{"timeout_ms":180000}') as j`;
      await tx`update public.export_jobs set job_id = ${j} where id = ${r.id}`;
    }
    return rows.map((r) => r.id);
  });
  for (;;) {
    const [{ n, failed }] = await sql`select count(*) filter (where status = 'completed')::int as n, count(*) filter (where status = 'failed')::int as failed
                                        from public.export_jobs where id = any(${ids}::uuid[])`;
    if (n + failed >= JOBS) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const secs = (Date.now() - t0) / 1000;
  clearInterval(sampler);
  const [{ p50, p95 }] = await sql`select percentile_cont(0.5) within group (order by duration_ms) as p50,
                                          percentile_cont(0.95) within group (order by duration_ms) as p95
                                     from public.export_jobs where id = any(${ids}::uuid[])`;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  await sql`delete from public.organizations where id = ${org}`;
  await sql`delete from auth.users where id = ${uid}`;
  fs.rmSync(dir, { recursive: true, force: true });
  return { label, secs, perMin: (JOBS / secs) * 60, peak, p50: Number(p50), p95: Number(p95) };
}

const modes = [
  ['reused browser, MAX_CONCURRENT_RENDERS=1', { MAX_CONCURRENT_RENDERS: '1' }],
  ['reused browser, MAX_CONCURRENT_RENDERS=2', { MAX_CONCURRENT_RENDERS: '2' }],
  ['reused browser, MAX_CONCURRENT_RENDERS=3', { MAX_CONCURRENT_RENDERS: '3' }],
  ['browser per job, MAX_CONCURRENT_RENDERS=2', { MAX_CONCURRENT_RENDERS: '2', RENDERS_PER_BROWSER: '1' }],
];
const results = [];
for (const [label, env] of modes) results.push(await run(label, env));
await sql.end();

console.log(`\n${JOBS} product-catalogue PDFs (20 products each), one worker, ${os.cpus().length} CPUs, node ${process.version}\n`);
console.log('| mode | wall time | renders/min | job p50 | job p95 | peak memory, PSS (worker + Chromium) |');
console.log('|---|---:|---:|---:|---:|---:|');
for (const r of results) {
  console.log(`| ${r.label} | ${r.secs.toFixed(1)} s | ${Math.round(r.perMin)} | ${Math.round(r.p50)} ms | ${Math.round(r.p95)} ms | ${Math.round(r.peak)} MB |`);
}
