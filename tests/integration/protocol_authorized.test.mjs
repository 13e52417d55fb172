// Apps with authorized connections: a socket must sign in or join a private/presence channel
// within RT_AUTHORIZE_TIMEOUT, or it is closed with 4009.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createDatabase, createApp, startServer, sleep } from '../harness/index.mjs';
import { RawClient, wsUrl } from './helpers.mjs';

const sign = (secret, text) => createHmac('sha256', secret).update(text).digest('hex');

describe('authorized connections', { timeout: 60000 }, () => {
  let db, app, open, server;
  before(async () => {
    db = createDatabase();
    app = createApp(db, ['--authorized-connections', '--user-auth'], 'strict');
    open = createApp(db, [], 'relaxed');
    server = await startServer({ dbUrl: db, env: { RT_AUTHORIZE_TIMEOUT: '1' } });
  });
  after(async () => { await server.stop(); });

  test('a socket that does nothing is closed with 4009 after the timeout', async () => {
    const c = await RawClient.connect(wsUrl(server, app.key));
    const started = Date.now();
    const closed = await c.closed;
    assert.deepEqual(closed, { code: 4009, reason: 'Connection not authorized within timeout' });
    assert.ok(Date.now() - started >= 800, `closed after ${Date.now() - started} ms`);
    assert.deepEqual(c.messages.at(-1), { event: 'pusher:error', data: { code: 4009, message: 'Connection not authorized within timeout' } });
  });

  test('a public subscription does not authorize the socket', async () => {
    const c = await RawClient.connect(wsUrl(server, app.key));
    await c.subscribe('news');
    assert.equal((await c.closed).code, 4009);
  });

  test('joining a private channel authorizes the socket', async () => {
    const c = await RawClient.connect(wsUrl(server, app.key));
    const auth = `${app.key}:${sign(app.secret, `${c.socketId}:private-x`)}`;
    const m = await c.subscribe('private-x', { auth });
    assert.equal(m.event, 'pusher_internal:subscription_succeeded');
    await sleep(2000);
    assert.equal(c.isClosed, false);
    c.close();
  });

  test('signing in authorizes the socket', async () => {
    const c = await RawClient.connect(wsUrl(server, app.key));
    const userData = JSON.stringify({ id: 'u1' });
    const auth = `${app.key}:${sign(app.secret, `${c.socketId}::user::${userData}`)}`;
    await c.request({ event: 'pusher:signin', data: { auth, user_data: userData } }, (m) => m.event === 'pusher:signin_success');
    await sleep(2000);
    assert.equal(c.isClosed, false);
    c.close();
  });

  test('apps without the option keep idle sockets', async () => {
    const c = await RawClient.connect(wsUrl(server, open.key));
    await sleep(2000);
    assert.equal(c.isClosed, false);
    c.close();
  });
});
