// The email pipeline end to end with real processes: app insert -> trigger -> outbox + job ->
// urgent dispatch -> process-email-queue (Deno) -> Resend (local fake, real wire format) ->
// Svix-signed webhook -> delivered. Plus a 429 storm, an ambiguous failure and a kill -9 of the
// function server mid-batch: no email lost, none sent twice.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cfg, connect, eventually, nonce } from './helpers/stack.ts';
// @ts-ignore: plain ESM module
import * as stack from '../../scripts/lib/stack.mjs';

const sql = connect(6);
const fake = `http://127.0.0.1:${stack.PORTS.resend}`;
let org: string;
let slug: string;

async function control(path: string, body?: unknown) {
  const res = await fetch(`${fake}/_control/${path}`, body === undefined ? {} : {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return res.json();
}

type Captured = { id: string; to: string[] | string; subject: string; html?: string; text?: string; headers?: Record<string, string> };
async function captured(recipient: string): Promise<Captured[]> {
  const r = await control('emails');
  const list: Captured[] = Array.isArray(r) ? r : r.emails ?? r.data ?? [];
  return list.filter((e) => (Array.isArray(e.to) ? e.to : [e.to]).some((t) => String(t).includes(recipient)));
}

/** Transactional receipts to each recipient, enqueued in one transaction as an app would. */
async function enqueueReceipts(recipients: string[]): Promise<number[]> {
  return await sql.begin(async (tx) => {
    const out: number[] = [];
    for (const r of recipients) {
      const [{ id }] = await tx`select public.enqueue_email(${org}, ${r}, ${sql.json({ subject: 'Receipt', html: '<p>Paid</p>' })}) as id`;
      out.push(Number(id));
    }
    return out;
  });
}

/**
 * For the crash tests: Resend without its rate limit and without delivery webhooks (they would
 * settle a message by its tag before the retry, which is also correct but not what is tested:
 * the retry repeating the request under the same key). Restored after the test.
 */
async function quietFake(t: { after: (fn: () => unknown) => void }) {
  await control('rate-limit', { rps: 0 });
  await control('webhook', { auto: false });
  t.after(() => control('rate-limit', { rps: 2 }).then(() => control('webhook', { auto: true })));
}

/** The retries are due after the queue's backoff: make them due now, work the queue, wait. */
async function retryNowUntilSent(ids: number[]) {
  await sql`update jobs.job set run_at = now() where id in (select job_id from public.email_messages where id = any(${ids}::bigint[]))`;
  await sql`select jobs.invoke('process-email-queue', '{"queue":"email","reason":"manual"}')`;
  await eventually('all sent', async () => {
    const rows = await statusOf(ids);
    return rows.every((r) => r.status === 'sent' || r.status === 'delivered') ? rows : null;
  }, 20000, 200);
}

async function statusOf(ids: number[]) {
  return await sql`select id, status, attempt_count from public.email_messages where id = any(${ids}::bigint[]) order by id`;
}

before(async () => {
  slug = nonce('org');
  [{ id: org }] = await sql`insert into public.organizations (name, slug) values ('Artbase Studio', ${slug}) returning id`;
  await sql`insert into public.email_settings (org_id, sender_name, sender_email, footer)
            values (${org}, 'Artbase', 'hello@artbase.test', 'Artbase Studio, 1 Main St')`;
});
after(async () => {
  await control('faults', []).catch(() => {});
  await sql`delete from public.organizations where id = ${org}`;
  await sql.end();
});

describe('email pipeline', () => {
  test('an app insert fires a trigger; the email is captured exactly once and the webhook marks it delivered', async () => {
    const email = `${nonce('ada')}@example.com`;
    await sql`insert into public.subscribers (org_id, email, name, consent_source) values (${org}, ${email}, 'Ada & Bob', 'signup_form')`;
    const msg = await eventually('the welcome email in the outbox', async () =>
      (await sql`select id, status, category from public.email_messages where org_id = ${org} and recipient = ${email}`)[0]);
    assert.equal(msg.category, 'automation');
    const delivered = await eventually('delivered', async () => {
      const [m] = await statusOf([Number(msg.id)]);
      return m.status === 'delivered' ? m : null;
    }, 20000);
    assert.equal(delivered.attempt_count, 1);
    const got = await captured(email);
    assert.equal(got.length, 1, 'captured exactly once');
    assert.ok(got[0].headers?.['List-Unsubscribe'], 'automation email carries List-Unsubscribe');
    assert.equal(got[0].headers?.['List-Unsubscribe-Post'], 'List-Unsubscribe=One-Click');
    assert.match(got[0].html ?? '', /Welcome, Ada &amp; Bob!/, 'template values are HTML-escaped');
    assert.ok((got[0].text ?? '').length > 0, 'a plain-text part is always sent');
    // webhooks may arrive in any order; status only moves forward, and both are recorded
    const types = await eventually('both delivery events recorded', async () => {
      const rows = await sql`select type from public.email_events where message_id = ${msg.id}`;
      return rows.length === 2 ? rows.map((e) => e.type).sort() : null;
    }, 10000);
    assert.deepEqual(types, ['email.delivered', 'email.sent']);
  });

  test('the one-click unsubscribe link works without login and suppresses later marketing email', async () => {
    const email = `${nonce('bob')}@example.com`;
    await sql`insert into public.subscribers (org_id, email, name, consent_source) values (${org}, ${email}, 'Bob', 'signup_form')`;
    const mail = await eventually('the welcome email captured', async () => (await captured(email))[0], 20000);
    const link = mail.headers!['List-Unsubscribe'].replace(/^<|>$/g, '');
    const page = await fetch(link);
    assert.equal(page.status, 200, 'GET shows a confirmation page, it does not unsubscribe');
    await page.text();
    const [{ status: before }] = await sql`select status from public.subscribers where org_id = ${org} and email = ${email}`;
    assert.equal(before, 'subscribed');
    const res = await fetch(link, { method: 'POST', body: 'List-Unsubscribe=One-Click', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(res.status, 200);
    await res.text();
    const [{ status }] = await sql`select status from public.subscribers where org_id = ${org} and email = ${email}`;
    assert.equal(status, 'unsubscribed');
    const bad = await fetch(link.replace(/token=[^&]+/, 'token=' + 'A'.repeat(43)), { method: 'POST' });
    assert.equal(bad.status, 400, 'a guessed token is refused');
    await bad.text();
    const [{ id }] = await sql`select public.enqueue_email(${org}, ${email}, ${sql.json({ subject: 'Sale', html: '<p>50% off</p>', category: 'campaign' })}) as id`;
    await eventually('the campaign email suppressed', async () => {
      const [m] = await statusOf([Number(id)]);
      return m.status === 'suppressed' ? m : null;
    }, 20000).catch(async () => {
      // campaign emails are not urgent: work the queue now rather than wait for the cron tick
      await sql`select jobs.invoke('process-email-queue', '{"queue":"email","reason":"manual"}')`;
      return eventually('the campaign email suppressed', async () => {
        const [m] = await statusOf([Number(id)]);
        return m.status === 'suppressed' ? m : null;
      }, 20000);
    });
    assert.equal((await captured(email)).length, 1, 'only the welcome email was ever sent');
  });

  test('a forged or replayed webhook changes nothing', async () => {
    const body = JSON.stringify({ type: 'email.bounced', created_at: new Date().toISOString(), data: { email_id: 'forged' } });
    const res = await fetch(`${cfg.functionsUrl}/resend-webhook`, {
      method: 'POST',
      headers: { 'svix-id': 'msg_forged', 'svix-timestamp': String(Math.floor(Date.now() / 1000)), 'svix-signature': 'v1,AAAA', 'content-type': 'application/json' },
      body,
    });
    assert.equal(res.status, 401);
    await res.text();
    const [{ n }] = await sql`select count(*)::int as n from public.email_events where provider_event_id = 'msg_forged'`;
    assert.equal(n, 0);
  });

  test('a 429 storm reschedules without spending attempts; every email is sent exactly once', async () => {
    await control('faults', [{ status: 429, count: 3, retry_after: 1 }]);
    const recipients = Array.from({ length: 12 }, () => `${nonce('storm')}@example.com`);
    const ids = await enqueueReceipts(recipients);
    await eventually('all sent', async () => {
      const rows = await statusOf(ids);
      return rows.every((r) => r.status === 'sent' || r.status === 'delivered') ? rows : null;
    }, 45000, 200);
    for (const r of recipients) assert.equal((await captured(r)).length, 1, `${r} captured once`);
    const jobs = await sql`select (jobs.get(m.job_id)) as j from public.email_messages m where m.id = any(${ids}::bigint[])`;
    assert.ok(jobs.every((x) => x.j.state === 'completed' && x.j.attempts === 1), 'a 429 does not spend an attempt');
    await sql`select jobs.update_queue('email', '{"rate_limit":{"limit":100,"interval_ms":1000}}')`;
  });

  test('a response lost after Resend accepted the batch is resolved on retry without a duplicate', async (t) => {
    // this test is about the lost response, not Resend's 2 requests/s (the storm test covers 429s)
    await quietFake(t);
    await control('faults', [{ status: 500, count: 1, after_capture: true, path: '/emails/batch' }]);
    const recipients = Array.from({ length: 4 }, () => `${nonce('lost')}@example.com`);
    const ids = await enqueueReceipts(recipients);
    await eventually('the batch captured, its response lost', async () => {
      const rows = await statusOf(ids);
      return rows.every((r) => r.status === 'sending') && (await captured(recipients[0])).length === 1;
    }, 20000, 100);
    await retryNowUntilSent(ids);
    for (const r of recipients) assert.equal((await captured(r)).length, 1, `${r} captured once`);
  });

  test('kill -9 of the function server mid-batch loses no email and duplicates none', async (t) => {
    await quietFake(t);
    await control('faults', [{ delay_ms: 2500, count: 1, path: '/emails/batch' }]);
    const before = (await fetch(`${fake}/_control/stats`).then((r) => r.json())).requests ?? 0;
    const recipients = Array.from({ length: 6 }, () => `${nonce('kill')}@example.com`);
    const ids = await enqueueReceipts(recipients);
    // the batch request is stored before it is sent; once Resend (held by the fault) has it,
    // the function is mid-call
    await eventually('the batch in flight', async () =>
      (await sql`select 1 from public.email_send_batches where message_ids && ${ids}::bigint[]`).length > 0 &&
      ((await fetch(`${fake}/_control/stats`).then((r) => r.json())).requests ?? 0) > before, 20000, 20);
    const pid = stack.servicePid('functions');
    assert.ok(pid, 'the function server is running');
    process.kill(-pid, 'SIGKILL');
    await eventually('the function server gone', async () => !stack.servicePid('functions'), 5000, 20);
    await stack.startServices();
    // the fake finishes the held request: Resend has the emails, nobody recorded them
    await eventually('the batch captured', async () => (await captured(recipients[0])).length === 1, 10000, 100);
    const rows = await statusOf(ids);
    assert.ok(rows.every((r) => r.status === 'sending'), 'the outcome was never recorded');
    // the locks expire (simulated: 2 minutes here) and pg_cron's rescue_stale returns the jobs
    await sql`update jobs.job set locked_until = now() - interval '1 second'
               where id in (select job_id from public.email_messages where id = any(${ids}::bigint[]))`;
    const [{ n }] = await sql`select jobs.rescue_stale() as n`;
    assert.ok(n >= ids.length);
    await retryNowUntilSent(ids);
    for (const r of recipients) assert.equal((await captured(r)).length, 1, `${r} captured once`);
  });

  test('bad input to enqueue_email names the field and stores nothing', async () => {
    const before = (await sql`select count(*)::int as n from public.email_messages where org_id = ${org}`)[0].n;
    await assert.rejects(
      sql`select public.enqueue_email(${org}, 'not-an-address', ${sql.json({ subject: 'x', html: '<p>x</p>' })})`,
      (err: { message: string; hint?: string }) => /recipient/.test(err.message + (err.hint ?? '')),
    );
    const afterN = (await sql`select count(*)::int as n from public.email_messages where org_id = ${org}`)[0].n;
    assert.equal(afterN, before);
  });
});
