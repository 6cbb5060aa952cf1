-- security: RLS on every table, worker functions for service_role only, users see own jobs
begin;
select plan(24);

select is((select array_agg(c.relname::text order by c.relname) from pg_class c
            where c.relnamespace = 'jobs'::regnamespace and c.relkind = 'r' and not c.relrowsecurity),
  null, 'row-level security is enabled on every jobs table');

select ok(not bool_or(has_function_privilege(r, f, 'execute')),
  'anon and authenticated cannot execute the worker and admin functions')
  from unnest(array['anon', 'authenticated']) r,
       unnest(array['jobs.enqueue(text,jsonb,jsonb)', 'jobs.enqueue_many(text,jsonb,jsonb)', 'jobs.claim(text,text,int,int)',
                    'jobs.complete(bigint,text,jsonb)', 'jobs.complete_many(bigint[],text,jsonb)', 'jobs.fail(bigint,text,jsonb,jsonb)',
                    'jobs.heartbeat(bigint[],text,int)', 'jobs.progress(bigint,text,numeric,jsonb)', 'jobs.cancel(bigint)',
                    'jobs.retry(bigint)', 'jobs.pause(text)', 'jobs.resume(text)', 'jobs.rescue_stale()', 'jobs.counts(text)',
                    'jobs.schedule(text,text,text,jsonb,jsonb)', 'jobs.unschedule(text)', 'jobs.create_queue(text,jsonb)',
                    'jobs.update_queue(text,jsonb)', 'jobs.prune(int,int)']) f;
select ok(bool_and(has_function_privilege('service_role', f, 'execute')), 'service_role can execute the worker and admin functions')
  from unnest(array['jobs.enqueue(text,jsonb,jsonb)', 'jobs.enqueue_many(text,jsonb,jsonb)', 'jobs.claim(text,text,int,int)',
                    'jobs.complete(bigint,text,jsonb)', 'jobs.complete_many(bigint[],text,jsonb)', 'jobs.fail(bigint,text,jsonb,jsonb)',
                    'jobs.heartbeat(bigint[],text,int)', 'jobs.progress(bigint,text,numeric,jsonb)', 'jobs.get(bigint)',
                    'jobs.cancel(bigint)', 'jobs.retry(bigint)', 'jobs.pause(text)', 'jobs.resume(text)', 'jobs.rescue_stale()',
                    'jobs.counts(text)', 'jobs.schedule(text,text,text,jsonb,jsonb)', 'jobs.unschedule(text)',
                    'jobs.create_queue(text,jsonb)', 'jobs.update_queue(text,jsonb)']) f;
select ok(not bool_or(has_function_privilege('public', p.oid, 'execute')), 'no jobs function is executable by PUBLIC')
  from pg_proc p where p.pronamespace = 'jobs'::regnamespace;
select is((select array_agg(p.proname::text) from pg_proc p
            where p.pronamespace = 'jobs'::regnamespace and p.prosecdef
              and not coalesce('search_path=""' = any (p.proconfig), false)),
  null, 'every security definer function sets search_path to empty');
select ok(has_function_privilege('authenticated', 'jobs.get(bigint)', 'execute'), 'authenticated can call get()');
select ok(not has_function_privilege('anon', 'jobs.get(bigint)', 'execute'), 'anon cannot call get()');
select ok(not has_table_privilege('authenticated', 'jobs.queue', 'select'), 'authenticated cannot read queue settings');
select ok(not has_table_privilege('authenticated', 'jobs.job', 'insert,update,delete'), 'authenticated cannot write jobs');
select ok(not has_table_privilege('anon', 'jobs.job', 'select'), 'anon cannot read jobs');

-- data: one job per user, one without owner
select jobs.enqueue('t_sec', '{"who":"alice"}', '{"owner":"aaaaaaaa-0000-0000-0000-000000000001"}');
select jobs.enqueue('t_sec', '{"who":"bob"}', '{"owner":"bbbbbbbb-0000-0000-0000-000000000002"}');
select jobs.enqueue('t_sec', '{"who":"nobody"}');
select jobs.enqueue('t_sec', '{"who":"alice-done"}', '{"owner":"aaaaaaaa-0000-0000-0000-000000000001"}');
select jobs.claim('t_sec', 'w1', 10);
select jobs.complete((select id from jobs.job where payload->>'who' = 'alice-done'), 'w1');
create temp table ids as select payload->>'who' as who, id from jobs.job_list where queue = 't_sec';
grant select on ids to authenticated, anon;

-- alice
select set_config('request.jwt.claims', '{"sub":"aaaaaaaa-0000-0000-0000-000000000001","role":"authenticated"}', true);
set local role authenticated;
select is((select array_agg(payload->>'who' order by id) from jobs.job), array['alice'], 'an authenticated user sees only their own active jobs');
select is((select array_agg(payload->>'who' order by id) from jobs.job_done), array['alice-done'], 'an authenticated user sees only their own finished jobs');
select is((select array_agg(payload->>'who' order by id) from jobs.job_list), array['alice', 'alice-done'], 'jobs.job_list lists the user''s own jobs, active and finished');
select is(jobs.get((select id from ids where who = 'alice'))->>'state', 'running', 'get() returns the user''s own job');
select is(jobs.get((select id from ids where who = 'bob')), null, 'get() returns null for another user''s job');
select is(jobs.get((select id from ids where who = 'nobody')), null, 'get() returns null for a job without owner');
select throws_ok($$select * from jobs.claim('t_sec', 'evil')$$, '42501', null, 'authenticated cannot claim');
select throws_ok($$select jobs.complete(1, 'w1')$$, '42501', null, 'authenticated cannot complete');
select throws_ok($$select jobs.fail(1, 'w1', '{}')$$, '42501', null, 'authenticated cannot fail');
select throws_ok($$update jobs.job set state = 'completed'$$, '42501', null, 'authenticated cannot update jobs directly');
select throws_ok($$select * from jobs.event$$, '42501', null, 'authenticated cannot read the event table');
reset role;

-- anon
select set_config('request.jwt.claims', '{"role":"anon"}', true);
set local role anon;
select throws_ok($$select * from jobs.job$$, '42501', null, 'anon cannot select jobs');
select throws_ok($$select jobs.get(1)$$, '42501', null, 'anon cannot call get()');
reset role;

-- service_role sees everything
set local role service_role;
select is((select count(*)::int from jobs.job_list where queue = 't_sec'), 4, 'service_role sees every job');
reset role;

select * from finish();
rollback;
