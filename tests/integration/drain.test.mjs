// Graceful drain (docs/operations.md "Upgrade with zero downtime"): on SIGTERM /ready answers
// 503 at once, the node stops accepting, asks its clients to reconnect (4200) spread over
// RT_DRAIN_SECONDS, answers REST requests already under way, then exits; a second SIGTERM
// exits at once. SIGHUP says in the log what it reloaded.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { assertCleanLogs, createDatabase, createApp, rtadmin, startServer, sleep, waitFor } from '../harness/index.mjs';
import { createHash, createHmac } from 'node:crypto';
import { RawClient, wsUrl } from './helpers.mjs';

/** A keep-alive HTTP/1.1 connection on which requests are written by hand. */
async function rawHttp(server) {
  const sock = net.connect(server.port, server.host);
  await new Promise((resolve, reject) => { sock.once('connect', resolve); sock.once('error', reject); });
  let buf = '';
  sock.on('data', (d) => (buf += d));
  sock.on('error', () => {});
  return {
    sock,
    write: (text) => sock.write(text),
    /** Resolves with the status of the next complete response (head + Content-Length body). */
    async response(ms = 3000) {
      return waitFor(() => {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return null;
        const len = Number(/content-length:\s*(\d+)/i.exec(buf.slice(0, end))?.[1] ?? 0);
        if (buf.length < end + 4 + len) return null;
        const status = Number(buf.slice(9, 12));
        const body = buf.slice(end + 4, end + 4 + len);
        buf = buf.slice(end + 4 + len);
        return { status, body };
      }, ms, 'an HTTP response');
    },
  };
}

function connectRefused(server) {
  return new Promise((resolve) => {
    const s = net.connect(server.port, server.host);
    s.once('connect', () => { s.destroy(); resolve(false); });
    s.once('error', (e) => resolve(e.code === 'ECONNREFUSED'));
  });
}

describe('graceful drain', () => {
  let dbUrl, app;
  before(() => {
    dbUrl = createDatabase();
    app = createApp(dbUrl);
  });

  test('SIGTERM: /ready 503 at once, no new connections, 4200 spread over RT_DRAIN_SECONDS, then exit 0', async () => {
    const server = await startServer({ dbUrl, env: { RT_DRAIN_SECONDS: '2' } });
    const clients = [];
    for (let i = 0; i < 12; i++) clients.push(await RawClient.connect(wsUrl(server, app.key)));
    const keepAlive = await rawHttp(server);
    keepAlive.write('GET /ready HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal((await keepAlive.response()).status, 200);

    const t0 = Date.now();
    const closedAt = clients.map((c) => c.closed.then((r) => ({ ...r, ms: Date.now() - t0 })));
    server.proc.kill('SIGTERM');
    await sleep(100);
    keepAlive.write('GET /ready HTTP/1.1\r\nHost: x\r\n\r\n');
    const ready = await keepAlive.response();
    assert.equal(ready.status, 503);
    assert.equal(JSON.parse(ready.body).draining, true);
    assert.equal(await connectRefused(server), true, 'the listening socket is closed');

    const closes = await Promise.all(closedAt);
    for (const c of closes) {
      assert.equal(c.code, 4200);
      assert.equal(c.reason, 'Server shutting down, reconnect immediately');
    }
    const times = closes.map((c) => c.ms).sort((a, b) => a - b);
    assert.ok(times[0] < 600, `first close at ${times[0]} ms`);
    assert.ok(times[11] >= 1500 && times[11] < 2600, `last close at ${times[11]} ms`);
    // Evenly spread: about 12 closes over 2 s, never more than a third in any half second.
    for (let w = 0; w < 2000; w += 500) {
      const n = times.filter((t) => t >= w && t < w + 500).length;
      assert.ok(n >= 1 && n <= 4, `${n} closes in [${w}, ${w + 500}) ms: ${times}`);
    }
    const res = await server.exited;
    assert.equal(res.code, 0);
    assert.ok(Date.now() - t0 < 4000, `exited ${Date.now() - t0} ms after SIGTERM`);
    assert.match(server.logs(), /not ready, not accepting; draining 12 connections over 2 s/);
    assertCleanLogs(server.logs());
    keepAlive.sock.destroy();
  });

  test('a REST request under way when SIGTERM arrives is answered before the node exits', async () => {
    const server = await startServer({ dbUrl, env: { RT_DRAIN_SECONDS: '0' } });
    const c = await RawClient.connect(wsUrl(server, app.key));
    const http = await rawHttp(server);
    // The head and half of the body now, the rest after SIGTERM.
    const body = JSON.stringify({ name: 'e', channel: 'ch', data: '{}' });
    // Sign the request the way the SDK does (auth_* query parameters).
    const md5 = createHash('md5').update(body).digest('hex');
    const ts = Math.floor(Date.now() / 1000);
    const pathq = `/apps/${app.id}/events`;
    const query = `auth_key=${app.key}&auth_timestamp=${ts}&auth_version=1.0&body_md5=${md5}`;
    const sig = createHmac('sha256', app.secret).update(`POST\n${pathq}\n${query}`).digest('hex');
    http.write(`POST ${pathq}?${query}&auth_signature=${sig} HTTP/1.1\r\nHost: x\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`);
    await sleep(100);
    server.proc.kill('SIGTERM');
    assert.equal((await c.closed).code, 4200);
    await sleep(700);
    assert.equal(server.proc.exitCode, null, 'still running while a request is being read');
    http.write(body.slice(10));
    const res = await http.response();
    assert.equal(res.status, 200, res.body);
    assert.deepEqual(JSON.parse(res.body), {});
    assert.equal((await server.exited).code, 0);
    assertCleanLogs(server.logs());
    http.sock.destroy();
  });

  test('webhooks held in their settle window are delivered before the node exits', async () => {
    const hits = [];
    const receiver = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => { hits.push(...JSON.parse(body).events); res.end(); });
    });
    await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const hooked = createApp(dbUrl, [], 'hooked');
    const url = `http://127.0.0.1:${receiver.address().port}/hook`;
    assert.equal(rtadmin(['webhook', 'add', hooked.id, url], { RT_DATABASE_URL: dbUrl }).code, 0);
    const server = await startServer({ dbUrl, env: { RT_DRAIN_SECONDS: '0' } });
    const c = await RawClient.connect(wsUrl(server, hooked.key));
    c.send({ event: 'pusher:subscribe', data: { channel: 'room' } });
    await waitFor(() => hits.some((e) => e.name === 'channel_occupied'), 3000, 'channel_occupied');
    const t0 = Date.now();
    server.proc.kill('SIGTERM');
    assert.equal((await server.exited).code, 0);
    // channel_vacated is normally held 3 s; the draining node sends it at once.
    assert.deepEqual(hits.map((e) => `${e.name} ${e.channel}`), ['channel_occupied room', 'channel_vacated room']);
    assert.ok(Date.now() - t0 < 2500, `exited ${Date.now() - t0} ms after SIGTERM`);
    assertCleanLogs(server.logs());
    receiver.closeAllConnections();
    receiver.close();
  });

  test('a second SIGTERM exits at once', async () => {
    const server = await startServer({ dbUrl, env: { RT_DRAIN_SECONDS: '60' } });
    const clients = [];
    for (let i = 0; i < 5; i++) clients.push(await RawClient.connect(wsUrl(server, app.key)));
    server.proc.kill('SIGTERM');
    await sleep(300);
    assert.equal(server.proc.exitCode, null, 'the first SIGTERM drains');
    const t0 = Date.now();
    server.proc.kill('SIGTERM');
    const res = await server.exited;
    assert.ok(Date.now() - t0 < 1000, `exited ${Date.now() - t0} ms after the second SIGTERM`);
    assert.equal(res.code, 0);
    assert.match(server.logs(), /second signal: exiting now/);
    assertCleanLogs(server.logs());
    for (const c of clients) c.ws.terminate();
  });

  test('SIGHUP says in the log what it reloaded and what stays', async () => {
    const server = await startServer({ dbUrl });
    server.proc.kill('SIGHUP');
    await waitFor(() => /SIGHUP: log level/.test(server.logs()), 3000, 'the SIGHUP log line');
    assert.match(server.logs(), /SIGHUP: no TLS certificate configured, nothing to reload/);
    assert.match(server.logs(), /SIGHUP: log level info kept; other settings need a restart/);
    assert.equal((await fetch(`${server.url}/ready`)).status, 200);
    await server.stop();
  });
});
