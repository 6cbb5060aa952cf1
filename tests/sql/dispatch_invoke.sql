-- jobs.invoke / jobs.schedule_invoke: pg_cron -> net.http_post -> edge function, up to the request.
-- (The e2e suite tests/e2e/dispatch.test.ts follows the same chain through the real function.)
begin;
select plan(12);

select has_function('jobs', 'invoke', array['text', 'jsonb'], 'jobs.invoke(text, jsonb) exists');

select isnt(jobs.invoke('ping', '{"source":"pgtap"}'), null::bigint, 'jobs.invoke returns a pg_net request id');

select is(
  (select url from net.http_request_queue order by id desc limit 1),
  (select decrypted_secret from vault.decrypted_secrets where name = 'project_url') || '/functions/v1/ping',
  'jobs.invoke posts to <project_url>/functions/v1/<name> from Vault'
);

select is(
  (select headers ->> 'Authorization' from net.http_request_queue order by id desc limit 1),
  'Bearer ' || (select decrypted_secret from vault.decrypted_secrets where name = 'service_role_key'),
  'jobs.invoke authenticates with the service-role key from Vault'
);

select is(
  (select convert_from(body, 'utf8')::jsonb from net.http_request_queue order by id desc limit 1),
  '{"source":"pgtap"}'::jsonb,
  'jobs.invoke sends the body as JSON'
);

select throws_ok(
  $$select jobs.invoke('Bad Name!', '{}')$$, 'CV002', null,
  'jobs.invoke rejects a function name that is not an edge function name'
);

select lives_ok(
  $$select jobs.schedule_invoke('pgtap-ping', '*/5 * * * *', 'ping', '{"source":"pgtap-cron"}')$$,
  'jobs.schedule_invoke registers a pg_cron job'
);

select is(
  (select schedule from cron.job where jobname = 'jobs:invoke:pgtap-ping'),
  '*/5 * * * *',
  'the pg_cron job is named jobs:invoke:<name> with the given schedule'
);

select jobs.schedule_invoke('pgtap-ping', '0 * * * *', 'ping', '{"source":"pgtap-cron"}');
select is(
  (select count(*)::int from cron.job where jobname = 'jobs:invoke:pgtap-ping' and schedule = '0 * * * *'),
  1,
  'scheduling the same name again replaces the job'
);

-- run exactly what pg_cron runs on each tick
do $$ begin execute (select command from cron.job where jobname = 'jobs:invoke:pgtap-ping'); end $$;
select is(
  (select convert_from(body, 'utf8')::jsonb ->> 'source' from net.http_request_queue order by id desc limit 1),
  'pgtap-cron',
  'the scheduled command queues the HTTP request for the function'
);

delete from vault.secrets where name = 'project_url';
select throws_ok(
  $$select jobs.invoke('ping')$$, '55000', null,
  'jobs.invoke without the project_url Vault secret fails with a hint'
);

set local role authenticated;
select throws_ok(
  $$select jobs.invoke('ping')$$, '42501', null,
  'authenticated users cannot invoke functions with the service key'
);
reset role;

select * from finish();
rollback;
