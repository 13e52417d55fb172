// Cluster-wide presence and user state (CLUSTER_SPEC.md "Presence", "User state"): three
// rtserver nodes a, b, c on one private Redis, real pusher-js clients spread over them with
// presence authorization signed by the `pusher` SDK. One member per user id across the
// cluster; member_added/member_removed only for a user's first/last socket anywhere; full
// cluster snapshots; a cluster-wide member limit; watchlists that see every node.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, createApp, freePort } from '../harness/index.mjs';
import {
  Cluster, addedIds, removedIds, frames, join, joinRefused, membersView, snapshot, eventually, stays,
  uniq, userIds, sleep, waitFor,
} from './cluster_helpers.mjs';

// Cross-node state is expected to settle well within this (a Redis round trip is ~1 ms): a
// joiner that subscribes this long after another member joined must see that member.
const SETTLE_MS = 500;
// Deadline for a presence event or a REST view to reach another node.
const CROSS_NODE_MS = 3000;

const ALICE = { user_id: 'alice', user_info: { name: 'Alice' } };
const BOB = { user_id: 'bob', user_info: { name: 'Bob' } };
const CAROL = { user_id: 'carol', user_info: { name: 'Carol' } };
const INFO = { alice: { name: 'Alice' }, bob: { name: 'Bob' }, carol: { name: 'Carol' } };
const pick = (...ids) => Object.fromEntries(ids.sort().map((id) => [id, INFO[id]]));

describe('cluster-wide presence and user state on three nodes', { timeout: 110000 }, () => {
  let cl, app, smallApp, a, b, c;

  before(async () => {
    const db = createDatabase();
    app = createApp(db, ['--client-events', '--user-auth', '--read-requests-per-second', '1000'], 'cluster-presence');
    smallApp = createApp(db, ['--max-presence-members', '2'], 'cluster-presence-small');
    cl = new Cluster(db);
    await cl.startRedis(await freePort());
    [a, b, c] = await Promise.all([
      cl.startNode('a', '410001'), cl.startNode('b', '410002'), cl.startNode('c', '410003'),
    ]);
  });

  after(async () => {
    await cl?.shutdown();
  });

  /** Joins each [node, presence user] in order, SETTLE_MS apart; returns the clients. */
  async function joinInOrder(channel, list, theApp = app) {
    const out = [];
    for (const [node, user] of list) {
      if (out.length) await sleep(SETTLE_MS);
      const client = cl.client(node, theApp, { presence: user });
      await join(client, channel);
      out.push(client);
    }
    return out;
  }

  test('subscription_succeeded on b and c carries the cluster member list: count, ids and hash with user_info', async () => {
    const ch = uniq('presence-list-');
    const [alice, bob, carol] = await joinInOrder(ch, [[a, ALICE], [b, BOB], [c, CAROL]]);
    assert.deepEqual(snapshot(alice, ch), { count: 1, ids: ['alice'], hash: pick('alice') });
    assert.deepEqual(snapshot(bob, ch), { count: 2, ids: ['alice', 'bob'], hash: pick('alice', 'bob') });
    assert.deepEqual(snapshot(carol, ch), { count: 3, ids: ['alice', 'bob', 'carol'], hash: pick('alice', 'bob', 'carol') });
    assert.deepEqual(membersView(carol, ch), { count: 3, members: pick('alice', 'bob', 'carol') });
    assert.deepEqual(carol.channel(ch).members.me, { id: 'carol', info: { name: 'Carol' } });
  });

  test('member_added reaches every other subscriber on every node, never the joining socket; members.count is cluster-wide', async () => {
    const ch = uniq('presence-added-');
    const [alice, bob, carol] = await joinInOrder(ch, [[a, ALICE], [b, BOB], [c, CAROL]]);
    await eventually(() => addedIds(alice, ch), ['bob', 'carol'], CROSS_NODE_MS, 'member_added frames seen by alice on a');
    await eventually(() => addedIds(bob, ch), ['carol'], CROSS_NODE_MS, 'member_added frames seen by bob on b');
    assert.deepEqual(frames(alice, ch, 'pusher_internal:member_added'), [
      { user_id: 'bob', user_info: { name: 'Bob' } },
      { user_id: 'carol', user_info: { name: 'Carol' } },
    ]);
    await sleep(300);
    assert.deepEqual(addedIds(carol, ch), [], 'the joining socket gets no member_added for itself');
    for (const client of [alice, bob, carol])
      assert.deepEqual(membersView(client, ch), { count: 3, members: pick('alice', 'bob', 'carol') }, `pusher-js members on ${client.node.name}`);
  });

  test('a member leaving on one node is member_removed on every other node, and members.count drops', async () => {
    const ch = uniq('presence-removed-');
    const [alice, bob, carol] = await joinInOrder(ch, [[a, ALICE], [b, BOB], [c, CAROL]]);
    await sleep(SETTLE_MS);
    const gone = [];
    alice.channel(ch).bind('pusher:member_removed', (m) => gone.push(m));
    bob.unsubscribe(ch);
    await eventually(() => removedIds(alice, ch), ['bob'], CROSS_NODE_MS, 'member_removed frames seen by alice on a');
    await eventually(() => removedIds(carol, ch), ['bob'], CROSS_NODE_MS, 'member_removed frames seen by carol on c');
    assert.deepEqual(frames(alice, ch, 'pusher_internal:member_removed'), [{ user_id: 'bob' }]);
    assert.deepEqual(gone, [{ id: 'bob', info: { name: 'Bob' } }], 'pusher-js pusher:member_removed on a');
    assert.deepEqual(membersView(alice, ch), { count: 2, members: pick('alice', 'carol') });
    assert.deepEqual(membersView(carol, ch), { count: 2, members: pick('alice', 'carol') });

    carol.disconnect();
    await eventually(() => removedIds(alice, ch), ['bob', 'carol'], CROSS_NODE_MS, 'a disconnect on c is member_removed on a');
    assert.deepEqual(membersView(alice, ch), { count: 1, members: pick('alice') });
  });

  test('one user with sockets on b and c is one member: one member_added, member_removed only after the last socket leaves', async () => {
    const ch = uniq('presence-twice-');
    const [alice, bob1] = await joinInOrder(ch, [[a, ALICE], [b, BOB]]);
    await sleep(SETTLE_MS);
    const bob2 = cl.client(c, app, { presence: BOB });
    await join(bob2, ch);
    assert.deepEqual(snapshot(bob2, ch), { count: 2, ids: ['alice', 'bob'], hash: pick('alice', 'bob') },
      "bob's second socket (c) sees bob once in its snapshot");
    await eventually(() => addedIds(alice, ch), ['bob'], CROSS_NODE_MS, 'member_added frames seen by alice on a');
    await stays(() => addedIds(alice, ch), ['bob'], 1000, "bob's second socket is not a new member on a");
    assert.deepEqual(addedIds(bob1, ch), [], "bob's first socket gets no member_added for bob's second one");
    assert.deepEqual(membersView(alice, ch), { count: 2, members: pick('alice', 'bob') });

    bob1.disconnect();
    await stays(() => removedIds(alice, ch), [], 1500, 'bob still has a socket on c: no member_removed on a');
    assert.deepEqual(membersView(alice, ch), { count: 2, members: pick('alice', 'bob') });

    bob2.unsubscribe(ch);
    await eventually(() => removedIds(alice, ch), ['bob'], CROSS_NODE_MS, "member_removed on a once bob's last socket (c) left");
    assert.deepEqual(membersView(alice, ch), { count: 1, members: pick('alice') });
  });

  test('--max-presence-members 2 holds for the cluster: a third user on c gets LimitReached 4009; a member\'s extra socket and a freed place are accepted', async () => {
    const ch = uniq('presence-full-');
    const one = { user_id: 'one', user_info: {} };
    const two = { user_id: 'two', user_info: {} };
    const three = { user_id: 'three', user_info: {} };
    const [, onB] = await joinInOrder(ch, [[a, one], [b, two]], smallApp);
    await sleep(SETTLE_MS);
    const refused = cl.client(c, smallApp, { presence: three });
    await waitFor(() => refused.connection.state === 'connected', 5000, 'connected');
    assert.deepEqual(await joinRefused(refused, ch),
      { type: 'LimitReached', error: 'Presence channel is full: at most 2 members', status: 4009 });
    refused.disconnect();

    const oneAgain = cl.client(c, smallApp, { presence: one });
    await join(oneAgain, ch);
    assert.deepEqual(snapshot(oneAgain, ch), { count: 2, ids: ['one', 'two'], hash: { one: {}, two: {} } });

    onB.disconnect();
    let admitted;
    await waitFor(async () => {
      const attempt = cl.client(c, smallApp, { presence: three });
      try {
        await join(attempt, ch);
        admitted = attempt;
        return true;
      } catch {
        attempt.disconnect();
        await sleep(200);
        return false;
      }
    }, CROSS_NODE_MS + 2000, 'a place for a third user once two left on b');
    assert.deepEqual(snapshot(admitted, ch), { count: 2, ids: ['one', 'three'], hash: { one: {}, three: {} } });
  });

  test('snapshots stay consistent with the events that follow while members join and leave on other nodes', async () => {
    const ch = uniq('presence-race-');
    const nodes = [a, b, c];
    // Eight joiners alternate between b and c, 25 ms apart; the first two leave as soon as they
    // are in. Three observers join on a, b and c meanwhile, 60 ms apart.
    const joiners = Array.from({ length: 8 }, (_, i) => cl.client(nodes[1 + (i % 2)], app, { presence: { user_id: `u${i}`, user_info: { i } } }));
    const observers = nodes.map((n) => cl.client(n, app, { presence: { user_id: `obs-${n.name}`, user_info: { node: n.name } } }));
    await Promise.all([
      ...joiners.map(async (client, i) => {
        await sleep(25 * i);
        await join(client, ch);
        if (i < 2) client.unsubscribe(ch);
      }),
      ...observers.map(async (client, i) => {
        await sleep(60 * i);
        await join(client, ch);
      }),
    ]);
    const expected = {
      count: 9,
      members: Object.fromEntries([
        ...['a', 'b', 'c'].map((n) => [`obs-${n}`, { node: n }]),
        ...[2, 3, 4, 5, 6, 7].map((i) => [`u${i}`, { i }]),
      ].sort(([x], [y]) => (x < y ? -1 : 1))),
    };
    for (const client of [...observers, ...joiners.slice(2)])
      await eventually(() => membersView(client, ch), expected, CROSS_NODE_MS, `pusher-js members of ${client.channel(ch).members.myID} on ${client.node.name}`);
    for (const node of nodes)
      await eventually(() => userIds(node, app, ch), Object.keys(expected.members), CROSS_NODE_MS, `GET users on ${node.name}`);
  });

  test('client events on a presence channel cross nodes with the sender\'s user_id and are not echoed', async () => {
    const ch = uniq('presence-chat-');
    const [alice, bob, carol] = await joinInOrder(ch, [[a, ALICE], [b, BOB], [c, CAROL]]);
    const got = [];
    for (const client of [bob, carol]) client.channel(ch).bind('client-hello', (data, meta) => got.push([client.node.name, data, meta]));
    alice.channel(ch).trigger('client-hello', { text: 'hi' });
    await waitFor(() => got.length === 2, CROSS_NODE_MS, 'bob and carol to receive');
    assert.deepEqual(got.sort(), [['b', { text: 'hi' }, { user_id: 'alice' }], ['c', { text: 'hi' }, { user_id: 'alice' }]]);
    await sleep(300);
    assert.deepEqual(frames(alice, ch, 'client-hello'), []);
  });

  describe('watchlists see every node', () => {
    const watchlistFrames = (client) => client.wire
      .filter((m) => m.event === 'pusher_internal:watchlist_events')
      .map((m) => (typeof m.data === 'string' ? JSON.parse(m.data) : m.data).events);

    async function signedIn(node, user) {
      const client = cl.client(node, app, { user });
      await waitFor(() => client.connection.state === 'connected', 5000, 'connected');
      client.signin();
      await waitFor(() => client.user.user_data?.id === user.id, 5000, `${user.id} signed in on ${node.name}`);
      return client;
    }

    test('on signin on a, the watchlist state counts a user signed in only on c as online', async () => {
      const online = uniq('on-'), offline = uniq('off-');
      await signedIn(c, { id: online });
      await sleep(SETTLE_MS);
      const watcher = await signedIn(a, { id: uniq('watcher-'), watchlist: [online, offline] });
      await waitFor(() => watchlistFrames(watcher).length >= 1, CROSS_NODE_MS, 'watchlist state');
      assert.deepEqual(watchlistFrames(watcher)[0], [
        { name: 'online', user_ids: [online] },
        { name: 'offline', user_ids: [offline] },
      ]);
    });

    test('online when the first socket anywhere signs in, offline only when the last one anywhere goes', async () => {
      const friend = uniq('friend-');
      const watcher = await signedIn(a, { id: uniq('watcher-'), watchlist: [friend] });
      await waitFor(() => watchlistFrames(watcher).length >= 1, CROSS_NODE_MS, 'watchlist state');
      assert.deepEqual(watchlistFrames(watcher), [[{ name: 'offline', user_ids: [friend] }]]);
      const changes = () => watchlistFrames(watcher).slice(1);

      const onB = await signedIn(b, { id: friend });
      await eventually(changes, [[{ name: 'online', user_ids: [friend] }]], CROSS_NODE_MS, 'online on a after a signin on b');
      const onC = await signedIn(c, { id: friend });
      await stays(changes, [[{ name: 'online', user_ids: [friend] }]], 1000, 'a second socket on c is not a new online');
      onB.disconnect();
      await stays(changes, [[{ name: 'online', user_ids: [friend] }]], 4000, 'still online through the socket on c');
      onC.disconnect();
      await eventually(changes, [[{ name: 'online', user_ids: [friend] }], [{ name: 'offline', user_ids: [friend] }]], 6000,
        'offline on a once the last socket (c) closed');
    });
  });
});
