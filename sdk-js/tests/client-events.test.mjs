// Live rtserver: client-* events between two clients, never echoed to the sender.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startLive, nextEvent, sleep } from './helpers.mjs';

let live;
before(async () => (live = await startLive()));
after(() => live && live.stop());

async function pair(channelName) {
  const a = live.client('ann');
  const b = live.client('ben');
  const ca = a.subscribe(channelName);
  const cb = b.subscribe(channelName);
  await Promise.all([nextEvent(ca, 'pusher:subscription_succeeded'), nextEvent(cb, 'pusher:subscription_succeeded')]);
  return { a, b, ca, cb };
}

test('a client event on a private channel reaches the other client only', async () => {
  const { a, b, ca, cb } = await pair('private-chat');
  const echoed = [];
  ca.bind('client-typing', (d) => echoed.push(d));
  const got = nextEvent(cb, 'client-typing');
  assert.equal(ca.trigger('client-typing', { who: 'ann' }), true);
  assert.deepEqual(await got, { who: 'ann' });
  await sleep(200);
  assert.deepEqual(echoed, []);
  a.disconnect();
  b.disconnect();
});

test('on presence channels the receiver learns the sender user_id', async () => {
  const { a, b, ca, cb } = await pair('presence-chat');
  const got = nextEvent(cb, 'client-wave');
  ca.trigger('client-wave', 'hi');
  const { data, metadata } = await got;
  assert.equal(data, 'hi');
  assert.equal(metadata.user_id, 'ann');
  a.disconnect();
  b.disconnect();
});

test('trigger refuses names without the client- prefix', async () => {
  const { a, b, ca } = await pair('private-names');
  assert.throws(() => ca.trigger('typing', {}), /client-/);
  a.disconnect();
  b.disconnect();
});
