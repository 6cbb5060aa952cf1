-- end-user enqueue (opt-in per queue): owner forced, safe options, limits, anon refused
begin;
select plan(22);

select ok(has_function_privilege('authenticated', 'jobs.enqueue_as_user(text,jsonb,jsonb)', 'execute'), 'authenticated can call enqueue_as_user()');
select ok(not has_function_privilege('anon', 'jobs.enqueue_as_user(text,jsonb,jsonb)', 'execute'), 'anon cannot call enqueue_as_user()');
select ok(not has_function_privilege('public', 'jobs.enqueue_as_user(text,jsonb,jsonb)', 'execute'), 'PUBLIC cannot call enqueue_as_user()');

select jobs.create_queue('t_user', '{"user_enqueue":{"enabled":true,"max_pending":3,"max_payload_bytes":100,"max_delay_ms":3600000}}');
select jobs.create_queue('t_user_rl', '{"user_enqueue":{"enabled":true,"max_pending":100,"rate_limit":{"limit":2,"interval_ms":60000}}}');
select jobs.create_queue('t_user_closed');

select set_config('request.jwt.claims', '{"sub":"aaaaaaaa-0000-0000-0000-000000000001","role":"authenticated"}', true);
set local role authenticated;

create temp table a1 as select jobs.enqueue_as_user('t_user', '{"doc":1}') as id;
select is(jobs.get((select id from a1))->>'state', 'queued', 'enqueue_as_user() creates a job the user can follow');
reset role;
select is((select owner from jobs.job where id = (select id from a1)), 'aaaaaaaa-0000-0000-0000-000000000001'::uuid,
  'enqueue_as_user() sets owner to auth.uid()');
set local role authenticated;

select throws_ok($$select jobs.enqueue_as_user('t_user_closed', '{}')$$, 'CV010', null, 'a queue without user_enqueue refuses users');
select throws_ok($$select jobs.enqueue_as_user('t_no_such_queue', '{}')$$, 'CV010', null, 'an unknown queue refuses users');
select throws_like($$select jobs.enqueue_as_user('t_user', '{}', '{"owner":"bbbbbbbb-0000-0000-0000-000000000002"}')$$,
  '%option "owner" is not allowed for user enqueue%', 'a user cannot choose the owner');
select throws_ok($$select jobs.enqueue_as_user('t_user', '{}', '{"priority":100}')$$, 'CV015', null, 'a user cannot set priority');
select throws_ok($$select jobs.enqueue_as_user('t_user', '{}', '{"colour":"red"}')$$, 'CV001', null, 'an unknown option is refused with CV001');
select throws_like($$select jobs.enqueue_as_user('t_user', jsonb_build_object('big', repeat('x', 200)))$$,
  '%over the limit user_enqueue.max_payload_bytes = 100%', 'a payload over max_payload_bytes is refused, naming the limit');
select throws_like($$select jobs.enqueue_as_user('t_user', '{}', '{"delay_ms":7200000}')$$,
  '%user_enqueue.max_delay_ms%', 'a delay beyond max_delay_ms is refused, naming the limit');

-- dedupe is per user
create temp table a2 as select jobs.enqueue_as_user('t_user', '{}', '{"dedupe_key":"report-1"}') as id;
select is(jobs.enqueue_as_user('t_user', '{}', '{"dedupe_key":"report-1"}'), (select id from a2), 'a user''s repeated dedupe_key returns their first job');

-- pending cap (3): a1, a2 pending
select lives_ok($$select jobs.enqueue_as_user('t_user', '{}')$$, 'enqueue_as_user() below max_pending is allowed');
select throws_like($$select jobs.enqueue_as_user('t_user', '{}')$$, '%limit user_enqueue.max_pending is 3%', 'enqueue_as_user() over max_pending is refused, naming the limit');
select throws_ok($$select jobs.enqueue_as_user('t_user', '{}')$$, 'CV013', null, 'the pending cap error has code CV013');

-- rate limit (2 per minute)
select jobs.enqueue_as_user('t_user_rl', '{}');
select jobs.enqueue_as_user('t_user_rl', '{}');
select throws_like($$select jobs.enqueue_as_user('t_user_rl', '{}')$$, '%rate limit exceeded%user_enqueue.rate_limit = 2 per 60000 ms%', 'enqueue_as_user() over the per-user rate limit is refused, naming the limit');
select throws_ok($$select jobs.enqueue_as_user('t_user_rl', '{}')$$, 'CV012', null, 'the rate limit error has code CV012');

-- another user has their own budget and dedupe namespace, and cannot see alice's jobs
select set_config('request.jwt.claims', '{"sub":"bbbbbbbb-0000-0000-0000-000000000002","role":"authenticated"}', true);
select isnt(jobs.enqueue_as_user('t_user', '{}', '{"dedupe_key":"report-1"}'), (select id from a2), 'the same dedupe_key from another user creates their own job');
select is(jobs.get((select id from a1)), null, 'another user cannot get the job');

-- signed out but holding the authenticated role (no sub)
select set_config('request.jwt.claims', '{"role":"authenticated"}', true);
select throws_ok($$select jobs.enqueue_as_user('t_user', '{}')$$, 'CV011', null, 'enqueue_as_user() without a user id is refused with CV011');
reset role;

set local role anon;
select throws_ok($$select jobs.enqueue_as_user('t_user', '{}')$$, '42501', null, 'anon is refused');
reset role;

select * from finish();
rollback;
