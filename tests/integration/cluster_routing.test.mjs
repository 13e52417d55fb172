// Interest-based routing (docs/cluster.md "Interest-based routing"): each channel has its own
// Redis channel ("rt:c:APP:CHANNEL"), and a node subscribes to it only while it has a local
// subscriber, so a node receives none of the traffic of channels nobody on it listens to.
// Two rtserver nodes on a private Redis; what Redis sees is read with redis-cli, what a node
// received with its /metrics counter rt_cluster_bus_messages_in_total.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createDatabase, createApp, freePort } from '../harness/index.mjs';
import { Cluster, eventually, frames, join, membersView, rawConnect, restClient, sdk, sleep, uniq, waitFor, waitReady } from './cluster_helpers.mjs';
import { connected, subscribed, wsUrl } from './helpers.mjs';

// Deadline for an event or a subscription to cross nodes.
const CROSS_NODE_MS = 3000;
// A route nobody needs is unsubscribed 10 s after its last local subscriber left (plus the
// once-a-second sweep).
const LINGER_MS = 15000;

describe('interest-based routing between two nodes', { timeout: 120000 }, () => {
  let cl, app, a, b;

  const redis = (...args) => execFileSync('redis-cli', ['-p', String(cl.redis.port), ...args], { encoding: 'utf8' });
  /** How many nodes are subscribed to the Redis channel of app's channel. */
  const subscribers = (channel) => Number(redis('PUBSUB', 'NUMSUB', `rt:c:${app.id}:${channel}`).split('\n')[1]);
  async function metric(node, name) {
    const text = await (await fetch(`${node.url}/metrics`)).text();
    return Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)[1]);
  }
  const busIn = (node) => metric(node, 'rt_cluster_bus_messages_in_total');
  const routes = (node) => metric(node, 'rt_cluster_bus_routes');
  const eventsOf = (client, channel, event) => frames(client, channel, event);

  before(async () => {
    const db = createDatabase();
    app = createApp(db, ['--user-auth'], 'cluster-routing');
    cl = new Cluster(db);
    await cl.startRedis(await freePort());
    [a, b] = await Promise.all([cl.startNode('a', '510001'), cl.startNode('b', '510002')]);
  });

  after(async () => {
    await cl?.shutdown();
  });

  test('a node with no subscribers on a channel receives none of its traffic from Redis', async () => {
    const busy = uniq('busy-'), marker = uniq('marker-');
    const onA = cl.client(a, app);
    await connected(onA);
    await subscribed(onA, busy);
    const onB = cl.client(b, app);
    await connected(onB);
    await subscribed(onB, marker);
    assert.equal(subscribers(busy), 1, 'only a is subscribed to the busy channel');
    assert.equal(subscribers(marker), 1, 'only b is subscribed to the marker channel');

    const before = await busIn(b);
    const rest = restClient(a, app);
    for (let i = 0; i < 20; i++) assert.equal((await sdk(rest.trigger(busy, 'tick', { i }))).status, 200);
    // Redis delivers a publisher's messages in order: once the marker (published last) is on
    // b, anything published before it for b has arrived too.
    assert.equal((await sdk(rest.trigger(marker, 'done', {}))).status, 200);
    await eventually(() => eventsOf(onB, marker, 'done').length, 1, CROSS_NODE_MS, 'the marker on b');
    await eventually(() => eventsOf(onA, busy, 'tick').length, 20, CROSS_NODE_MS, 'the 20 ticks on a');
    assert.equal(await busIn(b), before + 1, 'b received the marker and nothing of the busy channel');
  });

  test('a node subscribes to a channel at its first local subscriber and events from the other node reach it', async () => {
    const ch = uniq('join-');
    const first = cl.client(b, app);
    await connected(first);
    await subscribed(first, ch);
    const second = cl.client(b, app);
    await connected(second);
    await subscribed(second, ch);
    assert.equal(subscribers(ch), 1, 'one Redis subscription per node, however many local subscribers');
    assert.equal((await sdk(restClient(a, app).trigger(ch, 'hello', { n: 1 }))).status, 200);
    await eventually(() => [eventsOf(first, ch, 'hello').length, eventsOf(second, ch, 'hello').length], [1, 1], CROSS_NODE_MS, 'hello on both');
  });

  test('a node unsubscribes from a channel some seconds after its last local subscriber left', async () => {
    const ch = uniq('leave-');
    const c = cl.client(b, app);
    await connected(c);
    await subscribed(c, ch);
    assert.equal(subscribers(ch), 1);
    c.unsubscribe(ch);
    await eventually(() => subscribers(ch), 0, LINGER_MS, 'b to leave the Redis channel', 500);
  });

  test('a node that subscribes again after leaving receives the channel\'s events again', async () => {
    const ch = uniq('again-');
    const c = cl.client(b, app);
    await connected(c);
    await subscribed(c, ch);
    c.unsubscribe(ch);
    await eventually(() => subscribers(ch), 0, LINGER_MS, 'b to leave the Redis channel', 500);
    await subscribed(c, ch);
    await eventually(() => subscribers(ch), 1, CROSS_NODE_MS, 'b subscribed again');
    assert.equal((await sdk(restClient(a, app).trigger(ch, 'back', {}))).status, 200);
    await eventually(() => eventsOf(c, ch, 'back').length, 1, CROSS_NODE_MS, 'the event on b');
  });

  test('user events and terminations travel only to nodes where the user is signed in', async () => {
    const id = uniq('user-');
    const u = cl.client(b, app, { user: { id } });
    await connected(u);
    u.signin();
    await waitFor(() => u.user.user_data?.id === id, CROSS_NODE_MS, 'signin');
    await eventually(() => subscribers(`#server-to-user-${id}`), 1, CROSS_NODE_MS, 'b subscribed to the user');
    const got = [];
    u.user.bind('notice', (d) => got.push(d));
    assert.equal((await sdk(restClient(a, app).sendToUser(id, 'notice', { text: 'hi' }))).status, 200);
    await eventually(() => got, [{ text: 'hi' }], CROSS_NODE_MS, 'the user event on b');
    const closed = new Promise((resolve) => u.connection.bind('error', (e) => resolve(e?.data?.code)));
    assert.equal((await sdk(restClient(a, app).terminateUserConnections(id))).status, 200);
    assert.equal(await closed, 4009);
  });

  test('the first presence subscriber on a node sees every member who joins on the other node at the same time', async () => {
    // The joiner's member list is read only once its node listens to the channel: a member
    // who joins on a at that moment is either in the list or announced, never lost.
    for (let round = 0; round < 5; round++) {
      const ch = uniq('presence-race-');
      const host = cl.client(a, app, { presence: { user_id: 'host', user_info: {} } });
      await join(host, ch);
      const first = cl.client(b, app, { presence: { user_id: 'first', user_info: {} } });
      await connected(first);
      const others = ['u1', 'u2', 'u3', 'u4', 'u5'].map((id) => cl.client(a, app, { presence: { user_id: id, user_info: {} } }));
      await Promise.all(others.map((c) => connected(c)));
      await Promise.all([join(first, ch), ...others.map((c) => join(c, ch))]);
      const all = { host: {}, first: {}, u1: {}, u2: {}, u3: {}, u4: {}, u5: {} };
      await eventually(() => membersView(first, ch), { count: 7, members: all }, CROSS_NODE_MS, `round ${round}: every member seen on b`);
    }
  });

  test('at most 4096 channels linger on a node: past that, a channel left by its last subscriber is unsubscribed at once', async () => {
    const prefix = uniq('churn-');
    const before = await routes(b);
    const conns = [];
    for (let i = 0; i < 42; i++) conns.push(await rawConnect(wsUrl(b, app.key)));
    await Promise.all(conns.map((c, i) => {
      for (let j = 0; j < 100; j++) c.send({ event: 'pusher:subscribe', data: { channel: `${prefix}-${i}-${j}` } });
      return waitFor(() => c.messages.filter((m) => m.event === 'pusher_internal:subscription_succeeded').length === 100, 15000, `connection ${i}: 100 subscriptions`);
    }));
    await eventually(async () => (await routes(b)) >= before + 4200, true, CROSS_NODE_MS, '4200 more Redis channels on b');
    for (const c of conns) c.close();
    // Well before the 10 s linger ends, only 4096 of them are left.
    await eventually(async () => (await routes(b)) <= before + 4096, true, 5000, 'b to give up the channels past 4096');
  });

  test("a node's first subscriber gets subscription_succeeded only once Redis confirmed the node listens to the channel", async () => {
    // subscription_succeeded promises that events published anywhere from then on arrive.
    const ch = uniq('confirm-');
    const c = cl.client(b, app);
    await connected(c);
    cl.redis.proc.kill('SIGSTOP');
    try {
      c.subscribe(ch);
      await sleep(700);
      assert.equal(eventsOf(c, ch, 'pusher_internal:subscription_succeeded').length, 0, 'no success while Redis cannot confirm');
    } finally {
      cl.redis.proc.kill('SIGCONT');
    }
    await eventually(() => eventsOf(c, ch, 'pusher_internal:subscription_succeeded').length, 1, CROSS_NODE_MS, 'success once Redis confirmed');
    assert.equal(subscribers(ch), 1);
    assert.equal((await sdk(restClient(a, app).trigger(ch, 'now', {}))).status, 200);
    await eventually(() => eventsOf(c, ch, 'now').length, 1, CROSS_NODE_MS, 'the event from a');
    const second = cl.client(b, app);
    await connected(second);
    await subscribed(second, ch); // the route is confirmed: at once
  });

  test('after Redis restarts empty, every node subscribes to its channels again', async () => {
    const ch = uniq('restart-');
    const c = cl.client(b, app);
    await connected(c);
    await subscribed(c, ch);
    await cl.redis.kill();
    await cl.redis.start();
    await Promise.all([waitReady(a, 15000), waitReady(b, 15000)]);
    await eventually(() => subscribers(ch), 1, CROSS_NODE_MS, 'b subscribed again after the restart');
    assert.equal((await sdk(restClient(a, app).trigger(ch, 'after', {}))).status, 200);
    await eventually(() => eventsOf(c, ch, 'after').length, 1, CROSS_NODE_MS, 'the event on b');
  });
});
