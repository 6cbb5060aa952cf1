// `npm start`: the main job on the local default.
// Brings the stack up, loads the demo data (supabase/seed.sql), registers every service on its
// pg_cron schedule (scripts/services.json), starts the long-running workers, prints where to
// look, and runs until Ctrl-C, then stops everything it started (by pid) and removes the
// schedules it registered.
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import * as stack from './lib/stack.mjs';

const services = JSON.parse(fs.readFileSync(path.join(stack.ROOT, 'scripts/services.json'), 'utf8'));
const pgWasRunning = stack.status().postgres.startsWith('running');
const t0 = Date.now();
let started = [];
const workers = [];
let stopping = false;

async function shutdown(code = 0) {
  if (stopping) return;
  stopping = true;
  stack.log('shutdown');
  await Promise.all(workers.map((w) => new Promise((resolve) => {
    if (w.exitCode !== null) return resolve(null);
    w.once('exit', resolve);
    w.kill('SIGTERM');
    setTimeout(() => { w.kill('SIGKILL'); resolve(null); }, 35000).unref();
  })));
  try {
    for (const s of services.schedules) stack.psql(`select jobs.unschedule_invoke('${s.name}')`);
  } catch (err) {
    stack.log('unschedule_failed', { message: err.message });
  }
  await stack.stopServices(started);
  if (!pgWasRunning && !stack.config().external) stack.stopPostgres();
  process.exit(code);
}
process.on('SIGINT', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));

try {
  ({ started } = await stack.up());
  const seed = path.join(stack.ROOT, 'supabase/seed.sql');
  if (fs.existsSync(seed)) {
    stack.psql(seed, { file: true });
    stack.log('seed.applied', { file: 'supabase/seed.sql' });
  }
  for (const s of services.schedules) {
    stack.psql(`select jobs.schedule_invoke('${s.name}', '${s.cron}', '${s.function}', '${JSON.stringify(s.body ?? {})}'::jsonb)`);
  }
  stack.log('services.scheduled', { count: services.schedules.length });
  for (const w of services.workers ?? []) {
    // long-running workers log to .local/logs/<name>.log; stopped with SIGTERM (graceful) on exit
    const out = fs.openSync(path.join(stack.LOCAL, 'logs', `${w.name}.log`), 'a');
    const cmd = w.command[0] === 'node' ? process.execPath : w.command[0];
    const child = spawn(cmd, w.command.slice(1), { cwd: stack.ROOT, stdio: ['ignore', out, out], env: stack.serviceEnv(w.env ?? {}) });
    fs.closeSync(out);
    child.on('exit', (code) => !stopping && stack.log('worker.exit', { worker: w.name, code, log: `.local/logs/${w.name}.log` }));
    workers.push(child);
    stack.log('worker.start', { worker: w.name, pid: child.pid });
  }

  const st = stack.status();
  const c = stack.config();
  const routes = stack.psql(`select queue, cron, function_name, coalesce(min_priority::text, '') from jobs.dispatch_route order by queue`)
    .trim().split('\n').filter(Boolean).map((l) => {
      const [queue, cron, function_name, min_priority] = l.split('|');
      return { queue, cron, function_name, min_priority };
    });
  const lines = [
    '',
    `Conveyor is running (up in ${((Date.now() - t0) / 1000).toFixed(1)} s). Ctrl-C stops everything this command started.`,
    '',
    `  API URL        ${st['API URL']}`,
    `  REST URL       ${st['REST URL']}`,
    `  Functions URL  ${st['Functions URL']}/<name>`,
    `  DB URL         ${st['DB URL']}`,
    `  JWT secret     ${st['JWT secret']}`,
    `  anon key       ${st['anon key']}`,
    `  service_role   ${st['service_role key']}`,
    `  Resend (fake)  ${c.resendBaseUrl}   (RESEND_BASE_URL for the functions; real Resend on a project)`,
    '',
    '  Services (pg_cron -> jobs.invoke -> pg_net -> edge function; routed queues also on enqueue):',
    ...routes.map((r) => `    ${('queue ' + r.queue).padEnd(22)} ${r.cron.padEnd(14)} ${c.functionsUrl}/${r.function_name}${r.min_priority === '' ? '' : `  (and at once for priority >= ${r.min_priority})`}`),
    ...services.schedules.map((s) => `    ${s.name.padEnd(22)} ${s.cron.padEnd(14)} ${c.functionsUrl}/${s.function}`),
    '',
    '  Where to look:',
    `    logs              ${path.join(stack.LOCAL, 'logs')}/`,
    `    job counts        psql "${c.dbUrl}" -c "select * from jobs.counts()"`,
    `    service runs      psql "${c.dbUrl}" -c "select service, source, created_at from public.service_heartbeats order by id desc limit 10"`,
    ...(services.where ?? []).map((w) => `    ${w.what.padEnd(17)} ${w.where}`),
    '',
    'Local stand-ins (not used on a real project): pg_net sender (scripts/net-worker.mjs), Vault (pgcrypto),',
    'the API gateway (scripts/gateway.mjs), the function server (scripts/functions-server.ts), and a fake',
    'of Resend speaking its HTTP API (scripts/fake-resend.mjs). See README.',
    '',
  ];
  console.log(lines.join('\n'));
  if (process.env.CONVEYOR_START_EXIT_AFTER_MS) setTimeout(() => shutdown(0), Number(process.env.CONVEYOR_START_EXIT_AFTER_MS));
} catch (err) {
  stack.log('error', { message: err.message });
  await shutdown(1);
}
