// RT_LOG_FORMAT=json: every log line is one JSON object, and lines about a connection or a
// REST request carry its ids as fields (docs/configuration.md).
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, createApp, startServer, waitFor } from '../harness/index.mjs';
import { RawClient, wsUrl, restClient } from './helpers.mjs';

describe('JSON log lines', () => {
  let db, app;
  before(() => {
    db = createDatabase();
    app = createApp(db);
  });

  test('one object per line, with app, socket_id and request_id fields', async () => {
    const server = await startServer({ dbUrl: db, env: { RT_LOG_FORMAT: 'json', RT_LOG_LEVEL: 'debug' } });
    const c = await RawClient.connect(wsUrl(server, app.key));
    await restClient(server, app).trigger('news', 'e', {});
    c.ws.close(4000, 'bye');
    await c.closed;
    const lines = () => server.logs().trim().split('\n').map((l) => JSON.parse(l));
    await waitFor(() => lines().some((l) => /^route=events status=200 in \d+\.\d{3} ms$/.test(l.msg)), 3000, 'the REST line');
    await server.stop();
    const all = lines();
    for (const l of all) {
      assert.match(l.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.ok(['debug', 'info', 'warn', 'error'].includes(l.level), JSON.stringify(l));
      assert.equal(typeof l.msg, 'string');
    }
    assert.deepEqual(all.find((l) => l.socket_id && l.msg === 'connected'), { time: all.find((l) => l.msg === 'connected').time, level: 'debug', app: app.id, socket_id: c.socketId, msg: 'connected' });
    const rest = all.find((l) => l.request_id && l.msg.startsWith('route=events'));
    assert.match(rest.request_id, /^\d+$/);
    assert.match(all.find((l) => /rtserver listening on/.test(l.msg)).msg, /^rtserver listening on 127\.0\.0\.1:\d+/);
  });

  test('RT_LOG_FORMAT other than text or json is refused', async () => {
    const server = await startServer({ dbUrl: db, env: { RT_LOG_FORMAT: 'xml' }, waitReady: false });
    const res = await server.exited;
    assert.equal(res.code, 2);
    assert.equal(server.logs(), 'rtserver: RT_LOG_FORMAT must be text or json (got "xml")\n');
  });
});
