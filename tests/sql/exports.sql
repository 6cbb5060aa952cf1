-- exports: products and export_jobs RLS with real JWT claims, request_export validation and
-- per-tier limits, the worker functions, Realtime publication, retention
begin;
select plan(45);

-- ---------------------------------------------------------------- fixtures
-- xavier owns Xco (yuri is a member there); zoe owns Zco (a subscriber org); nobody belongs nowhere
insert into auth.users (id, email) values
  ('a1000000-0000-0000-0000-0000000000a1', 'xavier@xco.test'),
  ('a2000000-0000-0000-0000-0000000000a2', 'yuri@xco.test'),
  ('a3000000-0000-0000-0000-0000000000a3', 'zoe@zco.test'),
  ('a4000000-0000-0000-0000-0000000000a4', 'nobody@nowhere.test');

create temp table t (k text primary key, v uuid);
grant select, insert on t to authenticated, anon;

create function pg_temp.err(p_sql text) returns text language plpgsql as $$
declare
  v_state text;
  v_hint text;
begin
  execute p_sql;
  return null;
exception when others then
  get stacked diagnostics v_state = returned_sqlstate, v_hint = pg_exception_hint;
  return v_state || ' ' || coalesce(v_hint, '');
end
$$;
create function pg_temp.as_user(p_uid text) returns void language sql as $$
  select set_config('request.jwt.claims', json_build_object('sub', p_uid, 'role', 'authenticated')::text, true);
$$;

select pg_temp.as_user('a1000000-0000-0000-0000-0000000000a1');
set local role authenticated;
insert into t values ('xco', public.create_organization('Xco', 'xco-exports-test'));
reset role;
select pg_temp.as_user('a3000000-0000-0000-0000-0000000000a3');
set local role authenticated;
insert into t values ('zco', public.create_organization('Zco', 'zco-exports-test'));
reset role;
insert into public.memberships (user_id, org_id, role)
values ('a2000000-0000-0000-0000-0000000000a2', (select v from t where k = 'xco'), 'member');
insert into public.org_subscriptions (org_id, tier) values ((select v from t where k = 'zco'), 'subscriber');
insert into public.products (org_id, sku, name, price_cents) values
  ((select v from t where k = 'xco'), 'X-1', 'Xco widget', 1000),
  ((select v from t where k = 'zco'), 'Z-1', 'Zco gadget', 2000);

-- ---------------------------------------------------------------- structure
select ok((select c.relrowsecurity from pg_class c where c.oid = 'public.export_jobs'::regclass), 'export_jobs has RLS enabled');
select ok((select c.relrowsecurity from pg_class c where c.oid = 'public.products'::regclass), 'products has RLS enabled');
select ok(exists (select 1 from pg_publication_tables p where p.pubname = 'supabase_realtime'
                  and p.schemaname = 'public' and p.tablename = 'export_jobs'),
  'export_jobs is in the supabase_realtime publication');
select is((select c.relreplident::text from pg_class c where c.oid = 'public.export_jobs'::regclass), 'f',
  'export_jobs has replica identity full');
select is((jobs.get_queue('export') ->> 'max_attempts')::int, 3, 'the export queue allows 3 attempts');
select is((jobs.get_queue('export') ->> 'lock_ms')::int, 180000, 'the export queue locks for 3 minutes');
select ok(exists (select 1 from cron.job where jobname = 'exports:retention'), 'retention is scheduled on pg_cron');
select ok(not has_function_privilege('anon', 'public.request_export(uuid,text,text,jsonb)', 'execute'), 'anon cannot request exports');
select ok(not has_function_privilege('authenticated', 'public.export_complete(uuid,text,text,bigint,int,jsonb)', 'execute'),
  'authenticated cannot call the worker functions');

-- ---------------------------------------------------------------- products RLS
select pg_temp.as_user('a2000000-0000-0000-0000-0000000000a2');
set local role authenticated;
select is((select array_agg(sku) from public.products), array['X-1'], 'a member reads only their org''s products');
select is(pg_temp.err(format('insert into public.products (org_id, sku, name, price_cents) values (%L, ''X-2'', ''n'', 1)',
                             (select v from t where k = 'xco'))), '42501 ', 'a plain member cannot add products');
select is(pg_temp.err(format('insert into public.products (org_id, sku, name, price_cents) values (%L, ''Z-9'', ''n'', 1)',
                             (select v from t where k = 'zco'))), '42501 ', 'nobody writes another org''s products');
reset role;
select pg_temp.as_user('a1000000-0000-0000-0000-0000000000a1');
set local role authenticated;
select lives_ok(format('insert into public.products (org_id, sku, name, price_cents) values (%L, ''X-2'', ''Second'', 1)',
                       (select v from t where k = 'xco')), 'an owner adds products');
select is((select count(*)::int from public.products where sku = 'Z-1'), 0, 'an owner of Xco does not see Zco products');

-- ---------------------------------------------------------------- request_export validation
select is(pg_temp.err(format('select public.request_export(%L, ''invoice_pdf'', ''pdf'')', (select v from t where k = 'xco'))),
  'CX001 kind', 'an unknown kind is refused naming kind');
select is(pg_temp.err(format('select public.request_export(%L, ''price_list'', ''gif'')', (select v from t where k = 'xco'))),
  'CX001 format', 'an unknown format is refused naming format');
select is(pg_temp.err(format('select public.request_export(%L, ''price_list'', ''pdf'', ''{"colour":1}'')', (select v from t where k = 'xco'))),
  'CX001 options.colour', 'an unknown option is refused naming it');
select is(pg_temp.err(format('select public.request_export(%L, ''price_list'', ''pdf'', ''{"title":7}'')', (select v from t where k = 'xco'))),
  'CX001 options.title', 'a non-string title is refused naming options.title');
select is(pg_temp.err('select public.request_export(null, ''price_list'', ''pdf'')'), 'CX001 org_id', 'a missing org is refused naming org_id');
select is(pg_temp.err(format('select public.request_export(%L, ''price_list'', ''pdf'')', (select v from t where k = 'zco'))),
  'CX002 org_id', 'a user cannot export an org they do not belong to');
reset role;
select set_config('request.jwt.claims', '', true);
set local role authenticated;
select is(pg_temp.err(format('select public.request_export(%L, ''price_list'', ''pdf'')', (select v from t where k = 'xco'))),
  'CX005 auth.uid', 'no signed-in user: refused');
reset role;

-- ---------------------------------------------------------------- limits (free: 10/hour, 5 pending)
select pg_temp.as_user('a1000000-0000-0000-0000-0000000000a1');
set local role authenticated;
insert into t select 'x' || i, public.request_export((select v from t where k = 'xco'), 'product_catalogue', 'pdf', '{"title":"Spring"}')
  from generate_series(1, 5) i;
select is((select count(*)::int from public.export_jobs), 5, 'the owner sees their 5 exports');
select is(pg_temp.err(format('select public.request_export(%L, ''price_list'', ''png'')', (select v from t where k = 'xco'))),
  'CX004 max_pending', 'the 6th pending free export is refused');
select throws_like(format('select public.request_export(%L, ''price_list'', ''png'')', (select v from t where k = 'xco')),
  'export limit reached: 5 pending exports on the free tier%', 'the pending error says the limit');
reset role;
-- finish them (as the worker would) so only the hourly limit applies
update public.export_jobs set status = 'completed', completed_at = now() where user_id = 'a1000000-0000-0000-0000-0000000000a1';
select pg_temp.as_user('a1000000-0000-0000-0000-0000000000a1');
set local role authenticated;
insert into t select 'y' || i, public.request_export((select v from t where k = 'xco'), 'price_list', 'png')
  from generate_series(1, 5) i;
reset role;
update public.export_jobs set status = 'completed', completed_at = now() where user_id = 'a1000000-0000-0000-0000-0000000000a1';
select pg_temp.as_user('a1000000-0000-0000-0000-0000000000a1');
set local role authenticated;
select is(pg_temp.err(format('select public.request_export(%L, ''price_list'', ''png'')', (select v from t where k = 'xco'))),
  'CX003 per_hour', 'the 11th free export in an hour is refused');
select throws_like(format('select public.request_export(%L, ''price_list'', ''png'')', (select v from t where k = 'xco')),
  'export limit reached: 10 exports per hour on the free tier; retry after 20%', 'the hourly error says the limit and when to retry');
reset role;

-- the engine job: priority by tier, owner, group
select is((select j.priority from jobs.job j join public.export_jobs e on e.job_id = j.id where e.id = (select v from t where k = 'x1')),
  10, 'a free export job has priority 10');
select is((select j.owner from jobs.job j join public.export_jobs e on e.job_id = j.id where e.id = (select v from t where k = 'x1')),
  'a1000000-0000-0000-0000-0000000000a1'::uuid, 'the job''s owner is the requesting user');
select pg_temp.as_user('a3000000-0000-0000-0000-0000000000a3');
set local role authenticated;
insert into t values ('z1', public.request_export((select v from t where k = 'zco'), 'price_list', 'pdf'));
reset role;
select is((select j.priority from jobs.job j join public.export_jobs e on e.job_id = j.id where e.id = (select v from t where k = 'z1')),
  100, 'a subscriber export job has priority 100');

-- ---------------------------------------------------------------- export_jobs RLS: own rows only
select pg_temp.as_user('a2000000-0000-0000-0000-0000000000a2');
set local role authenticated;
select is((select count(*)::int from public.export_jobs), 0, 'a member of the same org does not see another user''s exports');
select is(pg_temp.err(format('update public.export_jobs set status = ''completed'' where id = %L', (select v from t where k = 'x1'))),
  '42501 ', 'users cannot write export rows directly');
reset role;
select pg_temp.as_user('a3000000-0000-0000-0000-0000000000a3');
set local role authenticated;
select is((select array_agg(id) from public.export_jobs), array[(select v from t where k = 'z1')], 'zoe sees only her own export');
select is(pg_temp.err(format('delete from public.export_jobs where id = %L', (select v from t where k = 'x1'))),
  '42501 ', 'users cannot delete export rows');
reset role;
-- a user who left the org no longer sees their exports
select pg_temp.as_user('a2000000-0000-0000-0000-0000000000a2');
set local role authenticated;
insert into t values ('y-own', public.request_export((select v from t where k = 'xco'), 'price_list', 'pdf'));
reset role;
delete from public.memberships where user_id = 'a2000000-0000-0000-0000-0000000000a2';
select pg_temp.as_user('a2000000-0000-0000-0000-0000000000a2');
set local role authenticated;
select is((select count(*)::int from public.export_jobs), 0, 'a user who left the org no longer sees its exports');
reset role;

-- ---------------------------------------------------------------- worker functions
select is((public.export_start((select v from t where k = 'z1'), 1)) ->> 'status', 'processing', 'export_start marks processing');
select is((public.export_start((select v from t where k = 'z1'), 1)) ->> 'user_email', 'zoe@zco.test', 'export_start returns the user''s email');
select public.export_progress((select v from t where k = 'z1'), 60);
select public.export_progress((select v from t where k = 'z1'), 30);
select is((select progress from public.export_jobs where id = (select v from t where k = 'z1')), 60, 'progress never goes backwards');
select ok(public.export_complete((select v from t where k = 'z1'), 'p/z1.pdf', 'http://x.test/p/z1.pdf', 1234, 500,
  '{"export_name":"Price list","download_url":"http://x.test/p/z1.pdf","expires_at":"in 30 days"}'), 'export_complete completes');
select ok(not public.export_complete((select v from t where k = 'z1'), 'p/z1.pdf', 'http://x.test/p/z1.pdf', 1234, 500),
  'export_complete again changes nothing');
select is((select count(*)::int from public.email_messages where recipient = 'zoe@zco.test' and template = 'export_completed'), 1,
  'one export_completed email is queued');
update public.export_jobs set status = 'processing' where id = (select v from t where k = 'x2');
select is(public.export_fail((select v from t where k = 'x2'), 'boom', false), 'pending', 'a non-final failure goes back to pending');
update public.export_jobs set status = 'processing' where id = (select v from t where k = 'x3');
select is(public.export_fail((select v from t where k = 'x3'), 'boom', true,
  '{"export_name":"Catalogue","reason":"boom","retry_url":"http://x.test/exports"}'), 'failed', 'a final failure marks failed');
select is((select count(*)::int from public.email_messages where recipient = 'xavier@xco.test' and template = 'export_failed'), 1,
  'the export_failed email is queued');

-- ---------------------------------------------------------------- retention
update public.export_jobs set completed_at = now() - interval '31 days', file_path = 'xco/old.pdf' where id = (select v from t where k = 'x4');
update public.export_jobs set completed_at = now() - interval '8 days' where id = (select v from t where k = 'x3');
select is((select array_agg(p) from public.export_retention() p), array['xco/old.pdf'], 'retention returns the deleted files');
select is((select count(*)::int from public.export_jobs where id in ((select v from t where k = 'x4'), (select v from t where k = 'x3'))), 0,
  'retention deleted the 31-day-old completed and the 8-day-old failed export');

select * from finish();
rollback;
