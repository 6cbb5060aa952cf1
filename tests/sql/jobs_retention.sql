-- retention: jobs.prune() deletes finished jobs per queue settings, in batches
begin;
select plan(7);

select jobs.create_queue('t_ret', '{"retention":{"completed_ms":3600000,"failed_ms":86400000}}');
insert into jobs.job_done (id, queue, state, priority, attempts, max_attempts, run_at, created_at, payload, finished_at)
select 900000000 + i, 't_ret', s, 0, 1, 3, now(), now(), '{}', now() - age
  from (values (1, 'completed', interval '2 hours'), (2, 'completed', interval '10 minutes'),
               (3, 'failed', interval '2 hours'), (4, 'failed', interval '2 days'),
               (5, 'cancelled', interval '3 days')) v(i, s, age);
select jobs.enqueue('t_ret');

select is(jobs.prune(), 3, 'prune() deletes finished jobs older than their retention');
select is(array(select id - 900000000 from jobs.job_done where queue = 't_ret' order by id), array[2, 3]::bigint[],
  'completed jobs are kept for retention.completed_ms and failed ones for retention.failed_ms');
select is((select count(*)::int from jobs.job where queue = 't_ret'), 1, 'prune() never touches active jobs');

-- defaults: completed 7 days, failed 30 days
select jobs.create_queue('t_ret_default');
select results_eq($$select (jobs.get_queue('t_ret_default')->'retention'->>'completed_ms')::bigint,
                           (jobs.get_queue('t_ret_default')->'retention'->>'failed_ms')::bigint$$,
  $$values (604800000::bigint, 2592000000::bigint)$$, 'default retention is 7 days for completed and 30 days for failed jobs');

-- batches
insert into jobs.job_done (id, queue, state, priority, attempts, max_attempts, run_at, created_at, payload, finished_at)
select 910000000 + i, 't_ret', 'completed', 0, 1, 3, now(), now(), '{}', now() - interval '1 day'
  from generate_series(1, 10) i;
select is(jobs.prune(3, 2), 6, 'prune(batch, max_batches) deletes at most batch * max_batches rows per call');
select is(jobs.prune(3, 10), 4, 'the next prune() call continues where the last stopped');

insert into jobs.event (job_id, queue, kind, at) values (1, 't_ret', 'failed', now() - interval '400 days');
select jobs.prune();
select is((select count(*)::int from jobs.event where at < now() - interval '399 days'), 0, 'prune() also deletes events older than the failed-job retention');

select * from finish();
rollback;
