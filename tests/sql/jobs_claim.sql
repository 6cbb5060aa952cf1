-- claim: order, pause, concurrency, group concurrency, rate limit, attempts
begin;
select plan(23);

select has_function('jobs', 'claim', array['text', 'text', 'integer', 'integer'], 'jobs.claim(queue, worker_id, max_jobs, lock_ms) exists');

select jobs.enqueue('t_claim', '{"n":"low"}', '{"priority":0}');
select jobs.enqueue('t_claim', '{"n":"high"}', '{"priority":10}');
select jobs.enqueue('t_claim', '{"n":"low2"}', '{"priority":0}');
select jobs.enqueue('t_claim', '{"n":"later"}', '{"priority":100,"delay_ms":60000}');

create temp table c1 as select * from jobs.claim('t_claim', 'w1', 10);
select is(array(select payload->>'n' from c1), array['high', 'low', 'low2'],
  'claim() returns runnable jobs by priority desc, then run_at, then id');
select is((select count(*)::int from c1 where payload->>'n' = 'later'), 0, 'claim() skips jobs whose run_at is in the future');
select is((select array_agg(attempt) from c1), array[1, 1, 1], 'claim() counts an attempt');
select ok((select bool_and(locked_until > now() + interval '299 seconds') from c1), 'the lock defaults to the queue lock_ms (5 minutes)');
select results_eq($$select distinct state, worker_id from jobs.job where id in (select id from c1)$$,
  $$values ('running'::text, 'w1'::text)$$, 'claimed jobs are running and held by the worker');
select is((select count(*)::int from jobs.claim('t_claim', 'w2', 10)), 0, 'a claimed job is never returned to a second worker');
select is((select count(*)::int from jobs.claim('t_unknown_queue', 'w2', 10)), 0, 'claim() on an unknown queue returns nothing');

select jobs.enqueue('t_claim_lock', '{}', '{"timeout_ms":2000}');
select ok((select locked_until < now() + interval '3 seconds' from jobs.claim('t_claim_lock', 'w1')), 'the lock defaults to the job timeout_ms when set');
select jobs.enqueue('t_claim_lock');
select ok((select locked_until between now() + interval '9 seconds' and now() + interval '11 seconds' from jobs.claim('t_claim_lock', 'w1', 1, 10000)),
  'claim(lock_ms) sets the lock duration');

-- max_jobs
select jobs.enqueue_many('t_claim_n', (select jsonb_agg(i) from generate_series(1, 5) i));
select is((select count(*)::int from jobs.claim('t_claim_n', 'w1', 2)), 2, 'claim() returns at most max_jobs');

-- pause
select jobs.pause('t_claim_n');
select is((select count(*)::int from jobs.claim('t_claim_n', 'w1', 10)), 0, 'claim() returns nothing while the queue is paused');
select jobs.resume('t_claim_n');
select is((select count(*)::int from jobs.claim('t_claim_n', 'w1', 10)), 3, 'claim() returns jobs again after resume()');

-- queue concurrency
select jobs.create_queue('t_conc', '{"concurrency":2}');
select jobs.enqueue_many('t_conc', (select jsonb_agg(i) from generate_series(1, 5) i));
select is((select count(*)::int from jobs.claim('t_conc', 'w1', 10)), 2, 'claim() stops at the queue concurrency');
select is((select count(*)::int from jobs.claim('t_conc', 'w2', 10)), 0, 'claim() returns nothing while concurrency is reached');
select jobs.complete((select min(id) from jobs.job where queue = 't_conc' and state = 'running'), 'w1');
select is((select count(*)::int from jobs.claim('t_conc', 'w2', 10)), 1, 'a completion frees one concurrency slot');

select jobs.enqueue_many('t_conc_late', '[1,2,3]');
select jobs.claim('t_conc_late', 'w1', 1);
select jobs.update_queue('t_conc_late', '{"concurrency":1}');
select is((select count(*)::int from jobs.claim('t_conc_late', 'w2', 10)), 0, 'a concurrency limit set after enqueue also counts jobs already running');

-- group concurrency
select jobs.create_queue('t_group', '{"group_concurrency":1}');
select jobs.enqueue('t_group', '{}', '{"group_key":"shop-a"}') from generate_series(1, 3);
select jobs.enqueue('t_group', '{}', '{"group_key":"shop-b"}') from generate_series(1, 2);
select jobs.enqueue('t_group', '{}');
select is((select array_agg(coalesce(group_key, '-') order by id) from jobs.claim('t_group', 'w1', 10)), array['shop-a', 'shop-b', '-'],
  'claim() with group_concurrency 1 returns one job per group (jobs without group_key are not limited)');
select is((select count(*)::int from jobs.claim('t_group', 'w2', 10)), 0, 'claim() returns nothing for groups at their limit');
select jobs.complete((select id from jobs.job where queue = 't_group' and group_key = 'shop-a' and state = 'running'), 'w1');
select is((select array_agg(group_key) from jobs.claim('t_group', 'w2', 10)), array['shop-a'], 'finishing a group''s job lets its next job run');

-- rate limit
select jobs.create_queue('t_rate', '{"rate_limit":{"limit":3,"interval_ms":60000}}');
select jobs.enqueue_many('t_rate', (select jsonb_agg(i) from generate_series(1, 10) i));
select is((select count(*)::int from jobs.claim('t_rate', 'w1', 2)), 2, 'claim() under the rate limit returns what was asked');
select is((select count(*)::int from jobs.claim('t_rate', 'w1', 10)), 1, 'claim() returns only what the rate limit still allows in the interval');
select is((select count(*)::int from jobs.claim('t_rate', 'w2', 10)), 0, 'claim() returns nothing once the rate limit is spent');

select * from finish();
rollback;
