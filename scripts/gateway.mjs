// LOCAL ONLY: the API gateway (Kong's job in Supabase) on 127.0.0.1:54321.
//   /rest/v1/*       -> PostgREST     (requires an `apikey` that is the anon or service_role key)
//   /functions/v1/*  -> function server (the function checks its own JWT, as the edge runtime does)
//   /health          -> 200
// Like Supabase's gateway, a request with an apikey but no Authorization header is forwarded
// with `Authorization: Bearer <apikey>`.
import http from 'node:http';

const port = Number(process.env.GATEWAY_PORT ?? 54321);
const routes = [
  { prefix: '/rest/v1', target: new URL(process.env.POSTGREST_URL ?? 'http://127.0.0.1:54330'), apikey: true },
  { prefix: '/functions/v1', target: new URL(process.env.FUNCTIONS_URL ?? 'http://127.0.0.1:54331'), apikey: false },
];
const keys = new Set([process.env.SUPABASE_ANON_KEY, process.env.SUPABASE_SERVICE_ROLE_KEY].filter(Boolean));
const log = (event, f = {}) => process.stdout.write(JSON.stringify({ ts: new Date().toISOString(), fn: 'gateway', event, ...f }) + '\n');

const cors = {
  'access-control-allow-origin': '*',
  'access-control-allow-headers': 'authorization, x-client-info, apikey, content-type, prefer, range, accept-profile, content-profile, x-region',
  'access-control-allow-methods': 'GET, POST, PUT, PATCH, DELETE, OPTIONS',
  'access-control-expose-headers': 'content-range, content-profile',
};

function reply(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json', ...cors });
  res.end(JSON.stringify(body));
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://gateway');
  if (url.pathname === '/health') return reply(res, 200, { ok: true });
  if (req.method === 'OPTIONS') {
    res.writeHead(204, cors);
    return res.end();
  }
  const route = routes.find((r) => url.pathname === r.prefix || url.pathname.startsWith(r.prefix + '/'));
  if (!route) return reply(res, 404, { message: 'no Route matched with those values' });

  const headers = { ...req.headers };
  const apikey = headers.apikey ?? url.searchParams.get('apikey');
  if (route.apikey) {
    if (!apikey) return reply(res, 401, { message: 'No API key found in request', hint: 'send the anon or service_role key in the apikey header' });
    if (!keys.has(apikey)) return reply(res, 401, { message: 'Invalid API key', hint: 'Double check your Supabase `anon` or `service_role` API key.' });
  }
  if (!headers.authorization && apikey) headers.authorization = `Bearer ${apikey}`;
  delete headers.host;

  const path = url.pathname.slice(route.prefix.length) || '/';
  const upstream = http.request(
    { hostname: route.target.hostname, port: route.target.port, method: req.method, path: path + url.search, headers },
    (up) => {
      res.writeHead(up.statusCode ?? 502, { ...up.headers, ...cors });
      up.pipe(res);
    },
  );
  upstream.on('error', (err) => {
    log('upstream_error', { path: url.pathname, message: err.message });
    if (!res.headersSent) reply(res, 502, { message: `upstream unavailable: ${err.message}` });
    else res.destroy();
  });
  req.pipe(upstream);
});

server.keepAliveTimeout = 65000;
server.listen(port, '127.0.0.1', () => log('listening', { port }));
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
