// unsubscribe: the one-click link in every non-transactional email. Works without login:
//   GET  ?token=...  a page with a confirm button (link scanners must not unsubscribe people)
//   POST ?token=...  unsubscribes (RFC 8058 List-Unsubscribe-Post sends "List-Unsubscribe=One-Click")
// Tokens are 256-bit random values, looked up by their SHA-256; a wrong token gets the same answer as a
// malformed one, so nothing can be learned by guessing. verify_jwt = false.
import { db } from '../_shared/db.ts';
import { unsubscribePage, unsubscribeWithToken } from '../_shared/email/unsubscribe.ts';

Deno.serve(async (req) => {
  const token = new URL(req.url).searchParams.get('token') ?? '';
  if (req.method === 'GET') return unsubscribePage(token);
  if (req.method === 'POST') return await unsubscribeWithToken(db(), token);
  return new Response('method not allowed', { status: 405 });
});
