// `npm run bench:email`: emails per second through the whole pipeline on the local stack:
// enqueue_email (one transaction) -> urgent dispatch -> process-email-queue (Deno) -> Resend
// fake at its rate limit (2 requests/s by default, Resend's default) -> outcome recorded.
// Checks every email was captured exactly once. Options: --n=1000 --rps=2 (the fake's requests per second; one run each)
// --queue-limit=100 (the email queue's rate limit, claims per second).
import postgres from 'postgres';
import * as stack from './lib/stack.mjs';

const arg = (name, def) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? def;
const N = Number(arg('n', 1000));
const RPS = String(arg('rps', '2')).split(',').map(Number);
// the email queue's rate limit in claims per second (the migration's default is 100)
const QUEUE_LIMIT = Number(arg('queue-limit', 100));
const log = (event, f = {}) => process.stderr.write(JSON.stringify({ ts: new Date().toISOString(), fn: 'bench-email', event, ...f }) + '\n');

const { started } = await stack.up();
const c = stack.config();
const fake = `http://127.0.0.1:${stack.PORTS.resend}/_control`;
const post = (path, body) => fetch(`${fake}/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.json());
const sql = postgres(c.dbUrl, { max: 2, onnotice: () => {} });
const rows = [];
try {
  for (const rps of RPS) {
    await post('reset', {});
    await post('rate-limit', { rps });
    // no delivery webhooks: 'sent' must come from the sender's own record of Resend's answer
    await post('webhook', { auto: false });
    await post('faults', []);
    const statsBefore = await fetch(`${fake}/stats`).then((r) => r.json());
    const slug = `bench-email-${Date.now().toString(36)}`;
    const [{ id: org }] = await sql`insert into public.organizations (name, slug) values ('Bench', ${slug}) returning id`;
    await sql`select jobs.update_queue('email', ${sql.json({ rate_limit: { limit: QUEUE_LIMIT, interval_ms: 1000 } })})`;
    log('enqueue', { n: N, rps });
    const t0 = performance.now();
    // recipients unique to this run: a previous run's stragglers cannot count as duplicates
    await sql`select count(public.enqueue_email(${org}, ${slug} || '-' || g || '@example.com',
                '{"subject":"Receipt","html":"<p>Thanks for your order.</p>"}'::jsonb)) from generate_series(1, ${N}) g`;
    const tEnqueued = performance.now();
    let sent = 0;
    for (;;) {
      [{ sent }] = await sql`select count(*)::int as sent from public.email_messages where org_id = ${org} and status = 'sent'`;
      if (sent === N) break;
      if (performance.now() - t0 > 300000) throw new Error(`only ${sent}/${N} sent after 300 s`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const secs = (performance.now() - tEnqueued) / 1000;
    const stats = await fetch(`${fake}/stats`).then((r) => r.json());
    const captured = await fetch(`${fake}/emails`).then((r) => r.json());
    const list = Array.isArray(captured) ? captured : captured.data ?? captured.emails ?? [];
    const mine = list.filter((e) => String(e.to).startsWith(`${slug}-`));
    const perTo = new Map();
    for (const e of mine) perTo.set(String(e.to), (perTo.get(String(e.to)) ?? 0) + 1);
    const dupes = [...perTo.values()].filter((v) => v > 1).length;
    const [{ attempts }] = await sql`select max(attempt_count)::int as attempts from public.email_messages where org_id = ${org}`;
    const d = (k) => (stats[k] ?? 0) - (statsBefore[k] ?? 0);
    rows.push({
      rps, n: N, enqueueMs: Math.round(tEnqueued - t0), seconds: secs.toFixed(2), emailsPerSec: Math.round(N / secs),
      ceiling: rps * 100, requests: d('requests'), rejected429: d('rate_limited'),
      capturedOnce: perTo.size, duplicates: dupes, maxAttempts: attempts,
    });
    log('done', rows.at(-1));
    await sql`delete from public.organizations where id = ${org}`;
    await post('reset', {});
  }
} finally {
  await post('rate-limit', { rps: 2 }).catch(() => {});
  await post('webhook', { auto: true }).catch(() => {});
  await sql`select jobs.update_queue('email', '{"rate_limit":{"limit":100,"interval_ms":1000}}')`.catch(() => {});
  await sql.end();
  await stack.stopServices(started);
}

console.log(`\nEmail pipeline: ${N} transactional emails enqueued in one transaction, sent through process-email-queue`);
console.log(`to the local Resend fake (batch endpoint, 100 per request) at its rate limit; queue rate limit ${QUEUE_LIMIT} claims/s.\n`);
console.log('| Resend limit (req/s) | ceiling (emails/s) | enqueue (ms) | drain (s) | emails/s | requests | 429s | captured once | duplicates |');
console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(`| ${r.rps} | ${r.ceiling} | ${r.enqueueMs} | ${r.seconds} | ${r.emailsPerSec} | ${r.requests} | ${r.rejected429} | ${r.capturedOnce}/${r.n} | ${r.duplicates} |`);
}
if (rows.some((r) => r.duplicates || r.capturedOnce !== r.n)) process.exit(1);
