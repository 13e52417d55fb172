// The server's Redis keys and scripts on a Redis Cluster (issue 13): three nodes on a private
// one-node Redis Cluster (all 16384 slots on one master, redis_one_node_cluster.mjs), which
// accepts every command on one connection but refuses what any Redis Cluster refuses: a
// multi-key command across slots, a script touching keys outside the slot it started in.
// Presence joins and leaves, subscription counts, sign-in and terminate_connections, the
// webhook queue, the ingest stream and the reaping of a node killed with kill -9 all work, no
// Redis error reply is counted by Redis or logged by a node, and every key lives in its slot:
// an app's keys in the slot of {APP_ID}, the nodes' keys (heartbeats, node-id claims, reap
// locks, the apps each node holds state in) in the slot of {nodes}.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, createApp, rtadmin } from '../harness/index.mjs';
import {
  Cluster, eventually, frames, getJson, join, membersView, removedIds, restClient, sdk, stays, uniq, userIds, waitFor, webhookReceiver,
} from './cluster_helpers.mjs';
import { RedisClient } from './ingest_helpers.mjs';
import { Monitor, OneNodeClusterRedis, routingViolations, scriptSlotViolations } from './redis_one_node_cluster.mjs';

const CROSS_NODE_MS = 3000;
const REAP_MS = 10000; // a survivor reaps a dead node within 10 s
const WEBHOOK_MS = 8000;
const NODE_IDS = { a: '470001', b: '470002', c: '470003' };

/** Every key in Redis (SCAN). */
async function allKeys(redis) {
  const keys = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.command('SCAN', cursor, 'COUNT', 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return keys.sort();
}

describe('every key and script of the server on a Redis Cluster', { timeout: 120000 }, () => {
  let db, cl, redis, monitor, hook, app, a, b, c;
  let alice, bob, carol;
  const room = `presence-${uniq('room')}`, feed = uniq('feed');

  before(async () => {
    db = createDatabase();
    hook = await webhookReceiver();
    app = createApp(db, ['--client-events', '--user-auth', '--subscription-count', '--ingest-stream'], uniq('slots'));
    const added = rtadmin(['webhook', 'add', app.id, hook.url], { RT_DATABASE_URL: db });
    assert.equal(added.code, 0, added.stderr);
    cl = new Cluster(db);
    cl.redis = await new OneNodeClusterRedis(await OneNodeClusterRedis.freePort()).start();
    redis = await RedisClient.connect(cl.redis.port);
    monitor = await Monitor.start(cl.redis.port);
    [a, b, c] = await Promise.all([
      cl.startNode('a', NODE_IDS.a), cl.startNode('b', NODE_IDS.b), cl.startNode('c', NODE_IDS.c),
    ]);
  });

  after(async () => {
    monitor?.close();
    redis?.close();
    hook?.server.close();
    await cl?.shutdown();
  });

  test('presence joins on three nodes: one member list, member_added and member_removed on every node', async () => {
    alice = cl.client(a, app, { presence: { user_id: 'alice', user_info: { name: 'Alice' } } });
    bob = cl.client(b, app, { presence: { user_id: 'bob', user_info: { name: 'Bob' } } });
    carol = cl.client(c, app, { presence: { user_id: 'carol', user_info: { name: 'Carol' } } });
    for (const client of [alice, bob, carol]) await join(client, room);
    const all = { alice: { name: 'Alice' }, bob: { name: 'Bob' }, carol: { name: 'Carol' } };
    for (const client of [alice, bob, carol])
      await eventually(() => membersView(client, room), { count: 3, members: all }, CROSS_NODE_MS, `${client.node.name} sees three members`);
    assert.deepEqual(await userIds(b, app, room), ['alice', 'bob', 'carol']);
    const leaver = cl.client(b, app, { presence: { user_id: 'dave', user_info: {} } });
    await join(leaver, room);
    await eventually(() => membersView(alice, room).count, 4, CROSS_NODE_MS, 'dave joined, seen on a');
    leaver.unsubscribe(room);
    await eventually(() => removedIds(alice, room), ['dave'], CROSS_NODE_MS, 'member_removed dave on a');
    await eventually(() => removedIds(carol, room), ['dave'], CROSS_NODE_MS, 'member_removed dave on c');
  });

  test('subscription_count carries the cluster total, and GET /channels reads it from any node', async () => {
    for (const client of [alice, bob, carol]) await join(client, feed);
    for (const client of [alice, bob, carol])
      await eventually(() => frames(client, feed, 'pusher_internal:subscription_count').at(-1), { subscription_count: 3 }, CROSS_NODE_MS,
        `subscription_count 3 on ${client.node.name}`);
    assert.deepEqual(await getJson(a, app, `/channels/${feed}`, { info: 'subscription_count' }), { occupied: true, subscription_count: 3 });
    const channels = await getJson(c, app, '/channels', { info: 'user_count', filter_by_prefix: 'presence-' });
    assert.deepEqual(channels, { channels: { [room]: { user_count: 3 } } });
  });

  test('the webhook queue delivers the transitions once', async () => {
    await waitFor(() => hook.about(room).includes('member_added:carol') && hook.about(feed).includes('channel_occupied'), WEBHOOK_MS,
      'member_added and channel_occupied webhooks');
    assert.deepEqual(hook.about(feed).filter((n) => n !== 'subscription_count'), ['channel_occupied']);
  });

  test('an entry of the ingest stream reaches the subscribers on every node', async () => {
    await redis.command('XADD', `rt:ingest:{${app.id}}`, '*', 'name', 'order-paid', 'channel', feed, 'data', '{"id":7}');
    for (const client of [alice, bob, carol])
      await eventually(() => frames(client, feed, 'order-paid'), [{ id: 7 }], 5000, `ingested event on ${client.node.name}`);
  });

  test('terminate_connections closes a signed-in user\'s sockets on two nodes', async () => {
    const id = uniq('term-');
    const signedIn = async (node) => {
      const client = cl.client(node, app, { user: { id } });
      await waitFor(() => client.connection.state === 'connected', 5000, 'connected');
      client.signin();
      await waitFor(() => client.user.serverToUserChannel?.subscribed, 5000, `${id} signed in on ${node.name}`);
      return client;
    };
    const onA = await signedIn(a), onB = await signedIn(b);
    const codes = new Set();
    for (const client of [onA, onB]) client.connection.bind('error', (e) => e?.data?.code !== undefined && codes.add(`${client.node.name} ${e.data.code}`));
    assert.deepEqual(await sdk(restClient(c, app).terminateUserConnections(id)), { status: 200, body: {} });
    await eventually(() => [...codes].sort(), ['a 4009', 'b 4009'], CROSS_NODE_MS, 'pusher-js error 4009 on a and b');
  });

  test('each app\'s keys are in the slot of {APP_ID}, the nodes\' keys in the slot of {nodes}', async () => {
    const appSlot = await redis.command('CLUSTER', 'KEYSLOT', `{${app.id}}`);
    const nodesSlot = await redis.command('CLUSTER', 'KEYSLOT', '{nodes}');
    const misplaced = [];
    for (const key of await allKeys(redis)) {
      const slot = await redis.command('CLUSTER', 'KEYSLOT', key);
      const want = key.includes(`{${app.id}}`) ? appSlot : key.startsWith('rt:{nodes}:') ? nodesSlot : null;
      if (want === null ? key !== 'rt:ingest:leader' : slot !== want) misplaced.push(`${key} (slot ${slot})`);
    }
    assert.deepEqual(misplaced, [], 'keys outside their slot (or of no known kind)');
    assert.deepEqual((await redis.command('HKEYS', 'rt:{nodes}:hb')).sort(), Object.values(NODE_IDS), 'the heartbeats of a, b and c');
    for (const id of Object.values(NODE_IDS))
      assert.deepEqual(await redis.command('SMEMBERS', `rt:{nodes}:apps:${id}`), [app.id], `node ${id} holds state in the app`);
  });

  test('kill -9 of c: a survivor reaps it, carol leaves every node\'s member list and c\'s keys go', async () => {
    await cl.kill(c);
    carol.disconnect();
    for (const client of [alice, bob])
      await eventually(() => removedIds(client, room), ['dave', 'carol'], REAP_MS + 2000, `member_removed carol on ${client.node.name}`);
    assert.deepEqual(await userIds(a, app, room), ['alice', 'bob']);
    await eventually(() => getJson(b, app, `/channels/${feed}`, { info: 'subscription_count' }), { occupied: true, subscription_count: 2 },
      CROSS_NODE_MS, 'feed count without c');
    await eventually(async () => [
      await redis.command('HEXISTS', 'rt:{nodes}:hb', NODE_IDS.c),
      await redis.command('EXISTS', `rt:{nodes}:apps:${NODE_IDS.c}`),
      await redis.command('HEXISTS', `rt:{${app.id}}:conns`, NODE_IDS.c),
    ], [0, 0, 0], CROSS_NODE_MS, 'c\'s heartbeat, apps set and connection total removed');
    await stays(() => removedIds(alice, room), ['dave', 'carol'], 500, 'carol removed once');
  });

  test('a node taken for dead (stopped longer than 5 s) and reaped lists its apps again once it runs again', async () => {
    const apps = `rt:{nodes}:apps:${NODE_IDS.b}`;
    assert.deepEqual(await redis.command('SMEMBERS', apps), [app.id], 'precondition: b holds state in the app');
    b.proc.kill('SIGSTOP');
    try {
      await eventually(() => redis.command('EXISTS', apps), 0, REAP_MS, 'a reaped b, its apps set included');
    } finally {
      b.proc.kill('SIGCONT');
    }
    await eventually(() => redis.command('SMEMBERS', apps), [app.id], CROSS_NODE_MS, 'b lists the app again (it has connections there)');
  });

  test('no Redis error reply: none counted by Redis, none logged by a node', async () => {
    // Answers the code expects and handles: a consumer group that exists already (BUSYGROUP)
    // or not yet (NOGROUP).
    const { BUSYGROUP, NOGROUP, ...errors } = await cl.redis.errorStats();
    assert.deepEqual(errors, {}, `Redis error replies (INFO errorstats), besides BUSYGROUP ${BUSYGROUP} and NOGROUP ${NOGROUP}`);
    for (const node of [a, b, c]) {
      const lines = node.logs().split('\n').filter((l) => /Redis (script error|refused)|slot|CROSSSLOT|ERR /.test(l));
      assert.deepEqual(lines, [], `Redis errors in the log of ${node.name}`);
    }
  });

  test('every script touches only keys in the slot of its first declared key, and publishes nothing', async () => {
    const lines = monitor.lines();
    assert.ok(lines.filter((l) => l.client === 'lua').length > 100, 'MONITOR saw the scripts run');
    assert.deepEqual(await scriptSlotViolations(redis, lines), []);
  });

  test('every command\'s keys are in the slot of the argument a cluster router reads (argv[1], the first declared key, the first stream)', async () => {
    assert.deepEqual(await routingViolations(redis, monitor.lines()), []);
  });
});
