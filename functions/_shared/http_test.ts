import assert from 'node:assert/strict';
import { z } from 'zod';
import { errorResponse, HttpError, readJson } from './http.ts';

Deno.test('errorResponse names the invalid field of a zod error', async () => {
  let err: unknown;
  try {
    z.object({ to: z.object({ email: z.string().email() }) }).parse({ to: { email: 'nope' } });
  } catch (e) {
    err = e;
  }
  const res = errorResponse(err);
  assert.equal(res.status, 400);
  const body = await res.json();
  assert.equal(body.field, 'to.email');
  assert.match(body.message, /^to\.email: /);
});

Deno.test('errorResponse keeps the status and code of an HttpError and hides other errors', async () => {
  const res = errorResponse(new HttpError(409, 'conflict', 'already there'));
  assert.equal(res.status, 409);
  assert.deepEqual(await res.json(), { error: 'conflict', message: 'already there' });
  const hidden = errorResponse(new Error('password=hunter2 in connection string'));
  assert.equal(hidden.status, 500);
  assert.doesNotMatch(await hidden.text(), /hunter2/);
});

Deno.test('readJson treats an empty body as {} and rejects malformed JSON', async () => {
  assert.deepEqual(await readJson(new Request('http://x', { method: 'POST', body: '' })), {});
  await assert.rejects(() => readJson(new Request('http://x', { method: 'POST', body: '{' })), HttpError);
});
