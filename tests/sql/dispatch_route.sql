-- jobs.route: cron cadence + immediate, debounced invoke on enqueue.
begin;
select plan(20);

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
  jsonb_build_object('queue', 'pgtap-route', 'reason', 'enqueue',
                     'dispatch_id', (select dispatch_id from jobs.dispatch_state where function_name = 'ping')),
  'the call names the queue, the reason and its dispatch id');

select jobs.enqueue('pgtap-route', '{}', '{"priority": 90}');
select jobs.enqueue_many('pgtap-route', '[{},{},{}]', '{"priority": 90}');
select is((select count(*)::int from net.http_request_queue where id > (select id from before_)), 1,
  'more urgent jobs while a call is in flight do not invoke again (debounced)');

select is((select pending from jobs.dispatch_state where function_name = 'ping'), true,
  'jobs arriving during the call mark it pending');
select is(jobs.dispatch_done('ping', (select dispatch_id from jobs.dispatch_state where function_name = 'ping'), 'pgtap-route'),
  true, 'dispatch_done tells the running call to keep working when jobs are pending');
select is(jobs.dispatch_done('ping', (select dispatch_id from jobs.dispatch_state where function_name = 'ping'), 'pgtap-route'),
  false, 'and ends the call once nothing is pending');
select is(jobs.dispatch_done('ping', -1, 'pgtap-route'), false, 'a stale dispatch id changes nothing');

select jobs.enqueue('pgtap-route', '{}', '{"priority": 90}');
select is((select count(*)::int from net.http_request_queue where id > (select id from before_)), 2,
  'once the call has ended, the next urgent job invokes again');
-- the call crashed: pg_net recorded an error for it, so the next urgent job invokes again
insert into net._http_response (id, status_code, error_msg)
select last_request_id, 502, 'connection reset' from jobs.dispatch_state where function_name = 'ping';
select jobs.enqueue('pgtap-route', '{}', '{"priority": 90}');
select is((select count(*)::int from net.http_request_queue where id > (select id from before_)), 3,
  'a call that pg_net saw fail no longer counts as in flight');

select jobs.enqueue('pgtap-route', '{}', '{"priority": 90}');
select is(jobs.dispatch_done('ping', (select dispatch_id from jobs.dispatch_state where function_name = 'ping'), 'pgtap-route', false),
  false, 'a call out of budget with jobs pending ends...');
select is((select count(*)::int from net.http_request_queue where id > (select id from before_)), 4,
  '...and invokes the function afresh, so the pending job is not left for the cron tick');

update jobs.dispatch_state set in_flight_since = null, pending = false where function_name = 'ping';
select isnt(jobs.dispatch('pgtap-route'), null::bigint, 'jobs.dispatch invokes the routed function now when no call is in flight');
select is(jobs.dispatch('pgtap-route'), null::bigint, 'and not again while that call is in flight');

select throws_ok($$select jobs.route('pgtap-route', 'ping', '{"every":"1 minute"}')$$, 'CV001', null,
  'an unknown route option is rejected, naming it');

select ok(jobs.unroute('pgtap-route'), 'jobs.unroute removes the route');
select is((select count(*)::int from cron.job where jobname = 'jobs:invoke:queue:pgtap-route'), 0,
  'and its pg_cron job');

select * from finish();
rollback;
