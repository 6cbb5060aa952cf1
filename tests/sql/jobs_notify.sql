-- wake-ups: pg_notify('jobs.wake', <queue>) when work becomes runnable.
-- NOTIFY is only delivered at commit, so this test records the calls with a spy placed before
-- pg_catalog on the search_path (Postgres itself folds identical notifications of one
-- transaction into one delivery).
begin;
select plan(9);

create schema t_spy;
create table t_spy.calls (n serial, channel text, payload text);
create function t_spy.pg_notify(text, text) returns void
language sql as $$ insert into t_spy.calls (channel, payload) values ($1, $2) $$;
set local search_path = t_spy, pg_catalog, tap, public;

select jobs.enqueue('t_wake', '{}');
select results_eq($$select channel, payload from t_spy.calls$$, $$values ('jobs.wake'::text, 't_wake'::text)$$,
  'enqueue() notifies jobs.wake with the queue name');
truncate t_spy.calls;
select jobs.enqueue('t_wake', '{}', '{"delay_ms":60000}');
select is((select count(*)::int from t_spy.calls), 0, 'enqueue() of a delayed job does not notify');
select jobs.enqueue_many('t_wake', (select jsonb_agg(i) from generate_series(1, 500) i));
select is((select count(*)::int from t_spy.calls), 1, 'enqueue_many() of 500 jobs notifies once');
truncate t_spy.calls;
select jobs.claim('t_wake', 'w1', 1000);
select jobs.complete_many(array(select id from jobs.job where queue = 't_wake' and state = 'running'), 'w1');
select is((select count(*)::int from t_spy.calls), 0, 'claim() and complete_many() do not notify');

select jobs.enqueue('t_wake2', '{}', '{"max_attempts":1}');
select jobs.claim('t_wake2', 'w1');
select jobs.fail((select id from jobs.job where queue = 't_wake2'), 'w1', '"x"');
truncate t_spy.calls;
select jobs.retry((select id from jobs.job_done where queue = 't_wake2'));
select results_eq($$select channel, payload from t_spy.calls$$, $$values ('jobs.wake'::text, 't_wake2'::text)$$,
  'retry() notifies jobs.wake');

select jobs.enqueue('t_wake3', '{}', '{"max_attempts":3}');
select jobs.claim('t_wake3', 'w1');
update jobs.job set locked_until = now() - interval '1 second' where queue = 't_wake3';
truncate t_spy.calls;
select jobs.rescue_stale();
select results_eq($$select channel, payload from t_spy.calls$$, $$values ('jobs.wake'::text, 't_wake3'::text)$$,
  'rescue_stale() notifies jobs.wake for the queues it re-queued');

truncate t_spy.calls;
select jobs.resume('t_wake3');
select results_eq($$select channel, payload from t_spy.calls$$, $$values ('jobs.wake'::text, 't_wake3'::text)$$,
  'resume() notifies jobs.wake');

truncate t_spy.calls;
select jobs.claim('t_wake3', 'w1');
select jobs.fail((select id from jobs.job where queue = 't_wake3'), 'w1', '"x"', '{"retry_after_ms":0}');
select results_eq($$select channel, payload from t_spy.calls$$, $$values ('jobs.wake'::text, 't_wake3'::text)$$,
  'fail() that makes the job runnable at once notifies jobs.wake');
truncate t_spy.calls;
select jobs.claim('t_wake3', 'w1');
select jobs.fail((select id from jobs.job where queue = 't_wake3'), 'w1', '"x"');
select is((select count(*)::int from t_spy.calls), 0, 'fail() with a backoff delay does not notify');

select * from finish();
rollback;
