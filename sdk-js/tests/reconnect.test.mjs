// Live rtserver: the server is killed and restarted on the same port; the client reconnects,
// re-authorizes and resubscribes, and receives events again.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startLive, nextEvent, waitForState } from './helpers.mjs';

let live;
before(async () => (live = await startLive()));
after(() => live && live.stop());

test('reconnects after a server kill and restart, resubscribes public, private and presence', async () => {
  const client = live.client('rex', { reconnectDelay: 300, maxReconnectDelay: 1000 });
  const news = client.subscribe('news');
  const orders = client.subscribe('private-orders');
  const room = client.subscribe('presence-lobby');
  await Promise.all([news, orders, room].map((c) => nextEvent(c, 'pusher:subscription_succeeded')));
  const firstSocket = client.connection.socket_id;
  const authCalls = () => live.auth.requests.filter((r) => r.path === '/auth').length;
  const authBefore = authCalls();

  const states = [];
  client.connection.bind('state_change', ({ current }) => states.push(current));
  const dropped = nextEvent(client.connection, 'connecting', 5000);
  await live.server.kill();
  await dropped;
  assert.equal(news.subscribed, false);
  assert.equal(room.members.count, 0);

  live.server = await live.harness.startServer({ dbUrl: live.dbUrl, port: live.server.port });
  const resubscribed = Promise.all([news, orders, room].map((c) => nextEvent(c, 'pusher:subscription_succeeded', 15000)));
  await waitForState(client, 'connected', 15000);
  await resubscribed;
  assert.notEqual(client.connection.socket_id, firstSocket);
  assert.equal(authCalls(), authBefore + 2, 'private and presence were re-authorized for the new socket');
  assert.equal(room.members.count, 1);
  assert.equal(states.at(-1), 'connected');

  const gotNews = nextEvent(news, 'after');
  const gotOrder = nextEvent(orders, 'after');
  await live.pusher.trigger(['news', 'private-orders'], 'after', { restart: 'survived' });
  assert.deepEqual(await gotNews, { restart: 'survived' });
  assert.deepEqual(await gotOrder, { restart: 'survived' });
  client.disconnect();
});

test('a signed-in user signs in again after the restart and still gets sendToUser events', async () => {
  const client = live.client('sam', { reconnectDelay: 300, maxReconnectDelay: 1000 });
  client.signin();
  await nextEvent(client.user, 'pusher:signin_success');
  const dropped = nextEvent(client.connection, 'connecting', 5000);
  await live.server.kill();
  await dropped;
  assert.equal(client.user.user_data, null);
  live.server = await live.harness.startServer({ dbUrl: live.dbUrl, port: live.server.port });
  await nextEvent(client.user, 'pusher:signin_success', 15000);
  await new Promise((r) => setTimeout(r, 100));
  const got = nextEvent(client.user, 'welcome-back');
  await live.pusher.sendToUser('sam', 'welcome-back', { ok: 1 });
  assert.deepEqual(await got, { ok: 1 });
  client.disconnect();
});
