// Live rtserver: connecting, socket ids, disconnecting and refusal of an unknown app key.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startLive, makeClient, waitForState, recordStates, nextEvent, sleep } from './helpers.mjs';

let live;
before(async () => (live = await startLive()));
after(() => live && live.stop());

test('connects and receives a socket_id of the form digits.digits', async () => {
  const client = live.client();
  const states = recordStates(client);
  await waitForState(client, 'connected');
  assert.match(client.connection.socket_id, /^\d+\.\d+$/);
  assert.deepEqual(states, ['connecting', 'connected']);
  client.disconnect();
});

test('two clients get different socket ids', async () => {
  const a = live.client();
  const b = live.client();
  await Promise.all([waitForState(a, 'connected'), waitForState(b, 'connected')]);
  assert.notEqual(a.connection.socket_id, b.connection.socket_id);
  a.disconnect();
  b.disconnect();
});

test('global bind sees pusher:connection_established', async () => {
  const client = live.client();
  const data = await nextEvent(client, 'pusher:connection_established');
  assert.equal(data.socket_id, client.connection.socket_id);
  assert.ok(data.activity_timeout > 0);
  client.disconnect();
});

test('disconnect() goes to disconnected and connect() comes back with a new socket', async () => {
  const client = live.client();
  await waitForState(client, 'connected');
  const first = client.connection.socket_id;
  client.disconnect();
  assert.equal(client.connection.state, 'disconnected');
  client.connect();
  await waitForState(client, 'connected');
  assert.notEqual(client.connection.socket_id, first);
  client.disconnect();
});

test('an unknown app key ends in disconnected (as pusher-js) with error 4001 and no retries', async () => {
  const client = makeClient('no-such-key', live.server);
  const states = recordStates(client);
  const error = nextEvent(client.connection, 'error');
  await waitForState(client, 'disconnected');
  assert.equal((await error).data.code, 4001);
  await sleep(1500);
  assert.deepEqual(states, ['connecting', 'disconnected']);
});
