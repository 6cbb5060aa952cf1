import type { Sql } from '../db.ts';
import { escapeHtml } from './render.ts';

const page = (status: number, title: string, body: string) =>
  new Response(
    `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>` +
      `<body style="font-family:sans-serif;max-width:32rem;margin:3rem auto">${body}</body></html>`,
    { status, headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' } },
  );

export function unsubscribePage(token: string): Response {
  return page(200, 'Unsubscribe', `<h1>Unsubscribe</h1><p>Stop receiving these emails?</p>` +
    `<form method="post" action="?token=${encodeURIComponent(token)}"><button type="submit">Unsubscribe</button></form>`);
}

export async function unsubscribeWithToken(sql: Sql, token: string): Promise<Response> {
  try {
    const [r] = await sql`select public.unsubscribe(${token}) as r`;
    const { organization, email } = r.r as { organization: string; email: string };
    return page(200, 'Unsubscribed', `<h1>You are unsubscribed</h1><p>${escapeHtml(email)} will no longer get ` +
      `emails like this from ${escapeHtml(organization ?? 'this sender')}.</p>`);
  } catch (err) {
    if ((err as { code?: string }).code === 'CE010') {
      return page(400, 'Link not valid', '<h1>This unsubscribe link is not valid</h1><p>Use the link from the latest email.</p>');
    }
    console.error(JSON.stringify({ level: 'error', fn: 'unsubscribe', event: 'failed', message: (err as Error).message }));
    return page(500, 'Try again', '<h1>Something went wrong</h1><p>Please try the link again in a minute.</p>');
  }
}
