// Hostile and malformed input over raw WebSocket frames (PROTOCOL.md §1.1, §2, §4): every bad
// frame gets a defined answer, the socket keeps working, fresh connections keep working, and
// the server survives floods and slow consumers with bounded memory.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, createApp, startServer } from '../harness/index.mjs';
import {
  RawClient, alive, connected, pusherClient, record, restClient, rssKb, sleep, subscribed, waitFor, wsUrl,
} from './helpers.mjs';

let db, server, app, bulkApp;
const clients = [];
const keep = (c) => (clients.push(c), c);

before(async () => {
  db = createDatabase();
  app = createApp(db, []);
  bulkApp = createApp(db, ['--backend-events-per-second', '1000000', '--max-payload-kb', '10'], 'bulk');
  server = await startServer({ dbUrl: db });
});

after(async () => {
  for (const c of clients) (c.disconnect ? c.disconnect() : c.close());
  await server?.stop();
});

const raw = async (a = app) => keep(await RawClient.connect(wsUrl(server, a.key)));
const error = (message, code = null) => ({ event: 'pusher:error', data: { code, message } });

/** After a bad frame: same socket answers pusher:ping and a fresh connection works. */
async function stillServing(c) {
  assert.equal(c.isClosed, false, 'socket was closed');
  await c.ping();
  const fresh = await RawClient.connect(wsUrl(server, app.key));
  await fresh.ping();
  fresh.close();
}

async function expectAnswer(sendFn, expected) {
  const c = await raw();
  const from = c.messages.length;
  sendFn(c);
  const m = await c.next((m) => m.event === 'pusher:error', 3000, from);
  assert.deepEqual(m, expected);
  await stillServing(c);
}

describe('malformed frames get a non-fatal pusher:error (code null)', () => {
  test('malformed JSON: "Invalid JSON"', async () => {
    await expectAnswer((c) => c.send('{"event": "pusher:ping", '), error('Invalid JSON'));
  });

  test('a JSON array: "Frame must be a JSON object"', async () => {
    await expectAnswer((c) => c.send('[{"event":"pusher:ping"}]'), error('Frame must be a JSON object'));
  });

  test('a JSON scalar: "Frame must be a JSON object"', async () => {
    await expectAnswer((c) => c.send('42'), error('Frame must be a JSON object'));
  });

  test('an object without event: "Missing or non-string event"', async () => {
    await expectAnswer((c) => c.send({ data: {} }), error('Missing or non-string event'));
  });

  test('a non-string event: "Missing or non-string event"', async () => {
    await expectAnswer((c) => c.send({ event: 7 }), error('Missing or non-string event'));
  });

  test('a non-string channel: "channel must be a string"', async () => {
    await expectAnswer((c) => c.send({ event: 'client-x', channel: 5 }), error('channel must be a string'));
  });

  test('an empty text frame: "Invalid JSON"', async () => {
    await expectAnswer((c) => c.send(''), error('Invalid JSON'));
  });

  test('a binary frame: "Binary frames are not supported: send JSON text frames"', async () => {
    await expectAnswer(
      (c) => c.ws.send(Buffer.from('{"event":"pusher:ping","data":{}}'), { binary: true }),
      error('Binary frames are not supported: send JSON text frames'),
    );
  });

  test('an unknown pusher: event is answered with "Unsupported event" and ignored', async () => {
    await expectAnswer((c) => c.send({ event: 'pusher:bogus', data: {} }),
      error('Unsupported event: clients may send pusher:ping, pusher:subscribe, pusher:unsubscribe, pusher:signin and client-*'));
  });

  test('a pusher_internal: event from a client is refused the same way', async () => {
    await expectAnswer((c) => c.send({ event: 'pusher_internal:subscription_succeeded', channel: 'x', data: '{}' }),
      error('Unsupported event: clients may send pusher:ping, pusher:subscribe, pusher:unsubscribe, pusher:signin and client-*'));
  });

  test('an application event name without the client- prefix is refused the same way', async () => {
    await expectAnswer((c) => c.send({ event: 'my-event', channel: 'x', data: '{}' }),
      error('Unsupported event: clients may send pusher:ping, pusher:subscribe, pusher:unsubscribe, pusher:signin and client-*'));
  });

  // A frame whose header announces more than the limit is refused from the header alone
  // (RFC 6455 1009): the server does not read megabytes it will throw away.
  async function expectTooLarge(sendFn) {
    const c = await raw();
    const from = c.messages.length;
    sendFn(c);
    const closed = await Promise.race([c.closed, sleep(3000).then(() => null)]);
    assert.ok(closed, 'socket with an oversized frame was not closed');
    assert.deepEqual(closed, { code: 1009, reason: 'Message too large' });
    assert.deepEqual(c.messages.slice(from), [error('Message too large: the limit is 24576 bytes')]);
    const fresh = await RawClient.connect(wsUrl(server, app.key));
    await fresh.ping();
    fresh.close();
  }

  test('a text frame over the app limit (30 KB, default 10 KB payload): "Message too large: the limit is 24576 bytes", close 1009', async () => {
    await expectTooLarge((c) => c.send({ event: 'pusher:ping', data: { pad: 'x'.repeat(30 * 1024) } }));
  });

  test('an oversized frame (> 256 KB) is refused the same way, and the server keeps serving', async () => {
    await expectTooLarge((c) => c.send({ event: 'pusher:ping', data: { pad: 'x'.repeat(300 * 1024) } }));
  });

  test('a fragmented message is reassembled before parsing', async () => {
    const c = await raw();
    const from = c.messages.length;
    const text = JSON.stringify({ event: 'pusher:ping', data: {} });
    c.ws.send(text.slice(0, 10), { fin: false });
    c.ws.send(text.slice(10), { fin: true });
    const m = await c.next((m) => m.event === 'pusher:pong' || m.event === 'pusher:error', 3000, from);
    assert.deepEqual(m, { event: 'pusher:pong', data: '{}' });
  });

  test('a text frame that is not valid UTF-8 closes that socket with 1007 and the server keeps serving', async () => {
    const c = await raw();
    // ws validates outgoing text only when asked; send raw bytes as a text frame.
    c.ws._sender.sendFrame(c.ws._sender.constructor.frame(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), {
      fin: true, rsv1: false, opcode: 1, mask: true, readOnly: false, maskBuffer: Buffer.alloc(4), generateMask: undefined,
    }), () => {});
    const closed = await Promise.race([c.closed, sleep(3000).then(() => null)]);
    assert.ok(closed, 'socket with invalid UTF-8 was not closed');
    assert.equal(closed.code, 1007);
    const fresh = await RawClient.connect(wsUrl(server, app.key));
    await fresh.ping();
    fresh.close();
  });
});

describe('floods', () => {
  test('500 subscribes to distinct public channels: the first 100 succeed, the next ones get LimitReached 4009, past the burst 4301', async () => {
    const c = await raw();
    const from = c.messages.length;
    for (let i = 0; i < 500; i++) c.send({ event: 'pusher:subscribe', data: { channel: `flood-${i}` } });
    await waitFor(() => c.since(from).filter((m) => m.channel && m.channel.startsWith('flood-')).length >= 500, 10000, '500 answers');
    const answers = c.since(from).filter((m) => m.channel && m.channel.startsWith('flood-'));
    const ok = answers.filter((m) => m.event === 'pusher_internal:subscription_succeeded');
    const refused = answers.filter((m) => m.event === 'pusher:subscription_error');
    const limited = answers.filter((m) => m.event === 'pusher:error' && m.data.code === 4301);
    assert.equal(ok.length, 100);
    assert.deepEqual(ok.map((m) => m.channel), Array.from({ length: 100 }, (_, i) => `flood-${i}`));
    // A burst of 200 subscribes (100 channels + RT_SUBSCRIBE_BURST 100), then 10/s: the rest
    // are rate-limited (abuse_subscribe.test.mjs has the details).
    assert.ok(refused.length >= 100, `${refused.length} LimitReached`);
    assert.equal(refused.length + limited.length, 400);
    assert.deepEqual(refused[0], {
      event: 'pusher:subscription_error', channel: 'flood-100',
      data: { type: 'LimitReached', error: 'Subscription limit reached: at most 100 channels per connection', status: 4009 },
    });
    await stillServing(c);
  });

  test('after unsubscribing, the subscription budget is available again', async () => {
    const c = await raw();
    for (let i = 0; i < 100; i++) c.send({ event: 'pusher:subscribe', data: { channel: `budget-${i}` } });
    await waitFor(() => c.messages.filter((m) => m.event === 'pusher_internal:subscription_succeeded').length === 100, 5000, '100 subscriptions');
    c.send({ event: 'pusher:unsubscribe', data: { channel: 'budget-0' } });
    const m = await c.subscribe('budget-extra');
    assert.equal(m.event, 'pusher_internal:subscription_succeeded');
  });

  test('1000 pings in a burst are all answered in order', async () => {
    const c = await raw();
    const from = c.messages.length;
    for (let i = 0; i < 1000; i++) c.send({ event: 'pusher:ping', data: {} });
    await waitFor(() => c.since(from).filter((m) => m.event === 'pusher:pong').length === 1000, 10000, '1000 pongs');
  });

  test('200 connections opened at once all get connection_established', async () => {
    const cs = await Promise.all(Array.from({ length: 200 }, () => RawClient.connect(wsUrl(server, app.key))));
    assert.equal(new Set(cs.map((c) => c.socketId)).size, 200);
    for (const c of cs) c.close();
  });
});

describe('slow consumer', () => {
  test('a client that stops reading while 5000 large events are published is closed, others keep receiving, memory stays bounded', async () => {
    const rest = restClient(server, bulkApp);
    const ch = 'firehose';
    const slow = await RawClient.connect(wsUrl(server, bulkApp.key));
    await slow.subscribe(ch);
    const fast = keep(pusherClient(server, bulkApp));
    await subscribed(fast, ch);
    let received = 0;
    fast.channel(ch).bind('big', () => received++);
    slow.ws._socket.pause();
    const before = rssKb(server.proc.pid);
    const payload = 'z'.repeat(9000);
    const N = 5000;
    let sent = 0;
    const started = Date.now();
    for (let i = 0; i < N; i += 10) {
      const batch = Array.from({ length: 10 }, (_, j) => ({ channel: ch, name: 'big', data: `${i + j}:${payload}` }));
      const res = await rest.triggerBatch(batch);
      assert.equal(res.status, 200);
      sent += batch.length;
    }
    assert.equal(sent, N);
    await waitFor(() => received === N, 30000, `fast client receives all ${N} events (got ${received})`);
    const after = rssKb(server.proc.pid);
    assert.ok(after - before < 200 * 1024, `RSS grew by ${Math.round((after - before) / 1024)} MB (before ${before} kB, after ${after} kB)`);
    assert.ok(alive(server));
    // The slow client was cut off while still not reading: the server dropped its socket
    // (RT_SEND_BUFFER_HARD_KB), so its connection is no longer counted.
    const metrics = async () => (await (await fetch(`${server.url}/metrics`)).text());
    await waitFor(async () => /^rt_slow_consumer_closes_total 1$/m.test(await metrics()), 10000, 'slow consumer counted');
    await waitFor(async () => /^rt_app_connections\{app="[^"]+"\} 1$/m.test((await metrics()).split('\n').filter((l) => l.includes(bulkApp.id)).join('\n')),
      10000, 'slow consumer socket dropped while it still does not read');
    assert.ok(Date.now() - started < 55000);
    // Once it reads again it finds the connection gone. Its kernel buffers were full, so the
    // close frame could not reach it: the close is abnormal (1006), not 4100.
    slow.ws._socket.resume();
    const closed = await Promise.race([slow.closed, sleep(10000).then(() => null)]);
    assert.ok(closed, 'slow consumer was not disconnected');
    assert.equal(closed.code, 1006);
  });

  test('after the slow consumer is gone the server still serves new connections and events', async () => {
    const p = keep(pusherClient(server, bulkApp));
    await subscribed(p, 'after-slow');
    const got = record(p.channel('after-slow'));
    await restClient(server, bulkApp).trigger('after-slow', 'ok', { fine: true });
    await waitFor(() => got.find((e) => e.event === 'ok'), 3000, 'event after slow consumer');
  });
});

test('the server process is still alive at the end', async () => {
  assert.ok(alive(server));
  const c = await RawClient.connect(wsUrl(server, app.key));
  await c.ping();
  c.close();
});
