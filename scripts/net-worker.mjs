// LOCAL ONLY: the sender behind the pg_net stand-in (sql/local/supabase_compat.sql).
// pg_net's background worker takes committed rows from net.http_request_queue, performs the
// HTTP requests and records each outcome in net._http_response (status, headers, body, or
// timed_out / error_msg). This process does the same: woken by NOTIFY net_request, with a
// 1 s polling fallback, up to NET_CONCURRENCY requests in flight.
import postgres from 'postgres';

const url = process.env.DATABASE_URL;
if (!url) throw new Error('DATABASE_URL is not set');
const concurrency = Number(process.env.NET_CONCURRENCY ?? 16);
const sql = postgres(url, { max: 3, onnotice: () => {} });
const log = (event, f = {}) => process.stdout.write(JSON.stringify({ ts: new Date().toISOString(), fn: 'net-worker', event, ...f }) + '\n');

let draining = false;
let again = false;
let stopping = false;

async function perform(r) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), r.timeout_milliseconds);
  const started = Date.now();
  try {
    const res = await fetch(r.url, {
      method: r.method,
      headers: r.headers,
      body: r.method === 'GET' ? undefined : r.body,
      signal: ctl.signal,
    });
    const content = await res.text();
    await sql`insert into net._http_response (id, status_code, content_type, headers, content, timed_out)
              values (${r.id}, ${res.status}, ${res.headers.get('content-type')},
                      ${sql.json(Object.fromEntries(res.headers))}, ${content}, false)`;
    log('response', { id: r.id, url: r.url, status: res.status, ms: Date.now() - started });
  } catch (err) {
    const timedOut = ctl.signal.aborted;
    const msg = timedOut ? `Timeout of ${r.timeout_milliseconds} ms reached` : String(err?.cause?.message ?? err?.message ?? err);
    await sql`insert into net._http_response (id, timed_out, error_msg) values (${r.id}, ${timedOut}, ${msg})`;
    log('request_failed', { id: r.id, url: r.url, timed_out: timedOut, error: msg });
  } finally {
    clearTimeout(timer);
  }
}

async function drain() {
  if (draining) {
    again = true;
    return;
  }
  draining = true;
  try {
    do {
      again = false;
      for (;;) {
        const batch = await sql`
          delete from net.http_request_queue
           where id in (select id from net.http_request_queue order by id limit ${concurrency} for update skip locked)
          returning id, method, url, headers, body, timeout_milliseconds`;
        if (batch.length === 0) break;
        await Promise.all(batch.map((r) => perform({ ...r, body: r.body ? Buffer.from(r.body) : undefined })));
      }
    } while (again && !stopping);
  } catch (err) {
    log('drain_error', { error: err.message });
  } finally {
    draining = false;
  }
}

await sql.listen('net_request', () => drain());
const poll = setInterval(drain, 1000);
log('listening', { concurrency });
drain();

async function stop() {
  stopping = true;
  clearInterval(poll);
  await sql.end({ timeout: 2 });
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
