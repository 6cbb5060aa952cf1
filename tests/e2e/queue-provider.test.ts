// The seed's QueueProvider surface over the outbox, through supabase-js and the gateway.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { QueueMessageStatus, SupabaseQueueProvider } from '../../functions/_shared/email/queue-provider.ts';
import { ConveyorError } from '../../functions/_shared/jobs/errors.ts';
import { cfg, connect, eventually, nonce, supabase } from './helpers/stack.ts';

const sql = connect();
let org: string;
let provider: SupabaseQueueProvider;

before(async () => {
  [{ id: org }] = await sql`insert into public.organizations (name, slug) values ('Queue Provider Co', ${nonce('qp')}) returning id`;
  provider = new SupabaseQueueProvider(supabase(cfg.serviceRoleKey) as never, { orgId: org });
});
after(async () => {
  await sql`delete from public.organizations where id = ${org}`;
  await sql.end();
});

describe('QueueProvider over the outbox', () => {
  test('enqueue returns a pending message that is sent and then listed as completed', async () => {
    const to = `${nonce('qp')}@example.com`;
    const m = await provider.enqueue({ type: 'email', payload: { to, subject: 'Hello', content: '<p>Hello World</p>' }, maxAttempts: 3 });
    assert.equal(m.payload.to, to);
    assert.ok(['pending', 'processing', 'completed'].includes(m.status));
    const [{ j }] = await sql`select jobs.get(job_id) as j from public.email_messages where id = ${m.id}`;
    assert.equal(j.max_attempts, 3, 'maxAttempts reaches the job');
    const done = await eventually('the message completed', async () => {
      const x = await provider.getMessage(m.id);
      return x?.status === QueueMessageStatus.COMPLETED ? x : null;
    }, 20000);
    assert.ok(done.providerMessageId);
    const listed = await provider.getMessagesByStatus(QueueMessageStatus.COMPLETED);
    assert.ok(listed.some((x) => x.id === m.id));
    assert.ok(!(await provider.getMessagesByStatus(QueueMessageStatus.FAILED)).some((x) => x.id === m.id));
  });

  test('bad input is refused with an error naming the field, and nothing is stored', async () => {
    const before = (await sql`select count(*)::int as n from public.email_messages where org_id = ${org}`)[0].n;
    await assert.rejects(provider.enqueue({ type: 'email', payload: { to: 'nobody', subject: 'x', content: 'y' } }),
      (e: unknown) => e instanceof ConveyorError && e.field === 'recipient');
    await assert.rejects(provider.enqueue({ type: 'email', payload: { to: 'a@example.com', subject: 'x', content: 'y' }, maxAttempts: 0 }),
      (e: unknown) => e instanceof ConveyorError && e.field === 'max_attempts');
    const afterN = (await sql`select count(*)::int as n from public.email_messages where org_id = ${org}`)[0].n;
    assert.equal(afterN, before);
  });

  test("another organization's messages are not returned", async () => {
    const other = new SupabaseQueueProvider(supabase(cfg.serviceRoleKey) as never, { orgId: '00000000-0000-4000-8000-00000000ffff' });
    const [m] = await provider.getMessagesByStatus(QueueMessageStatus.COMPLETED, { limit: 1 });
    assert.ok(m);
    assert.equal(await other.getMessage(m.id), null);
  });
});
