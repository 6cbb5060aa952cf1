import assert from 'node:assert/strict';
import { startFakeResend } from '../../../scripts/fake-resend.mjs';
import { classify, PermanentError, RateLimitedError } from '../jobs/errors.ts';
import { createMailer, type MailMessage } from './resend.ts';
import { verifySvix } from './svix.ts';

const API_KEY = 're_test_conveyor';
const message = (to = 'ada@example.com'): MailMessage => ({
  from: 'Acme <noreply@acme.test>',
  to,
  subject: 'Your export is ready',
  html: '<p>ready</p>',
  text: 'ready',
  headers: {
    'List-Unsubscribe': '<https://acme.test/u?t=1>',
    'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
  },
});

type Fake = Awaited<ReturnType<typeof startFakeResend>>;

async function withFake(fn: (fake: Fake) => Promise<void>, options: { rps?: number } = {}) {
  const fake = await startFakeResend({ port: 0, rps: options.rps ?? 0, dir: false, log: false });
  try {
    await fn(fake);
  } finally {
    await fake.close();
  }
}

async function thrown(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

Deno.test('send() captures the email once on the fake and returns its provider id', () =>
  withFake(async (fake) => {
    const mailer = createMailer({ apiKey: API_KEY, baseUrl: `${fake.url}/` });
    const { id } = await mailer.send(message(), { idempotencyKey: 'email_messages/1' });
    const [captured, ...rest] = fake.emails() as Record<string, unknown>[];
    assert.equal(rest.length, 0);
    assert.equal(captured.id, id);
    assert.equal(captured.idempotency_key, 'email_messages/1');
    assert.deepEqual(captured.to, ['ada@example.com']);
    assert.equal(
      (captured.headers as Record<string, string>)['List-Unsubscribe-Post'],
      'List-Unsubscribe=One-Click',
    );
  }));

Deno.test('send() twice with the same idempotency key captures one email and returns the same id', () =>
  withFake(async (fake) => {
    const mailer = createMailer({ apiKey: API_KEY, baseUrl: fake.url });
    const a = await mailer.send(message(), { idempotencyKey: 'email_messages/2' });
    const b = await mailer.send(message(), { idempotencyKey: 'email_messages/2' });
    assert.equal(a.id, b.id);
    assert.equal(fake.emails().length, 1);
    const other = await thrown(
      mailer.send(message('bob@example.com'), { idempotencyKey: 'email_messages/2' }),
    );
    assert.ok(other instanceof PermanentError, 'same key, different payload is permanent');
    assert.equal(other.message, 'Same idempotency key used with a different request payload.');
  }));

Deno.test('a response lost after the send is resolved by retrying with the same key, without a duplicate', () =>
  withFake(async (fake) => {
    const mailer = createMailer({ apiKey: API_KEY, baseUrl: fake.url });
    fake.setFaults({ status: 500, after_capture: true });
    const lost = await thrown(mailer.send(message(), { idempotencyKey: 'email_messages/3' }));
    assert.equal(classify(lost).kind, 'transient');
    const { id } = await mailer.send(message(), { idempotencyKey: 'email_messages/3' });
    assert.equal(fake.emails().length, 1);
    assert.equal((fake.emails()[0] as { id: string }).id, id);
  }));

Deno.test('sendBatch() returns ids in input order and replays the batch for the same key', () =>
  withFake(async (fake) => {
    const mailer = createMailer({ apiKey: API_KEY, baseUrl: fake.url });
    const batch = [message('a@example.com'), message('b@example.com'), message('c@example.com')];
    const first = await mailer.sendBatch(batch, { idempotencyKey: 'batch/1' });
    const again = await mailer.sendBatch(batch, { idempotencyKey: 'batch/1' });
    assert.deepEqual(again.ids, first.ids);
    const emails = fake.emails() as { id: string; to: string[] }[];
    assert.equal(emails.length, 3);
    assert.deepEqual(first.ids.map((id) => emails.find((e) => e.id === id)?.to[0]), [
      'a@example.com',
      'b@example.com',
      'c@example.com',
    ]);
  }));

Deno.test('sendBatch() in permissive mode sends the valid messages and names the rejected index', () =>
  withFake(async (fake) => {
    const mailer = createMailer({ apiKey: API_KEY, baseUrl: fake.url });
    const bad = { ...message(), to: 'not-an-address' };
    const out = await mailer.sendBatch([message('a@example.com'), bad, message('c@example.com')], {
      validation: 'permissive',
    });
    assert.equal(out.ids[1], null);
    assert.ok(out.ids[0] && out.ids[2]);
    assert.equal(out.errors.length, 1);
    assert.equal(out.errors[0].index, 1);
    assert.ok(out.errors[0].error instanceof PermanentError);
    assert.equal(fake.emails().length, 2);
    const strict = await thrown(mailer.sendBatch([message(), bad]));
    assert.ok(strict instanceof PermanentError);
    assert.equal(fake.emails().length, 2, 'strict mode sends nothing when one message is invalid');
  }));

Deno.test('a 429 becomes RateLimitedError with Retry-After in ms, from a fault or the real limiter', async () => {
  await withFake(async (fake) => {
    const mailer = createMailer({ apiKey: API_KEY, baseUrl: fake.url });
    fake.setFaults({ status: 429, retry_after: 3 });
    const err = await thrown(mailer.send(message(), { idempotencyKey: 'email_messages/4' }));
    assert.ok(err instanceof RateLimitedError);
    assert.equal(err.retryAfterMs, 3000);
    assert.equal(classify(err).options.retry_after_ms, 3000);
    assert.equal(fake.emails().length, 0);
  });
  await withFake(async (fake) => {
    const mailer = createMailer({ apiKey: API_KEY, baseUrl: fake.url });
    await mailer.send(message());
    const err = await thrown(mailer.send(message()));
    assert.ok(err instanceof RateLimitedError);
    assert.equal(err.retryAfterMs, 1000);
    assert.equal(err.details?.name, 'rate_limit_exceeded');
  }, { rps: 1 });
});

Deno.test("a 422 becomes PermanentError carrying Resend's message", () =>
  withFake(async (fake) => {
    const mailer = createMailer({ apiKey: API_KEY, baseUrl: fake.url });
    const err = await thrown(mailer.send({ ...message(), from: 'nobody' }));
    assert.ok(err instanceof PermanentError);
    assert.match(err.message, /^Invalid `from` field\./);
    assert.deepEqual(err.details, { provider: 'resend', status: 422, name: 'validation_error' });
    assert.equal(fake.emails().length, 0);
  }));

Deno.test('a 500, a network failure and a bad API key are transient, not permanent', async () => {
  await withFake(async (fake) => {
    const mailer = createMailer({ apiKey: API_KEY, baseUrl: fake.url });
    fake.setFaults({ status: 500 });
    const err = await thrown(mailer.send(message()));
    assert.equal(classify(err).kind, 'transient');
    assert.equal((err as Error & { status?: number }).status, 500);
    const auth = await thrown(createMailer({ apiKey: 'sk_wrong', baseUrl: fake.url }).send(message()));
    assert.equal(classify(auth).kind, 'transient');
    assert.equal((auth as Error & { name: string }).name, 'invalid_api_key');
  });
  const closed = await startFakeResend({ port: 0, dir: false, log: false });
  await closed.close();
  const down = await thrown(createMailer({ apiKey: API_KEY, baseUrl: closed.url }).send(message()));
  assert.equal(classify(down).kind, 'transient');
});

Deno.test('without baseUrl the resend package reads RESEND_BASE_URL', () =>
  withFake(async (fake) => {
    const before = Deno.env.get('RESEND_BASE_URL');
    Deno.env.set('RESEND_BASE_URL', fake.url);
    try {
      await createMailer({ apiKey: API_KEY }).send(message());
      assert.equal(fake.emails().length, 1);
    } finally {
      if (before === undefined) Deno.env.delete('RESEND_BASE_URL');
      else Deno.env.set('RESEND_BASE_URL', before);
    }
  }));

Deno.test('the fake delivers Svix-signed webhooks that verifySvix accepts (sent, delivered, complained)', async () => {
  const secret = `whsec_${btoa('fake-resend-webhook-secret')}`;
  const received: string[] = [];
  const receiver = Deno.serve({ port: 0, hostname: '127.0.0.1', onListen: () => {} }, async (req) => {
    const body = await req.text();
    await verifySvix(secret, { body, headers: req.headers });
    received.push(JSON.parse(body).type);
    return new Response('ok');
  });
  try {
    await withFake(async (fake) => {
      fake.setWebhook({ url: `http://127.0.0.1:${receiver.addr.port}/`, secret });
      const { id } = await createMailer({ apiKey: API_KEY, baseUrl: fake.url }).send(
        message('complained@resend.dev'),
      );
      await fake.close(); // waits for pending webhook deliveries
      assert.deepEqual(received, ['email.sent', 'email.delivered', 'email.complained']);
      const events = fake.events() as { email_id: string; status: number }[];
      assert.ok(events.every((e) => e.email_id === id && e.status === 200));
    });
  } finally {
    await receiver.shutdown();
  }
});
