// One place that maps errors to HTTP responses for every edge function.
import { ZodError } from 'zod';

export class HttpError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

export function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json' },
  });
}

export function errorResponse(err: unknown): Response {
  if (err instanceof ZodError) {
    const issue = err.issues[0];
    const field = issue?.path.join('.') || '(body)';
    return json({ error: 'invalid_input', field, message: `${field}: ${issue?.message}` }, 400);
  }
  if (err instanceof HttpError) return json({ error: err.code, message: err.message }, err.status);
  const message = err instanceof Error ? err.message : String(err);
  console.error(JSON.stringify({ level: 'error', event: 'unhandled', message }));
  return json({ error: 'internal', message: 'internal error; see the function logs' }, 500);
}

/** Parses a JSON body (empty body = {}), rejecting malformed JSON with a 400. */
export async function readJson(req: Request): Promise<unknown> {
  const text = await req.text();
  if (!text.trim()) return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'invalid_json', 'request body is not valid JSON');
  }
}
