// Node capacity and the file-descriptor limit: refusals are clean (4100, counted), the loop
// does not spin, and the clients already connected are unaffected.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { RTSERVER, createDatabase, createApp, startServer, sleep, waitFor } from '../harness/index.mjs';
import { RawClient, wsUrl, restClient, alive } from './helpers.mjs';

/** utime + stime of a process in clock ticks. */
function cpuTicks(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

async function metric(server, name) {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : null;
}

describe('at the file-descriptor limit', { timeout: 120000 }, () => {
  // nofile 256: the server keeps 128 for itself, and 32 of lws's 128 for REST, so 96 sockets.
  let db, app, server;
  const clients = [];
  before(async () => {
    db = createDatabase();
    app = createApp(db, [], 'capacity');
    server = await startServer({ dbUrl: db, binary: 'prlimit', args: ['--nofile=256:256', RTSERVER] });
  });
  after(async () => {
    for (const c of clients) c.close();
    await server.stop();
  });

  test('WebSockets beyond the budget get pusher:error 4100 and close 4100, counted in /metrics', async () => {
    for (let i = 0; i < 96; i++) clients.push(await RawClient.connect(wsUrl(server, app.key)));
    const refused = [];
    for (let i = 0; i < 5; i++) {
      const c = new RawClient(wsUrl(server, app.key));
      refused.push({ c, closed: await c.closed });
    }
    for (const { c, closed } of refused) {
      assert.deepEqual(closed, { code: 4100, reason: 'Over capacity' });
      assert.deepEqual(c.messages, [{ event: 'pusher:error', data: { code: 4100, message: 'Over capacity' } }]);
    }
    assert.equal(await metric(server, 'rt_connections'), 96);
    assert.equal(await metric(server, 'rt_connections_refused_total'), 5);
  });

  test('sockets past lws\'s budget wait in the listen backlog and the loop does not spin', async () => {
    // lws stops accepting at its budget (accept modulation) instead of accepting into EMFILE.
    const sockets = [];
    for (let i = 0; i < 80; i++) {
      const s = net.connect(server.port, '127.0.0.1');
      s.on('error', () => {});
      sockets.push(s);
    }
    await sleep(500);
    const before = cpuTicks(server.proc.pid);
    await sleep(2000);
    const used = cpuTicks(server.proc.pid) - before;
    assert.ok(used < 50, `server used ${used} ticks of CPU in 2 s while at its limit`);
    for (const s of sockets) s.destroy();
    await sleep(500);
    assert.ok(alive(server));
  });

  test('connected clients still get events, and new clients get in once others leave', async () => {
    const from = clients[0].messages.length;
    await restClient(server, app).trigger('cap', 'ping', 'x').catch(() => {});
    // subscribe the first client and publish again
    await clients[0].subscribe('cap');
    const res = await restClient(server, app).trigger('cap', 'hello', 'world');
    assert.equal(res.status, 200);
    const m = await clients[0].next((x) => x.event === 'hello', 3000, from);
    assert.equal(m.data, 'world');
    clients.pop().close();
    await waitFor(async () => (await metric(server, 'rt_connections')) === 95, 3000, 'a slot to free up');
    const fresh = await RawClient.connect(wsUrl(server, app.key));
    clients.push(fresh);
    assert.match(fresh.socketId, /^\d+\.\d+$/);
    assert.ok(alive(server));
  });
});
