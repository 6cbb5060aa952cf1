-- enqueue / enqueue_many: options, defaults, dedupe, validation errors
begin;
select plan(32);

select has_function('jobs', 'enqueue', array['text', 'jsonb', 'jsonb'], 'jobs.enqueue(queue, payload, options) exists');
select has_function('jobs', 'enqueue_many', array['text', 'jsonb', 'jsonb'], 'jobs.enqueue_many(queue, payloads, options) exists');

-- auto-created queue with defaults
select isnt(jobs.enqueue('t_enq', '{"n":1}'), null::bigint, 'enqueue() returns an id');
select is((select max_attempts from jobs.queue where name = 't_enq'), 3, 'enqueue() into an unknown queue creates it with default settings');
select is((select payload from jobs.job where queue = 't_enq'), '{"n":1}'::jsonb, 'enqueue() stores the payload');
select is((select state from jobs.job where queue = 't_enq'), 'queued', 'a new job is queued');
create temp table e1 as select jobs.enqueue('t_enq') as id;
select is(jobs.get((select id from e1))->'payload', '{}'::jsonb, 'enqueue() without payload stores {}');

-- options
select jobs.enqueue('t_enq_opts', '{}', jsonb_build_object(
  'priority', 7, 'delay_ms', 60000, 'max_attempts', 5, 'group_key', 'shop-1',
  'owner', '11111111-1111-1111-1111-111111111111', 'timeout_ms', 5000,
  'backoff', '{"kind":"fixed","base_ms":250}'::jsonb));
select results_eq(
  $$select priority, max_attempts, group_key, owner::text, timeout_ms, backoff->>'kind', run_at > now() + interval '59 seconds'
      from jobs.job where queue = 't_enq_opts'$$,
  $$values (7, 5, 'shop-1'::text, '11111111-1111-1111-1111-111111111111'::text, 5000, 'fixed'::text, true)$$,
  'enqueue() applies priority, delay_ms, max_attempts, group_key, owner, timeout_ms and backoff');
create temp table e2 as select jobs.enqueue('t_enq_opts', '{}', '{"run_at":"2030-01-01T00:00:00Z"}') as id;
select is((select run_at from jobs.job where id = (select id from e2)),
  '2030-01-01T00:00:00Z'::timestamptz, 'enqueue() honours run_at');
select jobs.create_queue('t_enq_defaults', '{"max_attempts":9,"timeout_ms":1234}');
create temp table e3 as select jobs.enqueue('t_enq_defaults') as id;
select results_eq($$select max_attempts, timeout_ms from jobs.job where id = (select id from e3)$$,
  $$values (9, 1234)$$, 'enqueue() takes max_attempts and timeout_ms defaults from the queue');

-- dedupe
select is(jobs.enqueue('t_dedupe', '{"v":1}', '{"dedupe_key":"k1"}'),
          jobs.enqueue('t_dedupe', '{"v":2}', '{"dedupe_key":"k1"}'),
          'a second enqueue with the same dedupe_key while queued returns the first id');
select is((select count(*)::int from jobs.job where queue = 't_dedupe'), 1, 'the duplicate enqueue created no job');
select isnt(jobs.enqueue('t_dedupe', '{}', '{"dedupe_key":"k2"}'), jobs.enqueue('t_dedupe', '{}', '{"dedupe_key":"k1"}'),
  'different dedupe keys give different jobs');
select jobs.claim('t_dedupe', 'w', 10);
select is(jobs.enqueue('t_dedupe', '{}', '{"dedupe_key":"k1"}'),
          (select id from jobs.job where queue = 't_dedupe' and dedupe_key = 'k1'),
          'dedupe_key still returns the first id while it is running');
select jobs.complete_many(array(select id from jobs.job where queue = 't_dedupe'), 'w');
select isnt(jobs.enqueue('t_dedupe', '{}', '{"dedupe_key":"k1"}'),
            (select id from jobs.job_done where queue = 't_dedupe' and dedupe_key = 'k1'),
            'after the deduped job completes, the same dedupe_key creates a new job');
select isnt(jobs.enqueue('t_dedupe_other', '{}', '{"dedupe_key":"k1"}'),
            (select id from jobs.job where queue = 't_dedupe' and dedupe_key = 'k1'),
            'dedupe keys are per queue');

-- bulk
select is((select count(*)::int from jobs.enqueue_many('t_bulk', (select jsonb_agg(jsonb_build_object('i', i)) from generate_series(1, 1000) i))),
  1000, 'enqueue_many() returns one id per payload');
select is((select count(*)::int from jobs.job where queue = 't_bulk'), 1000, 'enqueue_many() inserts every payload');
select is(array(select (payload->>'i')::int from jobs.job where queue = 't_bulk' order by id limit 3), array[1, 2, 3],
  'enqueue_many() keeps array order in ids');
create temp table e4 as select * from jobs.enqueue_many('t_bulk2', '[{"a":1},{"a":2}]', '{"priority":3,"delay_ms":1000}') id;
select is((select count(*)::int from e4 join jobs.job j using (id) where j.priority = 3 and j.run_at > now()),
  2, 'enqueue_many() applies the shared options to every job');
select is((select count(*)::int from jobs.enqueue_many('t_bulk3', '[]')), 0, 'enqueue_many() of an empty array returns nothing');

-- validation
select throws_ok($$select jobs.enqueue('t_bad', '{}', '{"prio":1}')$$, 'CV001', null, 'an unknown option key raises CV001');
select throws_like($$select jobs.enqueue('t_bad', '{}', '{"prio":1}')$$, '%unknown option "prio"%', 'the unknown-key error names the key');
select throws_ok($$select jobs.enqueue('t_bad', '{}', '{"priority":"high"}')$$, 'CV002', null, 'a wrongly typed option raises CV002');
select throws_like($$select jobs.enqueue('t_bad', '{}', '{"priority":"high"}')$$, '%option "priority" must be an integer%', 'the type error names the key');
select throws_like($$select jobs.enqueue('t_bad', '{}', '{"max_attempts":0}')$$, '%option "max_attempts" must be an integer between 1%', 'max_attempts below 1 is refused, naming the key');
select throws_like($$select jobs.enqueue('t_bad', '{}', '{"run_at":"tomorrow-ish"}')$$, '%option "run_at" must be an ISO 8601 timestamp%', 'an unparseable run_at is refused, naming the key');
select throws_like($$select jobs.enqueue('t_bad', '{}', '{"owner":"bob"}')$$, '%option "owner" must be a uuid%', 'a non-uuid owner is refused, naming the key');
select throws_like($$select jobs.enqueue('t_bad', '{}', '{"backoff":{"kind":"linear"}}')$$, '%option "backoff.kind"%', 'an unknown backoff kind is refused, naming the key');
select throws_like($$select jobs.enqueue('t_bad', '{}', '{"backoff":{"base":5}}')$$, '%unknown backoff key "base"%', 'an unknown backoff key is refused, naming it');
select throws_like($$select jobs.enqueue('t_bad', '{}', '{"run_at":"2030-01-01T00:00:00Z","delay_ms":5}')$$, '%option "delay_ms" cannot be combined with "run_at"%', 'run_at and delay_ms together are refused');
select throws_like($$select jobs.enqueue_many('t_bad', '{"a":1}')$$, '%payloads must be a JSON array%', 'enqueue_many() refuses a non-array');

select * from finish();
rollback;
