// supabase-js against the local gateway, exactly as an app talks to Supabase.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { cfg, connect, nonce, supabase, userJwt } from './helpers/stack.ts';

const sql = connect();
after(() => sql.end());

const asUser = (userId: string) => supabase(cfg.anonKey, { accessToken: async () => userJwt(userId) });
const anon = supabase(cfg.anonKey);

describe('gateway + PostgREST + function server', () => {
  test('a request without an apikey is refused by the gateway', async () => {
    const res = await fetch(`${cfg.restUrl}/service_heartbeats`);
    assert.equal(res.status, 401);
    assert.match((await res.json()).message, /No API key/);
  });

  test('an anonymous client cannot read service tables', async () => {
    const { data, error } = await anon.from('service_heartbeats').select('*');
    assert.equal(data, null);
    assert.equal(error?.code, '42501');
  });

  test('a token signed with another secret is refused by PostgREST', async () => {
    const forged = supabase(cfg.anonKey, {
      accessToken: async () => userJwt(randomUUID(), { secret: 'not-the-project-secret-not-the-project-secret' }),
    });
    const { error } = await forged.from('service_heartbeats').select('*');
    assert.ok(error, 'expected an error');
    assert.match(error.message, /JWT|signature/i);
  });

  test("a function call with the signed-in user's JWT reaches the function", async () => {
    const source = nonce('user-call');
    const { data, error } = await asUser(randomUUID()).functions.invoke('ping', { body: { source } });
    assert.equal(error, null);
    assert.equal(data.ok, true);
    const [row] = await sql`select source from public.service_heartbeats where id = ${data.heartbeat_id}`;
    assert.equal(row.source, source);
  });

  test('a function call without a valid JWT is refused before the function runs (verify_jwt)', async () => {
    const before = (await sql`select count(*)::int as n from public.service_heartbeats`)[0].n;
    const res = await fetch(`${cfg.functionsUrl}/ping`, {
      method: 'POST',
      headers: { authorization: 'Bearer not.a.jwt', 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(res.status, 401);
    const after = (await sql`select count(*)::int as n from public.service_heartbeats`)[0].n;
    assert.equal(after, before);
  });

  test('the service_role key bypasses RLS, as on Supabase', async () => {
    const service = supabase(cfg.serviceRoleKey);
    const { data, error } = await service.from('service_heartbeats').select('id').limit(1);
    assert.equal(error, null);
    assert.ok(Array.isArray(data));
  });
});
