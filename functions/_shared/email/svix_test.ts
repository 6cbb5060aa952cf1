import assert from 'node:assert/strict';
import { Resend } from 'resend';
import { signSvix, SvixVerificationError, verifySvix } from './svix.ts';

const SECRET = `whsec_${btoa('conveyor-test-secret-0123456789')}`;
const BODY = JSON.stringify({
  type: 'email.delivered',
  created_at: '2026-11-25T10:00:00.000Z',
  data: { email_id: 'e1', to: ['a@x.test'] },
});

async function signed(overrides: { body?: string; secret?: string; timestamp?: number } = {}) {
  const id = 'msg_2bWZ9Q';
  const timestamp = overrides.timestamp ?? Math.floor(Date.now() / 1000);
  const signature = await signSvix(overrides.secret ?? SECRET, id, timestamp, BODY);
  return {
    body: overrides.body ?? BODY,
    headers: { 'svix-id': id, 'svix-timestamp': String(timestamp), 'svix-signature': signature },
  };
}

async function rejects(promise: Promise<unknown>, code: string) {
  await assert.rejects(promise, (err) => err instanceof SvixVerificationError && err.code === code);
}

Deno.test('verifySvix accepts a correctly signed delivery and returns its id', async () => {
  const req = await signed();
  const out = await verifySvix(SECRET, { body: req.body, headers: new Headers(req.headers) });
  assert.equal(out.id, 'msg_2bWZ9Q');
});

Deno.test('verifySvix accepts the header list of a rotating secret when any v1 signature matches', async () => {
  const req = await signed();
  const other = await signSvix(
    `whsec_${btoa('old-secret')}`,
    'msg_2bWZ9Q',
    req.headers['svix-timestamp'],
    BODY,
  );
  req.headers['svix-signature'] = `v2,abc ${other} ${req.headers['svix-signature']}`;
  await verifySvix(SECRET, req);
});

Deno.test('verifySvix rejects a tampered body', async () => {
  await rejects(
    verifySvix(SECRET, await signed({ body: BODY.replace('delivered', 'bounced') })),
    'invalid_signature',
  );
});

Deno.test('verifySvix rejects a signature made with another secret', async () => {
  await rejects(
    verifySvix(SECRET, await signed({ secret: `whsec_${btoa('attacker')}` })),
    'invalid_signature',
  );
});

Deno.test('verifySvix rejects a timestamp older than five minutes, and one from the future', async () => {
  const now = Math.floor(Date.now() / 1000);
  await rejects(verifySvix(SECRET, await signed({ timestamp: now - 301 })), 'timestamp_out_of_tolerance');
  await rejects(verifySvix(SECRET, await signed({ timestamp: now + 301 })), 'timestamp_out_of_tolerance');
});

Deno.test('verifySvix rejects missing headers and a malformed timestamp', async () => {
  const req = await signed();
  for (const name of ['svix-id', 'svix-timestamp', 'svix-signature'] as const) {
    const headers: Record<string, string> = { ...req.headers };
    delete headers[name];
    await rejects(verifySvix(SECRET, { body: req.body, headers }), 'missing_headers');
  }
  await rejects(
    verifySvix(SECRET, { body: req.body, headers: { ...req.headers, 'svix-timestamp': '12e9' } }),
    'invalid_timestamp',
  );
});

Deno.test('signSvix produces signatures the resend package (standardwebhooks) verifies', async () => {
  const req = await signed();
  const resend = new Resend('re_test');
  const payload = resend.webhooks.verify({
    payload: req.body,
    headers: {
      id: req.headers['svix-id'],
      timestamp: req.headers['svix-timestamp'],
      signature: req.headers['svix-signature'],
    },
    webhookSecret: SECRET,
  });
  assert.equal((payload as { type: string }).type, 'email.delivered');
});
