// Client events (PROTOCOL.md §9): client-* events between subscribers of private and presence
// channels, with pusher-js `channel.trigger` and raw frames for what pusher-js refuses to send.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createDatabase, createApp, startServer } from '../harness/index.mjs';
import { RawClient, alive, pusherClient, record, sleep, subscribed, waitFor, wsUrl } from './helpers.mjs';

let db, server, app, offApp;
const clients = [];
const keep = (c) => (clients.push(c), c);
let seq = 0;
const uniq = (prefix) => `${prefix}${Date.now().toString(36)}-${++seq}`;

before(async () => {
  db = createDatabase();
  app = createApp(db, ['--client-events', '--max-payload-kb', '1']);
  offApp = createApp(db, [], 'no-client-events');
  server = await startServer({ dbUrl: db });
});

after(async () => {
  for (const c of clients) (c.disconnect ? c.disconnect() : c.close());
  await server?.stop();
});

const sign = (secret, text) => createHmac('sha256', secret).update(text).digest('hex');
const raw = async (a = app) => keep(await RawClient.connect(wsUrl(server, a.key)));
async function rawSub(c, ch, a = app, user) {
  const data = { channel: ch };
  if (ch.startsWith('private-') || ch.startsWith('presence-')) {
    const cd = user ? JSON.stringify(user) : undefined;
    data.auth = `${a.key}:${sign(a.secret, cd ? `${c.socketId}:${ch}:${cd}` : `${c.socketId}:${ch}`)}`;
    if (cd) data.channel_data = cd;
  }
  const m = await c.subscribe(ch, data);
  assert.equal(m.event, 'pusher_internal:subscription_succeeded', JSON.stringify(m));
  return m;
}
const errorOf = (c, from) => c.next((m) => m.event === 'pusher:error', 3000, from);

describe('delivery', () => {
  test('a client event on a private channel reaches the other pusher-js subscribers with its data', async () => {
    const ch = uniq('private-chat-');
    const a = keep(pusherClient(server, app));
    const b = keep(pusherClient(server, app));
    await subscribed(a, ch);
    await subscribed(b, ch);
    const got = record(b.channel(ch));
    assert.equal(a.channel(ch).trigger('client-typing', { who: 'a' }), true);
    await waitFor(() => got.find((e) => e.event === 'client-typing'), 3000, 'client-typing');
    assert.deepEqual(got.find((e) => e.event === 'client-typing').data, { who: 'a' });
  });

  test('a client event is not echoed back to the sender', async () => {
    const ch = uniq('private-echo-');
    const a = await raw();
    const b = await raw();
    await rawSub(a, ch);
    await rawSub(b, ch);
    const fromA = a.messages.length;
    a.send({ event: 'client-ping', channel: ch, data: { n: 1 } });
    await b.next((m) => m.event === 'client-ping');
    await sleep(300);
    assert.deepEqual(a.since(fromA), []);
  });

  test('on a private channel the relayed frame is {event, channel, data} with data forwarded as sent (object)', async () => {
    const ch = uniq('private-wire-');
    const a = await raw();
    const b = await raw();
    await rawSub(a, ch);
    await rawSub(b, ch);
    a.send({ event: 'client-obj', channel: ch, data: { x: [1, 2], y: 'z' } });
    const m = await b.next((m) => m.event === 'client-obj');
    assert.deepEqual(m, { event: 'client-obj', channel: ch, data: { x: [1, 2], y: 'z' } });
  });

  test('string data is forwarded as the same string', async () => {
    const ch = uniq('private-str-');
    const a = await raw();
    const b = await raw();
    await rawSub(a, ch);
    await rawSub(b, ch);
    a.send({ event: 'client-str', channel: ch, data: '{"already":"encoded"}' });
    const m = await b.next((m) => m.event === 'client-str');
    assert.deepEqual(m, { event: 'client-str', channel: ch, data: '{"already":"encoded"}' });
  });

  test('on a presence channel the relayed frame carries the sender\'s user_id', async () => {
    const ch = uniq('presence-chat-');
    const a = await raw();
    const b = await raw();
    await rawSub(a, ch, app, { user_id: 'sender-1' });
    await rawSub(b, ch, app, { user_id: 'receiver-1' });
    a.send({ event: 'client-hello', channel: ch, data: { hi: true } });
    const m = await b.next((m) => m.event === 'client-hello');
    assert.deepEqual(m, { event: 'client-hello', channel: ch, data: { hi: true }, user_id: 'sender-1' });
  });

  test('pusher-js on a presence channel gets the sender\'s user_id in the event metadata', async () => {
    const ch = uniq('presence-js-');
    const a = keep(pusherClient(server, app, { presence: { user_id: 'js-sender' } }));
    const b = keep(pusherClient(server, app, { presence: { user_id: 'js-receiver' } }));
    await subscribed(a, ch);
    await subscribed(b, ch);
    const got = [];
    b.channel(ch).bind('client-wave', (data, meta) => got.push({ data, meta }));
    a.channel(ch).trigger('client-wave', { w: 1 });
    await waitFor(() => got.length > 0, 3000, 'client-wave');
    assert.deepEqual(got[0].data, { w: 1 });
    assert.equal(got[0].meta.user_id, 'js-sender');
  });

  test('client events work on private-cache channels and are not cached', async () => {
    const ch = uniq('private-cache-ce-');
    const a = await raw();
    const b = await raw();
    await rawSub(a, ch);
    await rawSub(b, ch);
    a.send({ event: 'client-x', channel: ch, data: { c: 1 } });
    await b.next((m) => m.event === 'client-x');
    const late = await raw();
    const from = late.messages.length;
    await rawSub(late, ch);
    const after = await late.next((m) => m.event === 'pusher:cache_miss' || m.event === 'client-x', 3000, from);
    assert.equal(after.event, 'pusher:cache_miss');
  });
});

describe('refusals (non-fatal pusher:error, socket stays open)', () => {
  test('client events are refused when the app has them disabled', async () => {
    const ch = uniq('private-off-');
    const a = await raw(offApp);
    const b = await raw(offApp);
    await rawSub(a, ch, offApp);
    await rawSub(b, ch, offApp);
    const from = a.messages.length;
    const fromB = b.messages.length;
    a.send({ event: 'client-nope', channel: ch, data: {} });
    const err = await errorOf(a, from);
    assert.deepEqual(err, { event: 'pusher:error', channel: ch, data: { code: null, message: 'Client events are not enabled for this app' } });
    await sleep(200);
    assert.deepEqual(b.since(fromB), []);
    await a.ping();
  });

  test('client events are refused on public channels', async () => {
    const ch = uniq('public-ce-');
    const a = await raw();
    const b = await raw();
    await rawSub(a, ch);
    await rawSub(b, ch);
    const from = a.messages.length;
    const fromB = b.messages.length;
    a.send({ event: 'client-nope', channel: ch, data: {} });
    const err = await errorOf(a, from);
    assert.deepEqual(err, { event: 'pusher:error', channel: ch, data: { code: null, message: 'Client events are only allowed on private and presence channels' } });
    await sleep(200);
    assert.deepEqual(b.since(fromB), []);
    await a.ping();
  });

  test('client events are refused on private-encrypted channels', async () => {
    const ch = uniq('private-encrypted-ce-');
    const a = await raw();
    const b = await raw();
    await rawSub(a, ch);
    await rawSub(b, ch);
    const from = a.messages.length;
    const fromB = b.messages.length;
    a.send({ event: 'client-nope', channel: ch, data: { nonce: 'x', ciphertext: 'y' } });
    const err = await errorOf(a, from);
    assert.deepEqual(err, { event: 'pusher:error', channel: ch, data: { code: null, message: 'Client events are only allowed on private and presence channels' } });
    await sleep(200);
    assert.deepEqual(b.since(fromB), []);
  });

  test('client events to a channel the socket is not subscribed to are refused', async () => {
    const ch = uniq('private-notsub-');
    const a = await raw();
    const b = await raw();
    await rawSub(b, ch);
    const from = a.messages.length;
    const fromB = b.messages.length;
    a.send({ event: 'client-sneak', channel: ch, data: {} });
    const err = await errorOf(a, from);
    assert.deepEqual(err, { event: 'pusher:error', channel: ch, data: { code: null, message: 'Client event rejected: not subscribed to this channel' } });
    await sleep(200);
    assert.deepEqual(b.since(fromB), []);
  });

  test('a client event without a channel is refused with "Client events need a channel"', async () => {
    const a = await raw();
    const from = a.messages.length;
    a.send({ event: 'client-lost', data: {} });
    const err = await errorOf(a, from);
    assert.deepEqual(err, { event: 'pusher:error', data: { code: null, message: 'Client events need a channel' } });
    await a.ping();
  });

  test('an event name over 200 characters is refused', async () => {
    const ch = uniq('private-long-');
    const a = await raw();
    await rawSub(a, ch);
    const from = a.messages.length;
    a.send({ event: 'client-' + 'x'.repeat(200), channel: ch, data: {} });
    const err = await errorOf(a, from);
    assert.deepEqual(err, { event: 'pusher:error', channel: ch, data: { code: null, message: 'Event name too long: at most 200 characters' } });
  });

  test('a payload over the app limit (--max-payload-kb 1) is refused with "Client event payload too large"', async () => {
    const ch = uniq('private-big-');
    const a = await raw();
    const b = await raw();
    await rawSub(a, ch);
    await rawSub(b, ch);
    const from = a.messages.length;
    const fromB = b.messages.length;
    a.send({ event: 'client-big', channel: ch, data: 'x'.repeat(1025) });
    const err = await errorOf(a, from);
    assert.deepEqual(err, { event: 'pusher:error', channel: ch, data: { code: null, message: 'Client event payload too large: at most 1024 bytes' } });
    await sleep(200);
    assert.deepEqual(b.since(fromB), []);
    await a.ping();
  });

  test('a payload of exactly the app limit is relayed', async () => {
    const ch = uniq('private-edge-');
    const a = await raw();
    const b = await raw();
    await rawSub(a, ch);
    await rawSub(b, ch);
    a.send({ event: 'client-edge', channel: ch, data: 'y'.repeat(1024) });
    const m = await b.next((m) => m.event === 'client-edge');
    assert.equal(m.data.length, 1024);
  });
});

describe('rate limit', () => {
  test('more than 10 client events in a burst: the excess gets pusher:error 4301 and the socket stays open', async () => {
    const ch = uniq('private-burst-');
    const a = await raw();
    const b = await raw();
    await rawSub(a, ch);
    await rawSub(b, ch);
    const from = a.messages.length;
    for (let i = 0; i < 15; i++) a.send({ event: 'client-burst', channel: ch, data: { i } });
    const err = await errorOf(a, from);
    assert.deepEqual(err, { event: 'pusher:error', channel: ch, data: { code: 4301, message: 'Client event rejected due to rate limit' } });
    await sleep(300);
    const relayed = b.messages.filter((m) => m.event === 'client-burst');
    assert.equal(relayed.length, 10, 'exactly the first 10 are relayed');
    assert.deepEqual(relayed.map((m) => m.data.i), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.equal(a.since(from).filter((m) => m.event === 'pusher:error' && m.data.code === 4301).length, 5);
    assert.equal(a.isClosed, false);
    await a.ping();
  });

  test('after the burst the budget refills and client events are relayed again', async () => {
    const ch = uniq('private-refill-');
    const a = await raw();
    const b = await raw();
    await rawSub(a, ch);
    await rawSub(b, ch);
    for (let i = 0; i < 12; i++) a.send({ event: 'client-fill', channel: ch, data: { i } });
    await sleep(1200);
    const from = b.messages.length;
    a.send({ event: 'client-again', channel: ch, data: {} });
    await b.next((m) => m.event === 'client-again', 3000, from);
  });
});

test('the server process is still alive at the end', async () => {
  assert.ok(alive(server));
  const c = await RawClient.connect(wsUrl(server, app.key));
  await c.ping();
  c.close();
});
