-- tenancy: organizations, memberships, subscribers, email settings; RLS with real JWT claims
begin;
select plan(46);

-- ---------------------------------------------------------------- fixtures
-- alice owns Acme (dave is its admin, carol a member); bob owns Bobco; eve belongs nowhere
insert into auth.users (id, email) values
  ('a0000000-0000-0000-0000-00000000000a', 'alice@acme.test'),
  ('b0000000-0000-0000-0000-00000000000b', 'bob@bobco.test'),
  ('c0000000-0000-0000-0000-00000000000c', 'carol@acme.test'),
  ('d0000000-0000-0000-0000-00000000000d', 'dave@acme.test'),
  ('e0000000-0000-0000-0000-00000000000e', 'eve@nowhere.test');

create temp table t (k text primary key, v uuid);
grant select, insert on t to authenticated, anon;

-- catches an error's SQLSTATE and HINT (pgTAP's throws_ok checks code and message only)
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

select set_config('request.jwt.claims', '{"sub":"a0000000-0000-0000-0000-00000000000a","role":"authenticated"}', true);
set local role authenticated;
insert into t values ('acme', public.create_organization('Acme', 'acme'));
reset role;
select set_config('request.jwt.claims', '{"sub":"b0000000-0000-0000-0000-00000000000b","role":"authenticated"}', true);
set local role authenticated;
insert into t values ('bobco', public.create_organization('Bobco', 'bobco'));
reset role;
insert into public.memberships (user_id, org_id, role) values
  ('c0000000-0000-0000-0000-00000000000c', (select v from t where k = 'acme'), 'member'),
  ('d0000000-0000-0000-0000-00000000000d', (select v from t where k = 'acme'), 'admin');
-- status 'unsubscribed': no welcome email fires in this file
insert into public.subscribers (org_id, email, status) values
  ((select v from t where k = 'acme'), 'fan@acme-fans.test', 'unsubscribed'),
  ((select v from t where k = 'bobco'), 'fan@bobco-fans.test', 'unsubscribed');

-- ---------------------------------------------------------------- structure and privileges
select is((select array_agg(c.relname::text order by c.relname) from pg_class c
            where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p') and not c.relrowsecurity),
  null, 'row-level security is enabled on every table in public');
select ok(not bool_or(has_table_privilege('anon', tbl, 'select,insert,update,delete')),
  'anon has no privilege on organizations, memberships, subscribers or email_settings')
  from unnest(array['public.organizations', 'public.memberships', 'public.subscribers', 'public.email_settings']) tbl;
select ok(not has_function_privilege('anon', 'public.create_organization(text,text)', 'execute'), 'anon cannot call create_organization()');
select is((select array_agg(p.proname::text) from pg_proc p
            where p.pronamespace = 'public'::regnamespace and p.prosecdef
              and not coalesce('search_path=""' = any (p.proconfig), false)),
  null, 'every security definer function in public sets search_path to empty');
select ok(not has_column_privilege('authenticated', 'public.subscribers', 'unsubscribe_token', 'insert')
          and not has_column_privilege('authenticated', 'public.subscribers', 'unsubscribe_token', 'update'),
  'users cannot choose or change an unsubscribe token');

-- ---------------------------------------------------------------- create_organization
select is((select role from public.memberships where org_id = (select v from t where k = 'acme')
            and user_id = 'a0000000-0000-0000-0000-00000000000a'), 'owner', 'create_organization() makes the caller owner');
select is((select sender_name from public.email_settings where org_id = (select v from t where k = 'acme')), 'Acme',
  'create_organization() creates the email settings with the org name as sender name');
select set_config('request.jwt.claims', '{"sub":"e0000000-0000-0000-0000-00000000000e","role":"authenticated"}', true);
select is(pg_temp.err($$select public.create_organization('Again', 'acme')$$), 'CT002 slug', 'a taken slug is refused with CT002, hint slug');
select is(pg_temp.err($$select public.create_organization('Bad', 'Not a slug!')$$), 'CT001 slug', 'an invalid slug is refused with CT001, hint slug');
select is(pg_temp.err($$select public.create_organization('  ', 'blank')$$), 'CT001 name', 'a blank name is refused with CT001, hint name');
select is((select count(*)::int from public.organizations where slug in ('blank')), 0, 'a refused create_organization() stores nothing');
select set_config('request.jwt.claims', '{"role":"authenticated"}', true);
select is(pg_temp.err($$select public.create_organization('Ghost', 'ghost')$$), 'CT004 auth.uid', 'create_organization() without a signed-in user is refused with CT004');

-- ---------------------------------------------------------------- alice (owner of Acme) against Bobco
select set_config('request.jwt.claims', '{"sub":"a0000000-0000-0000-0000-00000000000a","role":"authenticated"}', true);
set local role authenticated;
select is((select array_agg(slug order by slug) from public.organizations), array['acme'], 'a user sees only their own organizations');
select is((select count(*)::int from public.memberships where org_id = (select v from t where k = 'bobco')), 0, 'a user cannot read another org''s memberships');
select is((select count(*)::int from public.memberships), 3, 'a user reads the memberships of their own org');
select is((select array_agg(email) from public.subscribers), array['fan@acme-fans.test'], 'a user reads only their own org''s subscribers');
select is((select count(*)::int from public.email_settings where org_id = (select v from t where k = 'bobco')), 0, 'a user cannot read another org''s email settings');
select ok(public.is_org_member((select v from t where k = 'acme')) and not public.is_org_member((select v from t where k = 'bobco')),
  'is_org_member() is true for the own org only');
select ok(public.has_org_role((select v from t where k = 'acme'), array['owner']) and not public.has_org_role((select v from t where k = 'bobco'), array['owner', 'admin', 'member']),
  'has_org_role() checks the role in the given org');
select throws_ok($$insert into public.subscribers (org_id, email) values ((select v from t where k = 'bobco'), 'spam@evil.test')$$,
  '42501', null, 'inserting a subscriber into another org fails with 42501');
update public.subscribers set status = 'subscribed' where org_id = (select v from t where k = 'bobco');
delete from public.subscribers where org_id = (select v from t where k = 'bobco');
update public.organizations set name = 'pwned' where id = (select v from t where k = 'bobco');
delete from public.organizations where id = (select v from t where k = 'bobco');
update public.email_settings set sender_email = 'phish@evil.test' where org_id = (select v from t where k = 'bobco');
select throws_ok($$insert into public.memberships (user_id, org_id, role) values ('a0000000-0000-0000-0000-00000000000a', (select v from t where k = 'bobco'), 'owner')$$,
  '42501', null, 'joining another org by inserting a membership fails with 42501');
select throws_ok($$insert into public.email_settings (org_id) values ((select v from t where k = 'bobco'))$$,
  '42501', null, 'writing another org''s email settings fails with 42501');
select throws_ok($$update public.subscribers set org_id = (select v from t where k = 'bobco') where org_id = (select v from t where k = 'acme')$$,
  '42501', null, 'moving an own subscriber into another org fails with 42501');
reset role;
select is((select status from public.subscribers where email = 'fan@bobco-fans.test'), 'unsubscribed', 'another org''s subscriber was not updated');
select is((select count(*)::int from public.subscribers where email = 'fan@bobco-fans.test'), 1, 'another org''s subscriber was not deleted');
select is((select name from public.organizations where slug = 'bobco'), 'Bobco', 'another org was neither renamed nor deleted');
select is((select sender_email from public.email_settings where org_id = (select v from t where k = 'bobco')), null, 'another org''s email settings were not changed');

-- ---------------------------------------------------------------- roles inside Acme
-- carol: member
select set_config('request.jwt.claims', '{"sub":"c0000000-0000-0000-0000-00000000000c","role":"authenticated"}', true);
set local role authenticated;
select is((select count(*)::int from public.subscribers), 1, 'a member reads the org''s subscribers');
select throws_ok($$insert into public.subscribers (org_id, email) values ((select v from t where k = 'acme'), 'x@acme-fans.test')$$,
  '42501', null, 'a member cannot add subscribers');
update public.subscribers set status = 'subscribed';
update public.memberships set role = 'admin' where user_id = 'c0000000-0000-0000-0000-00000000000c';
update public.email_settings set footer = 'member was here';
reset role;
select is((select status from public.subscribers where email = 'fan@acme-fans.test'), 'unsubscribed', 'a member cannot update subscribers');
select is((select role from public.memberships where user_id = 'c0000000-0000-0000-0000-00000000000c'), 'member', 'a member cannot promote themselves');
select is((select footer from public.email_settings where org_id = (select v from t where k = 'acme')), null, 'a member cannot change email settings');

-- dave: admin
select set_config('request.jwt.claims', '{"sub":"d0000000-0000-0000-0000-00000000000d","role":"authenticated"}', true);
set local role authenticated;
select lives_ok($$insert into public.subscribers (org_id, email, status, consent_source) values ((select v from t where k = 'acme'), '  New.Fan@Acme-Fans.TEST ', 'unsubscribed', 'signup_form')$$,
  'an admin adds subscribers to their org');
select lives_ok($$update public.email_settings set footer = 'Acme Inc., 1 Main St', frequency_cap = 3 where org_id = (select v from t where k = 'acme')$$,
  'an admin changes the org''s email settings');
select throws_ok($$insert into public.memberships (user_id, org_id, role) values ('e0000000-0000-0000-0000-00000000000e', (select v from t where k = 'acme'), 'owner')$$,
  '42501', null, 'an admin cannot make someone owner');
select lives_ok($$insert into public.memberships (user_id, org_id, role) values ('e0000000-0000-0000-0000-00000000000e', (select v from t where k = 'acme'), 'member')$$,
  'an admin adds members');
select throws_ok($$insert into public.subscribers (org_id, email, unsubscribe_token) values ((select v from t where k = 'acme'), 'y@acme-fans.test', repeat('a', 43))$$,
  '42501', null, 'an admin cannot set an unsubscribe token');
delete from public.memberships where user_id = 'a0000000-0000-0000-0000-00000000000a';
reset role;
select is((select role from public.memberships where user_id = 'a0000000-0000-0000-0000-00000000000a'), 'owner',
  'an admin cannot remove an owner');
select is((select email from public.subscribers where consent_source = 'signup_form' and org_id = (select v from t where k = 'acme')),
  'new.fan@acme-fans.test', 'subscriber emails are stored trimmed and lowercased');
select ok((select bool_and(unsubscribe_token ~ '^[A-Za-z0-9_-]{43}$') and count(distinct unsubscribe_token) = count(*) from public.subscribers),
  'unsubscribe tokens are 43 base64url characters (32 random bytes) and distinct');
select throws_ok($$insert into public.subscribers (org_id, email) values ((select v from t where k = 'acme'), 'not-an-email')$$,
  '23514', null, 'an invalid subscriber email is refused by subscribers_email_format');

-- alice: the last owner cannot leave or be demoted
select set_config('request.jwt.claims', '{"sub":"a0000000-0000-0000-0000-00000000000a","role":"authenticated"}', true);
select is(pg_temp.err($$update public.memberships set role = 'admin' where user_id = 'a0000000-0000-0000-0000-00000000000a' and org_id = (select v from t where k = 'acme')$$),
  'CT003 role', 'demoting the last owner is refused with CT003');
set local role authenticated;
select throws_ok($$delete from public.memberships where user_id = 'a0000000-0000-0000-0000-00000000000a' and org_id = (select v from t where k = 'acme')$$,
  'CT003', null, 'the last owner cannot leave the org');
reset role;
-- deleting the org (or the user) still cascades
delete from public.organizations where slug = 'bobco';
select is((select count(*)::int from public.memberships where user_id = 'b0000000-0000-0000-0000-00000000000b'), 0, 'deleting an org removes its memberships');

-- ---------------------------------------------------------------- anon
select set_config('request.jwt.claims', '{"role":"anon"}', true);
set local role anon;
select throws_ok($$select * from public.organizations$$, '42501', null, 'anon cannot read organizations');
select throws_ok($$select * from public.subscribers$$, '42501', null, 'anon cannot read subscribers');
reset role;

select * from finish();
rollback;
