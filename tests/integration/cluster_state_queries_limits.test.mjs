// Cluster-wide counts, REST queries and limits (CLUSTER_SPEC.md "Counts and REST queries",
// "Limits", "User state", "Node ids"): three nodes a, b, c on one private Redis. Every query is
// asked on c, which has no subscriber at all, and then on a and b: all three must answer the
// cluster totals. Plus pusher_internal:subscription_count with the cluster total, the per-app
// connection quota over the cluster, the cross-node deliveries that already exist (events,
// server-to-user, terminate_connections) and the refusal of a duplicate RT_NODE_ID.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, createApp, freePort, startServer } from '../harness/index.mjs';
import { RawClient, handshakeFailure, wsUrl } from './helpers.mjs';
import {
  Cluster, alive, eventually, frames, get, getJson, rawConnect, join, restClient, sdk, sleep, stays, uniq, waitFor, health, readyStatus,
} from './cluster_helpers.mjs';

const CROSS_NODE_MS = 3000;

const ALICE = { user_id: 'alice', user_info: { name: 'Alice' } };
const BOB = { user_id: 'bob', user_info: { name: 'Bob' } };
const CAROL = { user_id: 'carol', user_info: { name: 'Carol' } };

describe('cluster-wide counts, queries and limits on three nodes', { timeout: 110000 }, () => {
  let cl, db, app, liveApp, quotaApp, a, b, c, nodes;
  const fixture = {};

  before(async () => {
    db = createDatabase();
    // `app` only holds the fixture below, so GET /channels has exact expected values.
    app = createApp(db, ['--subscription-count', '--read-requests-per-second', '1000'], 'cluster-queries');
    liveApp = createApp(db, ['--client-events', '--user-auth', '--subscription-count', '--read-requests-per-second', '1000'], 'cluster-live');
    quotaApp = createApp(db, ['--max-connections', '4'], 'cluster-quota');
    cl = new Cluster(db);
    await cl.startRedis(await freePort());
    [a, b, c] = await Promise.all([
      cl.startNode('a', '420001'), cl.startNode('b', '420002'), cl.startNode('c', '420003'),
    ]);
    nodes = [c, a, b];
    // Fixture: nothing on c. On a: p1 (alice), p2 (bob). On b: p3 (bob), p4 (carol).
    //   presence-lobby: p1 p2 p3 p4 (users alice, bob, carol)   feed-ab: p1 p2 p4
    //   feed-a: p1   feed-b: p3   private-ops: p3
    const p1 = cl.client(a, app, { presence: ALICE });
    const p2 = cl.client(a, app, { presence: BOB });
    const p3 = cl.client(b, app, { presence: BOB });
    const p4 = cl.client(b, app, { presence: CAROL });
    for (const [client, channels] of [
      [p1, ['presence-lobby', 'feed-ab', 'feed-a']],
      [p2, ['presence-lobby', 'feed-ab']],
      [p3, ['presence-lobby', 'feed-b', 'private-ops']],
      [p4, ['presence-lobby', 'feed-ab']],
    ]) for (const ch of channels) await join(client, ch);
    Object.assign(fixture, { p1, p2, p3, p4 });
  });

  after(async () => {
    await cl?.shutdown();
  });

  /** Asserts that query(node) answers expected on c, then a, then b (each within 3 s). */
  async function onEveryNode(query, expected, what) {
    for (const node of nodes)
      await eventually(() => query(node), expected, CROSS_NODE_MS, `${what} asked on ${node.name}`);
  }

  describe('REST queries answer cluster totals on every node, c having no subscriber', () => {
    test('GET /channels/{name}?info=subscription_count counts the sockets of every node', async () => {
      for (const [ch, n] of [['feed-ab', 3], ['feed-a', 1], ['feed-b', 1], ['private-ops', 1]])
        await onEveryNode((node) => getJson(node, app, `/channels/${ch}`, { info: 'subscription_count' }),
          { occupied: true, subscription_count: n }, `${ch} subscription_count`);
      await onEveryNode((node) => getJson(node, app, '/channels/never-used', { info: 'subscription_count' }),
        { occupied: false, subscription_count: 0 }, 'never-used subscription_count');
    });

    test('GET /channels/{name} answers {"occupied":true} when only another node has a subscriber', async () => {
      await onEveryNode((node) => getJson(node, app, '/channels/private-ops'), { occupied: true }, 'private-ops');
      await onEveryNode((node) => getJson(node, app, '/channels/feed-a'), { occupied: true }, 'feed-a');
    });

    test('GET /channels/{presence}?info=user_count,subscription_count: 3 users over 4 sockets on a and b', async () => {
      await onEveryNode((node) => getJson(node, app, '/channels/presence-lobby', { info: 'user_count,subscription_count' }),
        { occupied: true, user_count: 3, subscription_count: 4 }, 'presence-lobby counts');
    });

    test('GET /channels lists every occupied channel of the app on any node', async () => {
      await onEveryNode((node) => getJson(node, app, '/channels'), {
        channels: { 'feed-a': {}, 'feed-ab': {}, 'feed-b': {}, 'presence-lobby': {}, 'private-ops': {} },
      }, 'GET /channels');
    });

    test('GET /channels?filter_by_prefix=feed-&info=subscription_count has the cluster count of each channel', async () => {
      await onEveryNode((node) => getJson(node, app, '/channels', { filter_by_prefix: 'feed-', info: 'subscription_count' }), {
        channels: { 'feed-a': { subscription_count: 1 }, 'feed-ab': { subscription_count: 3 }, 'feed-b': { subscription_count: 1 } },
      }, 'GET /channels feed- subscription_count');
    });

    test('GET /channels?filter_by_prefix=presence-&info=user_count counts each user once over the cluster', async () => {
      await onEveryNode((node) => getJson(node, app, '/channels', { filter_by_prefix: 'presence-', info: 'user_count' }),
        { channels: { 'presence-lobby': { user_count: 3 } } }, 'GET /channels presence- user_count');
    });

    test('GET /channels/{presence}/users lists every member id once', async () => {
      await onEveryNode(async (node) => {
        const body = await getJson(node, app, '/channels/presence-lobby/users');
        return { users: [...body.users].sort((x, y) => (x.id < y.id ? -1 : 1)) };
      }, { users: [{ id: 'alice' }, { id: 'bob' }, { id: 'carol' }] }, 'GET users');
    });

    test('trigger on c with info=user_count,subscription_count answers cluster totals and delivers once to each subscriber', async () => {
      const { p1, p2, p4 } = fixture;
      const res = await sdk(restClient(c, app).trigger(['presence-lobby', 'feed-ab'], 'news', { n: 1 }, { info: 'user_count,subscription_count' }));
      assert.deepEqual(res, { status: 200, body: { channels: {
        'presence-lobby': { user_count: 3, subscription_count: 4 },
        'feed-ab': { subscription_count: 3 },
      } } });
      for (const client of [p1, p2, p4])
        await eventually(() => frames(client, 'feed-ab', 'news'), [{ n: 1 }], CROSS_NODE_MS, `feed-ab news on ${client.node.name}`);
    });

    test('batch_events on c with info answers an index-aligned list of cluster totals', async () => {
      const res = await sdk(restClient(c, app).triggerBatch([
        { channel: 'presence-lobby', name: 'e', data: '1', info: 'user_count' },
        { channel: 'feed-ab', name: 'e', data: '2' },
        { channel: 'feed-a', name: 'e', data: '3', info: 'subscription_count' },
        { channel: 'feed-ab', name: 'e', data: '4', info: 'subscription_count' },
      ]));
      assert.deepEqual(res, { status: 200, body: { batch: [{ user_count: 3 }, {}, { subscription_count: 1 }, { subscription_count: 3 }] } });
    });

    test('when sockets on a leave, every node drops them from the counts and GET /channels', async () => {
      const { p1, p2 } = fixture;
      p1.unsubscribe('feed-a');
      await onEveryNode((node) => getJson(node, app, '/channels/feed-a', { info: 'subscription_count' }),
        { occupied: false, subscription_count: 0 }, 'feed-a after its only subscriber left');
      p2.disconnect();
      await onEveryNode((node) => getJson(node, app, '/channels/presence-lobby', { info: 'user_count,subscription_count' }),
        { occupied: true, user_count: 3, subscription_count: 3 }, 'presence-lobby after bob\'s socket on a closed (bob still on b)');
      await onEveryNode((node) => getJson(node, app, '/channels', { filter_by_prefix: 'feed-', info: 'subscription_count' }), {
        channels: { 'feed-ab': { subscription_count: 2 }, 'feed-b': { subscription_count: 1 } },
      }, 'GET /channels feed- after the leaves');
    });
  });

  test('pusher_internal:subscription_count carries the cluster total to every node, about once a second per node', async () => {
    const ch = uniq('counted-');
    const counts = (client) => frames(client, ch, 'pusher_internal:subscription_count').map((d) => d.subscription_count);
    const watchers = [a, b, c].map((n) => cl.client(n, liveApp));
    for (const w of watchers) await join(w, ch);
    await eventually(() => watchers.map((w) => counts(w).at(-1)), [3, 3, 3], CROSS_NODE_MS, 'last count seen by the watchers on a, b, c');

    // A burst of 20 subscribes on b and c: the watcher on a must end at 23 without being sent
    // one count per subscribe.
    const marks = watchers.map((w) => counts(w).length);
    const burst = Array.from({ length: 20 }, (_, i) => cl.client(i % 2 ? b : c, liveApp));
    const started = Date.now();
    await Promise.all(burst.map((client) => join(client, ch)));
    await eventually(() => watchers.map((w) => counts(w).at(-1)), [23, 23, 23], 4000, 'last count after the burst');
    await sleep(Math.max(0, 4000 - (Date.now() - started)));
    for (const [i, w] of watchers.entries()) {
      const sent = counts(w).length - marks[i];
      assert.ok(sent <= 6, `${w.node.name}: ${sent} subscription_count frames within 4 s of a burst of 20 subscribes (coalesced: about 1/s)`);
    }
    assert.deepEqual(counts(burst[0]).at(-1), 23);

    for (const client of burst.slice(0, 10)) client.disconnect();
    await eventually(() => watchers.map((w) => counts(w).at(-1)), [13, 13, 13], 4000, 'last count after 10 disconnects');
  });

  test('a rate below one event per second per node still lets each node take a whole event (2/s over 3 nodes)', async () => {
    const slow = createApp(db, ['--backend-events-per-second', '2', '--read-requests-per-second', '2'], 'cluster-slow-rate');
    // Each node knows the app once a read is no longer 404 (its first read takes the token).
    for (const node of nodes) await waitFor(async () => (await get(node, slow, '/channels')).status !== 404, 5000, `the app on ${node.name}`);
    await sleep(1600); // 2/3 token per second per node: the read buckets are full again
    for (const node of nodes) {
      const r = await sdk(restClient(node, slow).trigger('slow-rate', 'tick', { n: 1 }));
      assert.equal(r.status, 200, `trigger on ${node.name}: ${JSON.stringify(r.body)}`);
      assert.equal((await get(node, slow, '/channels')).status, 200, `read on ${node.name}`);
    }
  });

  // A node publishes its total with its heartbeat (every second) and refreshes the others'
  // totals every second: a new total is seen everywhere within about 2 s.
  const QUOTA_REFRESH_MS = 2500;

  test('--max-connections 4 holds for the cluster: a fifth socket anywhere gets 4004 once the nodes have refreshed (≤ 2.5 s)', async () => {
    const raws = [];
    const open = async (node) => {
      const r = await rawConnect(wsUrl(node, quotaApp.key));
      raws.push(r);
      return r;
    };
    const refused = async (node) => {
      const { closed, messages } = await handshakeFailure(wsUrl(node, quotaApp.key));
      return { messages, closed: closed && { code: closed.code, reason: closed.reason } };
    };
    const QUOTA = {
      messages: [{ event: 'pusher:error', data: { code: 4004, message: 'Application is over connection quota' } }],
      closed: { code: 4004, reason: 'Application is over connection quota' },
    };
    try {
      const first = await open(a);
      await open(a);
      await open(b);
      await open(c);
      await sleep(QUOTA_REFRESH_MS);
      for (const node of [c, a, b]) assert.deepEqual(await refused(node), QUOTA, `a fifth socket on ${node.name}`);

      first.close();
      await first.closed;
      await waitFor(async () => {
        const r = new RawClient(wsUrl(c, quotaApp.key));
        const m = await r.next((x) => x.event === 'pusher:connection_established' || x.event === 'pusher:error').catch(() => null);
        if (m?.event === 'pusher:connection_established') { raws.push(r); return true; }
        r.close();
        await sleep(250);
        return false;
      }, QUOTA_REFRESH_MS + 1000, 'the freed place to be usable on c');
      await sleep(QUOTA_REFRESH_MS);
      assert.deepEqual(await refused(b), QUOTA, 'full again: a fifth socket on b');
      for (const r of raws) assert.equal(r.isClosed, r === first, 'the admitted sockets stay open');
    } finally {
      for (const r of raws) r.close();
    }
  });

  describe('deliveries that already cross nodes', () => {
    test('an event triggered on c reaches the subscribers on a and b exactly once', async () => {
      const ch = uniq('cross-');
      const onA = cl.client(a, liveApp), onB = cl.client(b, liveApp);
      await join(onA, ch);
      await join(onB, ch);
      assert.equal((await sdk(restClient(c, liveApp).trigger(ch, 'story', { id: 7 }))).status, 200);
      for (const client of [onA, onB]) await eventually(() => frames(client, ch, 'story'), [{ id: 7 }], CROSS_NODE_MS, `story on ${client.node.name}`);
      await stays(() => [frames(onA, ch, 'story').length, frames(onB, ch, 'story').length], [1, 1], 300, 'delivered once');
    });

    async function signedIn(node, id) {
      const client = cl.client(node, liveApp, { user: { id } });
      await waitFor(() => client.connection.state === 'connected', 5000, 'connected');
      client.signin();
      await waitFor(() => client.user.serverToUserChannel?.subscribed, 5000, `${id} signed in on ${node.name}`);
      return client;
    }

    test('sendToUser on c reaches every socket of the user on a and b', async () => {
      const id = uniq('s2u-');
      const onA = await signedIn(a, id), onB = await signedIn(b, id);
      assert.equal((await sdk(restClient(c, liveApp).sendToUser(id, 'notice', { text: 'hello' }))).status, 200);
      for (const client of [onA, onB])
        await eventually(() => frames(client, `#server-to-user-${id}`, 'notice'), [{ text: 'hello' }], CROSS_NODE_MS, `notice on ${client.node.name}`);
    });

    test('terminate_connections on c closes the user\'s sockets on a and b with 4009 and spares others', async () => {
      const id = uniq('term-');
      const onA = await signedIn(a, id), onB = await signedIn(b, id), bystander = await signedIn(a, uniq('other-'));
      const errors = new Set();
      for (const client of [onA, onB]) client.connection.bind('error', (e) => e?.data?.code !== undefined && errors.add(`${client.node.name} ${e.data.code}`));
      assert.deepEqual(await sdk(restClient(c, liveApp).terminateUserConnections(id)), { status: 200, body: {} });
      await eventually(() => [...errors].sort(), ['a 4009', 'b 4009'], CROSS_NODE_MS, 'pusher-js error 4009 on a and b');
      await waitFor(() => onA.connection.state !== 'connected' && onB.connection.state !== 'connected', CROSS_NODE_MS, 'both closed');
      assert.equal(bystander.connection.state, 'connected');
    });
  });

  test('a second live node with the RT_NODE_ID of a logs one error line naming RT_NODE_ID and exits with 2; a is unaffected', async () => {
    const dup = await startServer({ dbUrl: db, redisUrl: cl.redis.url, env: { RT_NODE_ID: a.nodeId }, waitReady: false });
    try {
      const exit = await Promise.race([dup.exited, sleep(25000).then(() => null)]);
      assert.ok(exit, `the duplicate node was still running after 25 s (/ready ${await readyStatus(dup).catch(() => 'refused')})`);
      assert.deepEqual(exit, { code: 2, signal: null });
      // A logged error ("<time> error ...") or a fatal start-up line ("rtserver: ...").
      const errorLines = dup.logs().split('\n').filter((l) => /^\S+ error |^rtserver: /.test(l));
      assert.equal(errorLines.length, 1, `error lines:\n${dup.logs()}`);
      assert.match(errorLines[0], /RT_NODE_ID/);
    } finally {
      if (alive(dup)) { dup.proc.kill('SIGKILL'); await dup.exited; }
    }
    assert.deepEqual((await health(a)).json.redis, 'connected');
    const ch = uniq('after-dup-');
    const onA = cl.client(a, liveApp);
    await join(onA, ch);
    await sdk(restClient(b, liveApp).trigger(ch, 'still', 1));
    await eventually(() => frames(onA, ch, 'still'), [1], CROSS_NODE_MS, 'a still receives events from b');
  });
});
