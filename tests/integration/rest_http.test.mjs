// The HTTP layer under the API: keep-alive and the optional path prefix (PROTOCOL.md §14.1,
// §14.2 step 5). Slow clients are in rest_slow_clients.test.mjs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createDatabase, createApp, startServer, waitFor } from '../harness/index.mjs';
import {
  signedRequest, restClient, sdkJson, connectClient, subscribe, eventsOf, rawSocket, readUntilClose,
} from './rest_helpers.mjs';

let db, server, prefixed, app;
const clients = [];

/** An http.Agent that counts the TCP connections it opens. */
class CountingAgent extends http.Agent {
  constructor() {
    super({ keepAlive: true, maxSockets: 1 });
    this.opened = 0;
  }
  createConnection(...args) {
    this.opened++;
    return super.createConnection(...args);
  }
}

before(async () => {
  db = createDatabase();
  app = createApp(db, []);
  [server, prefixed] = await Promise.all([
    startServer({ dbUrl: db }),
    startServer({ dbUrl: db, env: { RT_PATH_PREFIX: '/realtime' } }),
  ]);
});

after(async () => {
  for (const c of clients) c.disconnect();
  await Promise.all([server?.stop(), prefixed?.stop()]);
});

// ---- keep-alive -------------------------------------------------------------------------

test('several signed requests share one keep-alive connection', async () => {
  const agent = new CountingAgent();
  const statuses = [];
  for (let i = 0; i < 5; i++) {
    const res = await signedRequest(server, app, { path: '/events', body: { name: 'k', channel: 'ka', data: String(i) }, agent });
    statuses.push(res.status);
    assert.notEqual(res.headers.connection, 'close');
  }
  for (let i = 0; i < 3; i++) statuses.push((await signedRequest(server, app, { path: '/channels', agent })).status);
  agent.destroy();
  assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200, 200, 200]);
  assert.equal(agent.opened, 1);
});

test('an error response (401, 404, 400) keeps the connection open for the next request', async () => {
  const agent = new CountingAgent();
  const statuses = [
    (await signedRequest(server, app, { path: '/channels', secret: 'wrong', agent })).status,
    (await signedRequest(server, app, { path: '/nope', agent })).status,
    (await signedRequest(server, app, { path: '/events', body: '{bad json', agent })).status,
    (await signedRequest(server, app, { path: '/channels', agent })).status,
  ];
  agent.destroy();
  assert.deepEqual(statuses, [401, 404, 400, 200]);
  assert.equal(agent.opened, 1);
});

test('the `pusher` SDK with a keep-alive agent triggers over one connection', async () => {
  const agent = new CountingAgent();
  const rest = restClient(server, app, { agent });
  for (let i = 0; i < 5; i++) assert.deepEqual(await sdkJson(rest.trigger('ka-sdk', 'e', { i })), {});
  assert.deepEqual(await sdkJson(rest.get({ path: '/channels' })), { channels: {} });
  agent.destroy();
  assert.equal(agent.opened, 1);
});

test('two requests pipelined on one socket get two responses in order', async () => {
  const sock = await rawSocket(server);
  const done = readUntilClose(sock);
  sock.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  const { data } = await done;
  const statuses = [...data.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1]);
  assert.deepEqual(statuses, ['200', '404']);
});

// ---- path prefix ------------------------------------------------------------------------

test('with RT_PATH_PREFIX a trigger on /realtime/apps/{id}/events, signed over /apps/{id}/events, is delivered', async () => {
  const c = await connectClient(prefixed, app, { extra: { wsPath: '/realtime' } });
  clients.push(c);
  await subscribe(c, 'prefixed');
  const res = await signedRequest(prefixed, app, {
    path: '/events', wirePrefix: '/realtime', body: { name: 'via-prefix', channels: ['prefixed'], data: '{"p":1}' },
  });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json, {});
  await waitFor(() => eventsOf(c, 'prefixed', 'via-prefix').length === 1, 3000, 'event through the prefix');
  assert.deepEqual(eventsOf(c, 'prefixed', 'via-prefix')[0].data, { p: 1 });
});

test('with RT_PATH_PREFIX a GET on /realtime/apps/{id}/channels is signed over /apps/{id}/channels', async () => {
  const res = await signedRequest(prefixed, app, { path: '/channels', wirePrefix: '/realtime', params: { filter_by_prefix: 'prefixed' } });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json, { channels: { prefixed: {} } });
});

test('with RT_PATH_PREFIX an error under the prefix is still a JSON error', async () => {
  const res = await signedRequest(prefixed, app, { path: '/channels', wirePrefix: '/realtime', secret: 'wrong' });
  assert.equal(res.status, 401);
  assert.deepEqual(res.json, { error: 'Invalid auth_signature' });
});
