// Hostile floods and slow consumers (EDGE_SPEC.md "Output budget"): a ping flood that never
// reads, a subscriber that never reads a busy channel, a 20k-channel subscribe flood and
// subscribe/unsubscribe churn. The server drops what exceeds its byte budget, rate-limits what
// exceeds its subscribe rate, coalesces subscription counts, and meanwhile a well-behaved
// pusher-js client receives every probe event within 1 s. Memory bounds (VmRSS of rtserver):
// at most baseline + 64 MiB at any time, and back within baseline + 16 MiB once the slow
// consumers are gone.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createApp, createDatabase, startServer } from '../harness/index.mjs';
import { RawClient, restClient, wsUrl } from './helpers.mjs';
import {
  KIB, MIB, OP, RawWs, RssTracker, Watch, destroyAll, healthStatus, encodeFrame, hostileEnv, metric, seconds, sleep, waitFor, within, RSS_PEAK_KB, RSS_AFTER_KB_BOUND } from './hostile_helpers.mjs';

const SOFT_SECONDS = seconds('RT_SEND_BUFFER_SOFT_SECONDS'); // 2 s
const CLOSE_TIMEOUT = seconds('RT_CLOSE_TIMEOUT'); // 2 s
const DROP_DEADLINE = SOFT_SECONDS + CLOSE_TIMEOUT + 2000; // 6 s: soft + close + margin
const RSS_BOUND_KB = RSS_PEAK_KB; // baseline + this at any time (see hostile_helpers.mjs)
const RSS_AFTER_KB = RSS_AFTER_KB_BOUND; // back within this of the baseline

let server, app, floodApp, countApp, watch, rss, baselineKb;
const raws = [];

before(async () => {
  const db = createDatabase();
  app = createApp(db, ['--max-payload-kb', '100', '--backend-events-per-second', '1000000'], 'hostile-floods');
  floodApp = createApp(db, [], 'hostile-subscribe-flood');
  countApp = createApp(db, ['--subscription-count'], 'hostile-churn');
  // RT_SEND_QUEUE_MAX far above what the byte budget allows, so the byte budget is what bounds
  // the slow consumers here (the frame count is only an additional bound).
  server = await startServer({ dbUrl: db, env: hostileEnv({ RT_SEND_QUEUE_MAX: '1000000' }) });
  watch = await Watch.start(server, app);
  rss = new RssTracker(server.proc.pid);
  baselineKb = rss.now();
});

after(async () => {
  for (const c of raws) c.close();
  destroyAll();
  watch?.stop();
  rss?.stop();
  await server?.stop(); // throws on a sanitizer report or an unclean exit
});

function assertHealthy(label, since) {
  assert.deepEqual(watch.failuresOf(label), [], `probe events later than 1 s during ${label}`);
  const peak = rss.peak(since);
  assert.ok(peak - baselineKb < RSS_BOUND_KB, `RSS peak ${peak} kB exceeds baseline ${baselineKb} kB + ${RSS_BOUND_KB / 1024} MiB during ${label}`);
}

/** RSS settles within baseline + 16 MiB (sampled for up to 2 s). */
async function assertRssBackNearBaseline(label) {
  const ok = await within(waitFor(() => rss.now() - baselineKb < RSS_AFTER_KB, 2100, 'rss').catch(() => null), 2000);
  assert.ok(ok, `RSS ${rss.now()} kB after ${label}, baseline ${baselineKb} kB + ${RSS_AFTER_KB / 1024} MiB`);
}

const connections = () => metric(server, 'rt_connections');

/** Waits until the server counts only the watch client (earlier probes' sockets are gone). */
async function idle() {
  const n = await within(waitFor(async () => (await connections()) === 1, 5100, 'idle').catch(() => null), 5000);
  assert.ok(n, `the server still counts ${await connections()} connections from earlier probes (expected only the watch client)`);
  return 1;
}

/** Resolves on 'drain' or after ms, leaving no listener behind. */
function drained(socket, ms) {
  return new Promise((resolve) => {
    const done = () => { clearTimeout(timer); socket.off('drain', done); resolve(); };
    const timer = setTimeout(done, ms);
    socket.once('drain', done);
  });
}

describe('slow consumers', () => {
  test(`a client flooding pings without ever reading is dropped within ${DROP_DEADLINE} ms, RSS bounded`, async () => {
    const since = Date.now();
    const before = await idle();
    const ws = await RawWs.open(server, app.key);
    assert.equal(await connections(), before + 1);
    ws.pause();
    // 400 WebSocket pings with 125-byte payloads and 400 pusher:pings per write (~70 KB).
    const wsPing = encodeFrame({ opcode: OP.PING, payload: Buffer.alloc(125, 0x70) });
    const pusherPing = encodeFrame({ opcode: OP.TEXT, payload: JSON.stringify({ event: 'pusher:ping', data: {} }) });
    const batch = Buffer.concat(Array.from({ length: 400 }, () => [wsPing, pusherPing]).flat());
    let sent = 0;
    let flooding = true;
    const flood = (async () => {
      while (flooding && !ws.socket.destroyed && ws.socket.writable) {
        const more = ws.write(batch);
        sent += batch.length;
        if (!more) await drained(ws.socket, 100);
        await new Promise((r) => setImmediate(r));
      }
    })();
    const gone = await watch.during('ping-flood', () =>
      within(waitFor(async () => (await connections()) === before, DROP_DEADLINE + 100, 'drop').catch(() => null), DROP_DEADLINE));
    flooding = false;
    await flood;
    ws.destroy();
    assert.ok(sent > 1 * MIB, `the flood sent only ${sent} bytes`);
    assert.ok(gone, `the flooding socket was still connected after ${DROP_DEADLINE} ms (${(sent / MIB).toFixed(1)} MiB of pings sent)`);
    assertHealthy('ping-flood', since);
    await assertRssBackNearBaseline('ping flood');
  });

  test(`a subscriber that never reads a busy channel is dropped within ${DROP_DEADLINE} ms once over the budget; RSS back near baseline`, async () => {
    const since = Date.now();
    const rest = restClient(server, app);
    const before = await idle();
    const reader = await RawWs.open(server, app.key);
    assert.equal((await reader.subscribe('busy')).event, 'pusher_internal:subscription_succeeded');
    // A reading subscriber of the same channel, to show the events are really published.
    const fast = await RawClient.connect(wsUrl(server, app.key));
    raws.push(fast);
    await fast.subscribe('busy');
    assert.equal(await connections(), before + 2);
    reader.pause(); // and never resumed: it stays paused until it is destroyed below
    const data = 'z'.repeat(10 * KIB);
    let published = 0;
    let publishing = true;
    const publisher = (async () => {
      // 100 KiB per batch; at most 64 MiB in all.
      while (publishing && published < 64 * MIB) {
        const res = await rest.triggerBatch(Array.from({ length: 10 }, (_, i) => ({ channel: 'busy', name: 'big', data: `${i}:${data}` })))
          .catch((e) => ({ status: e.status ?? 0 }));
        if (res.status !== 200) break;
        published += 10 * data.length;
      }
    })();
    const gone = await watch.during('never-reads', () =>
      within(waitFor(async () => (await connections()) === before + 1, DROP_DEADLINE + 100, 'drop').catch(() => null), DROP_DEADLINE));
    const droppedAfter = Date.now() - since;
    publishing = false;
    await within(publisher, 5000);
    const fastGot = fast.messages.filter((m) => m.event === 'big').length;
    const readerWasPaused = reader.socket.isPaused();
    reader.destroy();
    fast.close();
    assert.ok(readerWasPaused, 'the reader stayed paused');
    assert.ok(published > 1 * MIB, `only ${published} bytes were published`);
    assert.ok(fastGot > 0, 'the reading subscriber received the published events');
    assert.ok(gone, `the non-reading subscriber was still connected after ${DROP_DEADLINE} ms (${(published / MIB).toFixed(1)} MiB published to it)`);
    assert.ok(droppedAfter < DROP_DEADLINE + 1000, `dropped after ${droppedAfter} ms`);
    assertHealthy('never-reads', since);
    await assertRssBackNearBaseline('the non-reading subscriber');
  });
});

describe('subscription abuse', () => {
  // The burst is the app's channel limit (100 by default) plus RT_SUBSCRIBE_BURST (100), so a
  // reconnecting client can re-subscribe everything at once; then RT_SUBSCRIBE_RATE (10/s).
  test('20000 subscribes from one connection: 100 succeed, ~100 + 10/s hit the channel limit, the rest get pusher:error 4301, the connection stays', async () => {
    const since = Date.now();
    const before = await idle();
    const ws = await RawWs.open(server, floodApp.key);
    const from = ws.messages.length;
    const N = 20000;
    const frames = Array.from({ length: N }, (_, i) =>
      encodeFrame({ opcode: OP.TEXT, payload: JSON.stringify({ event: 'pusher:subscribe', data: { channel: `flood-${i}` } }) }));
    const answers = () => ws.messages.slice(from).filter((m) =>
      m.event === 'pusher_internal:subscription_succeeded' || m.event === 'pusher:subscription_error'
      || (m.event === 'pusher:error' && m.data?.code === 4301));
    const started = Date.now();
    // 1000 frames per write, at most 2000 unanswered: the answers (~100 bytes each) in flight
    // stay under RT_SEND_BUFFER_HARD_KB, so only the subscribe rate limit is measured here.
    await watch.during('subscribe-flood', async () => {
      for (let i = 0; i < N; i += 1000) {
        await within(waitFor(() => answers().length >= i - 1000, 5100, 'answers').catch(() => null), 5000);
        ws.write(Buffer.concat(frames.slice(i, i + 1000)));
      }
      await within(waitFor(() => answers().length >= N, 10100, 'answers').catch(() => null), 10000);
    });
    const elapsed = (Date.now() - started) / 1000;
    const all = answers();
    const ok = all.filter((m) => m.event === 'pusher_internal:subscription_succeeded').length;
    const limited = all.filter((m) => m.event === 'pusher:error').length;
    const other = all.filter((m) => m.event === 'pusher:subscription_error').length;
    const summary = `${ok} succeeded, ${limited} × 4301, ${other} subscription_error of ${N} in ${elapsed.toFixed(1)} s`;
    assert.equal(all.length, N, `every subscribe is answered (${summary})`);
    const allowed = 200 + 10 * Math.ceil(elapsed + 1);
    assert.equal(ok, 100, `the app's channel limit is reached (${summary})`);
    assert.ok(other >= 100 && ok + other <= allowed, `LimitReached only within burst + rate (${summary})`);
    assert.ok(limited >= N - allowed, `the rest are refused with 4301 (${summary})`);
    const e = ws.messages.slice(from).find((m) => m.event === 'pusher:error' && m.data?.code === 4301);
    assert.match(e.data.message, /rate limit/i);
    // Not closed: it still answers pings and still counts as a connection.
    assert.deepEqual(await ws.ping(2000), { event: 'pusher:pong', data: '{}' });
    assert.equal(ws.closeFrame, null);
    assert.equal(await connections(), before + 1);
    ws.destroy();
    assertHealthy('subscribe-flood', since);
  });

  test('subscribe/unsubscribe churn of one channel from 20 connections for 3 s: subscription_count coalesced to about 1/s, final count exact', async () => {
    const since = Date.now();
    const channel = 'churn';
    const observer = await RawClient.connect(wsUrl(server, countApp.key));
    raws.push(observer);
    await observer.subscribe(channel);
    const counts = () => observer.messages.filter((m) => m.event === 'pusher_internal:subscription_count' && m.channel === channel);
    await waitFor(() => counts().length > 0, 2000, 'the observer\'s own subscription_count');
    await sleep(1100); // past any coalescing window of the observer's own subscription
    const churners = await Promise.all(Array.from({ length: 20 }, () => RawWs.open(server, countApp.key)));
    const sub = encodeFrame({ opcode: OP.TEXT, payload: JSON.stringify({ event: 'pusher:subscribe', data: { channel } }) });
    const unsub = encodeFrame({ opcode: OP.TEXT, payload: JSON.stringify({ event: 'pusher:unsubscribe', data: { channel } }) });
    const from = counts().length;
    const churnStarted = Date.now();
    // Every 5 ms each churner toggles: subscribe, then unsubscribe 5 ms later, and so on.
    const subscribedNow = churners.map(() => false);
    let subscribes = 0;
    await watch.during('churn', async () => {
      while (Date.now() - churnStarted < 3000) {
        churners.forEach((c, i) => {
          c.write(subscribedNow[i] ? unsub : sub);
          if (!subscribedNow[i]) subscribes++;
          subscribedNow[i] = !subscribedNow[i];
        });
        await sleep(5);
      }
      // Some of the churn was refused with 4301 (RT_SUBSCRIBE_RATE), so a churner may still be
      // subscribed: once the bucket has tokens again every churner leaves.
      await sleep(1100);
      churners.forEach((c) => c.write(unsub));
      await sleep(1500); // the last coalesced count goes out
    });
    const during = counts().slice(from);
    const last = during.length ? JSON.parse(during[during.length - 1].data).subscription_count : null;
    const churnerCloses = churners.filter((c) => c.closeFrame).length;
    assert.deepEqual(await observer.ping(), { event: 'pusher:pong', data: '{}' });
    const info = await restClient(server, countApp).get({ path: `/channels/${channel}`, params: { info: 'subscription_count' } });
    const infoJson = info.status === 200 ? await info.json() : { status: info.status };
    for (const c of churners) c.destroy();
    assert.equal(await healthStatus(server), 200);
    assert.ok(subscribes > 1000, `only ${subscribes} subscribes were sent`);
    assert.equal(churnerCloses, 0, 'churners are not disconnected');
    assert.deepEqual(infoJson, { occupied: true, subscription_count: 1 }, 'after the churn only the observer is subscribed');
    assert.ok(during.length <= 7,
      `${during.length} subscription_count frames for ${subscribes} subscribes and as many unsubscribes in 5.6 s (expected at most about one per second)`);
    if (during.length) assert.equal(last, 1, 'the last count reported is the observer alone');
    assertHealthy('churn', since);
  });
});

test('the server is healthy at the end: RSS within the bounds, every probe in time', async () => {
  assert.equal(await healthStatus(server), 200);
  await watch.probe('end');
  assert.deepEqual(watch.failures(), []);
  const peak = rss.peak(0);
  assert.ok(peak - baselineKb < RSS_BOUND_KB, `RSS peak ${peak} kB, baseline ${baselineKb} kB`);
});
