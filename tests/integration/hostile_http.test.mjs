// Hostile HTTP clients (EDGE_SPEC.md "HTTP"): slowloris handshakes, oversized request heads and
// half-open REST bodies hold nothing for long: each gets its defined answer within the small
// timeouts this suite runs with, while a well-behaved pusher-js client keeps receiving every
// probe event within 1 s and the server's RSS stays within baseline + 64 MiB.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createApp, createDatabase, startServer } from '../harness/index.mjs';
import { md5hex, signParams, encodeQuery } from './rest_helpers.mjs';
import {
  EDGE, KIB, RssTracker, Watch, collectHttp, connectTcp, destroyAll, healthStatus, hostileEnv, seconds, sleep, within, RSS_PEAK_KB, RSS_AFTER_KB_BOUND } from './hostile_helpers.mjs';

const HEADER_TIMEOUT = seconds('RT_HTTP_HEADER_TIMEOUT'); // 2 s
const BODY_TIMEOUT = seconds('RT_HTTP_BODY_TIMEOUT'); // 2 s
const PER_IP_KB = Number(EDGE.RT_HTTP_BODY_INFLIGHT_PER_IP_KB); // 1024
const NODE_KB = Number(EDGE.RT_HTTP_BODY_INFLIGHT_KB); // 2048
const RSS_BOUND_KB = RSS_PEAK_KB; // baseline + this at any time (see hostile_helpers.mjs)

let server, app, watch, rss, baselineKb;

before(async () => {
  const db = createDatabase();
  app = createApp(db, ['--backend-events-per-second', '100000'], 'hostile-http');
  server = await startServer({ dbUrl: db, env: hostileEnv() });
  watch = await Watch.start(server, app);
  rss = new RssTracker(server.proc.pid);
  baselineKb = rss.now();
});

after(async () => {
  destroyAll();
  watch?.stop();
  rss?.stop();
  await server?.stop(); // throws on a sanitizer report or an unclean exit
});

/** Asserts the watch client got every probe of `label` within 1 s and RSS is in bound. */
function assertHealthy(label, since) {
  assert.deepEqual(watch.failuresOf(label), [], `probe events later than 1 s during ${label}`);
  const peak = rss.peak(since);
  assert.ok(peak - baselineKb < RSS_BOUND_KB,
    `RSS peak ${peak} kB exceeds baseline ${baselineKb} kB + ${RSS_BOUND_KB} kB during ${label}`);
}

/**
 * A POST /apps/ID/events signed for a body of `length` bytes of which only `sent` are sent.
 * Resolves the socket and its response collector.
 */
async function halfOpenPost(length, sent, localAddress) {
  const body = `{"name":"x","channel":"c","data":"${'a'.repeat(length - 36)}"}`;
  assert.equal(body.length, length);
  const path = `/apps/${app.id}/events`;
  const params = signParams('POST', path, { key: app.key, secret: app.secret, body });
  const socket = await connectTcp(server, { localAddress });
  const http = collectHttp(socket);
  socket.write(`POST ${path}?${encodeQuery(params)} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${length}\r\n\r\n${body.slice(0, sent)}`);
  return { socket, http };
}

test('plumbing: the raw-socket POST of these probes, sent complete, is answered 200 {}', async () => {
  const post = await halfOpenPost(4 * KIB, 4 * KIB, '127.0.0.9');
  const got = await post.http.response(2000);
  post.socket.destroy();
  assert.ok(got, `no answer to a complete raw POST (got ${JSON.stringify(post.http.text().slice(0, 200))})`);
  assert.equal(got.response.status, 200, got.response.body);
  assert.deepEqual(got.response.json, {});
});

describe('slowloris handshakes', () => {
  test('50 sockets trickling a WebSocket handshake one byte per 500 ms are all closed within RT_HTTP_HEADER_TIMEOUT + 1 s', async () => {
    const since = Date.now();
    const head = `GET /app/${app.key}?protocol=7 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`;
    const sockets = await Promise.all(Array.from({ length: 50 }, () => connectTcp(server)));
    const timers = sockets.map((s) => {
      let i = 0;
      s.received = '';
      s.on('data', (d) => (s.received += d));
      s.write(head[i++]);
      return setInterval(() => { if (!s.destroyed && i < head.length) s.write(head[i++]); }, 500);
    });
    const deadline = HEADER_TIMEOUT + 1000;
    const closedAt = await watch.during('slowloris', () =>
      within(Promise.all(sockets.map((s) => s.whenClosed)), deadline + 500));
    for (const t of timers) clearInterval(t);
    const lifetimes = sockets.map((s) => (s.closedAt ? s.closedAt - s.connectedAt : null));
    const open = lifetimes.filter((l) => l === null).length;
    for (const s of sockets) s.destroy();
    assert.ok(closedAt, `${open} of 50 slowloris sockets still open after ${deadline + 500} ms`);
    for (const l of lifetimes) {
      assert.ok(l <= deadline, `a slowloris socket lived ${l} ms (bound ${deadline} ms)`);
      assert.ok(l >= HEADER_TIMEOUT - 500, `a slowloris socket was closed after ${l} ms, before the header timeout`);
    }
    assert.ok(sockets.every((s) => !/^HTTP\/1\.1 101/.test(s.received)), 'no handshake completed');
    await watch.probe('slowloris after');
    assertHealthy('slowloris', since);
  });

  test('a request head larger than 8 KiB gets 431 JSON and the socket is closed', async () => {
    const socket = await connectTcp(server);
    const http = collectHttp(socket);
    socket.write(`GET /apps/${app.id}/channels HTTP/1.1\r\nHost: x\r\nX-Pad: ${'p'.repeat(9 * KIB)}\r\n\r\n`);
    const got = await http.response(1000);
    const closed = await within(socket.whenClosed, 1000);
    socket.destroy();
    assert.ok(got, `no answer within 1 s to a 9 KiB request head (received ${JSON.stringify(http.text().slice(0, 200))}, socket ${socket.closedAt ? `closed after ${socket.closedAt - socket.connectedAt} ms` : 'open'})`);
    assert.equal(got.response.status, 431);
    assert.equal(typeof got.response.json?.error, 'string');
    assert.ok(closed, 'socket not closed after the 431');
    await watch.probe('head-431 after');
    assertHealthy('head-431', 0);
  });
});

describe('half-open REST bodies', () => {
  test('a POST declaring 512 KiB that sends 100 bytes gets 408 {"error":"Request body timeout"} after RT_HTTP_BODY_TIMEOUT, then close', async () => {
    const since = Date.now();
    // From two other loopback addresses (127.0.0.1 is the watch client's: its probe triggers
    // must not share a budget with the hostile bodies), each under the per-IP cap.
    const posts = [await halfOpenPost(512 * KIB, 100, '127.0.0.7'), await halfOpenPost(512 * KIB, 100, '127.0.0.8')];
    const results = await watch.during('body-timeout', () =>
      Promise.all(posts.map((p) => p.http.response(BODY_TIMEOUT + 1000))));
    const closed = await within(Promise.all(posts.map((p) => p.socket.whenClosed)), 1000);
    for (const p of posts) p.socket.destroy();
    const statuses = results.map((r) => r?.response.status ?? null);
    assert.ok(statuses.every((s) => s !== null),
      `statuses within ${BODY_TIMEOUT + 1000} ms: ${JSON.stringify(statuses)} (got ${JSON.stringify(posts[0].http.text().slice(0, 200))})`);
    for (const r of results) {
      assert.equal(r.response.status, 408);
      assert.deepEqual(r.response.json, { error: 'Request body timeout' });
      assert.ok(r.afterMs >= BODY_TIMEOUT - 500 && r.afterMs <= BODY_TIMEOUT + 1000, `408 after ${r.afterMs} ms`);
    }
    assert.ok(closed, 'sockets not closed after their answer');
    await watch.probe('body-timeout after');
    assertHealthy('body-timeout', since);
  });

  test(`in-flight bodies over RT_HTTP_BODY_INFLIGHT_PER_IP_KB (${PER_IP_KB}) from one address get 429 before the body is read`, async () => {
    const since = Date.now();
    const ip = '127.0.0.2';
    // Two bodies of 400 KiB (800 KiB in flight) are accepted and left pending ...
    const pending = [await halfOpenPost(400 * KIB, 100, ip), await halfOpenPost(400 * KIB, 100, ip)];
    await sleep(200);
    // ... a third (1200 KiB > 1024 KiB) is refused at once.
    const third = await halfOpenPost(400 * KIB, 100, ip);
    const refused = await third.http.response(1000);
    const thirdClosed = await within(third.socket.whenClosed, 1000);
    // Another address is not affected: its body is accepted and times out like any other.
    const other = await halfOpenPost(400 * KIB, 100, '127.0.0.3');
    const late = await watch.during('inflight-ip', () =>
      Promise.all([...pending, other].map((p) => p.http.response(BODY_TIMEOUT + 1000))));
    for (const p of [...pending, third, other]) p.socket.destroy();
    assert.ok(refused, `no answer within 1 s to the third body (got ${JSON.stringify(third.http.text().slice(0, 200))})`);
    assert.equal(refused.response.status, 429);
    assert.deepEqual(refused.response.json, { error: 'Too many request bodies in flight from this address' });
    assert.ok(thirdClosed, 'socket not closed after the 429');
    assert.deepEqual(late.map((r) => r?.response.status ?? null), [408, 408, 408],
      'the accepted bodies time out with 408');
    assertHealthy('inflight-ip', since);
  });

  test(`in-flight bodies over RT_HTTP_BODY_INFLIGHT_KB (${NODE_KB}) node-wide get 503 before the body is read`, async () => {
    const since = Date.now();
    // 400 KiB bodies, two per address from three addresses (each under the per-IP cap): the
    // sixth would make 2400 KiB > 2048 KiB in flight.
    const pending = [];
    for (const ip of ['127.0.0.4', '127.0.0.4', '127.0.0.5', '127.0.0.5', '127.0.0.6'])
      pending.push(await halfOpenPost(400 * KIB, 100, ip));
    await sleep(200);
    const sixth = await halfOpenPost(400 * KIB, 100, '127.0.0.6');
    const refused = await sixth.http.response(1000);
    const sixthClosed = await within(sixth.socket.whenClosed, 1000);
    const late = await watch.during('inflight-node', () =>
      Promise.all(pending.map((p) => p.http.response(BODY_TIMEOUT + 1000))));
    for (const p of [...pending, sixth]) p.socket.destroy();
    assert.ok(refused, `no answer within 1 s to the sixth body (got ${JSON.stringify(sixth.http.text().slice(0, 200))})`);
    assert.equal(refused.response.status, 503);
    assert.deepEqual(refused.response.json, { error: 'Server busy: too many request bodies in flight, retry later' });
    assert.ok(sixthClosed, 'socket not closed after the 503');
    assert.deepEqual(late.map((r) => r?.response.status ?? null), [408, 408, 408, 408, 408]);
    // Once they are answered the budget is free again: a complete request is served.
    await watch.probe('inflight-node after');
    assertHealthy('inflight-node', since);
  });
});

test('the server is healthy at the end: RSS within baseline + 64 MiB, every probe in time', async () => {
  assert.equal(await healthStatus(server), 200);
  await watch.probe('end');
  assert.deepEqual(watch.failures(), []);
  const peak = rss.peak(0);
  assert.ok(peak - baselineKb < RSS_BOUND_KB, `RSS peak ${peak} kB, baseline ${baselineKb} kB`);
});
