// Redis inlets (docs/ingest.md, issue 18), against a private redis-server and real nodes with
// real pusher-js subscribers:
// - Laravel's `redis` broadcaster, rebuilt byte for byte (json_encode, its Lua script, the
//   connection prefix): each message reaches the subscribers on both nodes exactly once, the
//   `socket` is excluded, app limits apply as for REST, and when the node handling the inlet
//   is killed another takes it over.
// - The stream rt:ingest:{APP_ID}: an entry reaches the subscribers once, also when the node
//   that read it died before acknowledging; invalid entries land in the dead-letter stream
//   with their reason and `rtadmin ingest failures` shows them; a disabled app's stream is not
//   read until the app is enabled again; entries over the app's backend rate wait and are all
//   published once, in order; the stream is trimmed to the app's length.
// - Redis killed and restarted empty: both inlets work again (lease, patterns, group).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, createApp, freePort, rtadmin } from '../harness/index.mjs';
import { Cluster, eventually, frames, join, stays, uniq, waitReady } from './cluster_helpers.mjs';
import { RedisClient, entryFields, groups, laravelBroadcast } from './ingest_helpers.mjs';

const DELIVERY_MS = 5000;
const QUIET_MS = 1000; // "exactly once": nothing more arrives for this long
const CLAIM_MS = 15000; // a dead node's pending entry is claimed (5 s idle) and published

const socketId = (client) => client.connection.socket_id;

/** Waits until exactly `n` pattern subscriptions exist in Redis (the lease holder's). */
const patternsSubscribed = (redis, n, ms = DELIVERY_MS) =>
  eventually(() => redis.command('PUBSUB', 'NUMPAT'), n, ms, `${n} PSUBSCRIBE pattern(s) in Redis`);

/** Every frame of event on channel, across clients: [[data...], ...] in client order. */
const received = (clients, channel, event) => clients.map((c) => frames(c, channel, event));

function failures(db, redis, app, extra = []) {
  return rtadmin(['ingest', 'failures', app.id, ...extra], { RT_DATABASE_URL: db, RT_REDIS_URL: redis.url });
}

describe("Laravel's redis broadcaster, published unchanged", { timeout: 90000 }, () => {
  let db, cl, redis, app, a, b, alice, bob, carol;
  const prefix = uniq('shop_database_');

  before(async () => {
    db = createDatabase();
    app = createApp(db, ['--ingest-redis-prefix', prefix, '--max-payload-kb', '1'], 'laravel-app');
    cl = new Cluster(db);
    await cl.startRedis(await freePort());
    [a, b] = await Promise.all([cl.startNode('a', '481001'), cl.startNode('b', '481002')]);
    redis = await RedisClient.connect(cl.redis.port);
    alice = cl.client(a, app);
    bob = cl.client(b, app);
    carol = cl.client(b, app);
    for (const c of [alice, bob, carol]) {
      await join(c, 'private-orders.42');
      await join(c, 'news');
    }
    await patternsSubscribed(redis, 1);
  });

  after(async () => {
    redis?.close();
    await cl?.shutdown();
  });

  test('a broadcast to two channels reaches the subscribers on both nodes exactly once, without the sender socket', async () => {
    const payload = { order: { id: 42, url: 'https://shop.test/orders/42', note: 'café' }, socket: socketId(carol) };
    assert.equal(await laravelBroadcast(redis, `${prefix}`, ['private-orders.42', 'news'], 'App\\Events\\OrderShipped', payload), null);
    const expected = [{ order: { id: 42, url: 'https://shop.test/orders/42', note: 'café' } }];
    for (const channel of ['private-orders.42', 'news']) {
      await eventually(() => received([alice, bob], channel, 'App\\Events\\OrderShipped'), [expected, expected], DELIVERY_MS,
        `${channel}: alice on a and bob on b each get the event`);
    }
    await stays(() => [
      received([alice, bob, carol], 'private-orders.42', 'App\\Events\\OrderShipped'),
      received([alice, bob, carol], 'news', 'App\\Events\\OrderShipped'),
    ], [[expected, expected, []], [expected, expected, []]], QUIET_MS,
    'once per subscriber, and never to the socket named by Laravel');
  });

  test('a broadcast with no socket (null) reaches every subscriber', async () => {
    await laravelBroadcast(redis, prefix, ['news'], 'Announcement', { text: 'hello' });
    const one = [{ text: 'hello' }];
    await eventually(() => received([alice, bob, carol], 'news', 'Announcement'), [one, one, one], DELIVERY_MS,
      'every subscriber gets the announcement');
    await stays(() => received([alice, bob, carol], 'news', 'Announcement'), [one, one, one], QUIET_MS, 'exactly once');
  });

  test("a message too large for the app's max-payload-kb is refused as REST would, and recorded as a failure", async () => {
    const big = { blob: 'x'.repeat(1100) };
    await laravelBroadcast(redis, prefix, ['news'], 'TooBig', big);
    await laravelBroadcast(redis, prefix, ['news'], 'AfterTooBig', {});
    await eventually(() => received([alice, bob], 'news', 'AfterTooBig'), [[[]], [[]]], DELIVERY_MS,
      'the next message is delivered');
    assert.deepEqual(received([alice, bob, carol], 'news', 'TooBig'), [[], [], []]);
    const r = failures(db, cl.redis, app, ['--json']);
    assert.equal(r.code, 0, r.stderr);
    const rows = r.json();
    assert.equal(rows.length, 1);
    assert.equal(rows[0].source, 'pubsub');
    assert.equal(rows[0].ref, `${prefix}news`);
    assert.equal(rows[0].reason, 'Event data too large: 1111 bytes, the limit is 1024');
    assert.equal(JSON.parse(rows[0].entry).event, 'TooBig');
  });

  test('a channel of another prefix, or one Pusher would refuse, is not published', async () => {
    await redis.command('PUBLISH', `other_database_news`, JSON.stringify({ event: 'Foreign', data: {}, socket: null }));
    await laravelBroadcast(redis, prefix, ['bad channel!'], 'BadChannel', {});
    await laravelBroadcast(redis, prefix, ['news'], 'Marker', {});
    await eventually(() => received([alice], 'news', 'Marker'), [[[]]], DELIVERY_MS, 'the marker is delivered');
    assert.deepEqual(received([alice, bob], 'news', 'Foreign'), [[], []]);
    const rows = failures(db, cl.redis, app, ['--json']).json();
    assert.equal(rows.at(-1).reason, 'Invalid channel name "bad channel!"');
  });

  test('when the node handling the inlet is killed, the other takes it over within 10 s', async () => {
    const metric = async (node) => {
      const text = await (await fetch(`${node.url}/metrics`)).text();
      return Number(/^rt_ingest_leader (\d)$/m.exec(text)[1]);
    };
    const leaders = [await metric(a), await metric(b)];
    assert.deepEqual(leaders.sort(), [0, 1], 'exactly one node holds the lease');
    const leader = (await metric(a)) === 1 ? a : b;
    const survivor = leader === a ? b : a;
    const watcher = survivor === b ? bob : alice;
    await cl.kill(leader);
    (leader === a ? alice : bob).disconnect();
    await eventually(() => metric(survivor), 1, 10000, 'the survivor holds the lease');
    await patternsSubscribed(redis, 1);
    await laravelBroadcast(redis, prefix, ['news'], 'AfterFailover', { n: 1 });
    await eventually(() => frames(watcher, 'news', 'AfterFailover'), [{ n: 1 }], DELIVERY_MS, 'delivered by the survivor');
  });
});

describe('the stream rt:ingest:{APP_ID}', { timeout: 120000 }, () => {
  let db, cl, redis, app, quiet, slow, a, b, c, alice, bob, carol, dave, key;

  before(async () => {
    db = createDatabase();
    app = createApp(db, ['--ingest-stream', '--max-channels-per-trigger', '2', '--max-payload-kb', '1'], 'stream-app');
    quiet = createApp(db, ['--ingest-stream', '--ingest-stream-max-length', '100'], 'quiet-app');
    // 6 events per second for the app: each node takes its share (2 or 3 per second)
    slow = createApp(db, ['--ingest-stream', '--backend-events-per-second', '6'], 'slow-app');
    key = `rt:ingest:{${app.id}}`;
    cl = new Cluster(db);
    await cl.startRedis(await freePort());
    [a, b, c] = await Promise.all([cl.startNode('a', '482001'), cl.startNode('b', '482002'), cl.startNode('c', '482003')]);
    redis = await RedisClient.connect(cl.redis.port);
    alice = cl.client(a, app);
    bob = cl.client(b, app);
    carol = cl.client(b, app);
    for (const client of [alice, bob, carol]) await join(client, 'orders');
    dave = cl.client(a, slow);
    await join(dave, 'ticks');
    // every node has created or found the group
    await eventually(async () => (await groups(redis, key)).map((g) => g.name), ['rt'], DELIVERY_MS, 'consumer group rt');
  });

  after(async () => {
    redis?.close();
    await cl?.shutdown();
  });

  test('an entry reaches the subscribers on every node once, without socket_id, and is acknowledged', async () => {
    const id = await redis.command('XADD', key, '*', 'name', 'order-paid', 'channel', 'orders', 'data', '{"id":7}',
      'socket_id', socketId(carol));
    await eventually(() => received([alice, bob], 'orders', 'order-paid'), [[{ id: 7 }], [{ id: 7 }]], DELIVERY_MS,
      'alice on a and bob on b get the entry');
    await stays(() => received([alice, bob, carol], 'orders', 'order-paid'), [[{ id: 7 }], [{ id: 7 }], []], QUIET_MS,
      'exactly once, never to carol');
    await eventually(async () => (await groups(redis, key))[0]['last-delivered-id'], id, DELIVERY_MS, 'read by the group');
    assert.deepEqual(await redis.command('XPENDING', key, 'rt'), [0, null, null, null]);
  });

  test('an entry read by a node that was killed before acknowledging it is claimed by another and delivered once', async () => {
    // a, b and c stopped: the entry stays unread until "c" reads it. The test reads it as c's
    // consumer (c's node id): the exact state c leaves when it dies between XREADGROUP and
    // XACK. Then c is killed and a, b resume.
    for (const node of [a, b, c]) node.proc.kill('SIGSTOP');
    try {
      const id = await redis.command('XADD', key, '*', 'name', 'claimed', 'channel', 'orders', 'data', 'from c');
      const read = await redis.command('XREADGROUP', 'GROUP', 'rt', '482003', 'COUNT', '10', 'STREAMS', key, '>');
      assert.deepEqual(read[0][1].map(([entryId]) => entryId), [id]);
      assert.equal((await redis.command('XPENDING', key, 'rt'))[0], 1);
      await cl.kill(c);
    } finally {
      for (const node of [a, b]) node.proc.kill('SIGCONT');
    }
    await eventually(() => received([alice, bob], 'orders', 'claimed'), [['from c'], ['from c']], CLAIM_MS,
      'a survivor claims the entry and publishes it');
    await stays(() => received([alice, bob], 'orders', 'claimed'), [['from c'], ['from c']], QUIET_MS, 'exactly once');
    await eventually(async () => (await redis.command('XPENDING', key, 'rt'))[0], 0, DELIVERY_MS, 'acknowledged');
  });

  test('invalid entries go to the dead-letter stream with the reason, and rtadmin ingest failures shows them', async () => {
    const bad = [
      ['name', 'no-data', 'channel', 'orders'],
      ['name', 'three', 'channels', '["orders","a","b"]', 'data', '{}'],
      ['name', 'too-big', 'channel', 'orders', 'data', 'y'.repeat(1025)],
      ['name', 'bad-socket', 'channel', 'orders', 'data', '{}', 'socket_id', 'abc'],
    ];
    const ids = [];
    for (const fields of bad) ids.push(await redis.command('XADD', key, '*', ...fields));
    const okId = await redis.command('XADD', key, '*', 'name', 'after-bad', 'channels', '["orders"]', 'data', 'fine');
    await eventually(() => received([alice], 'orders', 'after-bad'), [['fine']], DELIVERY_MS, 'the valid entry after them');
    assert.ok(okId);
    const dead = await eventually(async () => (await redis.command('XLEN', `${key}:dead`)), 4, DELIVERY_MS, 'four dead letters');
    assert.ok(dead >= 0);
    const rows = (await redis.command('XRANGE', `${key}:dead`, '-', '+')).map(entryFields);
    assert.deepEqual(rows.map((r) => [r.source, r.id, r.reason]), [
      ['stream', ids[0], 'missing field "data"'],
      ['stream', ids[1], 'Too many channels: at most 2 per event'],
      ['stream', ids[2], 'Event data too large: 1025 bytes, the limit is 1024'],
      ['stream', ids[3], 'Invalid socket_id: expected digits.digits'],
    ]);
    assert.deepEqual(JSON.parse(rows[1].entry), { name: 'three', channels: '["orders","a","b"]', data: '{}' });
    for (const client of [alice, bob]) {
      for (const name of ['no-data', 'three', 'too-big', 'bad-socket']) assert.deepEqual(frames(client, 'orders', name), []);
    }
    assert.equal((await redis.command('XPENDING', key, 'rt'))[0], 0, 'dead letters are acknowledged');

    const json = failures(db, cl.redis, app, ['--json']);
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(json.json().map((r) => [r.source, r.ref, r.reason]), rows.map((r) => ['stream', r.id, r.reason]));
    const human = failures(db, cl.redis, app);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /^AT\s+SOURCE\s+REF\s+REASON\s+ENTRY/);
    assert.match(human.stdout, /Too many channels: at most 2 per event/);
    assert.equal(human.stdout.trim().split('\n').length, 5);
    const limited = failures(db, cl.redis, app, ['--json', '--limit', '1']).json();
    assert.deepEqual(limited.map((r) => r.reason), ['Invalid socket_id: expected digits.digits'], 'the newest one');
  });

  test("a disabled app's stream is not read; enabled again, its entries are published", async () => {
    const quietKey = `rt:ingest:{${quiet.id}}`;
    await eventually(async () => (await groups(redis, quietKey)).length, 1, DELIVERY_MS, 'the group of the second app');
    assert.equal(rtadmin(['app', 'disable', quiet.id], { RT_DATABASE_URL: db }).code, 0);
    await new Promise((r) => setTimeout(r, 1500)); // every node has reloaded the app (NOTIFY)
    const before = (await groups(redis, quietKey))[0]['last-delivered-id'];
    const id = await redis.command('XADD', quietKey, '*', 'name', 'while-disabled', 'channel', 'news', 'data', 'x');
    await stays(async () => (await groups(redis, quietKey))[0]['last-delivered-id'], before, QUIET_MS,
      'nobody reads the stream of a disabled app');
    assert.equal(rtadmin(['app', 'enable', quiet.id], { RT_DATABASE_URL: db }).code, 0);
    await eventually(async () => (await groups(redis, quietKey))[0]['last-delivered-id'], id, DELIVERY_MS,
      'read once the app is enabled');
    await eventually(async () => (await redis.command('XPENDING', quietKey, 'rt'))[0], 0, DELIVERY_MS, 'and acknowledged');
  });

  test("entries beyond the app's backend rate wait in the stream and are all published once, in order", async () => {
    const slowKey = `rt:ingest:{${slow.id}}`;
    await eventually(async () => (await groups(redis, slowKey)).length, 1, DELIVERY_MS, 'the group of the slow app');
    // added at once (MULTI): one node reads all ten in one batch, so their order is kept
    await redis.command('MULTI');
    for (let i = 1; i <= 10; i++) await redis.command('XADD', slowKey, '*', 'name', 'tick', 'channel', 'ticks', 'data', String(i));
    assert.equal((await redis.command('EXEC')).length, 10);
    await eventually(() => frames(dave, 'ticks', 'tick').length, 10, 20000, 'all ten ticks delivered');
    await stays(() => frames(dave, 'ticks', 'tick'), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], QUIET_MS, 'each once, in order');
    assert.equal(await redis.command('XLEN', `${slowKey}:dead`), 0, 'back-pressure is not a failure');
    let deferred = 0;
    for (const node of [a, b]) deferred += Number(/^rt_ingest_deferred_total (\d+)$/m.exec(await (await fetch(`${node.url}/metrics`)).text())[1]);
    assert.ok(deferred > 0, 'the rate held entries back');
    await eventually(async () => (await redis.command('XPENDING', slowKey, 'rt'))[0], 0, DELIVERY_MS, 'all acknowledged');
  });

  test("the stream is trimmed to about the app's ingest-stream-max-length", async () => {
    const quietKey = `rt:ingest:{${quiet.id}}`;
    const adds = [];
    for (let i = 0; i < 600; i++) adds.push(redis.command('XADD', quietKey, '*', 'name', 'n', 'channel', 'news', 'data', String(i)));
    await Promise.all(adds);
    // MAXLEN ~ trims whole nodes of 100 entries: at most 100 more than the cap remain
    await eventually(async () => (await redis.command('XLEN', quietKey)) <= 200, true, 10000, 'trimmed to about 100 entries');
  });
});

describe('Redis restarted empty', { timeout: 90000 }, () => {
  let db, cl, redis, app, a, b, alice, bob, key;
  const prefix = uniq('again_database_');

  before(async () => {
    db = createDatabase();
    app = createApp(db, ['--ingest-redis-prefix', prefix, '--ingest-stream'], 'restart-app');
    key = `rt:ingest:{${app.id}}`;
    cl = new Cluster(db);
    await cl.startRedis(await freePort());
    [a, b] = await Promise.all([cl.startNode('a', '483001'), cl.startNode('b', '483002')]);
    alice = cl.client(a, app);
    bob = cl.client(b, app);
    for (const c of [alice, bob]) await join(c, 'news');
  });

  after(async () => {
    redis?.close();
    await cl?.shutdown();
  });

  test('both inlets work again, once per subscriber, after redis-server was killed and restarted empty', async () => {
    await cl.redis.kill();
    await cl.startRedis(cl.redis.port); // same port, no data: no lease, no group, no stream
    for (const node of [a, b]) await waitReady(node, 15000);
    redis = await RedisClient.connect(cl.redis.port);
    await patternsSubscribed(redis, 1, 10000);
    await laravelBroadcast(redis, prefix, ['news'], 'AfterRestart', { n: 1 });
    await redis.command('XADD', key, '*', 'name', 'after-restart', 'channel', 'news', 'data', 'x');
    await eventually(() => [received([alice, bob], 'news', 'AfterRestart'), received([alice, bob], 'news', 'after-restart')],
      [[[{ n: 1 }], [{ n: 1 }]], [['x'], ['x']]], 10000, 'both reach alice on a and bob on b');
    await stays(() => [received([alice, bob], 'news', 'AfterRestart'), received([alice, bob], 'news', 'after-restart')],
      [[[{ n: 1 }], [{ n: 1 }]], [['x'], ['x']]], QUIET_MS, 'exactly once');
  });
});
