// End users and their jobs, through supabase-js against the local gateway (PostgREST + RLS):
// enqueue on an opted-in queue, limits, anon refused, and never another user's job.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { rpcClient } from '../../functions/_shared/jobs/client.ts';
import { ConveyorError } from '../../functions/_shared/jobs/errors.ts';
import { cfg, connect, nonce, supabase, userJwt } from './helpers/stack.ts';

const sql = connect();
const queue = nonce('user-exports');
const alice = randomUUID();
const bob = randomUUID();
const as = (uid: string) => supabase(cfg.anonKey, { accessToken: async () => userJwt(uid) });

before(async () => {
  await sql`select jobs.create_queue(${queue}, ${sql.json({
    user_enqueue: { enabled: true, rate_limit: { limit: 3, interval_ms: 60000 }, max_pending: 10, max_payload_bytes: 200 },
  })})`;
});
after(async () => {
  await sql`delete from jobs.job where queue = ${queue}`;
  await sql`delete from jobs.job_done where queue = ${queue}`;
  await sql.end();
});

describe('end-user jobs through supabase-js', () => {
  let aliceJob: number;
  let bobJob: number;

  test('a signed-in user can enqueue on an opted-in queue; the owner is forced to them', async () => {
    aliceJob = await rpcClient(as(alice)).enqueueAsUser(queue, { kind: 'catalogue' });
    bobJob = await rpcClient(as(bob)).enqueueAsUser(queue, { kind: 'invoice' });
    const [row] = await sql`select owner from jobs.job where id = ${aliceJob}`;
    assert.equal(row.owner, alice);
  });

  test('users list and follow only their own jobs through PostgREST', async () => {
    const { data, error } = await as(alice).schema('jobs').from('job_list').select('id, state, payload').eq('queue', queue);
    assert.equal(error, null);
    assert.deepEqual(data!.map((r) => Number(r.id)), [aliceJob]);
    const mine = await rpcClient(as(alice)).get(aliceJob);
    assert.equal(mine?.state, 'queued');
    assert.equal(await rpcClient(as(alice)).get(bobJob), null, "another user's job reads as null");
    const { data: raw } = await as(alice).schema('jobs').from('job').select('id').eq('id', bobJob);
    assert.deepEqual(raw, [], "RLS hides another user's row in the table itself");
  });

  test('over the per-user rate limit the request is refused with a clear error, and nothing is stored', async () => {
    const c = rpcClient(as(alice));
    await c.enqueueAsUser(queue, { n: 2 });
    await c.enqueueAsUser(queue, { n: 3 });
    const before = (await sql`select count(*)::int as n from jobs.job where queue = ${queue} and owner = ${alice}`)[0].n;
    await assert.rejects(() => c.enqueueAsUser(queue, { n: 4 }), (err: unknown) => {
      assert.ok(err instanceof ConveyorError);
      assert.equal(err.code, 'user_enqueue_refused');
      assert.equal(err.field, 'user_enqueue.rate_limit');
      assert.match(err.message, /rate limit/i);
      return true;
    });
    const afterN = (await sql`select count(*)::int as n from jobs.job where queue = ${queue} and owner = ${alice}`)[0].n;
    assert.equal(afterN, before);
  });

  test('a payload over the size limit is refused naming the limit', async () => {
    await assert.rejects(() => rpcClient(as(bob)).enqueueAsUser(queue, { blob: 'x'.repeat(500) }),
      (err: unknown) => err instanceof ConveyorError && err.field === 'user_enqueue.max_payload_bytes');
  });

  test('anon cannot enqueue, and cannot read any job', async () => {
    const anon = supabase(cfg.anonKey);
    const { error } = await anon.schema('jobs').rpc('enqueue_as_user', { queue, payload: {}, options: {} });
    assert.ok(error, 'anon must be refused');
    const { data } = await anon.schema('jobs').from('job_list').select('id').eq('queue', queue);
    assert.ok(!data || data.length === 0);
  });

  test('signed-in users cannot call worker functions or enqueue directly', async () => {
    const u = as(alice).schema('jobs');
    for (const [fn, args] of [
      ['claim', { queue, worker_id: 'sneaky', max_jobs: 10 }],
      ['enqueue', { queue, payload: {}, options: {} }],
      ['complete', { job_id: bobJob, worker_id: 'sneaky' }],
      ['cancel', { job_id: bobJob }],
    ] as const) {
      const { error } = await u.rpc(fn, args);
      assert.ok(error, `${fn} must be refused`);
      assert.equal(error.code, '42501', `${fn}: ${error.message}`);
    }
    const [row] = await sql`select state from jobs.job where id = ${bobJob}`;
    assert.equal(row.state, 'queued');
  });
});
