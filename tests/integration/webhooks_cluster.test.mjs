// Webhooks at cluster scale (issue 12): each transition once for the whole cluster, batches
// formed from events of every node, the durable queue in Redis (a request survives kill -9 of
// the node holding it), retries with the same request id and body, dead letters shown and
// re-queued by rtadmin, and one app's dead endpoint never delaying another app's webhooks.
// Three real nodes on a private Redis, real pusher-js clients, and local HTTP receivers.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { createDatabase, createApp, freePort, rtadmin, SOURCE_DIR } from '../harness/index.mjs';
import { Cluster, get, health, join, restClient, sleep, stays, uniq, waitFor, webhookReceiver } from './cluster_helpers.mjs';

/** Verifies a webhook request with the official-compatible PHP SDK (sdk-php); returns the
 *  event names it decoded, or throws with PHP's message. */
function phpVerify(app, hit) {
  const script = `
    require ${JSON.stringify(path.join(SOURCE_DIR, 'sdk-php/autoload.php'))};
    $in = json_decode(stream_get_contents(STDIN), true);
    $p = new Realtime\\Pusher($in['key'], $in['secret'], $in['app_id']);
    $w = $p->webhook($in['headers'], $in['body']);
    echo json_encode(array_map(fn($e) => $e->name, $w->get_events()));`;
  const out = execFileSync('php', ['-r', script], {
    input: JSON.stringify({ key: app.key, secret: app.secret, app_id: app.id, headers: hit.headers, body: hit.body }),
  });
  return JSON.parse(out.toString());
}

/** A series of a node's /metrics (0 when absent). */
async function metric(node, name, labels) {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  const want = labels ? `${name}{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(',')}}` : name;
  const line = text.split('\n').find((l) => l.startsWith(`${want} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

describe('webhooks across a cluster', { timeout: 240000 }, () => {
  let db, cl, a, b, c;
  const ENV = { RT_WEBHOOK_RETRY_BASE_MS: '200', RT_WEBHOOK_RETRY_SECONDS: '4' };

  /** An app with one webhook to hook.url; opts are `rtadmin webhook add` options. */
  function hookedApp(hook, flags = [], opts = []) {
    const app = createApp(db, flags, uniq('wh'));
    const r = rtadmin(['webhook', 'add', app.id, hook.url, ...opts], { RT_DATABASE_URL: db });
    assert.equal(r.code, 0, r.stderr);
    return app;
  }

  before(async () => {
    db = createDatabase();
    cl = new Cluster(db);
    await cl.startRedis(await freePort());
    a = await cl.startNode('A', '101', { env: ENV });
    b = await cl.startNode('B', '102', { env: ENV });
    c = await cl.startNode('C', '103', { env: ENV });
  });
  after(async () => { await cl.shutdown(); });

  test('each transition is sent once for the cluster, signed for the pusher SDK and sdk-php', async () => {
    const hook = await webhookReceiver();
    const app = hookedApp(hook, ['--client-events', '--subscription-count']);
    await sleep(1500); // every node loaded the app and its webhook
    const ch = uniq('shared'), room = `presence-${uniq('room')}`, priv = `private-${uniq('p')}`, cache = `cache-${uniq('c')}`;
    const onA = cl.client(a, app, { presence: { user_id: 'u1', user_info: {} } });
    const onB = cl.client(b, app, { presence: { user_id: 'u1', user_info: {} } });
    const onC = cl.client(c, app);
    await join(onA, ch);
    await join(onB, ch);
    await join(onA, room);
    await join(onB, room);
    await join(onA, priv);
    await join(onB, priv);
    onA.channel(priv).trigger('client-hello', { n: 1 });
    await join(onC, cache);
    await waitFor(() => hook.about(priv).includes('client_event') && hook.about(cache).includes('cache_miss'), 5000, 'client_event and cache_miss');
    onA.unsubscribe(ch);
    onB.unsubscribe(ch);
    onA.unsubscribe(room);
    onB.unsubscribe(room);
    await waitFor(() => hook.about(ch).includes('channel_vacated') && hook.about(room).includes('member_removed:u1'), 8000, 'vacated and member_removed');
    await sleep(1500); // anything sent twice arrives by now
    // Requests may be in flight at the same time and arrive out of order: order them by the
    // time they were formed.
    const formed = [...hook.hits].sort((x, y) => x.json.time_ms - y.json.time_ms).flatMap((h) => h.json.events);
    const counts = (channel) => formed.filter((e) => e.name === 'subscription_count' && e.channel === channel).map((e) => e.subscription_count);
    assert.deepEqual(hook.about(ch).filter((n) => n !== 'subscription_count'), ['channel_occupied', 'channel_vacated']);
    // Both nodes broadcast the total of 2; the queue keeps one of each total in a row.
    assert.ok(counts(ch).includes(2), `counts ${counts(ch)}`);
    assert.ok(counts(ch).every((n, i, all) => i === 0 || all[i - 1] !== n), `no total twice in a row: ${counts(ch)}`);
    assert.deepEqual(hook.about(room).sort(), ['channel_occupied', 'channel_vacated', 'member_added:u1', 'member_removed:u1']); // no counts on presence
    assert.deepEqual(hook.about(priv).filter((n) => n !== 'subscription_count'), ['channel_occupied', 'client_event']);
    assert.deepEqual(hook.about(cache).filter((n) => n === 'cache_miss'), ['cache_miss']);
    const client = hook.events().find((e) => e.name === 'client_event');
    assert.equal(client.event, 'client-hello');
    assert.equal(client.data, '{"n":1}');
    assert.equal(client.socket_id, onA.connection.socket_id);
    const ids = new Set();
    for (const hit of hook.hits) {
      assert.ok(restClient(a, app).webhook({ headers: hit.headers, rawBody: hit.body }).isValid(), 'pusher SDK verifies');
      assert.deepEqual(phpVerify(app, hit), hit.json.events.map((e) => e.name), 'sdk-php verifies');
      assert.match(hit.headers['x-realtime-webhook-id'], /^.+:\d+-\d+$/);
      ids.add(hit.headers['x-realtime-webhook-id']);
    }
    assert.equal(ids.size, hook.hits.length, 'every request has its own id');
    await hook.down();
  });

  test('leaving on one node and joining on another within 3 s sends neither vacated nor occupied again', async () => {
    const hook = await webhookReceiver();
    const app = hookedApp(hook);
    await sleep(1500);
    const ch = uniq('flap');
    const onA = cl.client(a, app), onB = cl.client(b, app);
    await join(onA, ch);
    await waitFor(() => hook.about(ch).length === 1, 3000, 'occupied');
    onA.unsubscribe(ch);
    await sleep(500);
    await join(onB, ch);
    await stays(() => hook.about(ch), ['channel_occupied'], 4500, 'no vacated/occupied pair');
    onB.unsubscribe(ch);
    await waitFor(() => hook.about(ch).length === 2, 6000, 'vacated');
    assert.deepEqual(hook.about(ch), ['channel_occupied', 'channel_vacated']);
    await hook.down();
  });

  test('events of every node within the batch window go out together, at most batch-max per request', async () => {
    const hook = await webhookReceiver();
    const app = hookedApp(hook, [], ['--events', 'channel_occupied', '--batch-window-ms', '1500', '--batch-max', '3']);
    await sleep(1500);
    const names = [1, 2, 3, 4, 5].map(() => uniq('batch'));
    const clients = [cl.client(a, app), cl.client(b, app), cl.client(c, app)];
    await Promise.all(names.map((n, i) => join(clients[i % 3], n)));
    await waitFor(() => hook.events().length === 5, 6000, 'five occupied events');
    await sleep(500);
    assert.deepEqual(hook.hits.map((h) => h.json.events.length), [3, 2]);
    assert.deepEqual(hook.events().map((e) => e.channel).sort(), [...names].sort());
    await hook.down();
  });

  test('a 500 is retried with the same request id and body', async () => {
    const hook = await webhookReceiver();
    hook.reply = () => (hook.hits.length === 1 ? 500 : 200);
    const app = hookedApp(hook, [], ['--batch-window-ms', '0']);
    await sleep(1500);
    await join(cl.client(b, app), uniq('retry'));
    await waitFor(() => hook.hits.length === 2, 5000, 'the retry');
    const [first, second] = hook.hits;
    assert.equal(second.headers['x-realtime-webhook-id'], first.headers['x-realtime-webhook-id']);
    assert.equal(second.body, first.body);
    assert.equal(second.headers['x-pusher-signature'], first.headers['x-pusher-signature']);
    assert.ok(second.at - first.at >= 150, `retried after ${second.at - first.at} ms`);
    await waitFor(async () => (await metric(b, 'rt_app_webhooks_delivered_total', { app: app.id })) === 1, 3000, 'delivered counted');
    assert.equal(await metric(b, 'rt_app_webhooks_retried_total', { app: app.id }), 1);
    assert.equal(await metric(b, 'rt_app_webhooks_latency_seconds_count', { app: app.id }), 1);
    await hook.down();
  });

  test('a request given up lands in the dead letters; rtadmin shows it and re-queues it', async () => {
    const hook = await webhookReceiver();
    hook.reply = () => 500;
    const app = hookedApp(hook, [], ['--batch-window-ms', '0']);
    await sleep(1500);
    const ch = uniq('dead');
    await join(cl.client(a, app), ch);
    const env = { RT_DATABASE_URL: db };
    let failures;
    await waitFor(() => {
      const r = rtadmin(['webhook', 'failures', app.id, '--server', c.url, '--json'], env);
      failures = r.code === 0 ? JSON.parse(r.stdout) : [];
      return failures.length === 1;
    }, 10000, 'the dead letter');
    const [f] = failures;
    assert.equal(f.error, 'HTTP');
    assert.equal(f.status, 500);
    assert.ok(f.attempts >= 2, `${f.attempts} attempts`);
    assert.deepEqual(f.events, [{ name: 'channel_occupied', channel: ch }]);
    assert.equal(f.request_id, hook.hits[0].headers['x-realtime-webhook-id']);
    assert.equal(await metric(a, 'rt_app_webhooks_failed_total', { app: app.id }), 1);
    const table = rtadmin(['webhook', 'failures', app.id, '--server', b.url], env);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /FAILED\s+WEBHOOK\s+URL\s+ATTEMPTS\s+ERROR\s+STATUS\s+EVENTS\s+REQUEST ID/);
    assert.match(table.stdout, new RegExp(`HTTP\\s+500\\s+channel_occupied\\s+${f.request_id}`));
    const list = rtadmin(['webhook', 'list', app.id, '--server', b.url], env);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /HTTP 500 at \S+ \S+ \(gave up after \d+ attempts\)/);
    assert.match(list.stdout, new RegExp(`Dead letters: 1 \\(rtadmin webhook failures ${app.id}\\)`));

    hook.reply = () => 200;
    const before = hook.hits.length;
    const retry = rtadmin(['webhook', 'retry', app.id, '--server', b.url], env);
    assert.equal(retry.code, 0, retry.stderr);
    assert.equal(retry.stdout.trim(), `Re-queued 1 webhook requests of app ${app.id}`);
    await waitFor(() => hook.hits.length === before + 1, 5000, 'the re-queued request');
    const again = hook.hits.at(-1);
    assert.equal(again.headers['x-realtime-webhook-id'], f.request_id);
    assert.equal(again.body, hook.hits[0].body);
    const empty = rtadmin(['webhook', 'failures', app.id, '--server', a.url, '--json'], env);
    assert.deepEqual(JSON.parse(empty.stdout), []);
    await waitFor(() => /200 at /.test(rtadmin(['webhook', 'list', app.id, '--server', a.url], env).stdout), 3000, 'list shows 200');
    await hook.down();
  });

  test('a request queued on a node killed with -9 while the receiver is down is still delivered', async () => {
    const hook = await webhookReceiver();
    await hook.down();
    const app = hookedApp(hook, [], ['--batch-window-ms', '0']);
    const victim = await cl.startNode('D', '104', { env: { ...ENV, RT_WEBHOOK_RETRY_SECONDS: '60' } });
    await sleep(1500);
    const ch = uniq('durable');
    await join(cl.client(victim, app), ch);
    await waitFor(async () => (await metric(victim, 'rt_app_webhooks_retried_total', { app: app.id })) >= 1, 5000, 'the node retrying');
    await cl.kill(victim);
    // The survivors see the request waiting in the app's queue.
    await waitFor(async () => (await metric(a, 'rt_app_webhooks_backlog', { app: app.id })) === 1, 5000, 'the backlog on a');
    await hook.up();
    await waitFor(() => hook.about(ch).includes('channel_occupied'), 25000, 'delivery by a surviving node');
    await sleep(1000);
    assert.deepEqual(hook.about(ch).filter((n) => n === 'channel_occupied'), ['channel_occupied']);
    await waitFor(async () => (await metric(a, 'rt_app_webhooks_backlog', { app: app.id })) === 0, 3000, 'an empty backlog');
    await hook.down();
  });

  test('an app whose endpoint hangs does not delay another app', async () => {
    const dead = await webhookReceiver();
    dead.reply = () => 'hang';
    const healthy = await webhookReceiver();
    const slow = hookedApp(dead, [], ['--batch-window-ms', '0']);
    const fine = hookedApp(healthy, [], ['--batch-window-ms', '0']);
    await sleep(1500);
    const loader = cl.client(a, slow);
    await Promise.all(Array.from({ length: 30 }, () => join(loader, uniq('load'))));
    await waitFor(() => dead.hits.length >= 4, 5000, 'the hanging endpoint busy');
    const ch = uniq('fine');
    const start = Date.now();
    await join(cl.client(a, fine), ch);
    await waitFor(() => healthy.about(ch).includes('channel_occupied'), 2000, 'the healthy app\'s webhook');
    console.log(`healthy app delivered ${Date.now() - start} ms after its subscribe`);
    await healthy.down();
    await dead.down();
  });

  test('with Redis gone a node still sends webhooks from its in-memory queue, and the webhook routes answer 503', async () => {
    const hook = await webhookReceiver();
    const app = hookedApp(hook, [], ['--batch-window-ms', '0']);
    await sleep(1500);
    await cl.redis.kill();
    await waitFor(async () => (await health(a)).json.status === 'degraded', 5000, 'degraded');
    const ch = uniq('outage');
    await join(cl.client(a, app), ch);
    await waitFor(() => hook.about(ch).includes('channel_occupied'), 5000, 'the webhook while Redis is down');
    const r = await get(a, app, '/webhooks');
    assert.equal(r.status, 503);
    assert.deepEqual(r.body, { error: 'Cluster bus unavailable' });
    await cl.redis.start();
    await waitFor(async () => (await health(a)).json.status === 'ok', 10000, 'Redis back');
    await hook.down();
  });
});
