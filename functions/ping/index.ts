// ping: the smallest real service. Records a heartbeat row and answers with its id, so a
// pg_cron schedule -> net.http_post -> function -> database round trip can be observed.
import { z } from 'zod';
import { db } from '../_shared/db.ts';
import { recordHeartbeat } from '../_shared/heartbeat.ts';
import { errorResponse, HttpError, json, readJson } from '../_shared/http.ts';

const Body = z.object({
  source: z.string().max(200).default('http'),
  detail: z.record(z.string(), z.unknown()).default({}),
}).strict();

Deno.serve(async (req) => {
  try {
    if (req.method !== 'POST') throw new HttpError(405, 'method_not_allowed', 'use POST');
    const body = Body.parse(await readJson(req));
    const id = await recordHeartbeat(db(), 'ping', body);
    return json({ ok: true, heartbeat_id: id, source: body.source });
  } catch (err) {
    return errorResponse(err);
  }
});
