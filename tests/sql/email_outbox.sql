-- email outbox: enqueue_email validation and job, suppression, sending state, webhooks,
-- frequency cap, unsubscribe, the welcome trigger, RLS
begin;
select plan(94);

-- ---------------------------------------------------------------- fixtures
insert into auth.users (id, email) values
  ('a1000000-0000-0000-0000-00000000000a', 'alice@acme.test'),
  ('b1000000-0000-0000-0000-00000000000b', 'bob@bobco.test');

create temp table t (k text primary key, v text);
grant select, insert on t to authenticated, anon, service_role;

create function pg_temp.err(p_sql text) returns text language plpgsql as $$
declare
  v_state text;
  v_hint text;
begin
  execute p_sql;
  return null;
exception when others then
  get stacked diagnostics v_state = returned_sqlstate, v_hint = pg_exception_hint;
  return v_state || ' ' || coalesce(v_hint, '');
end
$$;
create function pg_temp.id(p_k text) returns bigint language sql as $$ select v::bigint from t where k = p_k $$;
create function pg_temp.org(p_k text) returns uuid language sql as $$ select v::uuid from t where k = p_k $$;

select set_config('request.jwt.claims', '{"sub":"a1000000-0000-0000-0000-00000000000a","role":"authenticated"}', true);
set local role authenticated;
insert into t values ('acme', public.create_organization('Acme', 'acme-outbox'));
reset role;
select set_config('request.jwt.claims', '{"sub":"b1000000-0000-0000-0000-00000000000b","role":"authenticated"}', true);
set local role authenticated;
insert into t values ('bobco', public.create_organization('Bobco', 'bobco-outbox'));
reset role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true);
-- imports do not trigger the welcome email
insert into public.subscribers (org_id, email, status, consent_source) values
  (pg_temp.org('acme'), 'sub@fans.test', 'subscribed', 'import'),
  (pg_temp.org('acme'), 'gone@fans.test', 'unsubscribed', 'import'),
  (pg_temp.org('acme'), 'capped@fans.test', 'subscribed', 'import');

-- ---------------------------------------------------------------- the queue and its route
select is((jobs.get_queue('email') ->> 'max_attempts')::int, 5, 'the email queue allows 5 attempts');
select is(jobs.get_queue('email') -> 'rate_limit', '{"limit":100,"interval_ms":1000}'::jsonb, 'the email queue has a rate limit of 100 emails per second');
select is(jobs.get_queue('email') #>> '{backoff,kind}', 'exponential', 'the email queue backs off exponentially');
select is((select function_name || ' ' || min_priority from jobs.dispatch_route where queue = 'email'), 'process-email-queue 50',
  'the email queue is routed to process-email-queue, invoked at once from priority 50');

-- ---------------------------------------------------------------- enqueue
set local role service_role;
insert into t values ('tx', public.enqueue_email(pg_temp.org('acme'), ' Buyer@Shop.TEST ',
  '{"subject":"Your order","html":"<p>Thanks</p>","text":"Thanks","to_name":"Buyer","headers":{"X-Entity-Ref-ID":"order-1"}}')::text);
reset role;
select is((select recipient || ' ' || status || ' ' || category from public.email_messages where id = pg_temp.id('tx')),
  'buyer@shop.test queued transactional', 'enqueue_email() stores a queued transactional email with the recipient lowercased');
select is((select j.payload from jobs.job j where j.id = (select job_id from public.email_messages where id = pg_temp.id('tx'))),
  jsonb_build_object('message_id', pg_temp.id('tx')), 'enqueue_email() enqueues an email job carrying the message id, and stores its job_id');
select is((select j.dedupe_key || ' ' || j.priority from jobs.job j where j.id = (select job_id from public.email_messages where id = pg_temp.id('tx'))),
  'email:' || pg_temp.id('tx') || ' 100', 'the job has dedupe_key email:<id> and priority 100 for transactional email');
select ok((select idempotency_key ~ '^email-[0-9a-f]{32}$' from public.email_messages where id = pg_temp.id('tx')),
  'every message has a random idempotency key');

set local role service_role;
insert into t values ('camp', public.enqueue_email(pg_temp.org('acme'), 'sub@fans.test',
  '{"template":"newsletter","category":"campaign","payload":{"issue":7}}')::text);
insert into t values ('later', public.enqueue_email(pg_temp.org('acme'), 'buyer@shop.test',
  '{"template":"cart-reminder","delay_ms":3600000}')::text);
insert into t values ('dedupe1', public.enqueue_email(pg_temp.org('acme'), 'buyer@shop.test', '{"template":"receipt","dedupe_key":"order-9"}')::text);
insert into t values ('dedupe2', public.enqueue_email(pg_temp.org('acme'), 'buyer@shop.test', '{"template":"receipt","dedupe_key":"order-9"}')::text);
reset role;
select is((select j.priority from jobs.job j join public.email_messages m on m.job_id = j.id where m.id = pg_temp.id('camp')), 10,
  'campaign email is enqueued with priority 10 (sent on the cron cadence)');
select ok((select j.run_at > now() + interval '59 minutes' and m.scheduled_at = j.run_at
             from jobs.job j join public.email_messages m on m.job_id = j.id where m.id = pg_temp.id('later')),
  'delay_ms schedules the job later and records scheduled_at');
select is(pg_temp.id('dedupe2'), pg_temp.id('dedupe1'), 'the same dedupe_key returns the first message id');
select is((select count(*)::int from public.email_messages where dedupe_key = 'order-9'), 1, 'a repeated dedupe_key stores one message');

-- ---------------------------------------------------------------- bad input names the field and stores nothing
create temp table before as
  select (select count(*) from public.email_messages) as messages,
         (select count(*) from jobs.job where queue = 'email' and created_at = now()) as jobs;
select is(pg_temp.err($$select public.enqueue_email(pg_temp.org('acme'), 'not-an-address', '{"subject":"s","text":"t"}')$$),
  'CE001 recipient', 'an invalid address is refused with CE001, hint recipient');
select throws_like($$select public.enqueue_email(pg_temp.org('acme'), 'a@b', '{"subject":"s","text":"t"}')$$,
  'recipient must be a valid email address%', 'the message names the recipient field');
select is(pg_temp.err(format($$select public.enqueue_email(pg_temp.org('acme'), '%s@x.test', '{"subject":"s","text":"t"}')$$, repeat('a', 65))),
  'CE001 recipient', 'a local part over 64 characters is refused');
select is(pg_temp.err($$select public.enqueue_email(pg_temp.org('acme'), null, '{"subject":"s","text":"t"}')$$),
  'CE001 recipient', 'a null recipient is refused');
select is(pg_temp.err($$select public.enqueue_email(pg_temp.org('acme'), 'a@x.test', '{"subject":"s","text":"t","category":"spam"}')$$),
  'CE001 category', 'an unknown category is refused with hint category');
select is(pg_temp.err($$select public.enqueue_email(pg_temp.org('acme'), 'a@x.test', '{}')$$),
  'CE001 template', 'neither template nor subject is refused with hint template');
select is(pg_temp.err($$select public.enqueue_email(pg_temp.org('acme'), 'a@x.test', '{"subject":"s"}')$$),
  'CE001 html', 'a subject without html or text is refused with hint html');
select is(pg_temp.err($$select public.enqueue_email(pg_temp.org('acme'), 'a@x.test', '{"html":"<p>x</p>"}')$$),
  'CE001 subject', 'a body without subject or template is refused with hint subject');
select is(pg_temp.err($$select public.enqueue_email(pg_temp.org('acme'), 'a@x.test', '{"template":"welcome","payload":[1,2]}')$$),
  'CE001 payload', 'template data that is not an object is refused with hint payload');
select is(pg_temp.err($$select public.enqueue_email(pg_temp.org('acme'), 'a@x.test', '{"template":"welcome","payload":"x"}')$$),
  'CE001 payload', 'template data that is a string is refused with hint payload');
select is(pg_temp.err($$select public.enqueue_email(pg_temp.org('acme'), 'a@x.test', jsonb_build_object('subject', E'hi\nBcc: x@evil.test', 'text', 't'))$$),
  'CE001 subject', 'a subject with a line break (header injection) is refused');
select is(pg_temp.err($$select public.enqueue_email(pg_temp.org('acme'), 'a@x.test', jsonb_build_object('template', 'w', 'headers', jsonb_build_object('X-Bad', E'a\r\nb')))$$),
  'CE001 headers.X-Bad', 'a header value with a line break is refused, naming the header');
select is(pg_temp.err($$select public.enqueue_email(pg_temp.org('acme'), 'a@x.test', '{"template":"welcome","to_name":"<script>"}')$$),
  'CE001 to_name', 'a display name with angle brackets is refused with hint to_name');
select is(pg_temp.err($$select public.enqueue_email(pg_temp.org('acme'), 'a@x.test', '{"template":"welcome","delay_ms":-1}')$$),
  'CE001 delay_ms', 'a negative delay is refused with hint delay_ms');
select is(pg_temp.err($$select public.enqueue_email(pg_temp.org('acme'), 'a@x.test', '{"template":"welcome","run_at":"tomorrow-ish"}')$$),
  'CE001 run_at', 'an unparsable run_at is refused with hint run_at');
select is(pg_temp.err($$select public.enqueue_email(pg_temp.org('acme'), 'a@x.test', '{"template":"welcome","subjct":"typo"}')$$),
  'CE002 subjct', 'an unknown option is refused with CE002 naming it');
select is(pg_temp.err($$select public.enqueue_email(pg_temp.org('acme'), 'a@x.test', '"x"')$$),
  'CE001 options', 'options that are not an object are refused');
select is(pg_temp.err($$select public.enqueue_email('00000000-0000-0000-0000-000000000000', 'a@x.test', '{"template":"welcome"}')$$),
  'CE003 org_id', 'an unknown organization is refused with CE003');
select is(pg_temp.err($$select public.enqueue_email(null, 'a@x.test', '{"template":"welcome"}')$$),
  'CE001 org_id', 'a null organization is refused with hint org_id');
select ok((select messages = (select count(*) from public.email_messages)
                  and jobs = (select count(*) from jobs.job where queue = 'email' and created_at = now()) from before),
  'refused enqueues stored no message and no job');

-- ---------------------------------------------------------------- suppression at enqueue
insert into public.email_suppressions (org_id, email, reason) values (pg_temp.org('acme'), 'Bounced@Shop.test', 'bounced');
set local role service_role;
insert into t values ('s_unsub', public.enqueue_email(pg_temp.org('acme'), 'gone@fans.test', '{"template":"newsletter","category":"campaign"}')::text);
insert into t values ('s_stranger', public.enqueue_email(pg_temp.org('acme'), 'stranger@x.test', '{"template":"newsletter","category":"automation"}')::text);
insert into t values ('s_bounced', public.enqueue_email(pg_temp.org('acme'), 'bounced@shop.test', '{"template":"receipt"}')::text);
insert into t values ('s_tx_unsub', public.enqueue_email(pg_temp.org('acme'), 'gone@fans.test', '{"template":"receipt"}')::text);
reset role;
select is((select status || ' ' || status_reason || ' ' || coalesce(job_id::text, 'no job') from public.email_messages where id = pg_temp.id('s_unsub')),
  'suppressed unsubscribed no job', 'campaign email to an unsubscribed subscriber is stored suppressed, without a job');
select is((select status || ' ' || status_reason || ' ' || coalesce(job_id::text, 'no job') from public.email_messages where id = pg_temp.id('s_stranger')),
  'suppressed not_subscribed no job', 'automation email to an address that is not a subscriber is suppressed (no consent on record)');
select is((select status || ' ' || status_reason from public.email_messages where id = pg_temp.id('s_bounced')),
  'suppressed bounced', 'even transactional email to a bounced address is suppressed');
select is((select status from public.email_messages where id = pg_temp.id('s_tx_unsub')),
  'queued', 'transactional email to an unsubscribed address is still sent');
select is((select count(*)::int from jobs.job j join public.email_messages m on m.id = (j.payload ->> 'message_id')::bigint
            where j.queue = 'email' and m.status = 'suppressed'), 0, 'no job exists for a suppressed message');

-- ---------------------------------------------------------------- sending: state before and after the provider call
create temp table ms as select * from public.email_mark_sending(array[pg_temp.id('tx'), pg_temp.id('s_unsub'), -1], 'worker-1') r;
select is((select array_agg(r ->> 'action' order by ord) from (select r, row_number() over () as ord from ms) x),
  array['send', 'skip', 'skip'], 'email_mark_sending() answers per id, in order: send, skip (suppressed), skip (unknown)');
select is((select r #>> '{message,idempotency_key}' from ms where (r ->> 'id')::bigint = pg_temp.id('tx')),
  (select idempotency_key from public.email_messages where id = pg_temp.id('tx')), 'the send row carries the message''s idempotency key');
select is((select status || ' ' || attempt_count || ' ' || jsonb_array_length(attempts) from public.email_messages where id = pg_temp.id('tx')),
  'sending 1 1', 'email_mark_sending() marks the message sending and records the attempt');
-- the worker died after calling Resend: the retry sends again with the same key
select is((select r ->> 'resumed' || ' ' || (r #>> '{message,idempotency_key}') from public.email_mark_sending(array[pg_temp.id('tx')], 'worker-2') r),
  'true ' || (select idempotency_key from public.email_messages where id = pg_temp.id('tx')),
  'a message left in sending is sent again with the same idempotency key (resumed)');
select is(public.email_record_outcome(pg_temp.id('tx'), 'sent', '{"provider_message_id":"re_tx_1"}'), 'sent', 'email_record_outcome(sent) marks it sent');
select is((select provider_message_id || ' ' || (sent_at is not null) || ' ' || (attempts -> -1 ->> 'state') from public.email_messages where id = pg_temp.id('tx')),
  're_tx_1 true sent', 'the provider id, sent_at and the attempt''s outcome are stored');
create temp table snap as select to_jsonb(m) as row from public.email_messages m where id = pg_temp.id('tx');
select is(public.email_record_outcome(pg_temp.id('tx'), 'sent', '{"provider_message_id":"re_tx_1"}'), 'sent', 'recording sent twice answers sent');
select is(public.email_record_outcome(pg_temp.id('tx'), 'failed', '{"error":"late failure"}'), 'sent', 'a failure reported after sent changes nothing');
select is((select to_jsonb(m) - 'updated_at' from public.email_messages m where id = pg_temp.id('tx')), (select row - 'updated_at' from snap),
  'repeated outcomes leave the message untouched');
select is((select r ->> 'action' from public.email_mark_sending(array[pg_temp.id('tx')], 'worker-3') r), 'done',
  'email_mark_sending() on a sent message answers done (complete the job, send nothing)');
select is(pg_temp.err($$select public.email_record_outcome(pg_temp.id('tx'), 'sent', '{}')$$), 'CE001 provider_message_id',
  'outcome sent without a provider id is refused, naming provider_message_id');
select is(pg_temp.err($$select public.email_record_outcome(-5, 'failed', '{}')$$), 'CE004 message_id', 'an unknown message is refused with CE004');

select public.email_mark_sending(array[pg_temp.id('s_tx_unsub')], 'worker-1');
select is(public.email_record_outcome(pg_temp.id('s_tx_unsub'), 'retry', '{"error":{"message":"503 from Resend"},"status_code":503}'), 'queued',
  'a transient error puts the message back to queued');
select is((select last_error || ' ' || (attempts -> -1 ->> 'state') from public.email_messages where id = pg_temp.id('s_tx_unsub')),
  '503 from Resend retry', 'the error is kept on the attempt and as last_error');
select public.email_mark_sending(array[pg_temp.id('s_tx_unsub')], 'worker-1');
select is(public.email_record_outcome(pg_temp.id('s_tx_unsub'), 'failed', '{"error":"422 invalid from"}'), 'failed', 'a permanent error fails the message');
select is((select attempt_count || ' ' || jsonb_array_length(attempts) from public.email_messages where id = pg_temp.id('s_tx_unsub')),
  '2 2', 'every attempt is kept');

-- a job that ends without an outcome (attempts spent on lock expiries, cancelled) fails its message
set local role service_role;
insert into t values ('abandoned', public.enqueue_email(pg_temp.org('acme'), 'buyer@shop.test', '{"template":"receipt","delay_ms":1000}')::text);
reset role;
select jobs.cancel((select job_id from public.email_messages where id = pg_temp.id('abandoned')));
select is(public.email_fail_abandoned(), 1, 'email_fail_abandoned() finds the message of a cancelled email job');
select is((select status || ' ' || status_reason from public.email_messages where id = pg_temp.id('abandoned')), 'failed job_cancelled',
  'and marks it failed with the reason');
select is(public.email_fail_abandoned(), 0, 'email_fail_abandoned() is idempotent');

-- ---------------------------------------------------------------- suppression and frequency cap at send time
update public.subscribers set status = 'unsubscribed' where email = 'sub@fans.test';
select is((select r ->> 'reason' from public.email_mark_sending(array[pg_temp.id('camp')], 'worker-1') r), 'unsubscribed',
  'a recipient who unsubscribed after enqueue is suppressed at send time');
update public.email_settings set frequency_cap = 1, frequency_window = interval '1 day' where org_id = pg_temp.org('acme');
set local role service_role;
insert into t values ('cap1', public.enqueue_email(pg_temp.org('acme'), 'capped@fans.test', '{"template":"promo","category":"campaign"}')::text);
insert into t values ('cap2', public.enqueue_email(pg_temp.org('acme'), 'capped@fans.test', '{"template":"promo","category":"automation"}')::text);
insert into t values ('cap_tx', public.enqueue_email(pg_temp.org('acme'), 'capped@fans.test', '{"template":"receipt"}')::text);
reset role;
select ok(public.email_within_frequency_cap(pg_temp.org('acme'), 'capped@fans.test'), 'a recipient with nothing sent is within the cap');
select is((select array_agg(r ->> 'action') from public.email_mark_sending(array[pg_temp.id('cap1')], 'w') r), array['send'], 'the first marketing email is sent');
select ok(not public.email_within_frequency_cap(pg_temp.org('acme'), 'CAPPED@fans.test'), 'after it the recipient is at the cap');
select is((select (r ->> 'action') || ' ' || (r ->> 'reason') from public.email_mark_sending(array[pg_temp.id('cap2')], 'w') r), 'skip frequency_cap',
  'a second marketing email within the window is suppressed by the frequency cap');
select is((select r ->> 'action' from public.email_mark_sending(array[pg_temp.id('cap_tx')], 'w') r), 'send', 'transactional email ignores the frequency cap');

-- ---------------------------------------------------------------- webhooks
select public.email_record_outcome(pg_temp.id('cap1'), 'sent', '{"provider_message_id":"re_cap_1"}');
select is(public.email_record_event('msg_evt_1', 'email.delivered', '{"type":"email.delivered","created_at":"2026-11-25T10:00:00Z","data":{"email_id":"re_tx_1"}}') ->> 'status',
  'delivered', 'a delivered event marks the message delivered');
create temp table snap2 as select (select to_jsonb(m) from public.email_messages m where id = pg_temp.id('tx')) as msg,
                                  (select count(*) from public.email_events) as events;
select is(public.email_record_event('msg_evt_1', 'email.delivered', '{"type":"email.delivered","data":{"email_id":"re_tx_1"}}') ->> 'duplicate',
  'true', 'a replayed event id is reported as duplicate');
select is(public.email_record_event('msg_evt_1', 'email.bounced', '{"type":"email.bounced","data":{"email_id":"re_tx_1"}}') ->> 'recorded',
  'false', 'a replayed event id with a different body is not recorded either');
select ok((select msg = (select to_jsonb(m) from public.email_messages m where id = pg_temp.id('tx')) and events = (select count(*) from public.email_events) from snap2),
  'replays changed neither the message nor the events');
select is(public.email_record_event('msg_evt_2', 'email.sent', '{"type":"email.sent","data":{"email_id":"re_tx_1"}}') ->> 'status',
  'delivered', 'a late sent event does not move a delivered message back');
select is(public.email_record_event('msg_evt_3', 'email.bounced',
  '{"type":"email.bounced","data":{"email_id":"re_cap_1","bounce":{"type":"Permanent","message":"no such user"}}}') ->> 'suppressed',
  'bounced', 'a hard bounce suppresses the address');
select is((select (select status from public.email_messages where id = pg_temp.id('cap1')) || ' ' || s.status || ' ' || x.reason
             from public.subscribers s join public.email_suppressions x on x.org_id = s.org_id and x.email = s.email
            where s.org_id = pg_temp.org('acme') and s.email = 'capped@fans.test'),
  'bounced bounced bounced', 'the bounce marks the message and the subscriber bounced and adds a suppression');
select is(public.email_record_event('msg_evt_4', 'email.complained', '{"type":"email.complained","data":{"email_id":"re_cap_1"}}') ->> 'status',
  'complained', 'a complaint after a bounce marks the message complained');
select is((select reason from public.email_suppressions where org_id = pg_temp.org('acme') and email = 'capped@fans.test'), 'complained',
  'a complaint upgrades the suppression reason');
select is(public.email_record_event('msg_evt_5', 'email.delivered', '{"type":"email.delivered","data":{"email_id":"re_unknown"}}') ->> 'message_id',
  null, 'an event for an unknown message is recorded without touching any message');
select is(pg_temp.err($$select public.email_record_event('msg_evt_6', 'email.delivered', '[]')$$), 'CE001 payload',
  'a webhook payload that is not an object is refused');

-- ---------------------------------------------------------------- unsubscribe (anon)
insert into t select 'token', unsubscribe_token from public.subscribers where org_id = pg_temp.org('acme') and email = 'capped@fans.test';
insert into public.subscribers (org_id, email, consent_source) values (pg_temp.org('bobco'), 'reader@fans.test', 'import');
insert into t select 'token2', unsubscribe_token from public.subscribers where org_id = pg_temp.org('bobco');
select set_config('request.jwt.claims', '{"role":"anon"}', true);
set local role anon;
select is(public.unsubscribe((select v from t where k = 'token2')), '{"email":"r***@fans.test","organization":"Bobco","unsubscribed":true}'::jsonb,
  'anon unsubscribes with the token and learns only the org name and a masked address');
select is(public.unsubscribe((select v from t where k = 'token2')) ->> 'unsubscribed', 'true', 'unsubscribing again is harmless');
select throws_ok($$select public.unsubscribe(translate((select v from t where k = 'token2'), 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', 'BCDEFGHIJKLMNOPQRSTUVWXYZAbcdefghijklmnopqrstuvwxyza'))$$,
  'CE010', 'invalid unsubscribe token', 'a wrong token fails with CE010 and a message that reveals nothing');
select throws_ok($$select public.unsubscribe('1 or 1=1')$$, 'CE010', 'invalid unsubscribe token', 'a malformed token fails with the same error');
select throws_ok($$select public.enqueue_email('00000000-0000-0000-0000-000000000000', 'a@x.test', '{"template":"w"}')$$, '42501', null,
  'anon cannot enqueue email');
reset role;
select is((select s.status || ' ' || x.reason from public.subscribers s join public.email_suppressions x on x.org_id = s.org_id and x.email = s.email
            where s.org_id = pg_temp.org('bobco')), 'unsubscribed unsubscribed', 'unsubscribe() marks the subscriber unsubscribed and suppresses the address');
select is((select status from public.subscribers where org_id = pg_temp.org('acme') and email = 'capped@fans.test'), 'complained',
  'another org''s subscriber with a wrong token is untouched');

-- ---------------------------------------------------------------- the welcome trigger (app insert → email + job)
select set_config('request.jwt.claims', '{"sub":"a1000000-0000-0000-0000-00000000000a","role":"authenticated"}', true);
set local role authenticated;
insert into public.subscribers (org_id, email, name, consent_source) values (pg_temp.org('acme'), 'newbie@fans.test', 'New Bie', 'signup_form');
reset role;
select is((select count(*)::int from public.email_messages where recipient = 'newbie@fans.test'), 1, 'a new subscriber gets exactly one email');
select is((select template || ' ' || category || ' ' || status || ' ' || to_name || ' ' || (payload ->> 'name')
             from public.email_messages where recipient = 'newbie@fans.test'), 'welcome automation queued New Bie New Bie',
  'it is the welcome template as an automation email with the subscriber''s data');
select is((select count(*)::int from jobs.job j join public.email_messages m on m.id = (j.payload ->> 'message_id')::bigint
            where j.queue = 'email' and m.recipient = 'newbie@fans.test' and j.id = m.job_id and j.priority = 50), 1,
  'and exactly one email job, at priority 50 (dispatched at once)');

-- ---------------------------------------------------------------- webhook before the sender's record
insert into t values ('race', public.enqueue_email(pg_temp.org('acme'), 'race@shop.test', '{"subject":"Race","html":"<p>r</p>"}')::text);
select public.email_mark_sending(array[(select v from t where k = 'race')::bigint], 'w-race');
select is(public.email_record_event('msg_race_1', 'email.delivered',
  jsonb_build_object('type', 'email.delivered', 'data', jsonb_build_object('email_id', 're_race_1',
                     'tags', jsonb_build_object('message_id', (select v from t where k = 'race'))))) ->> 'status',
  'delivered', 'a webhook that overtakes the sender''s record finds the message by its message_id tag');
select is((select provider_message_id from public.email_messages where id = (select v from t where k = 'race')::bigint), 're_race_1',
  'and stores Resend''s id on it');
select is(public.email_record_outcome((select v from t where k = 'race')::bigint, 'sent', '{"provider_message_id":"re_race_1"}'),
  'delivered', 'the sender''s late "sent" does not move the status back');

-- ---------------------------------------------------------------- RLS on the outbox
select set_config('request.jwt.claims', '{"sub":"b1000000-0000-0000-0000-00000000000b","role":"authenticated"}', true);
set local role authenticated;
select is((select count(*)::int from public.email_messages where org_id = pg_temp.org('acme')), 0, 'a user cannot read another org''s emails');
select is((select count(*)::int from public.email_suppressions where org_id = pg_temp.org('acme')), 0, 'a user cannot read another org''s suppressions');
select is((select count(*)::int from public.email_events where org_id = pg_temp.org('acme')), 0, 'a user cannot read another org''s email events');
select throws_ok($$insert into public.email_messages (org_id, recipient, template) values (pg_temp.org('acme'), 'x@x.test', 'w')$$,
  '42501', null, 'a user cannot write emails directly');
select throws_ok($$insert into public.email_suppressions (org_id, email, reason) values (pg_temp.org('acme'), 'x@x.test', 'manual')$$,
  '42501', null, 'a user cannot add suppressions to another org');
select throws_ok($$select public.enqueue_email(pg_temp.org('bobco'), 'x@x.test', '{"template":"w"}')$$, '42501', null,
  'authenticated users cannot call enqueue_email directly (service_role and triggers only)');
select throws_ok($$select public.email_record_event('forged', 'email.delivered', '{}')$$, '42501', null,
  'authenticated users cannot record webhook events');
reset role;
select set_config('request.jwt.claims', '{"sub":"a1000000-0000-0000-0000-00000000000a","role":"authenticated"}', true);
set local role authenticated;
select ok((select count(*) > 0 and bool_and(org_id = pg_temp.org('acme')) from public.email_messages), 'a member reads their own org''s emails');
reset role;

select * from finish();
rollback;
