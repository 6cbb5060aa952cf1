// End to end on the local stack with real Chromium and a real worker process: a signed-in user
// requests exports through supabase-js (PostgREST + RLS), the worker renders a PDF and a PNG,
// the row walks pending → processing → completed, the email is in the outbox, /health and
// /metrics answer, the 11th free export in an hour is refused; then a kill -9 mid-render.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { cfg, connect, eventually, nonce, supabase, userJwt } from '../../tests/e2e/helpers/stack.ts';
import { startWorker, type WorkerProc } from './helpers.ts';

const sql = connect(4);
const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const workers: WorkerProc[] = [];
const users: string[] = [];
const orgs: string[] = [];
const dirs: string[] = [];
const hits: string[] = [];
const trap = http.createServer((req, res) => (hits.push(req.url ?? ''), res.end()));

async function fixture(label: string) {
  const uid = randomUUID();
  const email = `${nonce(label)}@example.com`;
  await sql`insert into auth.users (id, email) values (${uid}, ${email})`;
  const [{ id: org }] = await sql`insert into public.organizations (name, slug, created_by) values (${'Shop <' + label + '>'}, ${nonce(label)}, ${uid}) returning id`;
  await sql`insert into public.memberships (user_id, org_id, role) values (${uid}, ${org}, 'owner')`;
  users.push(uid);
  orgs.push(org);
  const client = supabase(cfg.anonKey, { accessToken: async () => userJwt(uid, { email }) });
  return { uid, email, org: org as string, client };
}

function tmpDir() {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'exports-'));
  dirs.push(d);
  return d;
}

before(async () => {
  await new Promise<void>((r) => trap.listen(0, '127.0.0.1', r));
});

after(async () => {
  for (const w of workers) await w.kill('SIGKILL');
  trap.close();
  if (orgs.length) await sql`delete from public.organizations where id = any(${orgs}::uuid[])`;
  if (users.length) await sql`delete from auth.users where id = any(${users}::uuid[])`;
  await sql.end();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('export worker end to end', () => {
  test('a user exports a PDF and a PNG; states, files, emails, health, metrics, limits', async () => {
    const f = await fixture('e2e');
    const trapUrl = `http://127.0.0.1:${(trap.address() as AddressInfo).port}/secret.png`;
    await sql`insert into public.products (org_id, sku, name, description, price_cents, currency, image_url) values
      (${f.org}, 'A-1', 'Mug <b>bold</b>', 'Holds "coffee" & tea', 1250, 'USD', ${trapUrl}),
      (${f.org}, 'A-2', 'Poster', null, 3000, 'EUR', null)`;

    const pdfReq = await f.client.rpc('request_export', { org_id: f.org, kind: 'product_catalogue', format: 'pdf', options: { title: 'Spring <2026>' } });
    assert.equal(pdfReq.error, null);
    const pngReq = await f.client.rpc('request_export', { org_id: f.org, kind: 'price_list', format: 'png' });
    assert.equal(pngReq.error, null);
    const ids = [pdfReq.data as string, pngReq.data as string];

    // the user sees their rows through RLS, pending
    const mine = await f.client.from('export_jobs').select('id, status').order('created_at');
    assert.deepEqual(mine.data?.map((r) => r.status), ['pending', 'pending']);

    const dir = tmpDir();
    const seen = new Map<string, string[]>(ids.map((id) => [id, ['pending']]));
    // a short render delay makes the processing state observable by polling
    const w = await startWorker({ STORAGE_DIR: dir, MAX_CONCURRENT_RENDERS: '2', EXPORT_TEST_RENDER_DELAY_MS: '600' });
    workers.push(w);
    const rows = await eventually('both exports completed', async () => {
      const rs = await sql`select * from public.export_jobs where id = any(${ids}::uuid[])`;
      for (const r of rs) {
        const s = seen.get(r.id)!;
        if (s.at(-1) !== r.status) s.push(r.status);
      }
      return rs.length === 2 && rs.every((r) => r.status === 'completed') ? rs : null;
    }, 30000, 50);
    for (const id of ids) assert.deepEqual(seen.get(id), ['pending', 'processing', 'completed'], `states of ${id}`);

    const byId = new Map(rows.map((r) => [r.id, r]));
    const pdf = byId.get(ids[0])!;
    const png = byId.get(ids[1])!;
    assert.equal(pdf.file_path, `${f.org}/${ids[0]}.pdf`);
    assert.equal(pdf.progress, 100);
    assert.equal(pdf.attempts, 1);
    assert.ok(pdf.duration_ms > 0 && Number(pdf.size_bytes) > 1000);
    const pdfBytes = fs.readFileSync(path.join(dir, pdf.file_path));
    assert.equal(pdfBytes.subarray(0, 4).toString(), '%PDF');
    assert.equal(Number(pdf.size_bytes), pdfBytes.length);
    const pngBytes = fs.readFileSync(path.join(dir, png.file_path));
    assert.deepEqual([...pngBytes.subarray(0, 8)], PNG);
    assert.deepEqual(hits, [], 'the product image on a non-allowlisted host was never requested');

    // the signed local link serves the file; a tampered one does not
    const got = await fetch(pdf.file_url);
    assert.equal(got.status, 200);
    assert.equal(Buffer.from(await got.arrayBuffer()).subarray(0, 4).toString(), '%PDF');
    assert.equal((await fetch(pdf.file_url.replace(/sig=./, 'sig=A'))).status, 403);

    const emails = await sql`select template, payload, category from public.email_messages where org_id = ${f.org} and recipient = ${f.email}`;
    assert.equal(emails.length, 2);
    assert.ok(emails.every((e) => e.template === 'export_completed' && e.category === 'transactional'));
    assert.deepEqual(emails.map((e) => e.payload.export_name).sort(), ['Price list', 'Spring <2026>']);

    const health = await fetch(`http://127.0.0.1:${w.port}/health`);
    assert.equal(health.status, 200);
    const hb = await health.json();
    assert.equal(hb.status, 'healthy');
    assert.ok(!Number.isNaN(Date.parse(hb.timestamp)));
    for (const k of ['database', 'storage', 'puppeteer', 'memory']) {
      assert.equal(hb.checks[k].healthy, true, k);
      assert.equal(typeof hb.checks[k].message, 'string');
    }
    assert.match(hb.checks.memory.message, /^Memory usage: \d+\.\d%$/);

    const metrics = await (await fetch(`http://127.0.0.1:${w.port}/metrics`)).text();
    assert.ok(Number(/^export_jobs_completed_total (\d+)$/m.exec(metrics)![1]) >= 2);
    assert.match(metrics, /^export_queue_depth \d+$/m);
    assert.match(metrics, /^export_active_renders 0$/m);
    assert.match(metrics, /^export_job_duration_seconds_count 2$/m);

    // limits: 2 made, 8 more this hour (as if finished), then the 11th is refused
    await sql`insert into public.export_jobs (org_id, user_id, kind, format, status)
              select ${f.org}, ${f.uid}, 'price_list', 'pdf', 'completed' from generate_series(1, 8)`;
    const eleventh = await f.client.rpc('request_export', { org_id: f.org, kind: 'price_list', format: 'pdf' });
    assert.equal(eleventh.data, null);
    assert.equal(eleventh.error?.code, 'CX003');
    assert.match(eleventh.error!.message, /^export limit reached: 10 exports per hour on the free tier; retry after \d{4}-\d\d-\d\dT/);
    const bad = await f.client.rpc('request_export', { org_id: f.org, kind: 'price_list', format: 'gif' });
    assert.equal(bad.error?.code, 'CX001');
    assert.equal(bad.error?.hint, 'format');

    // graceful stop on SIGTERM: exit code 0
    const exited = new Promise<number | null>((r) => w.child.once('exit', (code) => r(code)));
    w.child.kill('SIGTERM');
    assert.equal(await exited, 0);
  });

  test('kill -9 mid-render: the job is rescued and completes exactly once', async () => {
    const f = await fixture('crash');
    await sql`insert into public.products (org_id, sku, name, price_cents) values (${f.org}, 'K-1', 'Kettle', 4500)`;
    const { data: id, error } = await f.client.rpc('request_export', { org_id: f.org, kind: 'product_catalogue', format: 'pdf' });
    assert.equal(error, null);
    const dir = tmpDir();
    const slow = await startWorker({ STORAGE_DIR: dir, EXPORT_TEST_RENDER_DELAY_MS: '60000' });
    workers.push(slow);
    await eventually('processing', async () =>
      (await sql`select 1 from public.export_jobs where id = ${id} and status = 'processing'`).length > 0, 15000, 50);
    await slow.kill('SIGKILL');

    const [{ job_id }] = await sql`select job_id from public.export_jobs where id = ${id}`;
    await sql`update jobs.job set locked_until = now() - interval '1 second' where id = ${job_id}`;
    const [{ n }] = await sql`select jobs.rescue_stale() as n`;
    assert.ok(Number(n) >= 1);

    const fresh = await startWorker({ STORAGE_DIR: dir });
    workers.push(fresh);
    const row = await eventually('completed after rescue', async () =>
      (await sql`select * from public.export_jobs where id = ${id} and status = 'completed'`)[0], 30000, 50);
    assert.equal(row.attempts, 2);
    const done = await eventually('the job finished', async () => (await sql`select state, attempts from jobs.job_done where id = ${job_id}`)[0]);
    assert.equal(done.state, 'completed');
    assert.equal(done.attempts, 2);
    const files = fs.readdirSync(path.join(dir, f.org));
    assert.deepEqual(files, [`${id}.pdf`], 'one file, no temp leftovers');
    const [{ c }] = await sql`select count(*)::int as c from public.email_messages where org_id = ${f.org} and template = 'export_completed'`;
    assert.equal(c, 1);
    await fresh.kill('SIGTERM');
  });
});
