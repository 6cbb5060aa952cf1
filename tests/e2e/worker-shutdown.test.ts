// Graceful shutdown with real processes and real signals.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { cfg, connect, eventually, nonce } from './helpers/stack.ts';

const sql = connect();
after(() => sql.end());

function startWorker(queue: string, jobMs: number, concurrency: number, shutdownMs: number) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'tests/e2e/helpers/worker-process.ts', queue, String(jobMs), String(concurrency), String(shutdownMs)], {
    env: { ...process.env, DATABASE_URL: cfg.dbUrl },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const started: number[] = [];
  let buf = '';
  child.stdout!.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      const ev = JSON.parse(line);
      if (ev.event === 'start') started.push(ev.job);
    }
  });
  return { child, started };
}

async function states(ids: number[]) {
  const rows = await sql`select (jobs.get(id)) as j from unnest(${ids}::bigint[]) id`;
  return rows.map((r) => r.j as { id: number; state: string; attempts: number; last_error: unknown });
}

describe('worker shutdown on SIGTERM', () => {
  test('running handlers finish, claimed-but-unstarted jobs go back to the queue unharmed', async () => {
    const queue = nonce('shutdown');
    const ids = (await sql`select id from jobs.enqueue_many(${queue}, ${sql.json(Array.from({ length: 20 }, (_, i) => ({ i })))}) id`).map((r) => Number(r.id));
    const w = startWorker(queue, 800, 2, 10000);
    await eventually('two handlers running', async () => w.started.length >= 2, 15000, 20);
    const t0 = Date.now();
    w.child.kill('SIGTERM');
    const [code] = await once(w.child, 'exit');
    assert.equal(code, 0, 'the worker exits cleanly');
    assert.ok(Date.now() - t0 < 5000, 'and promptly');
    const js = await states(ids);
    const completed = js.filter((j) => j.state === 'completed').map((j) => j.id).sort((a, b) => a - b);
    assert.deepEqual(completed, [...w.started].sort((a, b) => a - b), 'exactly the started jobs completed');
    const rest = js.filter((j) => j.state !== 'completed');
    assert.ok(rest.every((j) => j.state === 'queued' && j.attempts === 0 && j.last_error === null),
      'the others are queued again, with no attempt spent and no error');
    await sql`delete from jobs.job where queue = ${queue}`;
  });

  test('past the shutdown deadline, a handler is aborted and its job handed back, not lost', async () => {
    const queue = nonce('deadline');
    const [{ id }] = await sql`select jobs.enqueue(${queue}, '{}') as id`;
    const w = startWorker(queue, 60000, 1, 300);
    await eventually('the handler running', async () => w.started.length === 1, 15000, 20);
    w.child.kill('SIGTERM');
    const [code] = await once(w.child, 'exit');
    assert.equal(code, 0);
    const [j] = await states([Number(id)]);
    assert.equal(j.state, 'queued');
    assert.equal(j.attempts, 0);
    await sql`delete from jobs.job where queue = ${queue}`;
  });
});
