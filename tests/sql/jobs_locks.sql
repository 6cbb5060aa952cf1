-- heartbeat and rescue_stale: locks, lost locks, expired workers
begin;
select plan(13);

select jobs.create_queue('t_lock', '{"max_attempts":2,"lock_ms":1000}');
select jobs.enqueue_many('t_lock', '[{"a":1},{"a":2}]');
create temp table c as select * from jobs.claim('t_lock', 'w1', 2);
create temp table ids as select array_agg(id order by id) a from c;

select is(jobs.heartbeat((select a from ids), 'w1', 60000), 2, 'heartbeat() extends the locks the worker holds');
select ok((select bool_and(locked_until > now() + interval '59 seconds') from jobs.job where id = any ((select a from ids)::bigint[])),
  'heartbeat(lock_ms) moves locked_until lock_ms ahead');
select is(jobs.heartbeat((select a from ids), 'w2'), 0, 'heartbeat() by another worker extends nothing');
select is(jobs.heartbeat((select a from ids), 'w1'), 2, 'heartbeat() without lock_ms uses the queue lock_ms');

-- the lock expires
update jobs.job set locked_until = now() - interval '1 second' where id = any ((select a from ids)::bigint[]);
select is(jobs.rescue_stale(), 2, 'rescue_stale() returns expired running jobs and counts them');
select results_eq($$select distinct state, attempts, worker_id from jobs.job where id = any ((select a from ids)::bigint[])$$,
  $$values ('queued'::text, 1, null::text)$$, 'a rescued job is queued again with its attempt counted');
select is((select errors->-1->>'code' from jobs.job where id = (select a[1] from ids)), 'lock_expired', 'the rescue error says the lock expired');
select ok((select errors->-1->>'message' from jobs.job where id = (select a[1] from ids)) like 'lock expired%', 'the rescue error message says the lock expired');
select is(jobs.complete((select a[1] from ids), 'w1'), false, 'the late worker cannot complete a rescued job');
select is((select count(*)::int from jobs.event where kind = 'rescued' and job_id = any ((select a from ids)::bigint[])), 2, 'rescues are recorded in jobs.event');

-- second expiry with attempts spent
select jobs.claim('t_lock', 'w3', 2);
update jobs.job set locked_until = now() - interval '1 second' where id = any ((select a from ids)::bigint[]);
select is(jobs.rescue_stale(), 2, 'rescue_stale() handles jobs whose attempts are spent');
select is((select array_agg(distinct state) from jobs.job_done where id = any ((select a from ids)::bigint[])), array['failed'],
  'an expired job with no attempts left goes to failed');
select is(jobs.rescue_stale(), 0, 'rescue_stale() with nothing expired returns 0');

select * from finish();
rollback;
