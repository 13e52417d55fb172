// Webhooks: signed POSTs for channel, member, client-event, cache-miss and subscription-count
// events, the 3 s settle window, retries, and event-type filters.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createHmac } from 'node:crypto';
import { createDatabase, createApp, startServer, rtadmin, sleep, waitFor } from '../harness/index.mjs';
import { pusherClient, connected, subscribed, restClient } from './helpers.mjs';

// A stopping node waits up to RT_CLOSE_TIMEOUT for webhooks still in flight; these suites end
// with receivers that are closed or hang on purpose, so they stop after 1 s instead of 5.
const startQuickStop = (opts) => startServer({ ...opts, env: { RT_CLOSE_TIMEOUT: '1', ...(opts.env || {}) } });

/** A local receiver that records every POST; `status` decides the reply. */
async function receiver() {
  const r = { hits: [], status: 200 };
  r.server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      r.hits.push({ headers: req.headers, body, json: JSON.parse(body), at: Date.now() });
      res.writeHead(typeof r.status === 'function' ? r.status(r.hits.length) : r.status);
      res.end();
    });
  });
  await new Promise((resolve) => r.server.listen(0, '127.0.0.1', resolve));
  r.url = `http://127.0.0.1:${r.server.address().port}/hook`;
  r.events = () => r.hits.flatMap((h) => h.json.events);
  return r;
}

describe('webhooks', { timeout: 120000 }, () => {
  let db, server, hook, app;
  before(async () => {
    db = createDatabase();
    hook = await receiver();
    app = createApp(db, ['--client-events', '--subscription-count'], 'hooks');
    assert.equal(rtadmin(['webhook', 'add', app.id, hook.url], { RT_DATABASE_URL: db }).code, 0);
    server = await startQuickStop({ dbUrl: db });
  });
  after(async () => {
    hook.server.closeAllConnections();
    hook.server.close();
    await server.stop();
  });

  test('channel_occupied is signed with the app secret and has the Pusher headers', async () => {
    hook.hits.length = 0;
    const c = pusherClient(server, app);
    await connected(c);
    await subscribed(c, 'orders');
    const hit = await waitFor(() => hook.hits.find((h) => h.json.events[0].name === 'channel_occupied'), 3000, 'occupied');
    // The subscription_count of the same moment comes in the same request (batch window).
    assert.deepEqual(hit.json.events, [
      { name: 'channel_occupied', channel: 'orders' },
      { name: 'subscription_count', channel: 'orders', subscription_count: 1 },
    ]);
    assert.match(hit.headers['x-realtime-webhook-id'], /^m-[0-9a-f]{32}$/);
    assert.equal(typeof hit.json.time_ms, 'number');
    assert.ok(Math.abs(hit.json.time_ms - Date.now()) < 5000);
    assert.equal(hit.headers['content-type'], 'application/json');
    assert.equal(hit.headers['x-pusher-key'], app.key);
    assert.equal(hit.headers['x-pusher-signature'], createHmac('sha256', app.secret).update(hit.body).digest('hex'));
    assert.ok(restClient(server, app).webhook({ headers: hit.headers, rawBody: hit.body }).isValid());
    c.disconnect();
  });

  test('channel_vacated comes about 3 s after the last subscriber leaves', async () => {
    const c = pusherClient(server, app);
    await connected(c);
    await subscribed(c, 'leaving');
    await waitFor(() => hook.events().find((e) => e.name === 'channel_occupied' && e.channel === 'leaving'), 3000, 'occupied');
    const left = Date.now();
    c.unsubscribe('leaving');
    const hit = await waitFor(() => hook.hits.find((h) => h.json.events[0].name === 'channel_vacated' && h.json.events[0].channel === 'leaving'), 6000, 'vacated');
    assert.ok(hit.at - left >= 2500, `vacated after ${hit.at - left} ms`);
    c.disconnect();
  });

  test('leaving and coming back within 3 s sends neither vacated nor a second occupied', async () => {
    const c = pusherClient(server, app);
    await connected(c);
    await subscribed(c, 'flapping');
    await waitFor(() => hook.events().find((e) => e.name === 'channel_occupied' && e.channel === 'flapping'), 3000, 'occupied');
    c.unsubscribe('flapping');
    await sleep(300);
    await subscribed(c, 'flapping');
    await sleep(3500);
    const about = hook.events()
      .filter((e) => e.channel === 'flapping' && e.name.startsWith('channel_'))
      .map((e) => e.name);
    assert.deepEqual(about, ['channel_occupied']);
    c.disconnect();
  });

  test('member_added and member_removed follow the first and last socket of a user', async () => {
    const a1 = pusherClient(server, app, { presence: { user_id: 'ada' } });
    const a2 = pusherClient(server, app, { presence: { user_id: 'ada' } });
    await Promise.all([connected(a1), connected(a2)]);
    await subscribed(a1, 'presence-hooks');
    await subscribed(a2, 'presence-hooks');
    await waitFor(() => hook.events().find((e) => e.name === 'member_added' && e.channel === 'presence-hooks'), 3000, 'added');
    a1.disconnect();
    await sleep(3500);
    assert.equal(hook.events().filter((e) => e.name === 'member_removed' && e.channel === 'presence-hooks').length, 0);
    a2.disconnect();
    const removed = await waitFor(() => hook.events().find((e) => e.name === 'member_removed' && e.channel === 'presence-hooks'), 6000, 'removed');
    assert.deepEqual(removed, { name: 'member_removed', channel: 'presence-hooks', user_id: 'ada' });
    assert.equal(hook.events().filter((e) => e.name === 'member_added' && e.channel === 'presence-hooks').length, 1);
  });

  test('client_event carries channel, event, data, socket_id and user_id on presence', async () => {
    const a = pusherClient(server, app, { presence: { user_id: 'bob' } });
    const b = pusherClient(server, app, { presence: { user_id: 'cat' } });
    await Promise.all([connected(a), connected(b)]);
    await subscribed(a, 'presence-chat');
    await subscribed(b, 'presence-chat');
    a.channel('presence-chat').trigger('client-typing', { on: true });
    const ev = await waitFor(() => hook.events().find((e) => e.name === 'client_event'), 3000, 'client_event');
    assert.deepEqual(ev, {
      name: 'client_event', channel: 'presence-chat', event: 'client-typing',
      data: '{"on":true}', socket_id: a.connection.socket_id, user_id: 'bob',
    });
    a.disconnect(); b.disconnect();
  });

  test('subscription_count reports the new count on non-presence channels', async () => {
    const a = pusherClient(server, app), b = pusherClient(server, app);
    await Promise.all([connected(a), connected(b)]);
    await subscribed(a, 'counted');
    await subscribed(b, 'counted');
    const ev = await waitFor(() => hook.events().find((e) => e.name === 'subscription_count' && e.channel === 'counted' && e.subscription_count === 2), 3000, 'count 2');
    assert.deepEqual(ev, { name: 'subscription_count', channel: 'counted', subscription_count: 2 });
    a.disconnect(); b.disconnect();
  });

  test('cache_miss fires once for many subscribers of an empty cache channel', async () => {
    const clients = [pusherClient(server, app), pusherClient(server, app), pusherClient(server, app)];
    await Promise.all(clients.map((c) => connected(c)));
    for (const c of clients) await subscribed(c, 'cache-empty');
    await sleep(500);
    assert.deepEqual(hook.events().filter((e) => e.name === 'cache_miss'), [{ name: 'cache_miss', channel: 'cache-empty' }]);
    for (const c of clients) c.disconnect();
  });
});

describe('webhook delivery', { timeout: 120000 }, () => {
  let db, server, hook, app;
  before(async () => {
    db = createDatabase();
    hook = await receiver();
    app = createApp(db, [], 'retries');
    assert.equal(rtadmin(['webhook', 'add', app.id, hook.url, '--events', 'channel_occupied'], { RT_DATABASE_URL: db }).code, 0);
    server = await startQuickStop({ dbUrl: db });
  });
  after(async () => {
    hook.server.closeAllConnections();
    hook.server.close();
    await server.stop();
  });

  test('a failed delivery is retried with the same body and signature', async () => {
    hook.status = (n) => (n <= 2 ? 500 : 200);
    const c = pusherClient(server, app);
    await connected(c);
    await subscribed(c, 'retry-me');
    await waitFor(() => hook.hits.length >= 3, 8000, 'three attempts');
    const [h1, h2, h3] = hook.hits;
    assert.equal(h1.body, h2.body);
    assert.equal(h2.body, h3.body);
    assert.equal(h1.headers['x-pusher-signature'], h3.headers['x-pusher-signature']);
    assert.ok(h2.at - h1.at >= 900, `first retry after ${h2.at - h1.at} ms`);
    assert.ok(h3.at - h2.at >= 1900, `second retry after ${h3.at - h2.at} ms`);
    await sleep(2500);
    assert.equal(hook.hits.length, 3, 'no more attempts after a 2xx');
    c.disconnect();
  });

  test('event-type filters keep other kinds away', async () => {
    hook.status = 200;
    hook.hits.length = 0;
    const c = pusherClient(server, app);
    await connected(c);
    await subscribed(c, 'filtered');
    c.unsubscribe('filtered');
    await sleep(3800);
    assert.deepEqual(hook.events().map((e) => e.name), ['channel_occupied']);
    c.disconnect();
  });

  test('an unreachable webhook URL does not disturb the server', async () => {
    const r = rtadmin(['webhook', 'add', app.id, 'http://127.0.0.1:1/nothing'], { RT_DATABASE_URL: db });
    assert.equal(r.code, 0);
    await sleep(500);
    const c = pusherClient(server, app);
    await connected(c);
    await subscribed(c, 'unreachable');
    const res = await fetch(`${server.url}/health`);
    assert.equal(res.status, 200);
    c.disconnect();
  });
});

describe('standalone webhook queue (in memory)', { timeout: 120000 }, () => {
  let db, server, batched, failing, app, deadApp;
  before(async () => {
    db = createDatabase();
    batched = await receiver();
    failing = await receiver();
    failing.status = 500;
    app = createApp(db, [], 'batches');
    deadApp = createApp(db, [], 'dead-letters');
    const add = (a, url, ...opts) => assert.equal(rtadmin(['webhook', 'add', a.id, url, ...opts], { RT_DATABASE_URL: db }).code, 0);
    add(app, batched.url, '--events', 'channel_occupied', '--batch-window-ms', '1000', '--batch-max', '3');
    add(deadApp, failing.url, '--batch-window-ms', '0');
    server = await startQuickStop({ dbUrl: db, env: { RT_WEBHOOK_RETRY_BASE_MS: '100', RT_WEBHOOK_RETRY_SECONDS: '2' } });
  });
  after(async () => {
    for (const r of [batched, failing]) { r.server.closeAllConnections(); r.server.close(); }
    await server.stop();
  });

  test('events within the batch window go out together, at most batch-max per request', async () => {
    const c = pusherClient(server, app);
    await connected(c);
    const names = ['b1', 'b2', 'b3', 'b4', 'b5'];
    await Promise.all(names.map((n) => subscribed(c, n)));
    await waitFor(() => batched.events().length === 5, 4000, 'five occupied events');
    await sleep(300);
    assert.deepEqual(batched.hits.map((h) => h.json.events.length), [3, 2]);
    assert.ok(batched.hits[1].at - batched.hits[0].at >= 800, 'the second request waits for its window');
    c.disconnect();
  });

  test('a request given up is kept in memory; rtadmin shows it and re-queues it', async () => {
    const c = pusherClient(server, deadApp);
    await connected(c);
    await subscribed(c, 'doomed');
    const env = { RT_DATABASE_URL: db };
    let failures = [];
    await waitFor(() => {
      const r = rtadmin(['webhook', 'failures', deadApp.id, '--server', server.url, '--json'], env);
      failures = r.code === 0 ? JSON.parse(r.stdout) : [];
      return failures.length === 1;
    }, 8000, 'the dead letter');
    assert.equal(failures[0].status, 500);
    assert.deepEqual(failures[0].events, [{ name: 'channel_occupied', channel: 'doomed' }]);
    const id = failures[0].request_id;
    assert.equal(failing.hits[0].headers['x-realtime-webhook-id'], id);
    failing.status = 200;
    const before = failing.hits.length;
    const r = rtadmin(['webhook', 'retry', deadApp.id, '--server', server.url], env);
    assert.equal(r.code, 0, r.stderr);
    await waitFor(() => failing.hits.length === before + 1, 3000, 're-queued request');
    assert.equal(failing.hits.at(-1).headers['x-realtime-webhook-id'], id);
    assert.equal(failing.hits.at(-1).body, failing.hits[0].body);
    const list = rtadmin(['webhook', 'list', deadApp.id, '--server', server.url, '--json'], env);
    const [row] = JSON.parse(list.stdout);
    assert.equal(row.last_status.ok, true);
    assert.equal(row.last_status.status, 200);
    assert.equal(row.last_status.request_id, id);
    c.disconnect();
  });

  test('the webhook routes are signed, method-checked and validated', async () => {
    const sdk = restClient(server, deadApp);
    const state = await (await sdk.get({ path: '/webhooks' })).json();
    assert.deepEqual(Object.keys(state).sort(), ['dead_letters', 'queued', 'webhooks']);
    assert.equal(state.webhooks.length, 1);
    assert.equal(state.webhooks[0].url, failing.url);
    const unsigned = await fetch(`${server.url}/apps/${deadApp.id}/webhooks`);
    assert.equal(unsigned.status, 401);
    const wrongMethod = await sdk.post({ path: '/webhooks/failures', body: {} }).catch((e) => e);
    assert.equal(wrongMethod.status, 405);
    assert.match(wrongMethod.body, /Method POST not allowed on \/webhooks\/failures/);
    const badLimit = await sdk.get({ path: '/webhooks/failures', params: { limit: 0 } }).catch((e) => e);
    assert.equal(badLimit.status, 400);
    assert.equal(JSON.parse(badLimit.body).error, 'limit must be an integer from 1 to 1000');
  });
});
