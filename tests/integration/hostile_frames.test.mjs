// Hostile WebSocket frames (EDGE_SPEC.md "WebSocket frames"), sent byte by byte over node:net:
// a 100 MiB frame header, unmasked frames, RSV bits, unknown opcodes, broken fragmentation,
// invalid UTF-8 and deep JSON. Each gets the RFC 6455 close code (or pusher:error) the spec
// names, promptly, while a well-behaved pusher-js client keeps receiving every probe event
// within 1 s and the server's RSS stays within baseline + 64 MiB.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createApp, createDatabase, startServer } from '../harness/index.mjs';
import { RawClient, restClient, wsUrl } from './helpers.mjs';
import {
  MIB, OP, RawWs, RssTracker, Watch, closePayload, destroyAll, healthStatus, encodeFrame, hostileEnv, seconds, sleep, waitFor, within, RSS_PEAK_KB, RSS_AFTER_KB_BOUND } from './hostile_helpers.mjs';

const CLOSE_TIMEOUT = seconds('RT_CLOSE_TIMEOUT'); // 2 s
const RSS_BOUND_KB = RSS_PEAK_KB; // baseline + this at any time (see hostile_helpers.mjs)

let server, app, watch, rss, baselineKb, rest;
const raws = [];

before(async () => {
  const db = createDatabase();
  // 100 KB payloads: the text-frame limit is 2 × 102400 + 4096 = 208896 bytes, above the deep
  // JSON probes, so they reach the JSON parser instead of the size check.
  app = createApp(db, ['--client-events', '--max-payload-kb', '100', '--backend-events-per-second', '100000'], 'hostile-frames');
  server = await startServer({ dbUrl: db, env: hostileEnv() });
  rest = restClient(server, app);
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

const open = () => RawWs.open(server, app.key);

/** The watch client got a probe within 1 s, RSS is in bound since `since`. */
async function assertHealthy(label, since) {
  await watch.probe(`${label} after`);
  assert.deepEqual(watch.failuresOf(label), [], `probe events later than 1 s around ${label}`);
  const peak = rss.peak(since);
  assert.ok(peak - baselineKb < RSS_BOUND_KB, `RSS peak ${peak} kB, baseline ${baselineKb} kB (${label})`);
}

/**
 * Sends bytes on a fresh connection and asserts the server's close frame carries `code`
 * within 1 s. A polite client (reply) answers the close and the socket must be gone within
 * 1 s of the answer; a hostile one does not, and the socket must be gone within
 * RT_CLOSE_TIMEOUT + 1 s of the close frame.
 */
async function expectClose(label, bytes, code, { reason, reply = false } = {}) {
  const since = Date.now();
  const ws = await open();
  ws.replyToClose = reply;
  const from = ws.messages.length;
  const sentAt = Date.now();
  for (const b of [].concat(bytes)) ws.write(b);
  const close = await watch.during(label, () => ws.closeFrameWithin(1000, sentAt));
  const dropDeadline = reply ? 1000 : CLOSE_TIMEOUT + 1000;
  const dropped = await within(ws.closed, dropDeadline);
  const after = ws.messages.slice(from);
  ws.destroy();
  assert.ok(close, `no close frame within 1 s (socket ${ws.isClosed ? 'closed without one' : 'still open'}; messages ${JSON.stringify(after).slice(0, 300)})`);
  assert.equal(close.code, code, `close code (reason ${JSON.stringify(close.reason)})`);
  if (reason !== undefined) assert.equal(close.reason, reason);
  assert.ok(dropped, `socket not dropped within ${dropDeadline} ms of the close frame ${reply ? 'and our answer' : '(not answered)'} (${close.code} ${JSON.stringify(close.reason)}, sent after ${close.afterMs} ms)`);
  assert.deepEqual(after.filter((m) => m.event === 'pusher:pong'), [], 'nothing in the bad frame was acted on');
  await assertHealthy(label, since);
}

const ping = JSON.stringify({ event: 'pusher:ping', data: {} });

describe('plumbing: the frame builder speaks RFC 6455', () => {
  test('a masked text frame with pusher:ping gets pusher:pong', async () => {
    const ws = await open();
    assert.deepEqual(await ws.ping(), { event: 'pusher:pong', data: '{}' });
    ws.destroy();
  });

  test('a WebSocket ping gets a pong with the same payload', async () => {
    const ws = await open();
    ws.write(encodeFrame({ opcode: OP.PING, payload: 'hello-125' }));
    await waitFor(() => ws.pongs.length, 2000, 'pong');
    assert.equal(ws.pongs[0].toString(), 'hello-125');
    ws.destroy();
  });

  test('a message in three masked fragments (16-bit length in one) is reassembled', async () => {
    const ws = await open();
    const text = JSON.stringify({ event: 'pusher:ping', data: { pad: 'x'.repeat(300) } });
    const from = ws.messages.length;
    ws.write(encodeFrame({ opcode: OP.TEXT, fin: false, payload: text.slice(0, 5) }));
    ws.write(encodeFrame({ opcode: OP.CONT, fin: false, payload: text.slice(5, 320) }));
    ws.write(encodeFrame({ opcode: OP.CONT, fin: true, payload: text.slice(320) }));
    assert.deepEqual(await ws.next((m) => m.event === 'pusher:pong', 2000, from), { event: 'pusher:pong', data: '{}' });
    ws.destroy();
  });

  test('a close frame from the client is echoed and the socket dropped', async () => {
    const ws = await open();
    ws.replyToClose = false;
    ws.write(encodeFrame({ opcode: OP.CLOSE, payload: closePayload(1000, 'bye') }));
    const close = await ws.closeFrameWithin(1000);
    assert.equal(close?.code, 1000);
    assert.ok(await within(ws.closed, CLOSE_TIMEOUT + 1000), 'socket not dropped after the close handshake');
  });
});

describe('oversized frames', () => {
  test('a frame header announcing 100 MiB gets close 1009 "Message too large" within 1 s, without the payload being read', async () => {
    const since = Date.now();
    const rssBefore = rss.now();
    await expectClose('100MiB',
      // The header and the first 64 KiB of the announced payload (valid, masked UTF-8).
      encodeFrame({ opcode: OP.TEXT, length: 100 * MIB, payload: Buffer.alloc(64 * 1024, 0x20) }),
      1009, { reason: 'Message too large' });
    assert.ok(rss.peak(since) - rssBefore < 16 * 1024, 'no buffer was allocated for the announced 100 MiB');
  });

  test('a fragmented message growing past the limit (4 × 64 KiB > 208896 bytes) gets close 1009', async () => {
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    await expectClose('fragments-1009', [
      encodeFrame({ opcode: OP.TEXT, fin: false, payload: chunk }),
      encodeFrame({ opcode: OP.CONT, fin: false, payload: chunk }),
      encodeFrame({ opcode: OP.CONT, fin: false, payload: chunk }),
      encodeFrame({ opcode: OP.CONT, fin: false, payload: chunk }),
    ], 1009);
  });
});

describe('protocol errors close with 1002', () => {
  test('an unmasked client event is not relayed: close 1002, the other subscriber never receives it', async () => {
    const channel = 'private-unmasked';
    const sender = await open();
    const auth = (socketId) => rest.authorizeChannel(socketId, channel).auth;
    assert.equal((await sender.subscribe(channel, { auth: auth(sender.socketId) })).event, 'pusher_internal:subscription_succeeded');
    const listener = await RawClient.connect(wsUrl(server, app.key));
    raws.push(listener);
    assert.equal((await listener.subscribe(channel, { auth: auth(listener.socketId) })).event, 'pusher_internal:subscription_succeeded');
    // Plumbing: the same event in a masked frame is relayed.
    sender.send({ event: 'client-masked', channel, data: { ok: true } });
    await listener.next((m) => m.event === 'client-masked', 2000);
    const from = listener.messages.length;
    await expectCloseOn(sender, 'unmasked', encodeFrame({
      opcode: OP.TEXT, mask: false, payload: JSON.stringify({ event: 'client-unmasked', channel, data: { evil: true } }),
    }), 1002);
    // A sentinel published after it arrives after anything the server could have relayed.
    await rest.trigger(channel, 'sentinel', {});
    await listener.next((m) => m.event === 'sentinel', 2000, from);
    assert.deepEqual(listener.since(from).filter((m) => m.event === 'client-unmasked'), []);
  });

  const cases = [
    ['RSV1 set (no extension negotiated)', encodeFrame({ opcode: OP.TEXT, rsv: 4, payload: ping })],
    ['RSV2 set', encodeFrame({ opcode: OP.TEXT, rsv: 2, payload: ping })],
    ['RSV3 set', encodeFrame({ opcode: OP.TEXT, rsv: 1, payload: ping })],
    ['opcode 3 (reserved data frame)', encodeFrame({ opcode: 3, payload: ping })],
    ['opcode 11 (reserved control frame)', encodeFrame({ opcode: 11, payload: 'x' })],
    ['a fragmented ping (FIN=0)', encodeFrame({ opcode: OP.PING, fin: false, payload: 'x' })],
    ['a ping with 126 bytes of payload', encodeFrame({ opcode: OP.PING, payload: Buffer.alloc(126, 0x61) })],
    ['a close frame with FIN=0', encodeFrame({ opcode: OP.CLOSE, fin: false, payload: closePayload(1000) })],
    ['a continuation frame with no message started', encodeFrame({ opcode: OP.CONT, payload: ping })],
    ['a new text frame while a fragmented message is open', [
      encodeFrame({ opcode: OP.TEXT, fin: false, payload: ping.slice(0, 10) }),
      encodeFrame({ opcode: OP.TEXT, fin: true, payload: ping }),
    ]],
  ];
  for (const [what, bytes] of cases) {
    test(`${what}: close 1002 (the client answers the close: dropped within 1 s)`, async () => {
      await expectClose(what, bytes, 1002, { reply: true });
    });
  }

  test(`a client that never answers the 1002 close frame is dropped within RT_CLOSE_TIMEOUT + 1 s`, async () => {
    await expectClose('unanswered close', encodeFrame({ opcode: OP.TEXT, rsv: 4, payload: ping }), 1002, { reply: false });
  });
});

/** expectClose on an already open RawWs. */
async function expectCloseOn(ws, label, bytes, code) {
  ws.replyToClose = false;
  const since = Date.now();
  ws.write(bytes);
  const close = await watch.during(label, () => ws.closeFrameWithin(1000, since));
  const dropped = await within(ws.closed, CLOSE_TIMEOUT + 1000);
  ws.destroy();
  assert.ok(close, `no close frame within 1 s (socket ${ws.isClosed ? 'closed without one' : 'still open'})`);
  assert.equal(close.code, code, `close code (reason ${JSON.stringify(close.reason)})`);
  assert.ok(dropped, 'socket not dropped');
  await assertHealthy(label, since);
}

describe('text that is not valid UTF-8 closes with 1007', () => {
  test('in one frame', async () => {
    await expectClose('utf8', encodeFrame({ opcode: OP.TEXT, payload: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]) }), 1007);
  });

  test('a code point split across two fragments and then broken', async () => {
    // "é" is C3 A9; C3 then 28 is invalid, only visible once the second fragment arrives.
    await expectClose('utf8-fragments', [
      encodeFrame({ opcode: OP.TEXT, fin: false, payload: Buffer.from([0x7b, 0x22, 0xc3]) }),
      encodeFrame({ opcode: OP.CONT, fin: true, payload: Buffer.from([0x28, 0x22, 0x7d]) }),
    ], 1007);
  });
});

describe('deep JSON', () => {
  for (const [what, text] of [
    ['100000 nested "["', '['.repeat(100000)],
    ['100000 nested "[" closed again', '['.repeat(100000) + ']'.repeat(100000)],
    ['30000 nested objects inside data', `{"event":"pusher:ping","data":${'{"a":'.repeat(30000)}1${'}'.repeat(30000)}}`],
  ]) {
    test(`${what}: pusher:error code null, the connection stays usable`, async () => {
      const since = Date.now();
      const ws = await open();
      const from = ws.messages.length;
      ws.send(text);
      const answer = await watch.during(what, () =>
        ws.next((m) => m.event === 'pusher:error' || m.event === 'pusher:pong', 2000, from).catch(() => null));
      assert.ok(answer, `no answer within 2 s (socket ${ws.isClosed ? 'closed' : 'open'}, close frame ${JSON.stringify(ws.closeFrame)})`);
      assert.equal(answer.event, 'pusher:error');
      assert.equal(answer.data.code, null);
      assert.equal(typeof answer.data.message, 'string');
      assert.deepEqual(await ws.ping(1000), { event: 'pusher:pong', data: '{}' });
      assert.equal(ws.isClosed, false);
      ws.destroy();
      await assertHealthy(what, since);
    });
  }
});

test('the server is healthy at the end: RSS within baseline + 64 MiB, every probe in time', async () => {
  await sleep(100);
  assert.equal(await healthStatus(server), 200);
  await watch.probe('end');
  assert.deepEqual(watch.failures(), []);
  const peak = rss.peak(0);
  assert.ok(peak - baselineKb < RSS_BOUND_KB, `RSS peak ${peak} kB, baseline ${baselineKb} kB`);
});
