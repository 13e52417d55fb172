// Subscription abuse (security review: amplification by unauthenticated clients):
// pusher:subscribe/unsubscribe are rate-limited per connection (4301, the socket stays open),
// and pusher_internal:subscription_count broadcasts and webhooks are coalesced per channel
// (at most one per 1 s window, carrying the latest count) so a join storm is O(N), not O(N²).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { spawnSync } from 'node:child_process';
import { MASTER_KEY, RTSERVER, createDatabase, createApp, rtadmin, startServer } from '../harness/index.mjs';
import {
  RawClient, alive, connected, pusherClient, restClient, sleep, subscribed, waitFor, wsUrl,
} from './helpers.mjs';

const RATE_MESSAGE = (verb) =>
  `${verb} rejected due to rate limit (10 subscribe/unsubscribe per second after a burst of 200): retry later`;
const COUNT = 'pusher_internal:subscription_count';

let db, server, app, countApp, bigApp, hookApp, hook;
const clients = [];
const keep = (c) => (clients.push(c), c);
let seq = 0;
const uniq = (prefix) => `${prefix}${Date.now().toString(36)}-${++seq}`;

/** A local webhook receiver that records every event POSTed to it. */
async function receiver() {
  const r = { hits: [] };
  r.server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      r.hits.push(JSON.parse(body));
      res.writeHead(200);
      res.end();
    });
  });
  await new Promise((resolve) => r.server.listen(0, '127.0.0.1', resolve));
  r.url = `http://127.0.0.1:${r.server.address().port}/hook`;
  r.events = () => r.hits.flatMap((h) => h.events);
  return r;
}

before(async () => {
  db = createDatabase();
  hook = await receiver();
  app = createApp(db, []);
  countApp = createApp(db, ['--subscription-count'], 'counted');
  bigApp = createApp(db, ['--max-subscriptions-per-connection', '300'], 'many-channels');
  hookApp = createApp(db, ['--subscription-count'], 'hooked');
  assert.equal(rtadmin(['webhook', 'add', hookApp.id, hook.url, '--events', 'subscription_count'], { RT_DATABASE_URL: db }).code, 0);
  server = await startServer({ dbUrl: db });
});

after(async () => {
  for (const c of clients) (c.disconnect ? c.disconnect() : c.close());
  hook.server.closeAllConnections();
  hook.server.close();
  await server?.stop();
});

const raw = async (a = app) => keep(await RawClient.connect(wsUrl(server, a.key)));
const counts = (c, from = 0) => c.since(from).filter((m) => m.event === COUNT);
const countOf = (m) => JSON.parse(m.data).subscription_count;
async function metric(name) {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

/** Opens n raw connections to app, a few at a time. */
async function rawMany(n, a) {
  const out = [];
  for (let i = 0; i < n; i += 25) {
    const batch = await Promise.all(Array.from({ length: Math.min(25, n - i) }, () => raw(a)));
    out.push(...batch);
  }
  return out;
}

// Defaults: 10 per second after a burst of the app's 100 channels per connection + 100.
describe('subscribe/unsubscribe rate limit (RT_SUBSCRIBE_RATE 10/s, RT_SUBSCRIBE_BURST 100)', () => {
  test('1000 quick subscribes: past the burst of 200 they get pusher:error 4301 with their channel, the socket stays open', async () => {
    const c = await raw();
    const prefix = uniq('flood-');
    const from = c.messages.length;
    const started = Date.now();
    for (let i = 0; i < 1000; i++) c.send({ event: 'pusher:subscribe', data: { channel: `${prefix}-${i}` } });
    await c.ping(10000);
    const elapsed = Date.now() - started;
    const got = c.since(from);
    const ok = got.filter((m) => m.event === 'pusher_internal:subscription_succeeded');
    const limited = got.filter((m) => m.event === 'pusher:error' && m.data.code === 4301);
    const full = got.filter((m) => m.event === 'pusher:subscription_error');
    assert.deepEqual(ok.map((m) => m.channel), Array.from({ length: 100 }, (_, i) => `${prefix}-${i}`));
    assert.deepEqual(limited[0], { event: 'pusher:error', channel: limited[0].channel, data: { code: 4301, message: RATE_MESSAGE('Subscribe') } });
    // Every frame is answered. Subscribes 101-200 are within the burst and reach the
    // per-connection limit (LimitReached 4009), and so do those that tokens refilled while the
    // flood was read (10/s) let through; no more than the refill allows.
    assert.equal(ok.length + limited.length + full.length, 1000);
    assert.deepEqual(full.slice(0, 100).map((m) => m.channel), Array.from({ length: 100 }, (_, i) => `${prefix}-${100 + i}`));
    assert.ok(full.length <= 100 + Math.ceil(elapsed / 100) + 1, `${full.length} LimitReached in ${elapsed} ms`);
    assert.ok(full.every((m) => m.data.status === 4009));
    assert.ok(limited.length >= 790, `${limited.length} rate-limited`);
    assert.ok(limited.every((m) => Number(m.channel.split('-').pop()) >= 200));
    assert.equal(c.isClosed, false);
    assert.ok((await metric('rt_subscribe_rate_limited_total')) >= limited.length);
  });

  test('after the bucket refills, the same socket may unsubscribe and subscribe again', async () => {
    const c = await raw();
    const prefix = uniq('refill-');
    for (let i = 0; i < 400; i++) c.send({ event: 'pusher:subscribe', data: { channel: `${prefix}-${i}` } });
    await c.ping(10000);
    assert.ok(c.messages.some((m) => m.event === 'pusher:error' && m.data.code === 4301));
    await sleep(1100);
    const from = c.messages.length;
    c.send({ event: 'pusher:unsubscribe', data: { channel: `${prefix}-0` } });
    const m = await c.subscribe(`${prefix}-again`);
    assert.deepEqual(m, { event: 'pusher_internal:subscription_succeeded', channel: `${prefix}-again`, data: '{}' });
    assert.deepEqual(c.since(from).filter((x) => x.event === 'pusher:error'), []);
  });

  test('pusher:unsubscribe draws on the same budget: over the limit it gets 4301 and the subscription stays', async () => {
    const c = await raw();
    const ch = uniq('kept-');
    await c.subscribe(ch);
    const from = c.messages.length;
    for (let i = 0; i < 300; i++) c.send({ event: 'pusher:unsubscribe', data: { channel: `never-subscribed-${i}` } });
    c.send({ event: 'pusher:unsubscribe', data: { channel: ch } });
    const err = await c.next((m) => m.event === 'pusher:error' && m.channel === ch, 5000, from);
    assert.deepEqual(err, { event: 'pusher:error', channel: ch, data: { code: 4301, message: RATE_MESSAGE('Unsubscribe') } });
    const mark = c.messages.length;
    await restClient(server, app).trigger(ch, 'still-here', { ok: true });
    const evt = await c.next((m) => m.event === 'still-here', 3000, mark);
    assert.deepEqual(evt, { event: 'still-here', channel: ch, data: '{"ok":true}' });
    assert.equal(c.isClosed, false);
  });

  test('the burst grows with the app\'s subscriptions per connection: 300 at once on a 300-channel app all succeed', async () => {
    const c = await raw(bigApp);
    const prefix = uniq('big-');
    const from = c.messages.length;
    for (let i = 0; i < 300; i++) c.send({ event: 'pusher:subscribe', data: { channel: `${prefix}-${i}` } });
    await c.ping(10000);
    const got = c.since(from);
    assert.equal(got.filter((m) => m.event === 'pusher_internal:subscription_succeeded').length, 300);
    assert.deepEqual(got.filter((m) => m.event === 'pusher:error'), []);
  });

  test('pusher-js reconnecting with 100 channels re-subscribes them all without any 4301', async () => {
    const p = keep(pusherClient(server, app));
    const first = await connected(p);
    const prefix = uniq('resub-');
    const names = Array.from({ length: 100 }, (_, i) => `${prefix}-${i}`);
    await Promise.all(names.map((n) => subscribed(p, n, 10000)));
    // A dropped network connection: pusher-js reconnects and subscribes all 100 at once.
    p.connection.connection.transport.socket.close();
    await waitFor(() => p.connection.state === 'connected' && p.connection.socket_id !== first, 15000, 'reconnected');
    await waitFor(() => names.every((n) => p.channel(n).subscribed), 10000, 'all 100 re-subscribed');
    assert.deepEqual(p.events.filter((e) => e.event === 'pusher:error'), []);
    const rest = restClient(server, app);
    const got = [];
    p.channel(names[99]).bind('after-reconnect', (d) => got.push(d));
    await rest.trigger(names[99], 'after-reconnect', { n: 99 });
    await waitFor(() => got.length === 1, 3000, 'event on the last channel');
    assert.deepEqual(got, [{ n: 99 }]);
  });
});

describe('coalesced subscription_count (--subscription-count)', () => {
  test('the first change in a quiet channel is broadcast at once', async () => {
    const c = await raw(countApp);
    const ch = uniq('quiet-');
    const from = c.messages.length;
    const started = Date.now();
    c.send({ event: 'pusher:subscribe', data: { channel: ch } });
    const m = await c.next((x) => x.event === COUNT, 3000, from);
    assert.deepEqual(m, { event: COUNT, channel: ch, data: '{"subscription_count":1}' });
    // Well inside the 1 s window a coalesced broadcast would wait for, with room for a loaded CI.
    assert.ok(Date.now() - started < 900, `took ${Date.now() - started} ms`);
  });

  test('changes inside the window are merged into one broadcast carrying the latest count', async () => {
    const ch = uniq('merged-');
    const a = await raw(countApp);
    await a.subscribe(ch);
    await a.next((m) => m.event === COUNT);
    const [b, c] = [await raw(countApp), await raw(countApp)];
    const from = a.messages.length;
    await b.subscribe(ch);
    await c.subscribe(ch);
    b.send({ event: 'pusher:unsubscribe', data: { channel: ch } });
    await b.ping();
    await sleep(1500);
    assert.deepEqual(counts(a, from), [{ event: COUNT, channel: ch, data: '{"subscription_count":2}' }]);
    assert.deepEqual(counts(c), [{ event: COUNT, channel: ch, data: '{"subscription_count":2}' }]);
  });

  test('a join storm of 200 clients: the first observer gets one count per window, the last one exact', async () => {
    const ch = uniq('storm-');
    const observer = await raw(countApp);
    await observer.subscribe(ch);
    await observer.next((m) => m.event === COUNT);
    const joiners = await rawMany(200, countApp);
    await sleep(1100); // let the observer's own window pass: the storm starts in a quiet channel
    const from = observer.messages.length;
    const started = Date.now();
    for (const j of joiners) j.send({ event: 'pusher:subscribe', data: { channel: ch } });
    await Promise.all(joiners.map((j) => j.next((m) => m.event === 'pusher_internal:subscription_succeeded', 10000)));
    const stormMs = Date.now() - started;
    await waitFor(() => counts(observer, from).some((m) => countOf(m) === 201), 5000, 'count 201');
    await sleep(1500);
    const seen = counts(observer, from);
    assert.ok(seen.length <= Math.ceil(stormMs / 1000) + 2, `${seen.length} count frames for a ${stormMs} ms storm`);
    assert.deepEqual(seen.at(-1), { event: COUNT, channel: ch, data: '{"subscription_count":201}' });
    // O(N) frames overall instead of one per join to every subscriber (200 * 201 / 2).
    const total = joiners.reduce((n, j) => n + counts(j).length, seen.length);
    assert.ok(total <= 201 * (Math.ceil(stormMs / 1000) + 2), `${total} count frames in all`);
    for (const j of joiners) assert.equal(countOf(counts(j).at(-1)), 201);
    assert.ok((await metric('rt_subscription_count_coalesced_total')) >= 190);
  });

  test('the subscription_count webhook is coalesced the same way', async () => {
    const ch = uniq('hooked-');
    const joiners = await rawMany(50, hookApp);
    const started = Date.now();
    for (const j of joiners) j.send({ event: 'pusher:subscribe', data: { channel: ch } });
    await Promise.all(joiners.map((j) => j.next((m) => m.event === 'pusher_internal:subscription_succeeded', 10000)));
    const stormMs = Date.now() - started;
    const mine = () => hook.events().filter((e) => e.name === 'subscription_count' && e.channel === ch);
    await waitFor(() => mine().some((e) => e.subscription_count === 50), 5000, 'webhook with 50');
    await sleep(1500);
    assert.ok(mine().length <= Math.ceil(stormMs / 1000) + 2, `${mine().length} webhooks for a ${stormMs} ms storm`);
    assert.deepEqual(mine().at(-1), { name: 'subscription_count', channel: ch, subscription_count: 50 });
  });

  test('everyone leaving before the window ends frees the channel and sends nothing afterwards', async () => {
    const ch = uniq('gone-');
    const members = await rawMany(30, countApp);
    for (const m of members) m.send({ event: 'pusher:subscribe', data: { channel: ch } });
    await Promise.all(members.map((m) => m.next((x) => x.event === 'pusher_internal:subscription_succeeded', 5000)));
    members.forEach((m, i) => (i % 2 ? m.close() : m.send({ event: 'pusher:unsubscribe', data: { channel: ch } })));
    await Promise.all(members.filter((_, i) => i % 2 === 0).map((m) => m.ping()));
    const marks = members.map((m) => m.messages.length);
    await sleep(1500);
    members.forEach((m, i) => assert.deepEqual(counts(m, marks[i]), []));
    const info = await (await restClient(server, countApp).get({ path: `/channels/${ch}`, params: { info: 'subscription_count' } })).json();
    assert.deepEqual(info, { occupied: false, subscription_count: 0 });
    // The name starts a fresh, quiet channel: its first count goes out at once, and only once.
    const late = await raw(countApp);
    const from = late.messages.length;
    late.send({ event: 'pusher:subscribe', data: { channel: ch } });
    await late.next((m) => m.event === COUNT, 500, from);
    await sleep(1300);
    assert.deepEqual(counts(late, from), [{ event: COUNT, channel: ch, data: '{"subscription_count":1}' }]);
  });

  test('a freed pending channel leaves the other pending channels\' broadcasts intact', async () => {
    const names = [uniq('keep-a-'), uniq('drop-'), uniq('keep-b-')];
    const watchers = [];
    for (const n of names) {
      const w = await raw(countApp);
      await w.subscribe(n);
      await w.next((m) => m.event === COUNT);
      watchers.push(w);
    }
    const extra = [];
    for (const n of names) {
      const e = await raw(countApp);
      await e.subscribe(n);
      extra.push(e);
    }
    const marks = watchers.map((w) => w.messages.length);
    // Empty the middle channel while all three have a pending broadcast.
    watchers[1].close();
    extra[1].close();
    await sleep(1500);
    assert.deepEqual(counts(watchers[0], marks[0]), [{ event: COUNT, channel: names[0], data: '{"subscription_count":2}' }]);
    assert.deepEqual(counts(watchers[2], marks[2]), [{ event: COUNT, channel: names[2], data: '{"subscription_count":2}' }]);
    assert.ok(alive(server));
  });
});

describe('settings', () => {
  // An unreachable database and no wait: a server that accepted the setting exits at once
  // (code 1) instead of listening.
  const run = (env) => spawnSync(RTSERVER, [], {
    encoding: 'utf8', timeout: 20000,
    env: {
      PATH: process.env.PATH, RT_HOST: '127.0.0.1', RT_DATABASE_URL: 'postgresql://127.0.0.1:1/none',
      RT_DB_WAIT: '0', RT_MASTER_KEY: MASTER_KEY, ...env,
    },
  });

  test('an invalid RT_SUBSCRIBE_RATE stops the server with one line naming it', () => {
    const r = run({ RT_SUBSCRIBE_RATE: 'fast' });
    assert.equal(r.status, 2);
    assert.equal(r.stderr, 'rtserver: RT_SUBSCRIBE_RATE must be an integer from 0 to 100000 (got "fast")\n');
  });

  test('an invalid RT_SUBSCRIBE_BURST stops the server with one line naming it', () => {
    const r = run({ RT_SUBSCRIBE_BURST: '0' });
    assert.equal(r.status, 2);
    assert.equal(r.stderr, 'rtserver: RT_SUBSCRIBE_BURST must be an integer from 1 to 100000 (got "0")\n');
  });

  test('rtserver --help lists both settings', () => {
    const r = spawnSync(RTSERVER, ['--help'], { encoding: 'utf8' });
    assert.match(r.stdout, /RT_SUBSCRIBE_RATE .*per second/);
    assert.match(r.stdout, /RT_SUBSCRIBE_BURST /);
  });
});

test('the server process is still alive at the end', async () => {
  assert.ok(alive(server));
  const c = await RawClient.connect(wsUrl(server, app.key));
  await c.ping();
  c.close();
});
