// Redis connected but not reading (docs/cluster.md "Failures"): a private redis-server is
// stopped with SIGSTOP while clients on a node send client events that all go to Redis. hiredis
// would buffer them without bound. With RT_REDIS_MAX_OUTPUT_KB the node drops the connection
// once more than the cap waits; with RT_REDIS_WRITE_TIMEOUT once output has waited that long
// without the socket taking any; with RT_REDIS_REPLY_TIMEOUT, without load, once a PING has
// waited that long for its reply. Either way it says so once, counts it, keeps serving its own
// clients (degraded), does not fill the buffer again while Redis stays stopped, and is ok again
// once Redis reads (SIGCONT).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, createApp, freePort } from '../harness/index.mjs';
import {
  Cluster, SANITIZED, RssSampler, addedIds, alive, eventually, frames, getJson, health, join, membersView, removedIds,
  restClient, sdk, sleep, stays, userIds, waitFor,
} from './cluster_helpers.mjs';

const BUS_DOWN = { error: 'Cluster bus unavailable: the event was not delivered' };
const APP_FLAGS = ['--client-events', '--client-events-per-second', '100'];
// Load: 16 sockets in 8 private channels, each sending 50 client events/s of ~8 KB: about
// 6 MB/s, every event PUBLISHed to Redis.
const PAIRS = 8, PER_SECOND = 50, PAD = 'x'.repeat(8000);

/** The value of one unlabelled series in a /metrics text, or undefined. */
async function metric(node, name) {
  const text = await (await fetch(`${node.url}/metrics`, { signal: AbortSignal.timeout(3000) })).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

const logLines = (node, re) => node.logs().split('\n').filter((l) => re.test(l));

const healthView = async (node) => {
  const h = await health(node);
  return { http: h.status, status: h.json.status, redis: h.json.redis };
};

/**
 * One node on a private Redis, with x and y on private-pair (y also on feed) and PAIRS pairs of
 * load sockets. load(ms) runs the load for ms and resolves with {sent, received, peakKb} once
 * every event arrived (or 5 s).
 */
async function stallSetup(name, nodeId, env) {
  const db = createDatabase();
  const app = createApp(db, APP_FLAGS, `redis-stall-${name}`);
  const cl = new Cluster(db);
  await cl.startRedis(await freePort());
  const node = await cl.startNode(name, nodeId, { env });
  const x = cl.client(node, app), y = cl.client(node, app);
  await join(x, 'private-pair');
  await join(y, 'private-pair');
  await join(y, 'feed');
  const pairs = [];
  for (let i = 0; i < PAIRS; i++) {
    const ch = `private-load-${i}`;
    const pair = [cl.client(node, app, { record: false }), cl.client(node, app, { record: false })];
    for (const client of pair) await join(client, ch);
    pairs.push({ ch, pair, received: 0 });
    for (const client of pair) client.channel(ch).bind('client-load', () => pairs[i].received++);
  }
  async function load(ms) {
    const sampler = new RssSampler([node]);
    for (const p of pairs) p.received = 0;
    let sent = 0;
    const timers = pairs.flatMap(({ ch, pair }) => pair.map((client) => setInterval(() => {
      client.channel(ch).trigger('client-load', { seq: sent++, pad: PAD });
    }, 1000 / PER_SECOND)));
    await sleep(ms);
    timers.forEach(clearInterval);
    const received = () => pairs.reduce((n, p) => n + p.received, 0);
    await waitFor(() => received() === sent, 5000, 'every client event delivered locally').catch(() => {});
    await sleep(200); // nothing more arrives
    return { sent, received: received(), peakKb: sampler.stop().get(name) };
  }
  const shutdown = async () => {
    cl.redis?.proc?.kill('SIGCONT');
    await cl.shutdown();
  };
  return { cl, app, node, x, y, load, shutdown };
}

/** x's client event reaches y on the same node within 2 s. */
async function localClientEvent(x, y, n) {
  const got = new Promise((resolve) => y.channel('private-pair').bind('client-ping', resolve));
  x.channel('private-pair').trigger('client-ping', { n });
  assert.deepEqual(await Promise.race([got, sleep(2000).then(() => 'nothing within 2 s')]), { n });
}

const CAP_KB = 1024;
// Over the cap: the allocator's slack and whatever else the node allocates meanwhile.
const RSS_BOUND_KB = SANITIZED ? 256 * 1024 : CAP_KB + 8 * 1024;

describe(`Redis stopped (SIGSTOP) under load, RT_REDIS_MAX_OUTPUT_KB=${CAP_KB}`, { timeout: 90000 }, () => {
  let s, a, baseline;
  before(async () => {
    s = await stallSetup('a', '440001', { RT_REDIS_MAX_OUTPUT_KB: String(CAP_KB) });
    a = s.node;
    // Warm up with Redis reading; the peak RSS of the warm-up is the baseline.
    baseline = (await s.load(2000)).peakKb;
  });
  after(async () => { await s?.shutdown(); });

  test(`~35 MB of client events while Redis is stopped: RSS stays within the warm-up peak + ${RSS_BOUND_KB / 1024} MiB, one warning naming RT_REDIS_MAX_OUTPUT_KB, rt_redis_output_overflows_total 1`, async (t) => {
    assert.equal(await metric(a, 'rt_redis_output_overflows_total'), 0, 'no overflow while Redis reads');
    s.cl.redis.proc.kill('SIGSTOP');
    const { sent, received, peakKb } = await s.load(6000);
    t.diagnostic(`sent ${sent} client events (${Math.round(sent * PAD.length / 1e6)} MB); RSS baseline ${baseline} KB, peak ${peakKb} KB (+${peakKb - baseline} KB)`);
    assert.ok(alive(a), 'a is alive');
    assert.equal(received, sent, 'every client event reached its peer on a');
    if (!SANITIZED) assert.ok(sent * PAD.length > 3 * RSS_BOUND_KB * 1024, `the load (${sent} events) is large against the bound`);
    assert.ok(peakKb - baseline <= RSS_BOUND_KB, `RSS peak ${peakKb} KB - baseline ${baseline} KB > ${RSS_BOUND_KB} KB`);
    const warnings = logLines(a, /RT_REDIS_MAX_OUTPUT_KB/);
    assert.equal(warnings.length, 1, `one warning naming the cap:\n${warnings.join('\n')}`);
    assert.match(warnings[0], /unreachable .*over RT_REDIS_MAX_OUTPUT_KB=1024; connection dropped/);
    assert.equal(await metric(a, 'rt_redis_output_overflows_total'), 1);
    assert.equal(await metric(a, 'rt_redis_write_timeouts_total'), 0);
  });

  test('Redis still stopped: a is degraded, refuses REST publishes with 503, still relays client events between its sockets, and does not fill the buffer again', async () => {
    assert.deepEqual(await healthView(a), { http: 200, status: 'degraded', redis: 'disconnected' });
    assert.deepEqual(await sdk(restClient(a, s.app).trigger('feed', 'lost', { n: 1 })), { status: 503, body: BUS_DOWN });
    await localClientEvent(s.x, s.y, 1);
    // The reconnect reached the stopped Redis's kernel; the node waits for an answer to PING
    // instead of queueing the load on that connection as well.
    const { sent, received } = await s.load(3000);
    assert.equal(received, sent, 'every client event reached its peer on a');
    assert.equal(await metric(a, 'rt_redis_output_overflows_total'), 1, 'no second overflow');
    assert.equal(logLines(a, /unreachable/).length, 1, 'still the one warning');
    assert.deepEqual(await healthView(a), { http: 200, status: 'degraded', redis: 'disconnected' });
  });

  test('SIGCONT: within 10 s a is ok again, says so, and REST publishes are delivered', async () => {
    s.cl.redis.proc.kill('SIGCONT');
    await eventually(() => healthView(a), { http: 200, status: 'ok', redis: 'connected' }, 10000, '/health on a');
    assert.equal(logLines(a, /reachable again/).length, 1);
    assert.deepEqual(await sdk(restClient(a, s.app).trigger('feed', 'back', { n: 2 })), { status: 200, body: {} });
    await eventually(() => frames(s.y, 'feed', 'back'), [{ n: 2 }], 3000, 'the event on a\'s subscriber');
    assert.deepEqual(frames(s.y, 'feed', 'lost'), [], 'the refused publish was delivered to nobody');
    assert.equal(await metric(a, 'rt_redis_output_overflows_total'), 1);
  });
});

describe('Redis stopped (SIGSTOP) under a load below the cap, RT_REDIS_WRITE_TIMEOUT=2', { timeout: 90000 }, () => {
  let s, b;
  before(async () => {
    s = await stallSetup('b', '440002', { RT_REDIS_WRITE_TIMEOUT: '2' });
    b = s.node;
  });
  after(async () => { await s?.shutdown(); });

  test('~15 MB of client events then quiet: once output waited 2 s unwritten, b drops the connection, with one warning naming RT_REDIS_WRITE_TIMEOUT, rt_redis_write_timeouts_total 1, and is degraded', async () => {
    s.cl.redis.proc.kill('SIGSTOP');
    // More than the kernel buffers of the connection take, far less than the 64 MB cap.
    const { sent, received } = await s.load(2500);
    assert.equal(received, sent, 'every client event reached its peer on b');
    await eventually(() => metric(b, 'rt_redis_write_timeouts_total'), 1, 6000, 'rt_redis_write_timeouts_total');
    assert.deepEqual(await healthView(b), { http: 200, status: 'degraded', redis: 'disconnected' });
    assert.equal(await metric(b, 'rt_redis_output_overflows_total'), 0);
    const warnings = logLines(b, /unreachable/);
    assert.equal(warnings.length, 1, `one warning:\n${warnings.join('\n')}`);
    assert.match(warnings[0], /nothing written for RT_REDIS_WRITE_TIMEOUT=2 s with \d+ KB waiting; connection dropped/);
    assert.deepEqual(await sdk(restClient(b, s.app).trigger('feed', 'lost', { n: 1 })), { status: 503, body: BUS_DOWN });
    await localClientEvent(s.x, s.y, 1);
    await sleep(3000);
    assert.equal(await metric(b, 'rt_redis_write_timeouts_total'), 1, 'the reconnect waiting for PING is not given up again');
  });

  test('SIGCONT: within 10 s b is ok again and REST publishes are delivered', async () => {
    s.cl.redis.proc.kill('SIGCONT');
    await eventually(() => healthView(b), { http: 200, status: 'ok', redis: 'connected' }, 10000, '/health on b');
    assert.deepEqual(await sdk(restClient(b, s.app).trigger('feed', 'back', { n: 2 })), { status: 200, body: {} });
    await eventually(() => frames(s.y, 'feed', 'back'), [{ n: 2 }], 3000, 'the event on b\'s subscriber');
  });
});

describe('Redis stopped (SIGSTOP) with no load, RT_REDIS_REPLY_TIMEOUT=2', { timeout: 60000 }, () => {
  let s, d;
  before(async () => {
    s = await stallSetup('d', '440004', { RT_REDIS_REPLY_TIMEOUT: '2' });
    d = s.node;
  });
  after(async () => { await s?.shutdown(); });

  test('a PING unanswered for 2 s: d drops the connection, with one warning naming RT_REDIS_REPLY_TIMEOUT, rt_redis_reply_timeouts_total 1, and is degraded', async () => {
    // Nothing but the heartbeat goes to Redis: it all fits in the kernel's buffers, so neither
    // the cap nor the write timeout would ever notice.
    s.cl.redis.proc.kill('SIGSTOP');
    await eventually(() => metric(d, 'rt_redis_reply_timeouts_total'), 1, 6000, 'rt_redis_reply_timeouts_total');
    assert.deepEqual(await healthView(d), { http: 200, status: 'degraded', redis: 'disconnected' });
    assert.equal(await metric(d, 'rt_redis_write_timeouts_total'), 0);
    assert.equal(await metric(d, 'rt_redis_output_overflows_total'), 0);
    const warnings = logLines(d, /unreachable/);
    assert.equal(warnings.length, 1, `one warning:\n${warnings.join('\n')}`);
    assert.match(warnings[0], /no reply for RT_REDIS_REPLY_TIMEOUT=2 s; connection dropped/);
    assert.deepEqual(await sdk(restClient(d, s.app).trigger('feed', 'lost', { n: 1 })), { status: 503, body: BUS_DOWN });
    await localClientEvent(s.x, s.y, 2);
  });

  test('SIGCONT: within 10 s d is ok again and REST publishes are delivered', async () => {
    s.cl.redis.proc.kill('SIGCONT');
    await eventually(() => healthView(d), { http: 200, status: 'ok', redis: 'connected' }, 10000, '/health on d');
    assert.deepEqual(await sdk(restClient(d, s.app).trigger('feed', 'back', { n: 3 })), { status: 200, body: {} });
    await eventually(() => frames(s.y, 'feed', 'back'), [{ n: 3 }], 3000, 'the event on d\'s subscriber');
  });
});

describe('Redis stopped (SIGSTOP) for 7 s, longer than a dead node\'s 5 s, with presence on two nodes', { timeout: 60000 }, () => {
  let cl, app, p, q, alice, bob;
  const room = 'presence-room';
  before(async () => {
    const db = createDatabase();
    app = createApp(db, [], 'redis-stall-presence');
    cl = new Cluster(db);
    await cl.startRedis(await freePort());
    p = await cl.startNode('p', '440005');
    q = await cl.startNode('q', '440006');
    alice = cl.client(p, app, { presence: { user_id: 'alice', user_info: {} } });
    bob = cl.client(q, app, { presence: { user_id: 'bob', user_info: {} } });
    await join(alice, room);
    await join(bob, room);
    await eventually(() => [alice, bob].map((c) => membersView(c, room).count), [2, 2], 5000, 'both members on both nodes');
  });
  after(async () => {
    cl?.redis?.proc?.kill('SIGCONT');
    await cl?.shutdown();
  });

  test('SIGCONT: no live node is reaped (no member_removed/member_added pair), members and user counts stay right on both nodes', async () => {
    await sleep(1500); // both nodes have sent heartbeats since the joins
    const added = [alice, bob].map((c) => addedIds(c, room).length);
    // Shorter than RT_REDIS_REPLY_TIMEOUT (10 s): the nodes keep their connections, and the
    // heartbeats they queued meanwhile run the moment Redis reads again, each finding the
    // other's last beat 7 s old.
    cl.redis.proc.kill('SIGSTOP');
    await sleep(7000);
    cl.redis.proc.kill('SIGCONT');
    await stays(() => [alice, bob].map((c) => removedIds(c, room)), [[], []], 4000, 'no member_removed on either node');
    assert.deepEqual([alice, bob].map((c) => addedIds(c, room).length), added, 'no member_added either');
    for (const node of [p, q]) {
      assert.deepEqual(await userIds(node, app, room), ['alice', 'bob'], `members on ${node.name}`);
      assert.deepEqual(await getJson(node, app, `/channels/${room}`, { info: 'user_count' }),
        { occupied: true, user_count: 2 }, `user_count on ${node.name}`);
    }
  });
});

describe('SIGTERM while Redis is stopped', { timeout: 60000 }, () => {
  let s;
  before(async () => { s = await stallSetup('c', '440003', { RT_DRAIN_SECONDS: '0' }); });
  after(async () => { await s?.shutdown(); });

  test('the node exits 0 within 10 s instead of waiting for replies Redis will not send', async () => {
    s.cl.redis.proc.kill('SIGSTOP');
    await sleep(2500); // a heartbeat went out: its reply is pending
    await s.node.stop(); // SIGTERM; fails after 10 s, on a non-zero exit or a sanitizer report
    s.node.killed = true; // stopped already: shutdown() leaves it alone
  });
});
