-- =====================================================================================
-- Tenancy: organizations, memberships, subscribers, per-org email settings.
--
--   public.organizations   one row per tenant (slug unique)
--   public.memberships     (user, org, role owner|admin|member); the source of every policy
--   public.subscribers     an org's email audience: status, consent, unsubscribe token
--   public.email_settings  one row per org: sender, reply-to, footer, frequency cap, welcome
--
-- Row-level security on every table: members read their org's rows, owners and admins write
-- them, nobody sees another org. Policies test membership through
-- `org_id in (select public.current_user_org_ids(...))`: a SECURITY DEFINER set-returning
-- function, so the policy on memberships does not recurse into itself, and an uncorrelated
-- sub-select, so it runs once per statement rather than once per row.
-- `public.is_org_member(org)` / `public.has_org_role(org, roles)` are the same test for one
-- org, for app policies and functions.
--
-- Errors (SQLSTATE class CT; the message names the field, HINT is the field name):
--   CT001 invalid argument          CT002 slug already taken
--   CT003 change would leave the organization without an owner
--   CT004 no signed-in user
-- =====================================================================================

-- ---------------------------------------------------------------- email address format

-- The one address rule used by every table and function: at most 254 characters, a local
-- part of 1..64 of the characters RFC 5322 allows unquoted, a domain of dot-separated labels
-- (letters, digits, inner hyphens, at most 63 each) with at least one dot. Lowercase only:
-- callers lowercase first. Deliberately stricter than RFC 5322 (no quoted local parts, no IP
-- literals): such addresses are vanishingly rare and a common vector for header tricks.
-- No SET clause, so the planner can inline it into the CHECK constraints.
create function public.is_email_address(address text)
returns boolean
language sql
immutable
parallel safe
as $$
  select length($1) <= 254
     and $1 ~ '^[a-z0-9.!#$%&''*+/=?^_`{|}~-]{1,64}@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$'
$$;
comment on function public.is_email_address(text) is
  'True when address is a plausible lowercase email address (<= 254 chars, local part <= 64 chars, dotted domain). Used by the tables'' CHECK constraints and public.enqueue_email.';

-- ---------------------------------------------------------------- tables

create table public.organizations (
  id uuid primary key default gen_random_uuid(),
  name text not null,
  slug text not null,
  created_by uuid references auth.users (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint organizations_name_length check (length(btrim(name)) between 1 and 200),
  constraint organizations_slug_format check (slug ~ '^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$'),
  constraint organizations_slug_key unique (slug)
);
comment on table public.organizations is 'Tenants. Created with public.create_organization(name, slug); every other table hangs off org_id.';

-- The primary key (user_id, org_id) is the unique(user, org) rule and serves the per-user
-- lookup every policy makes; memberships_org_id_idx serves "who is in this org".
create table public.memberships (
  user_id uuid not null references auth.users (id) on delete cascade,
  org_id uuid not null references public.organizations (id) on delete cascade,
  role text not null default 'member',
  created_at timestamptz not null default now(),
  constraint memberships_pkey primary key (user_id, org_id),
  constraint memberships_role_valid check (role in ('owner', 'admin', 'member'))
);
create index memberships_org_id_idx on public.memberships (org_id);
comment on table public.memberships is 'Who belongs to which organization, as owner, admin or member. Owners and admins write org data; members read it.';

create table public.subscribers (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references public.organizations (id) on delete cascade,
  email text not null,
  name text,
  status text not null default 'subscribed',
  consent_source text,
  consent_at timestamptz not null default now(),
  unsubscribed_at timestamptz,
  metadata jsonb not null default '{}'::jsonb,
  -- 32 random bytes, base64url without padding (43 chars): 256 bits, not guessable. Looked up
  -- through its SHA-256 (unsubscribe_token_hash), so the index walk reveals nothing usable.
  unsubscribe_token text not null
    default translate(encode(extensions.gen_random_bytes(32), 'base64'), '+/=', '-_'),
  unsubscribe_token_hash bytea generated always as (extensions.digest(unsubscribe_token, 'sha256')) stored,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint subscribers_email_format check (
    email = lower(email) and public.is_email_address(email)),
  constraint subscribers_status_valid check (status in ('subscribed', 'unsubscribed', 'bounced', 'complained')),
  constraint subscribers_consent_source_length check (length(consent_source) <= 100),
  constraint subscribers_metadata_object check (jsonb_typeof(metadata) = 'object'),
  constraint subscribers_unsubscribe_token_format check (unsubscribe_token ~ '^[A-Za-z0-9_-]{43}$'),
  constraint subscribers_org_id_email_key unique (org_id, email)
);
create unique index subscribers_unsubscribe_token_hash_idx on public.subscribers (unsubscribe_token_hash);
comment on table public.subscribers is
  'An organization''s email audience. email is stored trimmed and lowercased. status: subscribed, unsubscribed, bounced, complained. unsubscribe_token feeds the one-click unsubscribe link (public.unsubscribe).';
comment on column public.subscribers.consent_source is 'Where consent came from (e.g. signup_form, checkout, import). "import" does not send the welcome email.';

create table public.email_settings (
  org_id uuid primary key references public.organizations (id) on delete cascade,
  sender_name text,
  sender_email text,
  reply_to text,
  footer text,
  frequency_cap int,
  frequency_window interval not null default interval '1 day',
  welcome_template text default 'welcome',
  updated_at timestamptz not null default now(),
  constraint email_settings_sender_name_format check (length(sender_name) <= 200 and sender_name !~ '[\r\n<>"]'),
  constraint email_settings_sender_email_format check (
    sender_email = lower(sender_email) and public.is_email_address(sender_email)),
  constraint email_settings_reply_to_format check (
    reply_to = lower(reply_to) and public.is_email_address(reply_to)),
  constraint email_settings_footer_length check (length(footer) <= 10000),
  constraint email_settings_frequency_cap_range check (frequency_cap between 0 and 1000),
  constraint email_settings_frequency_window_range check (frequency_window between interval '1 minute' and interval '31 days'),
  constraint email_settings_welcome_template_format check (welcome_template ~ '^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,99}$')
);
comment on table public.email_settings is
  'Per-organization email settings. frequency_cap: at most this many campaign/automation emails per recipient within frequency_window (null = no cap). welcome_template: template sent on a new subscriber (null = no welcome email).';

-- ---------------------------------------------------------------- membership helpers

-- The org ids the signed-in user belongs to (optionally only with one of the given roles).
-- SECURITY DEFINER so that policies, including those on memberships, can call it without
-- recursing into memberships' own policies.
create function public.current_user_org_ids(roles text[] default null)
returns setof uuid
language sql
stable
security definer
set search_path = ''
as $$
  select m.org_id
    from public.memberships m
   where m.user_id = (select auth.uid())
     and ($1 is null or m.role = any ($1))
$$;
comment on function public.current_user_org_ids(text[]) is
  'Org ids of the signed-in user (auth.uid()), optionally only those where their role is one of roles. For policies: org_id in (select public.current_user_org_ids()).';

create function public.is_org_member(org uuid)
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select exists (select 1 from public.memberships m where m.user_id = (select auth.uid()) and m.org_id = $1)
$$;
comment on function public.is_org_member(uuid) is 'True when the signed-in user (auth.uid()) is a member of org, in any role.';

create function public.has_org_role(org uuid, roles text[])
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select exists (select 1 from public.memberships m
                  where m.user_id = (select auth.uid()) and m.org_id = $1 and m.role = any ($2))
$$;
comment on function public.has_org_role(uuid, text[]) is
  'True when the signed-in user (auth.uid()) belongs to org with one of roles, e.g. has_org_role(org, array[''owner'',''admin'']).';

-- ---------------------------------------------------------------- create an organization

create function public.create_organization(name text, slug text)
returns uuid
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_uid uuid := auth.uid();
  v_name text := btrim($1);
  v_slug text := lower(btrim($2));
  v_id uuid;
begin
  if v_uid is null then
    raise exception 'create_organization needs a signed-in user (auth.uid() is null)'
      using errcode = 'CT004', hint = 'auth.uid';
  end if;
  if v_name is null or length(v_name) not between 1 and 200 then
    raise exception 'name must be 1..200 characters' using errcode = 'CT001', hint = 'name';
  end if;
  if v_slug is null or v_slug !~ '^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$' then
    raise exception 'slug must be 1..63 lowercase letters, digits and inner hyphens, got %', coalesce(quote_literal($2), 'null')
      using errcode = 'CT001', hint = 'slug';
  end if;
  insert into public.organizations (name, slug, created_by)
  values (v_name, v_slug, v_uid)
  on conflict on constraint organizations_slug_key do nothing
  returning id into v_id;
  if v_id is null then
    raise exception 'slug "%" is already taken', v_slug using errcode = 'CT002', hint = 'slug';
  end if;
  insert into public.memberships (user_id, org_id, role) values (v_uid, v_id, 'owner');
  insert into public.email_settings (org_id, sender_name) values (v_id, left(v_name, 200));
  return v_id;
end
$$;
comment on function public.create_organization(text, text) is
  'Create an organization (name 1..200 chars, slug unique, [a-z0-9-]) with the signed-in user as owner and default email settings; returns its id. Errors: CT001 invalid name/slug, CT002 slug taken, CT004 not signed in.';

-- ---------------------------------------------------------------- triggers

-- An organization always keeps an owner: demoting or removing its last owner is refused,
-- except when the org itself or the user's account is being deleted (cascades).
create function public.tg_memberships__keep_owner()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if old.role <> 'owner' or (tg_op = 'UPDATE' and new.role = 'owner' and new.org_id = old.org_id) then
    return coalesce(new, old);
  end if;
  -- serialise owner changes per org; a cascade from the org's deletion finds no row
  perform 1 from public.organizations o where o.id = old.org_id for update;
  if not found or not exists (select 1 from auth.users u where u.id = old.user_id) then
    return coalesce(new, old);
  end if;
  if not exists (select 1 from public.memberships m
                  where m.org_id = old.org_id and m.role = 'owner' and m.user_id <> old.user_id) then
    raise exception 'organization % would be left without an owner', old.org_id
      using errcode = 'CT003', hint = 'role';
  end if;
  return coalesce(new, old);
end
$$;

create trigger memberships_keep_owner before update or delete on public.memberships
  for each row execute function public.tg_memberships__keep_owner();

create function public.tg_organizations__touch()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.updated_at := now();
  return new;
end
$$;

create trigger organizations_touch before update on public.organizations
  for each row execute function public.tg_organizations__touch();

-- Stores email trimmed and lowercased; the token is never changed by an update.
create function public.tg_subscribers__normalize()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.email := lower(btrim(new.email));
  if tg_op = 'UPDATE' then
    new.unsubscribe_token := old.unsubscribe_token;
    new.updated_at := now();
    if new.status = 'unsubscribed' and old.status <> 'unsubscribed' then
      new.unsubscribed_at := coalesce(new.unsubscribed_at, now());
    end if;
  elsif new.status = 'unsubscribed' then
    new.unsubscribed_at := coalesce(new.unsubscribed_at, now());
  end if;
  return new;
end
$$;

create trigger subscribers_normalize before insert or update on public.subscribers
  for each row execute function public.tg_subscribers__normalize();

create function public.tg_email_settings__normalize()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.sender_email := lower(btrim(new.sender_email));
  new.reply_to := lower(btrim(new.reply_to));
  new.updated_at := now();
  return new;
end
$$;

create trigger email_settings_normalize before insert or update on public.email_settings
  for each row execute function public.tg_email_settings__normalize();

-- ---------------------------------------------------------------- row-level security

alter table public.organizations enable row level security;
alter table public.memberships enable row level security;
alter table public.subscribers enable row level security;
alter table public.email_settings enable row level security;

-- organizations: members read; owners and admins rename; owners delete; created through
-- create_organization (no insert policy).
create policy organizations_select_member on public.organizations for select to authenticated
  using (id in (select public.current_user_org_ids()));
create policy organizations_update_admin on public.organizations for update to authenticated
  using (id in (select public.current_user_org_ids(array['owner', 'admin'])))
  with check (id in (select public.current_user_org_ids(array['owner', 'admin'])));
create policy organizations_delete_owner on public.organizations for delete to authenticated
  using (id in (select public.current_user_org_ids(array['owner'])));

-- memberships: members see their org's members; owners and admins add, change and remove
-- them, but only owners touch owner rows; anyone may leave an org (delete their own row).
create policy memberships_select_member on public.memberships for select to authenticated
  using (org_id in (select public.current_user_org_ids()));
create policy memberships_insert_admin on public.memberships for insert to authenticated
  with check (org_id in (select public.current_user_org_ids(array['owner', 'admin']))
              and (role <> 'owner' or org_id in (select public.current_user_org_ids(array['owner']))));
create policy memberships_update_admin on public.memberships for update to authenticated
  using (org_id in (select public.current_user_org_ids(array['owner', 'admin']))
         and (role <> 'owner' or org_id in (select public.current_user_org_ids(array['owner']))))
  with check (org_id in (select public.current_user_org_ids(array['owner', 'admin']))
              and (role <> 'owner' or org_id in (select public.current_user_org_ids(array['owner']))));
create policy memberships_delete_admin_or_self on public.memberships for delete to authenticated
  using (user_id = (select auth.uid())
         or (org_id in (select public.current_user_org_ids(array['owner', 'admin']))
             and (role <> 'owner' or org_id in (select public.current_user_org_ids(array['owner'])))));

-- subscribers and email_settings: members read, owners and admins write.
create policy subscribers_select_member on public.subscribers for select to authenticated
  using (org_id in (select public.current_user_org_ids()));
create policy subscribers_insert_admin on public.subscribers for insert to authenticated
  with check (org_id in (select public.current_user_org_ids(array['owner', 'admin'])));
create policy subscribers_update_admin on public.subscribers for update to authenticated
  using (org_id in (select public.current_user_org_ids(array['owner', 'admin'])))
  with check (org_id in (select public.current_user_org_ids(array['owner', 'admin'])));
create policy subscribers_delete_admin on public.subscribers for delete to authenticated
  using (org_id in (select public.current_user_org_ids(array['owner', 'admin'])));

create policy email_settings_select_member on public.email_settings for select to authenticated
  using (org_id in (select public.current_user_org_ids()));
create policy email_settings_insert_admin on public.email_settings for insert to authenticated
  with check (org_id in (select public.current_user_org_ids(array['owner', 'admin'])));
create policy email_settings_update_admin on public.email_settings for update to authenticated
  using (org_id in (select public.current_user_org_ids(array['owner', 'admin'])))
  with check (org_id in (select public.current_user_org_ids(array['owner', 'admin'])));

-- ---------------------------------------------------------------- privileges
-- Supabase's default privileges grant everything in public to anon and authenticated; take
-- them back and grant what each role needs. anon: nothing.

revoke all on public.organizations, public.memberships, public.subscribers, public.email_settings from anon, authenticated;
grant select, update (name, slug), delete on public.organizations to authenticated;
grant select, insert, update (role), delete on public.memberships to authenticated;
-- the token columns are generated by the database: users cannot choose or change them
grant select, delete on public.subscribers to authenticated;
grant insert (org_id, email, name, status, consent_source, consent_at, metadata) on public.subscribers to authenticated;
grant update (email, name, status, consent_source, consent_at, unsubscribed_at, metadata) on public.subscribers to authenticated;
grant select on public.email_settings to authenticated;
grant update (sender_name, sender_email, reply_to, footer, frequency_cap, frequency_window, welcome_template)
  on public.email_settings to authenticated;
grant insert (org_id, sender_name, sender_email, reply_to, footer, frequency_cap, frequency_window, welcome_template)
  on public.email_settings to authenticated;
grant all on public.organizations, public.memberships, public.subscribers, public.email_settings to service_role;

revoke all on function public.is_email_address(text) from public, anon;
grant execute on function public.is_email_address(text) to authenticated, service_role;
revoke all on function public.current_user_org_ids(text[]) from public, anon;
revoke all on function public.is_org_member(uuid) from public, anon;
revoke all on function public.has_org_role(uuid, text[]) from public, anon;
revoke all on function public.create_organization(text, text) from public, anon;
revoke all on function public.tg_memberships__keep_owner() from public, anon, authenticated;
revoke all on function public.tg_organizations__touch() from public, anon, authenticated;
revoke all on function public.tg_subscribers__normalize() from public, anon, authenticated;
revoke all on function public.tg_email_settings__normalize() from public, anon, authenticated;
grant execute on function public.current_user_org_ids(text[]), public.is_org_member(uuid),
  public.has_org_role(uuid, text[]), public.create_organization(text, text) to authenticated, service_role;
