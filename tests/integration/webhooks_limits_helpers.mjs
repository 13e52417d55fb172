// Helpers for webhooks_limits*.test.mjs: local webhook receivers that answer, fail or hang,
// raw clients that produce many webhook events quickly, and /metrics parsing.
import http from 'node:http';
import { RawClient, wsUrl, restClient } from './helpers.mjs';
import { waitFor } from '../harness/index.mjs';

/**
 * A local HTTP receiver. mode: 'ok' answers 200, 'fail' answers 500 at once, 'hang' reads the
 * request and never answers. Records every request in `hits`; `open` counts requests without
 * an answer yet and `maxOpen` the most seen at once.
 */
export async function receiver(mode = 'ok') {
  const r = { hits: [], open: 0, maxOpen: 0, mode };
  r.server = http.createServer((req, res) => {
    r.open++;
    r.maxOpen = Math.max(r.maxOpen, r.open);
    res.on('close', () => r.open--);
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      r.hits.push({ headers: req.headers, url: req.url, body, json: JSON.parse(body), at: Date.now() });
      if (r.mode === 'hang') return;
      res.writeHead(r.mode === 'fail' ? 500 : 200);
      res.end();
    });
  });
  await new Promise((resolve) => r.server.listen(0, '127.0.0.1', resolve));
  r.port = r.server.address().port;
  r.url = `http://127.0.0.1:${r.port}/hook`;
  r.events = () => r.hits.flatMap((h) => h.json.events);
  r.close = () => {
    r.server.closeAllConnections();
    r.server.close();
  };
  return r;
}

/** Connects a raw client to app on server. */
export function rawClient(server, app) {
  return RawClient.connect(wsUrl(server, app.key));
}

/** Subscribes c to every channel in names at once and waits for all the answers. */
export async function subscribeAll(c, names, ms = 10000) {
  const want = new Set(names);
  const from = c.messages.length;
  for (const channel of names) c.send({ event: 'pusher:subscribe', data: { channel } });
  await waitFor(() => {
    let n = 0;
    for (let i = from; i < c.messages.length; i++) {
      const m = c.messages[i];
      if (m.event === 'pusher_internal:subscription_succeeded' && want.has(m.channel)) n++;
      if (m.event === 'pusher:error' || m.event === 'pusher:subscription_error') throw new Error(`subscribe failed: ${JSON.stringify(m)}`);
    }
    return n === want.size;
  }, ms, `${names.length} subscriptions`);
}

/** Unsubscribes c from every channel in names (no answer is sent), then round-trips a ping so
 *  that the server has processed them all. */
export async function unsubscribeAll(c, names) {
  for (const channel of names) c.send({ event: 'pusher:unsubscribe', data: { channel } });
  await c.ping();
}

/** Sends n client events of about `bytes` bytes of data on a private channel of app, from
 *  one connection, and waits until the server has processed them (a ping round trip). */
export async function floodClientEvents(server, app, n, bytes, channel = 'private-flood') {
  const c = await rawClient(server, app);
  const auth = restClient(server, app).authorizeChannel(c.socketId, channel).auth;
  const ok = await c.subscribe(channel, { auth });
  if (ok.event !== 'pusher_internal:subscription_succeeded') throw new Error(`subscribe: ${JSON.stringify(ok)}`);
  const data = 'x'.repeat(bytes);
  for (let i = 0; i < n; i++) c.send({ event: 'client-flood', channel, data });
  await c.ping(30000);
  const errors = c.messages.filter((m) => m.event === 'pusher:error');
  if (errors.length) throw new Error(`client events refused: ${JSON.stringify(errors[0])}`);
  return c;
}

/** GET /metrics parsed into a Map from `name{labels}` (as printed) to a number. */
export async function metrics(server) {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const out = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

/** The value of one series; labels in the order the server prints them (app, then reason).
 *  Throws when the series is missing, so a renamed metric fails loudly. */
export function series(m, name, labels = {}) {
  const l = Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(',');
  const key = l ? `${name}{${l}}` : name;
  if (!m.has(key)) throw new Error(`metric ${key} missing`);
  return m.get(key);
}

/** Shorthand for a per-app webhook series: rt_app_webhooks_<what>{app=...[,reason=...]}. */
export function appSeries(m, app, what, reason) {
  return series(m, `rt_app_webhooks_${what}`, reason ? { app: app.id, reason } : { app: app.id });
}
