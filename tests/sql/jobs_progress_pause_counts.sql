-- progress, pause/resume, counts, get, queue settings
begin;
select plan(20);

select jobs.enqueue('t_prog');
create temp table c as select id from jobs.claim('t_prog', 'w1');
select is(jobs.progress((select id from c), 'w1', 40, '{"step":"render"}'), true, 'progress() by the holding worker returns true');
select is(jobs.get((select id from c))->'progress'->>'percent', '40', 'get() shows the progress percent');
select is(jobs.get((select id from c))->'progress'->'data', '{"step":"render"}'::jsonb, 'get() shows the progress detail');
select is(jobs.progress((select id from c), 'w2', 50), false, 'progress() by another worker returns false');
select throws_ok($$select jobs.progress(1, 'w1', 101)$$, 'CV002', null, 'progress() above 100 is refused');

-- get keys
select is((select array_agg(k order by k) from jsonb_object_keys(jobs.get((select id from c))) k where k = any (array[
  'id','queue','state','priority','attempts','max_attempts','run_at','payload','result','last_error','progress',
  'created_at','started_at','finished_at'])), array['attempts','created_at','finished_at','id','last_error','max_attempts',
  'payload','priority','progress','queue','result','run_at','started_at','state'], 'get() returns every contract key');
select is(jobs.get(-1), null, 'get() of an unknown job returns null');

-- pause / resume
select jobs.enqueue('t_pause');
select jobs.pause('t_pause');
select is((select paused from jobs.queue where name = 't_pause'), true, 'pause() marks the queue paused');
select is((select count(*)::int from jobs.claim('t_pause', 'w1')), 0, 'claim() returns nothing while the queue is paused');
select jobs.resume('t_pause');
select is((select count(*)::int from jobs.claim('t_pause', 'w1')), 1, 'claim() works after resume()');
select jobs.pause('t_pause_new');
select is((select paused from jobs.queue where name = 't_pause_new'), true, 'pause() of an unknown queue creates it paused');

-- counts
select jobs.enqueue('t_counts');
select jobs.enqueue('t_counts');
select jobs.enqueue('t_counts', '{}', '{"delay_ms":60000}');
select jobs.enqueue('t_counts');
select jobs.enqueue('t_counts', '{}', '{"max_attempts":1}');
select jobs.claim('t_counts', 'w1', 3);
select jobs.complete((select min(id) from jobs.job where queue = 't_counts' and state = 'running'), 'w1');
select jobs.fail((select min(id) from jobs.job where queue = 't_counts' and state = 'running'), 'w1', '"x"', '{"permanent":true}');
select jobs.cancel((select min(id) from jobs.job where queue = 't_counts' and state = 'queued' and run_at <= now()));
select results_eq($$select queued, delayed, running, completed, failed, cancelled from jobs.counts('t_counts')$$,
  $$values (0::bigint, 1::bigint, 1::bigint, 1::bigint, 1::bigint, 1::bigint)$$,
  'counts() reports queued, delayed, running, completed, failed and cancelled');
select ok((select count(*) from jobs.counts()) >= 3, 'counts() without a queue reports every queue');
select is((select queued from jobs.counts('t_pause_new')), 0::bigint, 'counts() reports empty queues with zeros');

-- queue settings
select is(jobs.create_queue('t_settings', '{"concurrency":3,"retention":{"completed_ms":1000}}')->>'concurrency', '3', 'create_queue() applies options');
select is(jobs.update_queue('t_settings', '{"concurrency":null}')->'concurrency', 'null'::jsonb, 'update_queue() with JSON null resets a setting');
select is((jobs.get_queue('t_settings')->'retention'->>'completed_ms')::bigint, 1000::bigint, 'retention is a queue setting');
select throws_ok($$select jobs.update_queue('t_no_such_queue', '{}')$$, 'CV003', null, 'update_queue() of an unknown queue raises CV003');
select throws_like($$select jobs.create_queue('t_settings', '{"concurency":3}')$$, '%unknown queue option "concurency"%', 'create_queue() names an unknown setting');
select throws_like($$select jobs.create_queue('t_settings', '{"rate_limit":{"limit":5}}')$$, '%rate_limit.interval_ms" is required%', 'a rate_limit without interval_ms is refused, naming the key');

select * from finish();
rollback;
