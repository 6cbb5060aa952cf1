import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { handle, verifyJwt } from './functions-server.ts';

const secret = 'test-secret-test-secret-test-secret-32';
function sign(claims: Record<string, unknown>, key = secret): string {
  const enc = (o: unknown) => btoa(JSON.stringify(o)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
  const head = `${enc({ alg: 'HS256', typ: 'JWT' })}.${enc(claims)}`;
  const sig = createHmac('sha256', key).update(head).digest('base64url');
  return `${head}.${sig}`;
}

const fns = new Map([
  ['open', { name: 'open', verifyJwt: false, handler: () => new Response('open') }],
  ['guarded', { name: 'guarded', verifyJwt: true, handler: () => new Response('guarded') }],
]);
const call = (path: string, headers: Record<string, string> = {}) =>
  handle(fns, secret, new Request(`http://x${path}`, { method: 'POST', headers }));

Deno.test('verifyJwt accepts a token signed with the project secret', async () => {
  const { claims, error } = await verifyJwt(sign({ role: 'anon', exp: Date.now() / 1000 + 60 }), secret);
  assert.equal(error, undefined);
  assert.equal(claims?.role, 'anon');
});

Deno.test('verifyJwt rejects another secret, expiry and garbage', async () => {
  assert.equal((await verifyJwt(sign({ role: 'anon' }, 'another-secret-another-secret-xx'), secret)).error, 'Invalid JWT');
  assert.equal((await verifyJwt(sign({ role: 'anon', exp: 1 }), secret)).error, 'JWT has expired');
  assert.equal((await verifyJwt('a.b', secret)).error, 'Invalid JWT');
});

Deno.test('a verify_jwt function refuses a request without a bearer token', async () => {
  const res = await call('/guarded');
  assert.equal(res.status, 401);
  assert.equal((await res.json()).code, 'UNAUTHORIZED_NO_AUTH_HEADER');
});

Deno.test('a verify_jwt function runs for a valid token; verify_jwt=false runs without one', async () => {
  const ok = await call('/guarded/sub/path', { authorization: `Bearer ${sign({ role: 'authenticated' })}` });
  assert.equal(await ok.text(), 'guarded');
  assert.equal(await (await call('/open')).text(), 'open');
});

Deno.test('an unknown function is a 404 like the edge runtime', async () => {
  const res = await call('/nope');
  assert.equal(res.status, 404);
  await res.body?.cancel();
});
