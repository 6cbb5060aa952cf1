// `npm test`: brings the local stack up (installing what it needs), then runs every suite:
//   1. supabase db lint        (plpgsql_check over the migrated schemas)
//   2. pg_prove tests/sql      (pgTAP)
//   3. deno test               (edge functions and their _shared library)
//   4. node --test             (end-to-end suites in tests/e2e, the worker's tests)
// Each runner prints its own summary; exits non-zero if any suite failed. Services this run
// started are stopped at the end; a stack that was already running is left as it was.
// `npm test -- sql|deno|node|lint` runs only the named suites.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as stack from './lib/stack.mjs';

const only = new Set(process.argv.slice(2));
const want = (name) => only.size === 0 || only.has(name);
const BIN = path.join(stack.ROOT, 'node_modules', '.bin');

function runSuite(name, cmd, args, env = {}) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    console.log(`\n=== ${name}: ${[path.basename(cmd), ...args].join(' ')}`);
    const child = spawn(cmd, args, { cwd: stack.ROOT, stdio: 'inherit', env: stack.serviceEnv(env) });
    child.on('exit', (code, signal) => resolve({ name, ok: code === 0, code: code ?? signal, ms: Date.now() - t0 }));
  });
}

function files(dir, pattern) {
  const out = [];
  const walk = (d) => {
    if (!fs.existsSync(d)) return;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory() && e.name !== 'node_modules' && e.name !== 'helpers') walk(p);
      else if (pattern.test(e.name)) out.push(path.relative(stack.ROOT, p));
    }
  };
  walk(path.join(stack.ROOT, dir));
  return out.sort();
}

const pgWasRunning = stack.status().postgres.startsWith('running');
const t0 = Date.now();
let started = [];
const results = [];
try {
  ({ started } = await stack.up({ tap: true }));
  const c = stack.config();

  if (want('lint')) {
    results.push(await runSuite('lint', path.join(BIN, 'supabase'),
      ['db', 'lint', `--remote=${c.dbUrl}`, '--schema', 'public,jobs', '--level', 'warning', '--fail-on', 'error']));
  }
  if (want('sql')) {
    results.push(await runSuite('pgtap', 'pg_prove',
      ['--ext', '.sql', '-r', '--failures', '--dbname', c.dbUrl, 'tests/sql'],
      { PGOPTIONS: '-c search_path=tap,public,extensions -c client_min_messages=warning' }));
  }
  if (want('deno')) {
    // type-check every function entrypoint (what `supabase functions deploy` bundles), then test
    const entrypoints = files('functions', /^index\.ts$/);
    results.push(await runSuite('check', path.join(BIN, 'deno'), ['check', '--config', 'deno.json', ...entrypoints, 'scripts/functions-server.ts']));
    results.push(await runSuite('deno', path.join(BIN, 'deno'), ['test', '-A', '--config', 'deno.json']));
  }
  if (want('node')) {
    // one file at a time: some suites kill or restart shared services (the function server)
    const nodeTests = [...files('tests/e2e', /\.test\.(ts|mjs)$/), ...files('worker/test', /\.test\.(ts|mjs)$/)];
    results.push(await runSuite('node', process.execPath,
      ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-timeout=300000', ...nodeTests]));
  }
} catch (err) {
  stack.log('error', { message: err.message });
  results.push({ name: 'stack', ok: false, code: 1, ms: Date.now() - t0 });
} finally {
  await stack.stopServices(started);
  if (!pgWasRunning && process.env.CONVEYOR_KEEP_STACK !== '1' && !stack.config().external) stack.stopPostgres();
}

console.log('\n=== summary');
for (const r of results) console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${r.name.padEnd(6)} ${(r.ms / 1000).toFixed(1)} s${r.ok ? '' : ` (exit ${r.code})`}`);
const failed = results.filter((r) => !r.ok).length;
console.log(`suites: ${results.length - failed} passed, ${failed} failed`);
console.log(`total ${((Date.now() - t0) / 1000).toFixed(1)} s`);
process.exit(failed ? 1 : 0);
