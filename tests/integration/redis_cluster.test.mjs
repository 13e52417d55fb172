// Nodes on a real Redis Cluster (RT_REDIS_CLUSTER=1, docs/cluster.md "Redis Cluster"): three
// rtserver nodes on a private cluster of 3 masters and 3 replicas. Routes are sharded channels
// spread over the masters by slot, each app's state lives in its app's slot, and when a master
// is killed mid-test its replica takes over and the nodes find it, subscribe again and re-send
// their state, so fan-out, presence, counts, client events and user events work as before.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { REDIS_URL, SOURCE_DIR, createDatabase, createApp, freePort, rtadmin, startServer } from '../harness/index.mjs';
import {
  Cluster, addedIds, eventually, frames, getJson, health, join, membersView, restClient, sdk, sleep, stays,
  uniq, waitFor, webhookReceiver,
} from './cluster_helpers.mjs';

const CROSS_NODE_MS = 3000;
// A killed master's replica is promoted after about 2 x the cluster's node timeout (1 s here);
// the nodes then read the new map within a second.
const FAILOVER_MS = 20000;

const route = (app, channel) => `rt:c:${app.id}:${channel}`;

async function metric(node, name) {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

describe('three nodes on a Redis Cluster of 3 masters and 3 replicas', { timeout: 150000 }, () => {
  let db, redis, cl, app, hooked, hook, a, b, c;
  const prefix = uniq('shop_database_');

  before(async () => {
    db = createDatabase();
    app = createApp(db, ['--client-events', '--user-auth', '--subscription-count', '--read-requests-per-second', '1000',
      '--ingest-stream', '--ingest-redis-prefix', prefix, '--max-payload-kb', '1'], 'redis-cluster');
    hook = await webhookReceiver();
    hooked = createApp(db, [], 'redis-cluster-hooked');
    const added = rtadmin(['webhook', 'add', hooked.id, hook.url], { RT_DATABASE_URL: db });
    assert.equal(added.code, 0, added.stderr);
    cl = new Cluster(db);
    redis = await cl.startRedisCluster({ masters: 3, replicas: 1 });
    [a, b, c] = await Promise.all([cl.startNode('a', '530001'), cl.startNode('b', '530002'), cl.startNode('c', '530003')]);
    for (const node of [a, b, c]) {
      await waitFor(async () => (await health(node)).json.redis === 'connected', 10000, `${node.name} on the Redis Cluster`);
    }
  });

  after(async () => {
    await cl?.shutdown();
    await hook?.down();
  });

  /** One channel name per master: names whose route hashes to each master's slots. */
  async function channelPerMaster(prefix) {
    const byMaster = new Map();
    for (let i = 0; byMaster.size < 3 && i < 300; i++) {
      const ch = uniq(prefix);
      const master = await redis.masterOf(route(app, ch));
      if (!byMaster.has(master)) byMaster.set(master, ch);
    }
    assert.equal(byMaster.size, 3, 'channels on every master');
    return byMaster;
  }

  async function signedIn(node, id) {
    const client = cl.client(node, app, { user: { id } });
    await waitFor(() => client.connection.state === 'connected', 5000, 'connected');
    client.signin();
    await waitFor(() => client.user.serverToUserChannel?.subscribed, 5000, `${id} signed in on ${node.name}`);
    return client;
  }

  test('the nodes read the slot map: 3 masters, routes are sharded channels on the master of their slot', async () => {
    for (const node of [a, b, c]) assert.equal(await metric(node, 'rt_redis_cluster_masters'), 3, `${node.name} masters`);
    const byMaster = await channelPerMaster('spread-');
    const clients = [a, b, c].map((node) => cl.client(node, app));
    for (const client of clients) for (const ch of byMaster.values()) await join(client, ch);
    for (const [master, ch] of byMaster) {
      const [, n] = await redis.command(master, 'PUBSUB', 'SHARDNUMSUB', route(app, ch));
      assert.equal(n, 3, `${ch}: every node subscribed on master ${master}`);
    }
    // One event per channel, each triggered on another node: every subscriber gets each once.
    const names = [...byMaster.values()];
    for (let i = 0; i < names.length; i++) {
      assert.equal((await sdk(restClient([a, b, c][i], app).trigger(names[i], 'spread', { i }))).status, 200);
    }
    for (const client of clients) {
      for (let i = 0; i < names.length; i++) {
        await eventually(() => frames(client, names[i], 'spread'), [{ i }], CROSS_NODE_MS, `${names[i]} on ${client.node.name}`);
      }
    }
    await stays(() => clients.map((cli) => names.map((n) => frames(cli, n, 'spread').length)), [[1, 1, 1], [1, 1, 1], [1, 1, 1]], 300, 'each event once');
  });

  test('a node without subscribers on a channel is not subscribed to it and receives none of its traffic', async () => {
    const ch = uniq('routed-');
    const onA = cl.client(a, app), onB = cl.client(b, app);
    await join(onA, ch);
    await join(onB, ch);
    const master = await redis.masterOf(route(app, ch));
    assert.deepEqual(await redis.command(master, 'PUBSUB', 'SHARDNUMSUB', route(app, ch)), [route(app, ch), 2]);
    const before = await metric(c, 'rt_cluster_bus_messages_in_total');
    for (let i = 0; i < 20; i++) assert.equal((await sdk(restClient(a, app).trigger(ch, 'tick', { i }))).status, 200);
    await eventually(() => frames(onB, ch, 'tick').length, 20, CROSS_NODE_MS, 'b receives the 20 events');
    assert.equal(await metric(c, 'rt_cluster_bus_messages_in_total'), before, 'c received nothing of the channel');
  });

  test("the inlets: a stream entry and Laravel's PUBLISH on any master reach subscribers once; rtadmin ingest failures reads the dead letters from the app's master", async () => {
    const ch = uniq('orders-');
    const clients = [a, b, c].map((node) => cl.client(node, app));
    for (const client of clients) await join(client, ch);
    const stream = `rt:ingest:{${app.id}}`;
    const streamMaster = await redis.masterOf(stream);
    await redis.command(streamMaster, 'XADD', stream, '*', 'name', 'paid', 'channel', ch, 'data', '{"id":7}');
    await redis.command(streamMaster, 'XADD', stream, '*', 'name', 'too-big', 'channel', ch, 'data', 'y'.repeat(1025));
    for (const client of clients) await eventually(() => frames(client, ch, 'paid'), [{ id: 7 }], CROSS_NODE_MS, `stream entry on ${client.node.name}`);
    // Classic PUBLISH reaches every node of a Redis Cluster: send it to each master in turn.
    const masters = redis.liveNodes().filter((n) => n.role === 'master').map((n) => n.port);
    for (const [i, port] of masters.entries()) {
      await redis.command(port, 'PUBLISH', `${prefix}${ch}`, JSON.stringify({ event: 'shipped', data: { i }, socket: null }));
    }
    // Each goes over the cluster bus from the master it was sent to, so their order may differ.
    const byI = (x, y) => x.i - y.i;
    for (const client of clients) {
      await eventually(() => frames(client, ch, 'shipped').sort(byI), masters.map((_, i) => ({ i })), CROSS_NODE_MS, `Laravel events on ${client.node.name}`);
    }
    await stays(() => clients.map((cli) => frames(cli, ch, 'paid').length + frames(cli, ch, 'shipped').length), [4, 4, 4], 300, 'each once');

    // rtadmin asks the first seed that answers and follows its MOVED to the app's master.
    const seeds = `redis://${masters.filter((p) => p !== streamMaster).map((p) => `127.0.0.1:${p}`).join(',')}`;
    const failures = await eventually(() => {
      const r = rtadmin(['ingest', 'failures', app.id, '--json'], { RT_DATABASE_URL: db, RT_REDIS_URL: seeds });
      return r.code === 0 ? r.json().map((row) => row.reason) : r.stderr;
    }, ['Event data too large: 1025 bytes, the limit is 1024'], CROSS_NODE_MS, 'rtadmin ingest failures');
    assert.ok(failures >= 0);
  });

  test('webhooks: occupied/vacated and member events are sent once for the cluster, from the queue on the app\'s master', async () => {
    const ch = uniq('hooked-'), room = `presence-${uniq('room-')}`;
    const onA = cl.client(a, hooked, { presence: { user_id: 'u1', user_info: {} } });
    const onB = cl.client(b, hooked, { presence: { user_id: 'u1', user_info: {} } });
    for (const client of [onA, onB]) {
      await join(client, ch);
      await join(client, room);
    }
    for (const client of [onA, onB]) {
      client.unsubscribe(ch);
      client.unsubscribe(room);
    }
    await waitFor(() => hook.about(ch).includes('channel_vacated') && hook.about(room).includes('member_removed:u1'), 10000, 'vacated and member_removed');
    await sleep(1000); // anything sent twice arrives by now
    assert.deepEqual(hook.about(ch), ['channel_occupied', 'channel_vacated']);
    assert.deepEqual(hook.about(room).sort(), ['channel_occupied', 'channel_vacated', 'member_added:u1', 'member_removed:u1']);
    const queue = `rt:{${hooked.id}}:wh:q`;
    assert.ok(await redis.command(await redis.masterOf(queue), 'EXISTS', queue), 'the queue stream lives on the master of the app\'s slot');
  });

  test("the app's slot moved to another master (resharding): scripts wait while it is half moved, commands follow MOVED after, the map is read again, presence keeps working", async () => {
    const room = `presence-${uniq('moved-')}`;
    const alice = cl.client(a, app, { presence: { user_id: 'alice', user_info: {} } });
    await join(alice, room);
    const key = `rt:{${app.id}}:chans`;
    const slot = await redis.command(redis.liveNodes()[0].port, 'CLUSTER', 'KEYSLOT', key);
    const from = redis.node(await redis.masterOf(key));
    const to = redis.liveNodes().find((n) => n.role === 'master' && n.port !== from.port);
    const redirectsBefore = await Promise.all([a, b, c].map((node) => metric(node, 'rt_redis_cluster_redirects_total')));
    // Redis's own resharding steps, one slot: import, migrate every key, hand the slot over.
    await redis.command(to.port, 'CLUSTER', 'SETSLOT', slot, 'IMPORTING', from.id);
    await redis.command(from.port, 'CLUSTER', 'SETSLOT', slot, 'MIGRATING', to.id);
    // Half moved for a while: the presence totals on the new master, the rest on the old.
    // Bob's subscribe script (the old master answers ASK or TRYAGAIN) must neither run on the
    // new master against half the keys nor fail: it waits, and goes once the slot has moved.
    await redis.command(from.port, 'MIGRATE', '127.0.0.1', to.port, '', 0, 5000, 'KEYS', `rt:{${app.id}}:uc`);
    const bob = cl.client(b, app, { presence: { user_id: 'bob', user_info: {} } });
    const joined = join(bob, room);
    await sleep(500);
    for (;;) {
      const keys = await redis.command(from.port, 'CLUSTER', 'GETKEYSINSLOT', slot, 100);
      if (!keys.length) break;
      await redis.command(from.port, 'MIGRATE', '127.0.0.1', to.port, '', 0, 5000, 'KEYS', ...keys);
    }
    for (const n of redis.liveNodes().filter((x) => x.role === 'master')) await redis.command(n.port, 'CLUSTER', 'SETSLOT', slot, 'NODE', to.id);
    assert.equal(await redis.masterOf(key), to.port);
    await joined;
    assert.deepEqual(Object.keys(membersView(bob, room).members), ['alice', 'bob']);
    await eventually(() => addedIds(alice, room), ['bob'], CROSS_NODE_MS, 'member_added bob on a');
    for (const node of [a, b, c]) {
      await eventually(() => getJson(node, app, `/channels/${room}`, { info: 'user_count' }), { occupied: true, user_count: 2 }, CROSS_NODE_MS, `user_count on ${node.name}`);
    }
    const redirects = await Promise.all([a, b, c].map((node) => metric(node, 'rt_redis_cluster_redirects_total')));
    assert.ok(redirects.some((n, i) => n > redirectsBefore[i]), `redirects ${redirectsBefore} -> ${redirects}`);
    for (const node of [a, b, c]) assert.equal((await health(node)).json.redis, 'connected', `${node.name} stayed up`);
    for (const node of [a, b, c]) assert.doesNotMatch(node.logs(), /Redis script error/, `${node.name} log`);
  });

  test('a master that lost the scripts (SCRIPT FLUSH, like a new master): on NOSCRIPT the node loads them there and sends the command again, without an outage', async () => {
    const room = `presence-${uniq('noscript-')}`;
    const alice = cl.client(a, app, { presence: { user_id: 'alice', user_info: {} } });
    await join(alice, room);
    const master = await redis.masterOf(`rt:{${app.id}}:chans`);
    await redis.command(master, 'SCRIPT', 'FLUSH');
    const carol = cl.client(c, app, { presence: { user_id: 'carol', user_info: {} } });
    await join(carol, room);
    assert.deepEqual(Object.keys(membersView(carol, room).members).sort(), ['alice', 'carol']);
    await eventually(() => addedIds(alice, room), ['carol'], CROSS_NODE_MS, 'member_added carol on a');
    for (const node of [a, b, c]) assert.equal((await health(node)).json.redis, 'connected', `${node.name} stayed up`);
    assert.doesNotMatch(c.logs(), /Redis Cluster unreachable/);
  });

  test('a master killed mid-test: its replica takes over, the nodes reconnect, and fan-out, presence, counts, client and user events work across nodes', async () => {
    const presence = uniq('presence-failover-');
    const feed = uniq('private-failover-');
    const alice = cl.client(a, app, { presence: { user_id: 'alice', user_info: { n: 1 } } });
    const bob = cl.client(b, app, { presence: { user_id: 'bob', user_info: { n: 2 } } });
    await join(alice, presence);
    await join(bob, presence);
    await eventually(() => membersView(alice, presence).count, 2, CROSS_NODE_MS, 'alice sees bob');
    const onA = cl.client(a, app), onC = cl.client(c, app);
    await join(onA, feed);
    await join(onC, feed);

    // The master holding the app's state (presence, counts, users) dies; so does whatever
    // routes hashed to it.
    const victim = await redis.masterOf(`rt:{${app.id}}:chans`);
    await redis.killMaster(victim);
    await redis.waitHealthy(FAILOVER_MS);
    for (const node of [a, b, c]) {
      await waitFor(async () => (await health(node)).json.redis === 'connected', FAILOVER_MS, `${node.name} back on the cluster`);
      assert.ok(!(await redis.masterOf(`rt:{${app.id}}:chans`) === victim), 'the app slot has a new master');
    }
    for (const node of [a, b, c]) assert.ok((await metric(node, 'rt_redis_cluster_map_loads_total')) >= 2, `${node.name} read a new map`);

    // Fan-out: an event triggered on b reaches a and c once.
    assert.equal((await sdk(restClient(b, app).trigger(feed, 'after', { ok: 1 }))).status, 200);
    for (const client of [onA, onC]) await eventually(() => frames(client, feed, 'after'), [{ ok: 1 }], CROSS_NODE_MS, `after on ${client.node.name}`);

    // Client events cross nodes and are not echoed.
    onA.channel(feed).trigger('client-typing', { who: 'a' });
    await eventually(() => frames(onC, feed, 'client-typing'), [{ who: 'a' }], CROSS_NODE_MS, 'client event on c');
    await sleep(200);
    assert.deepEqual(frames(onA, feed, 'client-typing'), [], 'not echoed');

    // Presence: the nodes re-sent their members to the promoted replica, so carol joining on c
    // sees alice and bob, and they see her.
    const carol = cl.client(c, app, { presence: { user_id: 'carol', user_info: { n: 3 } } });
    await join(carol, presence);
    assert.deepEqual(membersView(carol, presence), { count: 3, members: { alice: { n: 1 }, bob: { n: 2 }, carol: { n: 3 } } });
    await eventually(() => addedIds(alice, presence).includes('carol'), true, CROSS_NODE_MS, 'member_added carol on a');
    await eventually(() => addedIds(bob, presence).includes('carol'), true, CROSS_NODE_MS, 'member_added carol on b');

    // Counts: every node answers the cluster totals.
    for (const node of [a, b, c]) {
      await eventually(() => getJson(node, app, `/channels/${presence}`, { info: 'user_count,subscription_count' }),
        { occupied: true, user_count: 3, subscription_count: 3 }, CROSS_NODE_MS, `${presence} counts on ${node.name}`);
    }

    // User events: a user signed in on a and b gets sendToUser from c, and is terminated from c.
    const id = uniq('user-');
    const u1 = await signedIn(a, id), u2 = await signedIn(b, id);
    const got = [[], []];
    u1.user.bind('notice', (d) => got[0].push(d));
    u2.user.bind('notice', (d) => got[1].push(d));
    assert.equal((await sdk(restClient(c, app).sendToUser(id, 'notice', { text: 'hi' }))).status, 200);
    await eventually(() => got, [[{ text: 'hi' }], [{ text: 'hi' }]], CROSS_NODE_MS, 'sendToUser on both sockets');
    assert.equal((await sdk(restClient(c, app).terminateUserConnections(id))).status, 200);
    await eventually(() => [u1.connection.state, u2.connection.state].every((s) => s !== 'connected'), true, CROSS_NODE_MS, 'terminated on a and b');

    for (const node of [a, b, c]) assert.doesNotMatch(node.logs(), /Redis script error|CROSSSLOT|non local key/, `${node.name} log`);
  });
});

describe('RT_REDIS_CLUSTER=1 on a Redis that is not a cluster', { timeout: 30000 }, () => {
  test('the node stays degraded and not ready, and says why once', async () => {
    const db = createDatabase();
    const closed = await freePort();
    const single = REDIS_URL.slice('redis://'.length);
    const node = await startServer({ dbUrl: db, redisUrl: `redis://127.0.0.1:${closed},${single}`, redisCluster: true, waitReady: false });
    try {
      await waitFor(() => /Redis Cluster unreachable/.test(node.logs()), 5000, 'the warning');
      await sleep(2500); // the map asked for again meanwhile, without another warning
      const warnings = node.logs().match(/warn  cluster: Redis Cluster unreachable \(([^)]*)\)/g);
      assert.equal(warnings.length, 1, node.logs());
      assert.match(warnings[0], /seed 127\.0\.0\.1:\d+: connection refused|answered CLUSTER SLOTS with "ERR This instance has cluster support disabled"/);
      assert.equal((await health(node)).json.redis, 'disconnected');
      assert.equal((await fetch(`${node.url}/ready`)).status, 503);
      assert.equal(await metric(node, 'rt_redis_cluster_masters'), 0);
    } finally {
      await node.stop();
    }
  });
});

// The README's one command on a Redis Cluster. scripts/run runs the release build whatever
// RT_BUILD_DIR says, so the sanitized pass of this file leaves it to the plain one.
describe('RT_REDIS_CLUSTER=1 scripts/run', { timeout: 120000, skip: process.env.RT_SANITIZED === '1' && 'runs the release build' }, () => {
  test('starts a local Redis Cluster and a demo server on it', async () => {
    const port = await freePort();
    const proc = spawn(`${SOURCE_DIR}/scripts/run`, [], {
      env: { ...process.env, RT_SKIP_DEPS: '1', RT_SKIP_BUILD: '1', RT_PORT: String(port), RT_MASTER_KEY: '', RT_REDIS_URL: '', RT_REDIS_CLUSTER: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    proc.stdout.on('data', (d) => (out += d));
    proc.stderr.on('data', (d) => (out += d));
    try {
      await waitFor(() => /demo app key:\s+(\S+)/.test(out), 60000, `demo app key in output:\n${out}`);
      assert.match(out, /Redis:\s+redis:\/\/127\.0\.0\.1:\d+,127\.0\.0\.1:\d+,127\.0\.0\.1:\d+ \(Redis Cluster\)/);
      const node = { url: `http://127.0.0.1:${port}` };
      await waitFor(async () => { try { return (await health(node)).json.redis === 'connected'; } catch { return false; } }, 20000, `ready on the cluster:\n${out}`);
      assert.equal(await metric(node, 'rt_redis_cluster_masters'), 3);
    } finally {
      proc.kill('SIGTERM');
      await new Promise((r) => proc.on('exit', r));
      spawnSync(`${SOURCE_DIR}/scripts/services`, ['cluster-down'], { stdio: 'ignore' });
    }
  });
});
