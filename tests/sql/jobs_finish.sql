-- complete / complete_many / fail / cancel / retry
begin;
select plan(36);

select jobs.create_queue('t_fin', '{"max_attempts":2,"backoff":{"kind":"fixed","base_ms":5000}}');
select jobs.enqueue_many('t_fin', (select jsonb_agg(jsonb_build_object('i', i)) from generate_series(1, 6) i));
create temp table c as select * from jobs.claim('t_fin', 'w1', 6);
create temp table ids as select array_agg(id order by id) a from c;

-- complete
select is(jobs.complete((select a[1] from ids), 'w1', '{"ok":true}'), true, 'complete() by the holding worker returns true');
select results_eq($$select state, result from jobs.job_done where id = (select a[1] from ids)$$,
  $$values ('completed'::text, '{"ok":true}'::jsonb)$$, 'complete() moves the job to completed with its result');
select is((select count(*)::int from jobs.job where id = (select a[1] from ids)), 0, 'a completed job leaves the hot table');
select is(jobs.complete((select a[1] from ids), 'w1'), false, 'complete() twice returns false the second time');
select is(jobs.complete((select a[2] from ids), 'w2'), false, 'complete() by another worker returns false');
select is((select state from jobs.job where id = (select a[2] from ids)), 'running', 'complete() by another worker changes nothing');

-- complete_many
select is(jobs.complete_many((select a[2:4] from ids) || array[999999999::bigint], 'w1', '[{"r":2},null,{"r":4},{"r":0}]'), 3,
  'complete_many() returns how many the worker still held');
select is((select array_agg(result order by id) from jobs.job_done where id = any ((select a[2:4] from ids)::bigint[])),
  array['{"r":2}'::jsonb, null, '{"r":4}'::jsonb], 'complete_many() stores results parallel to the ids');
select is(jobs.complete_many((select a[2:5] from ids), 'w2'), 0, 'complete_many() by a worker holding none returns 0');
select is(jobs.complete_many((select a[5:6] from ids), 'w1'), 2, 'complete_many() without results completes the jobs');

-- fail with backoff, then attempts spent
select jobs.enqueue('t_fail', '{}', '{"max_attempts":2,"backoff":{"kind":"fixed","base_ms":5000}}');
create temp table f as select id from jobs.claim('t_fail', 'w1');
select is(jobs.fail((select id from f), 'w2', '{"message":"nope"}'), null, 'fail() by a worker not holding the job returns null');
select is((select state from jobs.job where id = (select id from f)), 'running', 'fail() by a worker not holding the job changes nothing');
select is(jobs.fail((select id from f), 'w1', '{"message":"boom 1"}'), 'queued', 'fail() with attempts left returns queued');
select ok((select run_at between now() + interval '4.9 seconds' and now() + interval '5.1 seconds' from jobs.job where id = (select id from f)),
  'fail() reschedules after the backoff delay');
update jobs.job set run_at = now() where id = (select id from f);
select is((select attempt from jobs.claim('t_fail', 'w1')), 2, 'the retried job is claimed as attempt 2');
select is(jobs.fail((select id from f), 'w1', '"boom 2"'), 'failed', 'fail() on the last attempt returns failed');
select is((select state from jobs.job_done where id = (select id from f)), 'failed', 'a job with attempts spent is failed (dead letter)');
select is((select jsonb_agg(e->>'message') from jobs.job_done, jsonb_array_elements(errors) e where id = (select id from f)),
  '["boom 1","boom 2"]'::jsonb, 'every error is kept, in order');
select is((select array_agg((e->>'attempt')::int) from jobs.job_done, jsonb_array_elements(errors) e where id = (select id from f)),
  array[1, 2], 'each kept error records its attempt');
select is((select count(*)::int from jobs.event where job_id = (select id from f) and kind in ('retry_scheduled', 'failed')), 2,
  'failures are recorded in jobs.event');
select is(jobs.get((select id from f))->'last_error'->>'message', 'boom 2', 'get() shows the last error');
select ok((jobs.get((select id from f))->'last_error') ? 'at', 'each kept error records its time');

-- retry_after_ms and permanent
select jobs.enqueue('t_fail2', '{}', '{"max_attempts":1}');
create temp table g as select id from jobs.claim('t_fail2', 'w1');
select is(jobs.fail((select id from g), 'w1', '{"message":"429"}', '{"retry_after_ms":30000}'), 'queued',
  'fail() with retry_after_ms reschedules even on the last attempt');
select results_eq($$select attempts, run_at > now() + interval '29 seconds' from jobs.job where id = (select id from g)$$,
  $$values (0, true)$$, 'fail() with retry_after_ms does not spend the attempt and waits retry_after_ms');
update jobs.job set run_at = now() where id = (select id from g);
select is((select attempt from jobs.claim('t_fail2', 'w1')), 1, 'after retry_after_ms the job runs again without losing an attempt');
select jobs.enqueue('t_fail3', '{}', '{"max_attempts":5}');
create temp table h as select id from jobs.claim('t_fail3', 'w1');
select is(jobs.fail((select id from h), 'w1', '{"message":"bad input"}', '{"permanent":true}'), 'failed', 'fail() with permanent goes straight to failed');
select throws_ok($$select jobs.fail(1, 'w1', '{}', '{"forever":true}')$$, 'CV001', null, 'fail() refuses unknown option keys');

-- cancel and retry
select jobs.enqueue('t_cancel', '{}', '{"dedupe_key":"once"}');
create temp table k as select id from jobs.job where queue = 't_cancel';
select is(jobs.cancel((select id from k)), true, 'cancel() cancels a queued job');
select is(jobs.get((select id from k))->>'state', 'cancelled', 'a cancelled job is in state cancelled');
select is(jobs.retry((select id from k)), true, 'retry() re-queues a cancelled job');
select is(jobs.retry((select id from f)), true, 'retry() re-queues a failed job');
select results_eq($$select state, attempts from jobs.job where id = (select id from f)$$, $$values ('queued'::text, 0)$$,
  'a retried job is queued with a fresh attempt budget');

-- retention.completed_ms = 0: completion deletes (no history), mixed batches still work
select jobs.create_queue('fin_drop', '{"retention":{"completed_ms":0}}');
select jobs.create_queue('fin_keep', '{}');
create temp table dk as
  select (select id from jobs.enqueue_many('fin_drop', '[{"d":1},{"d":2}]') id order by id limit 1) as d1,
         (select id from jobs.enqueue('fin_keep', '{"k":1}') id) as k1;
select count(*) from jobs.claim('fin_drop', 'wd', 10);
select count(*) from jobs.claim('fin_keep', 'wd', 10);
select is(jobs.complete_many(array[(select d1 from dk limit 1), (select k1 from dk limit 1)], 'wd', '[{"r":"d"},{"r":"k"}]'),
  2, 'complete_many completes jobs of a history-less queue and a normal one in one call');
select is(jobs.get((select d1 from dk limit 1)), null, 'a job of a queue with retention.completed_ms = 0 leaves no history');
select is(jobs.get((select k1 from dk limit 1)) -> 'result', '{"r":"k"}'::jsonb, 'the other keeps its history and its result');
select is(jobs.complete_many(array[(select d1 from dk limit 1)], 'wd'), 0, 'a second completion of the deleted job changes nothing');

select * from finish();
rollback;
