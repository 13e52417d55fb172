// Several rtserver nodes over Redis: events, client events, cache and terminations cross
// nodes; losing Redis degrades to local delivery and heals when it returns.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createDatabase, createApp, startServer, freePort, sleep, waitFor } from '../harness/index.mjs';
import { pusherClient, connected, subscribed, restClient, RawClient, wsUrl, alive } from './helpers.mjs';

async function startRedis(port) {
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  await waitFor(async () => {
    try {
      const s = await import('node:net').then((net) => new Promise((resolve, reject) => {
        const c = net.connect(port, '127.0.0.1', () => { c.end(); resolve(true); });
        c.on('error', reject);
      }));
      return s;
    } catch { return false; }
  }, 5000, 'redis to listen');
  return proc;
}

async function health(server) {
  return (await fetch(`${server.url}/health`)).json();
}

describe('two nodes over Redis', { timeout: 120000 }, () => {
  let db, app, redisPort, redis, a, b;
  const clients = [];
  const keep = (c) => (clients.push(c), c);
  before(async () => {
    db = createDatabase();
    app = createApp(db, ['--client-events', '--user-auth'], 'cluster');
    redisPort = await freePort();
    redis = await startRedis(redisPort);
    const redisUrl = `redis://127.0.0.1:${redisPort}`;
    a = await startServer({ dbUrl: db, redisUrl, env: { RT_NODE_ID: '100001' } });
    b = await startServer({ dbUrl: db, redisUrl, env: { RT_NODE_ID: '100002' } });
    await waitFor(async () => (await health(a)).redis === 'connected' && (await health(b)).redis === 'connected', 5000, 'both nodes on Redis');
  });
  after(async () => {
    for (const c of clients) c.disconnect();
    await a.stop();
    await b.stop();
    redis.kill();
  });

  test('socket ids carry the node id', async () => {
    const c = keep(pusherClient(a, app));
    const id = await connected(c);
    assert.match(id, /^100001\d+\.\d+$/);
  });

  test('an event triggered on one node reaches subscribers on the other', async () => {
    const onA = keep(pusherClient(a, app));
    await connected(onA);
    const ch = onA.subscribe('news');
    await new Promise((r) => ch.bind('pusher:subscription_succeeded', r));
    const got = new Promise((r) => ch.bind('story', r));
    const res = await restClient(b, app).trigger('news', 'story', { id: 1 });
    assert.equal(res.status, 200);
    assert.deepEqual(await got, { id: 1 });
  });

  test('socket_id exclusion holds across nodes', async () => {
    const x = keep(pusherClient(a, app)), y = keep(pusherClient(a, app));
    const xid = await connected(x);
    await connected(y);
    await subscribed(x, 'excl');
    await subscribed(y, 'excl');
    const xs = [], ys = [];
    x.channel('excl').bind('e', (d) => xs.push(d));
    y.channel('excl').bind('e', (d) => ys.push(d));
    await restClient(b, app).trigger('excl', 'e', 'v', { socket_id: xid });
    await waitFor(() => ys.length === 1, 3000, 'y to receive');
    await sleep(300);
    assert.deepEqual(xs, []);
  });

  test('an event excluding a socket_id longer than any real one is refused (400) and reaches no node', async () => {
    const onA = keep(pusherClient(a, app));
    await connected(onA);
    await subscribed(onA, 'long-except');
    const got = [];
    onA.channel('long-except').bind('e', (d) => got.push(d));
    const res = await restClient(b, app).trigger('long-except', 'e', 'v', { socket_id: `${'1'.repeat(20)}.${'2'.repeat(20)}` })
      .catch((e) => e);
    assert.equal(res.status, 400);
    await sleep(300);
    assert.deepEqual(got, []);
  });

  test('client events cross nodes and are not echoed', async () => {
    const x = keep(pusherClient(a, app)), y = keep(pusherClient(b, app));
    await Promise.all([connected(x), connected(y)]);
    await subscribed(x, 'private-room');
    await subscribed(y, 'private-room');
    const got = new Promise((r) => y.channel('private-room').bind('client-hi', r));
    const echo = [];
    x.channel('private-room').bind('client-hi', (d) => echo.push(d));
    x.channel('private-room').trigger('client-hi', { from: 'x' });
    assert.deepEqual(await got, { from: 'x' });
    await sleep(300);
    assert.deepEqual(echo, []);
  });

  test('a cache channel event published on one node is replayed by the other', async () => {
    await restClient(b, app).trigger('cache-weather', 'update', { t: 21 });
    await sleep(200);
    const raw = await RawClient.connect(wsUrl(a, app.key));
    await raw.subscribe('cache-weather');
    const m = await raw.next((x) => x.event === 'update');
    assert.equal(m.data, '{"t":21}');
    raw.close();
  });

  test('terminate_connections on one node closes the user on the other with 4009', async () => {
    const u = keep(pusherClient(a, app, { user: { id: 'zed' } }));
    await connected(u);
    u.signin();
    await waitFor(() => u.user.user_data?.id === 'zed', 3000, 'signin');
    const closed = new Promise((r) => u.connection.bind('error', (e) => r(e)));
    await restClient(b, app).terminateUserConnections('zed');
    const err = await closed;
    assert.equal(err.data.code, 4009);
  });

  test('without Redis each node keeps serving its own clients, and fan-out heals afterwards', async () => {
    redis.kill('SIGKILL');
    await waitFor(async () => (await health(a)).redis === 'disconnected', 5000, 'a to notice');
    // Local delivery keeps working: a client event between two sockets of the same node.
    const x = keep(pusherClient(a, app)), y = keep(pusherClient(a, app));
    await Promise.all([connected(x), connected(y)]);
    await subscribed(x, 'private-local-only');
    await subscribed(y, 'private-local-only');
    const got = new Promise((r) => y.channel('private-local-only').bind('client-ping', r));
    x.channel('private-local-only').trigger('client-ping', { still: 'here' });
    assert.deepEqual(await got, { still: 'here' });
    // A REST publish cannot reach the other nodes: refused, delivered to nobody.
    const seen = [];
    y.channel('private-local-only').bind('e', (d) => seen.push(d));
    const refused = await restClient(a, app).trigger('private-local-only', 'e', 'partial').catch((e) => e);
    assert.equal(refused.status, 503);
    assert.deepEqual(JSON.parse(refused.body), { error: 'Cluster bus unavailable: the event was not delivered' });
    assert.equal((await fetch(`${a.url}/ready`)).status, 503);
    assert.equal((await health(a)).status, 'degraded');
    await sleep(300);
    assert.deepEqual(seen, []);
    assert.ok(alive(a) && alive(b));
    const local = y;

    redis = await startRedis(redisPort);
    await waitFor(async () => (await health(a)).redis === 'connected' && (await health(b)).redis === 'connected', 10000, 'reconnect');
    const again = new Promise((r) => local.channel('private-local-only').bind('e2', r));
    await restClient(b, app).trigger('private-local-only', 'e2', 'across again');
    assert.equal(await again, 'across again');
  });
});
