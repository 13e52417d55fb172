// Apps that require TLS: plain connections get 4000; behind a TLS-terminating proxy the server
// believes X-Forwarded-Proto only when told to (RT_TRUST_PROXY=1).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, createApp, startServer } from '../harness/index.mjs';
import { RawClient, wsUrl, handshakeFailure } from './helpers.mjs';

describe('require TLS', () => {
  let db, app, plain, proxied;
  before(async () => {
    db = createDatabase();
    app = createApp(db, ['--require-tls'], 'tls-only');
    plain = await startServer({ dbUrl: db });
    proxied = await startServer({ dbUrl: db, env: { RT_TRUST_PROXY: '1' } });
  });
  after(async () => { await plain.stop(); await proxied.stop(); });

  test('a plain ws:// connection gets 4000 and is told to use wss://', async () => {
    const { closed, messages } = await handshakeFailure(wsUrl(plain, app.key));
    assert.deepEqual(closed, { code: 4000, reason: 'Application only accepts SSL connections, reconnect using wss://' });
    assert.deepEqual(messages, [{ event: 'pusher:error', data: { code: 4000, message: 'Application only accepts SSL connections, reconnect using wss://' } }]);
  });

  test('X-Forwarded-Proto is ignored unless RT_TRUST_PROXY=1', async () => {
    const { closed } = await handshakeFailure(wsUrl(plain, app.key), { headers: { 'X-Forwarded-Proto': 'https' } });
    assert.equal(closed.code, 4000);
  });

  test('behind a trusted proxy, X-Forwarded-Proto: https is accepted as TLS', async () => {
    const c = await RawClient.connect(wsUrl(proxied, app.key), { headers: { 'X-Forwarded-Proto': 'https' } });
    assert.match(c.socketId, /^\d+\.\d+$/);
    c.close();
    const { closed } = await handshakeFailure(wsUrl(proxied, app.key), { headers: { 'X-Forwarded-Proto': 'http' } });
    assert.equal(closed.code, 4000);
  });
});
