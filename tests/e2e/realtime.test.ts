// What Supabase Realtime would send a client following its export: Postgres Changes come from
// the WAL through a logical replication slot. There is no Realtime server here, so the test
// reads the slot itself (wal2json, as a stand-in for Realtime's own decoder) and checks the
// row-level security the server applies per subscriber.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { connect, nonce } from './helpers/stack.ts';

const sql = connect(2);
const slot = `conveyor_rt_${Date.now().toString(36)}`;
const owner = randomUUID();
const stranger = randomUUID();
let org: string;

before(async () => {
  await sql`insert into auth.users (id, email) values (${owner}, ${owner + '@example.com'}), (${stranger}, ${stranger + '@example.com'})`;
  [{ id: org }] = await sql`insert into public.organizations (name, slug) values ('Realtime Co', ${nonce('rt')}) returning id`;
  await sql`insert into public.memberships (user_id, org_id, role) values (${owner}, ${org}, 'owner'), (${stranger}, ${org}, 'member')`;
  await sql`insert into public.products (org_id, sku, name, price_cents) values (${org}, 'P-1', 'Print', 1000)`;
  await sql`select pg_create_logical_replication_slot(${slot}, 'wal2json')`;
});
after(async () => {
  await sql`select pg_drop_replication_slot(${slot})`.catch(() => {});
  await sql`delete from public.organizations where id = ${org}`;
  await sql`delete from auth.users where id in (${owner}, ${stranger})`;
  await sql.end();
});

describe('export status over Realtime (Postgres Changes)', () => {
  test('export_jobs is in the supabase_realtime publication with full replica identity', async () => {
    const [pub] = await sql`select 1 as ok from pg_publication_tables where pubname = 'supabase_realtime' and schemaname = 'public' and tablename = 'export_jobs'`;
    assert.ok(pub, 'export_jobs must be published');
    const [{ relreplident }] = await sql`select relreplident from pg_class where oid = 'public.export_jobs'::regclass`;
    assert.equal(relreplident, 'f');
  });

  test('a status change reaches the WAL stream with old and new values, and RLS shows it to the owner only', async () => {
    const id = await sql.begin(async (tx) => {
      await tx`select set_config('request.jwt.claims', ${JSON.stringify({ sub: owner, role: 'authenticated' })}, true)`;
      const [{ id }] = await tx`select public.request_export(${org}, 'product_catalogue', 'pdf', '{}') as id`;
      return id as string;
    });
    await sql`update public.export_jobs set status = 'processing', progress = 40 where id = ${id}`;

    const changes = await sql`select data from pg_logical_slot_get_changes(${slot}, null, null,
      'format-version', '2', 'add-tables', 'public.export_jobs', 'include-timestamp', '1')`;
    const events = changes.map((c) => JSON.parse(c.data)).filter((e) => e.table === 'export_jobs');
    const col = (cols: { name: string; value: unknown }[], name: string) => cols?.find((c) => c.name === name)?.value;
    const insert = events.find((e) => e.action === 'I' && col(e.columns, 'id') === id);
    assert.ok(insert, 'the INSERT of the request is streamed');
    assert.equal(col(insert.columns, 'status'), 'pending');
    // (request_export itself may update the row, e.g. with its job id: take the last update)
    const update = events.filter((e) => e.action === 'U' && col(e.columns, 'id') === id).at(-1);
    assert.ok(update, 'the UPDATE is streamed');
    assert.equal(col(update.columns, 'status'), 'processing');
    assert.equal(col(update.columns, 'progress'), 40);
    assert.equal(col(update.identity, 'status'), 'pending', 'replica identity full: the old row comes along');

    // Realtime checks each change against the subscriber's RLS, as the subscriber
    const visible = async (uid: string) => sql.begin(async (tx) => {
      await tx`select set_config('request.jwt.claims', ${JSON.stringify({ sub: uid, role: 'authenticated' })}, true)`;
      await tx`set local role authenticated`;
      return (await tx`select id from public.export_jobs where id = ${id}`).length === 1;
    });
    assert.equal(await visible(owner), true, 'the requesting user sees the change');
    assert.equal(await visible(stranger), false, 'another member of the same org does not');
  });
});
