// Cluster failures (CLUSTER_SPEC.md "Node death", "Node ids", "Redis outage"): three nodes
// a, b, c on one private Redis with real pusher-js clients spread over them.
// - kill -9 of c: the survivors reap it within 10 s (member_removed for users only c had,
//   counts and GET /channels without its sockets), and c restarted with the same RT_NODE_ID
//   rejoins; b stopped with SIGTERM and restarted with its id.
// - redis-server killed mid-test: degraded health, /ready 503, REST publishes refused with 503
//   and delivered to nobody, local client events still delivered, RSS bounded while clients
//   keep working; redis-server restarted empty on the same port: presence, counts and
//   cross-node delivery correct again within 10 s, member_removed/member_added for what changed
//   during the outage, no crash.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, createApp, freePort } from '../harness/index.mjs';
import {
  Cluster, SANITIZED, RssSampler, addedIds, alive, eventually, frames, get, getJson, health, join, membersView,
  rawConnect, readyStatus, removedIds, restClient, sdk, sleep, snapshot, stays, uniq, userIds, waitFor, within,
} from './cluster_helpers.mjs';
import { wsUrl } from './helpers.mjs';

const CROSS_NODE_MS = 3000;
const REAP_MS = 10000; // a survivor reaps a dead node within 10 s
const HEAL_MS = 10000; // state is correct again within 10 s of Redis coming back
const BUS_DOWN = { error: 'Cluster bus unavailable: the event was not delivered' };

const ALICE = { user_id: 'alice', user_info: { name: 'Alice' } };
const BOB = { user_id: 'bob', user_info: { name: 'Bob' } };
const CAROL = { user_id: 'carol', user_info: { name: 'Carol' } };
const DAVE = { user_id: 'dave', user_info: { name: 'Dave' } };
const ERIN = { user_id: 'erin', user_info: { name: 'Erin' } };
const INFO = { alice: { name: 'Alice' }, bob: { name: 'Bob' }, carol: { name: 'Carol' }, dave: { name: 'Dave' }, erin: { name: 'Erin' } };
const pick = (...ids) => Object.fromEntries(ids.sort().map((id) => [id, INFO[id]]));

const APP_FLAGS = ['--client-events', '--user-auth', '--subscription-count', '--client-events-per-second', '100',
  '--read-requests-per-second', '1000'];

describe('kill -9 of a node holding presence members, and its restart with the same RT_NODE_ID', { timeout: 110000 }, () => {
  let cl, app, a, b, c;
  let alice, bob, bobOnC, carol, killedAt, carolBack;
  const room = 'presence-room';

  before(async () => {
    const db = createDatabase();
    app = createApp(db, APP_FLAGS, 'cluster-death');
    cl = new Cluster(db);
    await cl.startRedis(await freePort());
    [a, b, c] = await Promise.all([
      cl.startNode('a', '430001'), cl.startNode('b', '430002'), cl.startNode('c', '430003'),
    ]);
    // presence-room: alice (a), bob (b and c), carol (c). feed: alice, bob (b), carol.
    // only-c: carol.
    alice = cl.client(a, app, { presence: ALICE });
    bob = cl.client(b, app, { presence: BOB });
    bobOnC = cl.client(c, app, { presence: BOB });
    carol = cl.client(c, app, { presence: CAROL });
    for (const client of [alice, bob, bobOnC, carol]) await join(client, room);
    for (const client of [alice, bob, carol]) await join(client, 'feed');
    await join(carol, 'only-c');
  });

  after(async () => {
    await cl?.shutdown();
  });

  test('survivors on a and b see member_removed within 10 s for the user only c had, and not for the user still on b', async (t) => {
    await eventually(() => membersView(alice, room), { count: 3, members: pick('alice', 'bob', 'carol') }, CROSS_NODE_MS,
      'precondition: alice on a sees the whole room');
    await eventually(() => membersView(bob, room), { count: 3, members: pick('alice', 'bob', 'carol') }, CROSS_NODE_MS,
      'precondition: bob on b sees the whole room');
    killedAt = Date.now();
    assert.deepEqual(await cl.kill(c), { code: null, signal: 'SIGKILL' });
    for (const client of [bobOnC, carol]) client.disconnect(); // no reconnecting to c's port later
    const waitFrom = Date.now();
    const took = await eventually(() => removedIds(alice, room), ['carol'], REAP_MS - (waitFrom - killedAt),
      'member_removed seen by alice on a after kill -9 of c');
    t.diagnostic(`member_removed carol reached a ${waitFrom - killedAt + took} ms after the kill`);
    await eventually(() => removedIds(bob, room), ['carol'], Math.max(500, REAP_MS - (Date.now() - killedAt)),
      'member_removed seen by bob on b after kill -9 of c');
    assert.deepEqual(frames(alice, room, 'pusher_internal:member_removed'), [{ user_id: 'carol' }]);
    await stays(() => [removedIds(alice, room), removedIds(bob, room)], [['carol'], ['carol']], 1000,
      'bob still has a socket on b: no member_removed for bob');
    assert.deepEqual(membersView(alice, room), { count: 2, members: pick('alice', 'bob') });
    assert.deepEqual(membersView(bob, room), { count: 2, members: pick('alice', 'bob') });
  });

  test('after the reap, counts, users and GET /channels on a and b no longer include the sockets of c', async () => {
    if (!killedAt) { killedAt = Date.now(); await cl.kill(c); for (const cc of [bobOnC, carol]) cc.disconnect(); }
    const left = () => Math.max(CROSS_NODE_MS, REAP_MS - (Date.now() - killedAt));
    for (const node of [a, b]) {
      await eventually(() => getJson(node, app, `/channels/${room}`, { info: 'user_count,subscription_count' }),
        { occupied: true, user_count: 2, subscription_count: 2 }, left(), `${room} counts on ${node.name}`);
      await eventually(() => userIds(node, app, room), ['alice', 'bob'], left(), `${room} users on ${node.name}`);
      await eventually(() => getJson(node, app, '/channels/feed', { info: 'subscription_count' }),
        { occupied: true, subscription_count: 2 }, left(), `feed count on ${node.name}`);
      await eventually(() => getJson(node, app, '/channels'), { channels: { feed: {}, [room]: {} } }, left(),
        `GET /channels on ${node.name} (only-c gone)`);
    }
  });

  test('c restarted with the same RT_NODE_ID on the same port is ready within 20 s and is part of the cluster again', async (t) => {
    if (!killedAt) { killedAt = Date.now(); await cl.kill(c); }
    const started = Date.now();
    const c2 = await cl.startNode('c', '430003', { port: c.port, readyMs: 20000 });
    t.diagnostic(`restarted c ready after ${Date.now() - started} ms`);
    const carol2 = cl.client(c2, app, { presence: CAROL });
    await join(carol2, room);
    carolBack = carol2;
    assert.match(carol2.connection.socket_id, /^430003\d*\.\d+$/);
    assert.deepEqual(snapshot(carol2, room), { count: 3, ids: ['alice', 'bob', 'carol'], hash: pick('alice', 'bob', 'carol') });
    await eventually(() => addedIds(alice, room).at(-1), 'carol', CROSS_NODE_MS, 'member_added carol on a');
    await eventually(() => membersView(bob, room), { count: 3, members: pick('alice', 'bob', 'carol') }, CROSS_NODE_MS, 'members on b');
    await eventually(() => userIds(c2, app, room), ['alice', 'bob', 'carol'], CROSS_NODE_MS, 'users asked on the restarted c');

    await join(carol2, 'feed');
    assert.equal((await sdk(restClient(c2, app).trigger('feed', 'from-c', 1))).status, 200);
    assert.equal((await sdk(restClient(a, app).trigger('feed', 'from-a', 2))).status, 200);
    for (const client of [alice, bob, carol2]) {
      await eventually(() => frames(client, 'feed', 'from-c'), [1], CROSS_NODE_MS, `from-c on ${client.node.name}`);
      await eventually(() => frames(client, 'feed', 'from-a'), [2], CROSS_NODE_MS, `from-a on ${client.node.name}`);
    }
  });

  test('b stopped with SIGTERM: its sockets close with 4200, its user leaves at once; b restarted with the same RT_NODE_ID is ready within 5 s (the id was given back) and serves again', async (t) => {
    const raw = await rawConnect(wsUrl(b, app.key));
    // The room as the earlier tests left it: alice, bob and, if the restart of c worked, carol.
    const members = ['alice', 'bob', ...(carolBack ? ['carol'] : [])];
    const others = members.filter((id) => id !== 'bob');
    await eventually(() => userIds(a, app, room), members, CROSS_NODE_MS, `precondition: ${room} users on a`);
    await eventually(() => Object.keys(membersView(alice, room).members), members, CROSS_NODE_MS, 'precondition: alice\'s view on a');
    const mark = removedIds(alice, room).length;
    assert.deepEqual(await b.stop(), { code: 0, signal: null });
    assert.equal((await within(raw.closed, 5000, 'close of a socket on b')).code, 4200);
    bob.disconnect();
    await eventually(() => removedIds(alice, room).slice(mark), ['bob'], CROSS_NODE_MS, 'member_removed bob on a after b stopped');
    await eventually(() => userIds(a, app, room), others, CROSS_NODE_MS, `${room} users on a after b stopped`);

    const started = Date.now();
    const b2 = await cl.startNode('b', '430002', { port: b.port, readyMs: 5000 });
    t.diagnostic(`restarted b ready after ${Date.now() - started} ms`);
    const bob2 = cl.client(b2, app, { presence: BOB });
    await join(bob2, room);
    assert.match(bob2.connection.socket_id, /^430002\d*\.\d+$/);
    assert.deepEqual(snapshot(bob2, room), { count: members.length, ids: members, hash: pick(...members) });
    await eventually(() => addedIds(alice, room).at(-1), 'bob', CROSS_NODE_MS, 'member_added bob on a');
    await eventually(() => userIds(b2, app, room), members, CROSS_NODE_MS, 'users asked on the restarted b');
  });
});

describe('Redis stopped and restarted mid-test', { timeout: 110000 }, () => {
  let cl, app, a, b, c, nodes;
  let alice, bob, carol, x, y, baseline;
  const ops = 'presence-ops';
  const pairs = [];
  // Load on a: 16 sockets in 8 private channels, each sending 50 client events/s of ~8 KB.
  const PAIRS = 8, PER_SECOND = 50, PAD = 'x'.repeat(8000);
  const RSS_BOUND_KB = (SANITIZED ? 384 : 32) * 1024;

  before(async () => {
    const db = createDatabase();
    app = createApp(db, APP_FLAGS, 'cluster-outage');
    cl = new Cluster(db);
    await cl.startRedis(await freePort());
    [a, b, c] = await Promise.all([
      cl.startNode('a', '430011'), cl.startNode('b', '430012'), cl.startNode('c', '430013'),
    ]);
    nodes = [a, b, c];
    alice = cl.client(a, app, { presence: ALICE });
    bob = cl.client(b, app, { presence: BOB });
    carol = cl.client(c, app, { presence: CAROL });
    for (const client of [alice, bob, carol]) {
      await join(client, ops);
      await join(client, 'feed');
    }
    x = cl.client(a, app);
    y = cl.client(a, app);
    await join(x, 'private-pair');
    await join(y, 'private-pair');
    for (let i = 0; i < PAIRS; i++) {
      const ch = `private-load-${i}`;
      const pair = [cl.client(a, app, { record: false }), cl.client(a, app, { record: false })];
      for (const client of pair) await join(client, ch);
      pairs.push({ ch, pair, received: 0 });
      for (const client of pair) client.channel(ch).bind('client-load', () => pairs[i].received++);
    }
    // Warm up with Redis up; the peak RSS of the warm-up is the baseline.
    const sampler = new RssSampler(nodes);
    const load = startLoad();
    await sleep(2000);
    load.stop();
    baseline = sampler.stop();
  });

  after(async () => {
    await cl?.shutdown();
  });

  /** Every load socket sends PER_SECOND client events of ~8 KB; returns {stop, sent}. */
  function startLoad() {
    let sent = 0;
    const timers = pairs.flatMap(({ ch, pair }) => pair.map((client) => setInterval(() => {
      client.channel(ch).trigger('client-load', { seq: sent++, pad: PAD });
    }, 1000 / PER_SECOND)));
    return { stop: () => timers.forEach(clearInterval), sent: () => sent };
  }

  // What each observer had received when Redis went down: the outage assertions look only at
  // what came after.
  let marks = null;
  async function killRedis() {
    if (!marks) marks = Object.fromEntries([['alice', alice], ['carol', carol]].map(([k, cc]) => [k, { added: addedIds(cc, ops).length, removed: removedIds(cc, ops).length }]));
    await cl.redis.kill();
  }
  const since = (who, client) => [addedIds(client, ops).slice(marks[who].added), removedIds(client, ops).slice(marks[who].removed)];

  const healthView = async (node) => {
    const h = await health(node);
    return { http: h.status, status: h.json.status, redis: h.json.redis, database: h.json.database, draining: h.json.draining };
  };

  test('precondition: presence and counts span the three nodes', async () => {
    for (const client of [alice, bob, carol])
      await eventually(() => membersView(client, ops), { count: 3, members: pick('alice', 'bob', 'carol') }, CROSS_NODE_MS,
        `members on ${client.node.name}`);
  });

  test('Redis killed: every node answers /health 200 {"status":"degraded","redis":"disconnected"} and /ready 503 within 5 s', async () => {
    await killRedis();
    for (const node of nodes) {
      await eventually(() => healthView(node), { http: 200, status: 'degraded', redis: 'disconnected', database: true, draining: false },
        5000, `/health on ${node.name}`);
      assert.equal(await readyStatus(node), 503, `/ready on ${node.name}`);
    }
  });

  test('Redis down: a client event between two sockets on a still arrives', async () => {
    await killRedis();
    const got = new Promise((resolve) => y.channel('private-pair').bind('client-ping', resolve));
    x.channel('private-pair').trigger('client-ping', { n: 1 });
    assert.deepEqual(await Promise.race([got, sleep(2000).then(() => 'nothing within 2 s')]), { n: 1 });
  });

  test('Redis down: POST /events and /batch_events on a are 503 "Cluster bus unavailable" and reach nobody, not even a\'s own subscribers', async () => {
    await killRedis();
    await waitFor(async () => (await health(a)).json.redis === 'disconnected', 5000, 'a to notice');
    assert.deepEqual(await sdk(restClient(a, app).trigger('feed', 'lost', { n: 1 })), { status: 503, body: BUS_DOWN });
    assert.deepEqual(await sdk(restClient(a, app).trigger(['feed', 'other'], 'lost', { n: 2 })), { status: 503, body: BUS_DOWN });
    assert.deepEqual(await sdk(restClient(a, app).triggerBatch([{ channel: 'feed', name: 'lost', data: '3' }])), { status: 503, body: BUS_DOWN });
    await sleep(500);
    for (const client of [alice, bob, carol]) assert.deepEqual(frames(client, 'feed', 'lost'), [], `nothing delivered on ${client.node.name}`);
  });

  test(`Redis down: node RSS stays within the warm-up peak + ${RSS_BOUND_KB / 1024} MiB while clients churn and a relays ~30 MB of client events`, async (t) => {
    await killRedis();
    const sampler = new RssSampler(nodes);
    for (const p of pairs) p.received = 0;
    const load = startLoad();
    // Meanwhile on b and c: a presence join every 100 ms (the previous joiner leaves), REST reads
    // on every node and refused publishes.
    let churned = 0, prev = null;
    const joinErrors = [], readStatuses = new Set(), publishStatuses = new Set();
    const churnUntil = Date.now() + 6000;
    while (Date.now() < churnUntil) {
      const node = churned % 2 ? b : c;
      const client = cl.client(node, app, { presence: { user_id: uniq('churn-'), user_info: {} } });
      await join(client, 'presence-churn').catch((e) => joinErrors.push(`${node.name}: ${e.message}`));
      prev?.disconnect();
      prev = client;
      churned++;
      readStatuses.add((await get(nodes[churned % 3], app, '/channels', { filter_by_prefix: 'presence-', info: 'user_count' })).status);
      publishStatuses.add((await sdk(restClient(node, app).trigger('feed', 'lost', churned))).status);
      await sleep(100);
    }
    load.stop();
    prev?.disconnect();
    const sent = load.sent();
    await waitFor(() => pairs.reduce((n, p) => n + p.received, 0) === sent, 5000, 'every client event delivered locally').catch(() => {});
    const peak = sampler.stop();
    const received = pairs.reduce((n, p) => n + p.received, 0);
    t.diagnostic(`sent ${sent} client events (${Math.round(sent * PAD.length / 1e6)} MB), ${churned} presence joins; ` +
      `REST read statuses ${[...readStatuses]}, publish statuses ${[...publishStatuses]}`);
    for (const node of nodes) t.diagnostic(`${node.name}: baseline ${baseline.get(node.name)} KB, peak ${peak.get(node.name)} KB`);
    for (const node of nodes) assert.ok(alive(node), `${node.name} is alive`);
    assert.equal(received, sent, 'every client event reached its peer on a');
    assert.deepEqual(joinErrors, [], 'presence joins on b and c during the outage');
    assert.deepEqual([...publishStatuses], [503], 'every REST publish during the outage is refused');
    if (!SANITIZED) assert.ok(sent * PAD.length > RSS_BOUND_KB * 1024 * 0.75, `the load (${sent} events) is large against the bound`);
    for (const node of nodes)
      assert.ok(peak.get(node.name) - baseline.get(node.name) <= RSS_BOUND_KB,
        `${node.name}: RSS peak ${peak.get(node.name)} KB - baseline ${baseline.get(node.name)} KB > ${RSS_BOUND_KB} KB`);
  });

  let restartedAt;
  test('Redis restarted empty on the same port: within 10 s every node is connected and ready, and counts and member lists are right on every node', async () => {
    await killRedis();
    // Changes during the outage: bob's only socket (b) goes, dave joins on c.
    bob.disconnect();
    const dave = cl.client(c, app, { presence: DAVE });
    await join(dave, ops);
    await sleep(500);
    await cl.redis.start();
    restartedAt = Date.now();
    const left = () => Math.max(500, HEAL_MS - (Date.now() - restartedAt));
    for (const node of nodes) {
      await eventually(() => healthView(node), { http: 200, status: 'ok', redis: 'connected', database: true, draining: false },
        left(), `/health on ${node.name}`);
      assert.equal(await readyStatus(node), 200, `/ready on ${node.name}`);
    }
    for (const node of nodes) {
      await eventually(() => userIds(node, app, ops), ['alice', 'carol', 'dave'], left(), `${ops} users on ${node.name}`);
      await eventually(() => getJson(node, app, `/channels/${ops}`, { info: 'user_count,subscription_count' }),
        { occupied: true, user_count: 3, subscription_count: 3 }, left(), `${ops} counts on ${node.name}`);
      await eventually(() => getJson(node, app, '/channels/feed', { info: 'subscription_count' }),
        { occupied: true, subscription_count: 2 }, left(), `feed count on ${node.name}`);
    }
  });

  test('after the heal, member_removed and member_added went out once for the changes made during the outage', async () => {
    const left = () => Math.max(CROSS_NODE_MS, HEAL_MS - (Date.now() - (restartedAt ?? Date.now())));
    await eventually(() => ({ alice: since('alice', alice), carol: since('carol', carol) }),
      { alice: [['dave'], ['bob']], carol: [['dave'], ['bob']] }, left(),
      '[member_added ids, member_removed ids] seen by alice on a and carol on c since Redis went down');
    await stays(() => [since('alice', alice), since('carol', carol)], [[['dave'], ['bob']], [['dave'], ['bob']]], 1500,
      'no repeated member events after the heal');
    for (const client of [alice, carol])
      assert.deepEqual(membersView(client, ops), { count: 3, members: pick('alice', 'carol', 'dave') }, `members on ${client.node.name}`);
  });

  test('after the heal, a new joiner on b gets the full snapshot and a REST publish on b reaches a and c', async () => {
    const erin = cl.client(b, app, { presence: ERIN });
    await join(erin, ops);
    assert.deepEqual(snapshot(erin, ops), { count: 4, ids: ['alice', 'carol', 'dave', 'erin'], hash: pick('alice', 'carol', 'dave', 'erin') });
    assert.deepEqual(await sdk(restClient(b, app).trigger('feed', 'healed', { ok: true })), { status: 200, body: {} });
    for (const client of [alice, carol])
      await eventually(() => frames(client, 'feed', 'healed'), [{ ok: true }], CROSS_NODE_MS, `healed on ${client.node.name}`);
  });

  test('no node crashed: all three are alive and report status ok', async () => {
    for (const node of nodes) {
      assert.ok(alive(node), `${node.name} is alive`);
      assert.deepEqual(await healthView(node), { http: 200, status: 'ok', redis: 'connected', database: true, draining: false });
    }
  });
});
