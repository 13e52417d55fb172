// Slow and half-open HTTP clients: the server keeps answering others and drops them after its
// timeout. The two cases wait for the same timeout, so they run concurrently.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, createApp, startServer } from '../harness/index.mjs';
import { signedRequest, rawSocket, readUntilClose, within } from './rest_helpers.mjs';

let server, app;

before(async () => {
  const db = createDatabase();
  app = createApp(db, []);
  server = await startServer({ dbUrl: db });
});

after(async () => {
  await server?.stop();
});

describe('slow clients', { concurrency: true }, () => {
  test('half-open clients with partial headers neither block other requests nor stay open forever', async () => {
    const stalled = [];
    for (let i = 0; i < 20; i++) {
      const s = await rawSocket(server);
      s.on('error', () => {});
      s.write(`GET /apps/${app.id}/channels?auth_key=${app.key} HTTP/1.1\r\nHost: x\r\nX-Slow: `);
      stalled.push({ socket: s, closed: readUntilClose(s) });
    }
    // While they hang, the server keeps answering: signed API requests and plain health checks.
    const started = Date.now();
    for (let i = 0; i < 5; i++) {
      const res = await signedRequest(server, app, { path: '/channels' });
      assert.equal(res.status, 200);
    }
    assert.equal((await fetch(`${server.url}/health`)).status, 200);
    assert.ok(Date.now() - started < 2000, 'requests were not delayed by stalled clients');
    assert.ok(stalled.every((s) => !s.socket.destroyed), 'stalled sockets are still open right after the partial header');

    // The server's header timeout closes them all; nothing is answered for an incomplete request.
    const results = await within(Promise.all(stalled.map((s) => s.closed)), 45000);
    if (!results) for (const s of stalled) s.socket.destroy();
    assert.ok(results, 'half-open sockets were not closed within 45 s');
    for (const r of results) {
      assert.ok(r.closedAfterMs > 1000, `closed too early (${r.closedAfterMs} ms)`);
      assert.ok(!/^HTTP\/1\.1 200/.test(r.data), 'no success answer to an incomplete request');
    }
  });

  test('a client that trickles its body slower than the timeout is dropped', async () => {
    const s = await rawSocket(server);
    s.on('error', () => {});
    const closed = readUntilClose(s);
    s.write(`POST /apps/${app.id}/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"na`);
    const res = await signedRequest(server, app, { path: '/channels' });
    assert.equal(res.status, 200, 'other requests proceed while a body is pending');
    const r = await within(closed, 45000);
    if (!r) s.destroy();
    assert.ok(r, 'a stalled body was not timed out within 45 s');
    assert.ok(!/^HTTP\/1\.1 200/.test(r.data));
  });
});
