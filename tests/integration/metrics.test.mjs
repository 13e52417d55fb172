// /metrics and /health as docs/operations.md describes them: every metric of its "Metrics"
// table is exposed with its type, and the new ones count what they say.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { SOURCE_DIR, createDatabase, createApp, rtadmin, startServer, freePort, waitFor } from '../harness/index.mjs';
import { startPrivatePostgres } from '../harness/postgres.mjs';
import { spawnSync } from 'node:child_process';
import { RawClient, wsUrl, restClient } from './helpers.mjs';

const DOC = readFileSync(path.join(SOURCE_DIR, 'docs/operations.md'), 'utf8');

function documentedMetrics() {
  const section = DOC.slice(DOC.indexOf('### Metrics'), DOC.indexOf('### Alerts'));
  const out = [];
  for (const m of section.matchAll(/^\| `(rt_\w+)` \| (gauge|counter|histogram) \|([^|]*)\|/gm))
    out.push({ name: m[1], type: m[2], labels: m[3].trim() });
  return out;
}

async function metrics(server) {
  return (await fetch(`${server.url}/metrics`)).text();
}

/** The value of one series (name plus exact label text), or undefined. */
function value(text, series) {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

async function startRedis(port) {
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  await waitFor(() => new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1', () => { c.end(); resolve(true); });
    c.on('error', () => resolve(false));
  }), 5000, 'redis to listen');
  return proc;
}

describe('metrics and health', { timeout: 60000 }, () => {
  let db, apps, redisPort, redis, server;
  before(async () => {
    db = createDatabase();
    apps = [createApp(db, [], 'busy'), createApp(db, [], 'idle1'), createApp(db, [], 'idle2')];
    redisPort = await freePort();
    redis = await startRedis(redisPort);
    server = await startServer({ dbUrl: db, redisUrl: `redis://127.0.0.1:${redisPort}`, env: { RT_METRICS_APPS_MAX: '1' } });
    await waitFor(async () => (await (await fetch(`${server.url}/health`)).json()).redis === 'connected', 5000, 'redis link');
  });
  after(async () => {
    await server.stop();
    redis.kill('SIGKILL');
  });

  test('every metric in the docs/operations.md table is exposed with its type', async () => {
    const docs = documentedMetrics();
    assert.ok(docs.length >= 45, `${docs.length} metrics documented`);
    // Traffic first, so that series with labels (REST routes, app ids) exist.
    const c = await RawClient.connect(wsUrl(server, apps[0].key));
    c.send({ event: 'pusher:subscribe', data: { channel: 'news' } });
    await c.next((m) => m.event === 'pusher_internal:subscription_succeeded');
    await restClient(server, apps[0]).trigger('news', 'hello', { n: 1 });
    await c.next((m) => m.event === 'hello');
    const refused = new RawClient(wsUrl(server, 'no-such-key'));
    assert.equal((await refused.closed).code, 4001);
    const text = await metrics(server);
    for (const { name, type, labels } of docs) {
      assert.match(text, new RegExp(`^# TYPE ${name} ${type}$`, 'm'), `# TYPE ${name} ${type}`);
      const series = type === 'histogram' ? `${name}_bucket` : name;
      const re = labels ? new RegExp(`^${series}\\{[^}]*\\} \\S+$`, 'm') : new RegExp(`^${series} \\S+$`, 'm');
      assert.match(text, re, `a sample of ${name}`);
    }
    c.ws.close();
  });

  test('messages, frames and bytes out; REST requests by route and status with latency', async () => {
    const before = await metrics(server);
    const c = await RawClient.connect(wsUrl(server, apps[0].key));
    c.send({ event: 'pusher:subscribe', data: { channel: 'counted' } });
    await c.next((m) => m.event === 'pusher_internal:subscription_succeeded');
    await restClient(server, apps[0]).trigger('counted', 'e', { x: 'y' });
    const ev = await c.next((m) => m.event === 'e');
    assert.equal((await fetch(`${server.url}/apps/${apps[0].id}/events`, { method: 'POST', body: '{}' })).status, 401);
    const after = await metrics(server);
    const d = (series) => (value(after, series) ?? 0) - (value(before, series) ?? 0);
    // connection_established, subscription_succeeded, the event
    assert.equal(d('rt_ws_frames_out_total'), 3);
    assert.equal(d('rt_messages_out_total'), 1);
    assert.ok(d('rt_ws_bytes_out_total') > JSON.stringify(ev).length, `bytes out ${d('rt_ws_bytes_out_total')}`);
    assert.equal(d('rt_rest_requests_total{route="events",status="200"}'), 1);
    assert.equal(d('rt_rest_requests_total{route="events",status="401"}'), 1);
    assert.equal(d('rt_rest_request_duration_seconds_count{route="events"}'), 2);
    assert.equal(d('rt_rest_request_duration_seconds_bucket{route="events",le="+Inf"}'), 2);
    assert.equal(value(after, 'rt_rest_requests_total{route="metrics",status="200"}') >= 2, true);
    c.ws.close();
  });

  test('event-loop lag gauges are sampled', async () => {
    const text = await metrics(server);
    const lag = value(text, 'rt_event_loop_lag_seconds');
    const max = value(text, 'rt_event_loop_lag_max_seconds');
    assert.ok(lag >= 0 && lag < 1, `lag ${lag}`);
    assert.ok(max >= lag && max < 1, `max ${max}`);
  });

  test('per-app series are bounded by RT_METRICS_APPS_MAX: the busiest app, the rest as _other', async () => {
    await waitFor(async () => value(await metrics(server), 'rt_connections') === 0, 3000, 'earlier clients gone');
    const c = await RawClient.connect(wsUrl(server, apps[0].key));
    const text = await metrics(server);
    const ids = [...text.matchAll(/^rt_app_connections\{app="([^"]+)"\} (\d+)$/gm)].map((m) => `${m[1]}=${m[2]}`);
    assert.deepEqual(ids, [`${apps[0].id}=1`, '_other=0']);
    assert.equal([...text.matchAll(/^rt_app_webhooks_delivered_total\{app="([^"]+)"\}/gm)].length, 1);
    assert.equal(value(text, 'rt_apps'), 3);
    c.ws.close();
  });

  test('Redis link state and reconnects; /ready 503 while Redis is down, 200 again after', async () => {
    let text = await metrics(server);
    assert.equal(value(text, 'rt_redis_connected'), 1);
    assert.equal(value(text, 'rt_redis_reconnects_total'), 0);
    assert.equal(value(text, 'rt_database_connected'), 1);
    redis.kill('SIGKILL');
    await waitFor(async () => value(await metrics(server), 'rt_redis_connected') === 0, 5000, 'link down');
    const ready = await fetch(`${server.url}/ready`);
    assert.equal(ready.status, 503);
    assert.deepEqual((({ status, redis: r, database }) => ({ status, redis: r, database }))(await ready.json()),
      { status: 'degraded', redis: 'disconnected', database: true });
    redis = await startRedis(redisPort);
    await waitFor(async () => value(await metrics(server), 'rt_redis_connected') === 1, 15000, 'link up again');
    text = await metrics(server);
    assert.equal(value(text, 'rt_redis_reconnects_total'), 1);
    assert.equal((await fetch(`${server.url}/ready`)).status, 200);
  });
});

describe('PostgreSQL link: /ready stays 200 while the node serves from memory', { timeout: 60000 }, () => {
  let pg, server;
  before(async () => {
    pg = await startPrivatePostgres();
    const r = spawnSync('psql', [pg.url, '-qc', 'CREATE DATABASE rt'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const db = pg.url.replace(/\/postgres$/, '/rt');
    assert.equal(rtadmin(['migrate'], { RT_DATABASE_URL: db }).code, 0);
    server = await startServer({ dbUrl: db });
  });
  after(async () => {
    await server.stop();
    pg.destroy();
  });

  test('rt_database_connected follows the link, rt_database_reconnects_total counts its returns', async () => {
    // The node is ready once it has loaded the apps; the link that follows changes connects
    // right after, on the loop.
    await waitFor(async () => value(await metrics(server), 'rt_database_connected') === 1, 5000, 'link up');
    let text = await metrics(server);
    assert.equal(value(text, 'rt_database_reconnects_total'), 0);
    pg.stop();
    await waitFor(async () => value(await metrics(server), 'rt_database_connected') === 0, 10000, 'link down');
    const ready = await fetch(`${server.url}/ready`);
    assert.equal(ready.status, 200, 'serving from memory: still ready');
    assert.equal((await ready.json()).database, false);
    pg.start();
    await waitFor(async () => value(await metrics(server), 'rt_database_connected') === 1, 20000, 'link up again');
    text = await metrics(server);
    assert.equal(value(text, 'rt_database_reconnects_total'), 1);
  });
});
