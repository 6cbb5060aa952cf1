// The chain the whole design rests on, with real processes: pg_cron -> jobs.invoke ->
// net.http_post (local stand-in) -> gateway -> Deno function server -> function -> database row.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, eventually, nonce } from './helpers/stack.ts';

const sql = connect();
after(() => sql.end());

describe('dispatch to edge functions', () => {
  test('jobs.invoke reaches the real ping function, which writes a heartbeat row', async () => {
    const source = nonce('invoke');
    const [{ id }] = await sql`select jobs.invoke('ping', ${sql.json({ source })}) as id`;
    const response = await eventually('the pg_net response', async () =>
      (await sql`select status_code, content from net._http_response where id = ${id}`)[0], 15000);
    assert.equal(response.status_code, 200);
    const body = JSON.parse(response.content);
    assert.equal(body.ok, true);
    const [row] = await sql`select service, source from public.service_heartbeats where id = ${body.heartbeat_id}`;
    assert.deepEqual({ ...row }, { service: 'ping', source });
  });

  test('a function answering 4xx is recorded as such, not retried as success', async () => {
    const [{ id }] = await sql`select jobs.invoke('ping', ${sql.json({ source: 42 })}) as id`;
    const response = await eventually('the pg_net response', async () =>
      (await sql`select status_code, content from net._http_response where id = ${id}`)[0], 15000);
    assert.equal(response.status_code, 400);
    assert.equal(JSON.parse(response.content).field, 'source');
  });

  describe('on a pg_cron schedule', () => {
    const name = nonce('e2e-ping');
    before(async () => {
      await sql`select jobs.schedule_invoke(${name}, '* * * * *', 'ping', ${sql.json({ source: name })})`;
    });
    after(async () => {
      await sql`select jobs.unschedule_invoke(${name})`;
    });

    test('pg_cron calls the function within its cadence and the row is written', async () => {
      // pg_cron 1.4 (local) ticks at minute boundaries: wait up to one minute and a margin.
      const row = await eventually('a heartbeat written by the scheduled call', async () =>
        (await sql`select id, source, created_at from public.service_heartbeats where source = ${name}`)[0], 75000, 250);
      assert.equal(row.source, name);
      const [run] = await sql`
        select d.status from cron.job_run_details d join cron.job j on j.jobid = d.jobid
         where j.jobname = ${'jobs:invoke:' + name} order by d.runid desc limit 1`;
      assert.equal(run.status, 'succeeded');
    });
  });
});

describe('enqueue -> trigger -> function works the job', () => {
  test('an urgent maintenance job is worked by the real maintenance function at once and completes', async () => {
    const [{ hb }] = await sql`insert into public.service_heartbeats (service, created_at)
                               values ('e2e-old', now() - interval '30 days') returning id as hb`;
    const [{ id }] = await sql`select jobs.enqueue('maintenance', '{"task":"prune_heartbeats"}') as id`;
    const job = await eventually('the job to complete', async () => {
      const [r] = await sql`select jobs.get(${id}) as j`;
      return r.j?.state === 'completed' ? r.j : null;
    }, 20000);
    assert.equal(job.result.task, 'prune_heartbeats');
    assert.ok(job.result.deleted >= 1);
    const left = await sql`select 1 from public.service_heartbeats where id = ${hb}`;
    assert.equal(left.length, 0, 'the old heartbeat was pruned by the function');
    const [run] = await sql`select source, detail from public.service_heartbeats where service = 'maintenance' order by id desc limit 1`;
    assert.equal(run.source, 'enqueue');
  });

  test('an invalid maintenance payload fails permanently with the field named, without a retry', async () => {
    const [{ id }] = await sql`select jobs.enqueue('maintenance', '{"task":"prune_heartbeats","older_than_days":0}') as id`;
    const job = await eventually('the job to fail', async () => {
      const [r] = await sql`select jobs.get(${id}) as j`;
      return r.j?.state === 'failed' ? r.j : null;
    }, 20000);
    assert.equal(job.attempts, 1);
    assert.match(JSON.stringify(job.last_error), /payload\.older_than_days/);
  });
});
