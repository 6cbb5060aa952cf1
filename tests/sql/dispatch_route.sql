-- jobs.route: cron cadence + immediate, debounced invoke on enqueue.
begin;
select plan(11);

select lives_ok(
  $$select jobs.route('pgtap-route', 'ping', '{"cron":"*/10 * * * *","min_priority":50,"debounce_ms":60000}')$$,
  'jobs.route registers a route');
select is((select schedule from cron.job where jobname = 'jobs:invoke:queue:pgtap-route'), '*/10 * * * *',
  'the route has a pg_cron job jobs:invoke:queue:<queue> on its cadence');

create temp table before_ as select coalesce(max(id), 0) as id from net.http_request_queue;

select jobs.enqueue('pgtap-route', '{}', '{"priority": 10}');
select is((select count(*)::int from net.http_request_queue where id > (select id from before_)), 0,
  'a job below min_priority does not invoke the function');

select jobs.enqueue('pgtap-route', '{}', '{"priority": 50, "delay_ms": 60000}');
select is((select count(*)::int from net.http_request_queue where id > (select id from before_)), 0,
  'a delayed job does not invoke the function now');

select jobs.enqueue('pgtap-route', '{}', '{"priority": 50}');
select is((select count(*)::int from net.http_request_queue where id > (select id from before_)), 1,
  'an urgent runnable job invokes the function once');
select is((select convert_from(body, 'utf8')::jsonb from net.http_request_queue where id > (select id from before_)),
  '{"queue":"pgtap-route","reason":"enqueue"}'::jsonb, 'the call names the queue and the reason');

select jobs.enqueue('pgtap-route', '{}', '{"priority": 90}');
select jobs.enqueue_many('pgtap-route', '[{},{},{}]', '{"priority": 90}');
select is((select count(*)::int from net.http_request_queue where id > (select id from before_)), 1,
  'more urgent jobs while a call is in flight do not invoke again (debounced)');

-- the in-flight call got its response: the next urgent job invokes again
insert into net._http_response (id, status_code) select max(id), 200 from net.http_request_queue;
select jobs.enqueue('pgtap-route', '{}', '{"priority": 90}');
select is((select count(*)::int from net.http_request_queue where id > (select id from before_)), 2,
  'once the call has answered, the next urgent job invokes again');

select throws_ok($$select jobs.route('pgtap-route', 'ping', '{"every":"1 minute"}')$$, 'CV001', null,
  'an unknown route option is rejected, naming it');

select ok(jobs.unroute('pgtap-route'), 'jobs.unroute removes the route');
select is((select count(*)::int from cron.job where jobname = 'jobs:invoke:queue:pgtap-route'), 0,
  'and its pg_cron job');

select * from finish();
rollback;
