// Webhook delivery limits (docs/webhooks.md "Limits"): each app's concurrency share, the
// per-app and node-wide backlog caps in count and bytes (waiting, retrying, in flight and
// held in the settle window), the churn rate limit, drop metrics and log lines, and URL
// redaction in logs.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createDatabase, createApp, startServer, rtadmin, sleep, waitFor, RTSERVER, MASTER_KEY } from '../harness/index.mjs';
import { rssKb } from './helpers.mjs';
import {
  receiver, rawClient, subscribeAll, unsubscribeAll, floodClientEvents, metrics, series, appSeries,
} from './webhooks_limits_helpers.mjs';

// A stopping node waits up to RT_CLOSE_TIMEOUT for webhooks still in flight; these suites end
// with receivers that are closed or hang on purpose, so they stop after 1 s instead of 5.
const startQuickStop = (opts) => startServer({ ...opts, env: { RT_CLOSE_TIMEOUT: '1', ...(opts.env || {}) } });

const names = (prefix, n) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

/** A webhook that sends every event in its own request (--batch-max 1), so that requests
 *  and events count alike in these tests. */
function addWebhook(db, app, url, events) {
  const r = rtadmin(['webhook', 'add', app.id, url, '--batch-max', '1', ...(events ? ['--events', events] : [])], { RT_DATABASE_URL: db });
  assert.equal(r.code, 0, r.stderr);
}

/** Lines of the server log reporting drops for app, with their counts. */
function dropLines(server, app) {
  const re = new RegExp(`app=${app.id} webhooks: dropped (\\d+) events`, 'g');
  return [...server.logs().matchAll(re)].map((m) => Number(m[1]));
}

/** Waits until app has nothing waiting, retrying, in flight or held. */
async function drained(server, app) {
  await waitFor(async () => {
    const m = await metrics(server);
    return ['queued', 'in_flight', 'held'].every((w) => appSeries(m, app, w) === 0);
  }, 10000, `app ${app.id} drained`);
}

describe('an app whose endpoint hangs', { timeout: 120000 }, () => {
  let db, server, dead, healthy, appA, appB, flooder;
  before(async () => {
    db = createDatabase();
    dead = await receiver('hang');
    healthy = await receiver('ok');
    appA = createApp(db, ['--max-subscriptions-per-connection', '1000'], 'dead-endpoint');
    appB = createApp(db, [], 'healthy-endpoint');
    addWebhook(db, appA, dead.url);
    addWebhook(db, appB, healthy.url);
    server = await startQuickStop({ dbUrl: db });
  });
  after(async () => {
    flooder?.close();
    dead.close();
    healthy.close();
    await server.stop();
  });

  test('has at most RT_WEBHOOK_APP_CONCURRENCY (4) requests in flight', async () => {
    flooder = await rawClient(server, appA);
    await subscribeAll(flooder, names('dead', 300));
    await waitFor(() => dead.open >= 4, 3000, 'four requests open');
    await sleep(500);
    assert.equal(dead.maxOpen, 4);
    const m = await metrics(server);
    assert.equal(appSeries(m, appA, 'in_flight'), 4);
    assert.equal(appSeries(m, appA, 'queued'), 296);
    assert.equal(series(m, 'rt_webhooks_in_flight'), 4);
  });

  test('does not delay another app: each of its webhooks arrives within 1 s', async () => {
    // Spans A's 5 s request timeout, so A's retries are coming due during the probes too.
    for (let i = 0; i < 4; i++) {
      const c = await rawClient(server, appB);
      const t0 = Date.now();
      await c.subscribe(`healthy-${i}`);
      const hit = await waitFor(() => healthy.hits.find((h) => h.json.events[0].channel === `healthy-${i}`), 15000, `occupied healthy-${i}`);
      assert.ok(hit.at - t0 < 1000, `probe ${i}: webhook after ${hit.at - t0} ms`);
      assert.ok(dead.open > 0, 'the dead endpoint still holds requests');
      c.close();
      await sleep(1500);
    }
    assert.equal(dead.maxOpen, 4);
  });
});

describe('per-app backlog cap', { timeout: 120000 }, () => {
  let db, server, dead, failing, big, appA, appC, appD, clients = [], floodAt;
  before(async () => {
    db = createDatabase();
    dead = await receiver('hang');
    failing = await receiver('fail');
    big = await receiver('hang');
    appA = createApp(db, ['--max-subscriptions-per-connection', '1000'], 'capped');
    appC = createApp(db, ['--max-subscriptions-per-connection', '1000'], 'failing');
    appD = createApp(db, ['--client-events', '--max-payload-kb', '100', '--client-events-per-second', '0'], 'big');
    addWebhook(db, appA, dead.url);
    addWebhook(db, appC, failing.url);
    addWebhook(db, appD, big.url, 'client_event');
    server = await startQuickStop({
      dbUrl: db,
      env: { RT_WEBHOOK_APP_MAX_PENDING: '50', RT_WEBHOOK_APP_MAX_PENDING_KB: '2048' },
    });
  });
  after(async () => {
    for (const c of clients) c.close();
    dead.close();
    failing.close();
    big.close();
    await server.stop();
  });

  test('stops at RT_WEBHOOK_APP_MAX_PENDING deliveries and counts the rest as app_full drops', async () => {
    const c = await rawClient(server, appA);
    clients.push(c);
    floodAt = Date.now();
    await subscribeAll(c, names('capped', 200));
    await waitFor(() => dead.open >= 4, 3000, 'four requests open');
    await sleep(300);
    assert.equal(dead.maxOpen, 4);
    const m = await metrics(server);
    assert.equal(appSeries(m, appA, 'in_flight'), 4);
    assert.equal(appSeries(m, appA, 'queued'), 46);
    assert.equal(appSeries(m, appA, 'dropped_total', 'app_full'), 150);
    assert.equal(appSeries(m, appA, 'dropped_total', 'node_full'), 0);
    assert.equal(appSeries(m, appA, 'dropped_total', 'rate'), 0);
    assert.equal(series(m, 'rt_webhooks_dropped_total', { reason: 'app_full' }), 150);
  });

  test('counts deliveries waiting for a retry against the cap', async () => {
    const c = await rawClient(server, appC);
    clients.push(c);
    await subscribeAll(c, names('failing', 200));
    await waitFor(() => failing.hits.length >= 50, 5000, 'first attempts');
    await sleep(300);
    let m = await metrics(server);
    assert.equal(appSeries(m, appC, 'queued') + appSeries(m, appC, 'in_flight'), 50);
    assert.ok(appSeries(m, appC, 'retried_total') >= 50);
    assert.equal(appSeries(m, appC, 'dropped_total', 'app_full'), 150);
    // Everything the app holds is waiting for its retry timer: new events are still refused.
    await subscribeAll(c, names('failing-more', 10));
    m = await metrics(server);
    assert.equal(appSeries(m, appC, 'dropped_total', 'app_full'), 160);
    assert.equal(appSeries(m, appC, 'delivered_total'), 0);
  });

  test('stops at RT_WEBHOOK_APP_MAX_PENDING_KB bytes, and the server RSS stays bounded', async () => {
    const rssBefore = rssKb(server.proc.pid);
    clients.push(await floodClientEvents(server, appD, 1500, 64 * 1024));
    const rssGrowthKb = rssKb(server.proc.pid) - rssBefore;
    // Unbounded, the 1500 bodies alone would take about 96 MB. ASan keeps freed memory in
    // quarantine, so only the plain build can be held to a bound.
    if (!process.env.RT_SANITIZED) assert.ok(rssGrowthKb < 32 * 1024, `RSS grew by ${rssGrowthKb} KB`);
    const m = await metrics(server);
    const kept = appSeries(m, appD, 'queued') + appSeries(m, appD, 'in_flight');
    assert.ok(appSeries(m, appD, 'pending_bytes') <= 2048 * 1024);
    assert.ok(kept >= 20 && kept < 50, `kept ${kept}`); // ~65 KB each: bytes bind before count
    assert.equal(appSeries(m, appD, 'dropped_total', 'app_full'), 1500 - kept);
  });

  test('logs drops at most once per app per 10 s, with the number dropped since the last line', async () => {
    assert.ok(dropLines(server, appA).length >= 1, 'a line at the first drop');
    await waitFor(() => dropLines(server, appA).reduce((a, b) => a + b, 0) === 150, 15000, 'all drops logged');
    assert.ok(Date.now() - floodAt >= 9000, 'the rest is reported about 10 s later');
    assert.equal(dropLines(server, appA).length, 2);
    assert.ok(!/webhook queue full/.test(server.logs()), 'no line per dropped event');
  });
});

describe('node-wide backlog cap', { timeout: 120000 }, () => {
  let db, server, deadA, deadC, deadE, appA, appC, appE, clients = [];
  before(async () => {
    db = createDatabase();
    deadA = await receiver('hang');
    deadC = await receiver('hang');
    appA = createApp(db, ['--max-subscriptions-per-connection', '1000'], 'first');
    appC = createApp(db, ['--max-subscriptions-per-connection', '1000'], 'second');
    addWebhook(db, appA, deadA.url);
    addWebhook(db, appC, deadC.url);
    server = await startQuickStop({
      dbUrl: db,
      env: { RT_WEBHOOK_MAX_PENDING: '60', RT_WEBHOOK_APP_MAX_PENDING: '50', RT_WEBHOOK_APP_CONCURRENCY: '2' },
    });
  });
  after(async () => {
    for (const c of clients) c.close();
    deadA.close();
    deadC.close();
    deadE?.close();
    await server.stop();
  });

  test('stops at RT_WEBHOOK_MAX_PENDING over all apps and counts node_full drops', async () => {
    const a = await rawClient(server, appA);
    const c = await rawClient(server, appC);
    clients.push(a, c);
    await subscribeAll(a, names('first', 100));
    await subscribeAll(c, names('second', 100));
    await waitFor(() => deadA.open >= 2 && deadC.open >= 2, 3000, 'two requests open per app');
    await sleep(300);
    assert.equal(deadA.maxOpen, 2, 'RT_WEBHOOK_APP_CONCURRENCY=2');
    assert.equal(deadC.maxOpen, 2, 'RT_WEBHOOK_APP_CONCURRENCY=2');
    const m = await metrics(server);
    assert.equal(series(m, 'rt_webhooks_in_flight'), 4);
    assert.equal(appSeries(m, appA, 'queued') + appSeries(m, appA, 'in_flight'), 50);
    assert.equal(appSeries(m, appC, 'queued') + appSeries(m, appC, 'in_flight'), 10);
    assert.equal(appSeries(m, appA, 'dropped_total', 'app_full'), 50);
    assert.equal(appSeries(m, appC, 'dropped_total', 'node_full'), 90);
    assert.equal(series(m, 'rt_webhooks_queued') + series(m, 'rt_webhooks_in_flight'), 60);
    assert.equal(series(m, 'rt_webhooks_dropped_total', { reason: 'node_full' }), 90);
    assert.equal(series(m, 'rt_webhooks_dropped_total', { reason: 'app_full' }), 50);
  });

  test('stops at RT_WEBHOOK_MAX_PENDING_KB bytes over all apps', async () => {
    const db2 = createDatabase();
    deadE = await receiver('hang');
    appE = createApp(db2, ['--client-events', '--max-payload-kb', '100', '--client-events-per-second', '0'], 'bytes');
    addWebhook(db2, appE, deadE.url, 'client_event');
    const s = await startQuickStop({ dbUrl: db2, env: { RT_WEBHOOK_MAX_PENDING_KB: '1024' } });
    try {
      (await floodClientEvents(s, appE, 100, 64 * 1024)).close();
      const m = await metrics(s);
      const kept = series(m, 'rt_webhooks_queued') + series(m, 'rt_webhooks_in_flight');
      assert.ok(series(m, 'rt_webhooks_pending_bytes') <= 1024 * 1024);
      assert.ok(kept >= 10 && kept < 16, `kept ${kept}`);
      assert.equal(series(m, 'rt_webhooks_dropped_total', { reason: 'node_full' }), 100 - kept);
      assert.equal(appSeries(m, appE, 'dropped_total', 'node_full'), 100 - kept);
    } finally {
      deadE.close();
      await s.stop();
    }
  });
});

describe('settle window', { timeout: 120000 }, () => {
  let db, server, hook, app, c;
  before(async () => {
    db = createDatabase();
    hook = await receiver('ok');
    app = createApp(db, ['--max-subscriptions-per-connection', '1000'], 'settle');
    addWebhook(db, app, hook.url, 'channel_vacated');
    server = await startQuickStop({ dbUrl: db, env: { RT_WEBHOOK_APP_MAX_PENDING: '50' } });
  });
  after(async () => {
    c?.close();
    hook.close();
    await server.stop();
  });

  test('held channel_vacated events count against the app cap', async () => {
    c = await rawClient(server, app);
    await subscribeAll(c, names('settle', 200));
    await unsubscribeAll(c, names('settle', 200));
    let m = await metrics(server);
    assert.equal(appSeries(m, app, 'held'), 50);
    assert.equal(appSeries(m, app, 'dropped_total', 'app_full'), 150);
    await drained(server, app);
    await sleep(200);
    assert.equal(hook.events().filter((e) => e.name === 'channel_vacated').length, 50);
    m = await metrics(server);
    assert.equal(appSeries(m, app, 'delivered_total'), 50);
  });
});

describe('channel churn', { timeout: 120000 }, () => {
  let db, server, hook, app, c;
  before(async () => {
    db = createDatabase();
    hook = await receiver('ok');
    app = createApp(db, [], 'churn');
    addWebhook(db, app, hook.url);
    server = await startQuickStop({
      dbUrl: db,
      // No subscribe rate limit here: only the webhook bucket decides what is sent.
      env: { RT_WEBHOOK_APP_CHANNEL_EVENTS_PER_SECOND: '1', RT_WEBHOOK_APP_CHANNEL_EVENTS_BURST: '40', RT_SUBSCRIBE_RATE: '0' },
    });
  });
  after(async () => {
    c?.close();
    hook.close();
    await server.stop();
  });

  test('subscribing and unsubscribing 150 channels sends at most burst + rate x seconds occupied/vacated webhooks', async () => {
    c = await rawClient(server, app);
    const t0 = Date.now();
    for (const name of names('churn', 150)) {
      await c.subscribe(name);
      c.send({ event: 'pusher:unsubscribe', data: { channel: name } });
    }
    await c.ping();
    await sleep(4000); // the settle window, and time to deliver
    const seconds = Math.ceil((Date.now() - t0) / 1000);
    const churned = () => hook.events().filter((e) => e.name === 'channel_occupied' || e.name === 'channel_vacated');
    assert.ok(churned().length <= 40 + seconds, `${churned().length} webhooks in ${seconds} s`);
    await drained(server, app);
    const sent = churned();
    assert.ok(sent.length >= 40 && sent.length <= 40 + seconds + 1, `${sent.length} webhooks in ${seconds} s`);
    const m = await metrics(server);
    assert.equal(appSeries(m, app, 'dropped_total', 'rate'), 300 - sent.length);
    assert.equal(appSeries(m, app, 'delivered_total'), sent.length);
  });

  test('an invalid webhook setting stops rtserver with a message naming it', () => {
    const r = spawnSync(RTSERVER, [], {
      encoding: 'utf8',
      timeout: 5000,
      env: { PATH: process.env.PATH, RT_DATABASE_URL: db, RT_MASTER_KEY: MASTER_KEY, RT_WEBHOOK_APP_CONCURRENCY: '0' },
    });
    assert.equal(r.status, 2);
    assert.equal(r.stderr.split('\n')[0], 'rtserver: RT_WEBHOOK_APP_CONCURRENCY must be an integer from 1 to 32 (got "0")');
  });

  test('rtserver --help documents the webhook settings', () => {
    const help = spawnSync(RTSERVER, ['--help'], { encoding: 'utf8' }).stdout;
    for (const name of ['RT_WEBHOOK_MAX_PENDING', 'RT_WEBHOOK_MAX_PENDING_KB', 'RT_WEBHOOK_APP_MAX_PENDING',
      'RT_WEBHOOK_APP_MAX_PENDING_KB', 'RT_WEBHOOK_APP_CONCURRENCY', 'RT_WEBHOOK_APP_CHANNEL_EVENTS_PER_SECOND',
      'RT_WEBHOOK_APP_CHANNEL_EVENTS_BURST']) {
      assert.match(help, new RegExp(`${name}\\b`), name);
    }
  });
});

describe('webhook URLs in logs', { timeout: 120000 }, () => {
  let db, server, hook, app, c;
  before(async () => {
    db = createDatabase();
    hook = await receiver('fail');
    app = createApp(db, [], 'redact');
    addWebhook(db, app, `http://hookuser:hookpass@127.0.0.1:${hook.port}/hook?token=s3cr3t-token&v=1`);
    server = await startQuickStop({ dbUrl: db, env: { RT_LOG_LEVEL: 'debug' } });
  });
  after(async () => {
    c?.close();
    hook.close();
    await server.stop();
  });

  test('show no userinfo and no query string, while deliveries still use both', async () => {
    c = await rawClient(server, app);
    await c.subscribe('redacted');
    await waitFor(() => hook.hits.length >= 2, 5000, 'a failed attempt and its retry');
    hook.mode = 'ok';
    const logs = server.logs();
    for (const secret of ['hookuser', 'hookpass', 's3cr3t-token']) assert.ok(!logs.includes(secret), `${secret} in the log`);
    assert.ok(logs.includes(`http://127.0.0.1:${hook.port}/hook?…`), 'the redacted URL is logged');
    assert.equal(hook.hits[0].url, '/hook?token=s3cr3t-token&v=1');
    assert.equal(hook.hits[0].headers.authorization, `Basic ${Buffer.from('hookuser:hookpass').toString('base64')}`);
    await drained(server, app);
  });
});
