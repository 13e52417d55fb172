// A real browser: headless Chromium (playwright-core, the system binary) loads a page served
// here that imports dist/realtime.min.js; events triggered through REST must appear in its DOM.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { buildBundle, DIST } from '../scripts/build.mjs';
import { startLive } from './helpers.mjs';

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** The test page: connects, subscribes to a public and an encrypted channel, logs events. */
function page({ key, host, port }) {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Realtime SDK browser test</title>
<style>body{font:16px sans-serif;margin:2em} #log li{padding:.2em 0}</style></head>
<body>
<h1>Realtime</h1>
<p>State: <b id="state">initialized</b> · socket <code id="socket">-</code></p>
<p>Subscribed: <span id="subscribed"></span></p>
<ul id="log"></ul>
<script type="module">
  import { Realtime } from '/realtime.min.js';
  const $ = (id) => document.getElementById(id);
  const log = (text) => { const li = document.createElement('li'); li.textContent = text; $('log').append(li); };
  const rt = new Realtime(${JSON.stringify(key)}, { wsHost: ${JSON.stringify(host)}, wsPort: ${port}, forceTLS: false });
  window.rt = rt;
  rt.connection.bind('state_change', ({ current }) => {
    $('state').textContent = current;
    $('socket').textContent = rt.connection.socket_id || '-';
  });
  for (const name of ['browser-news', 'private-encrypted-browser']) {
    const channel = rt.subscribe(name);
    channel.bind('pusher:subscription_succeeded', () => { $('subscribed').textContent += name + ' '; });
    channel.bind('pusher:subscription_error', (e) => log('error on ' + name + ': ' + e.error));
    channel.bind('message', (data) => log(name + ': ' + data.text));
  }
</script>
</body></html>`;
}

/** Serves the page, both bundles, and /pusher/auth (the SDK's default endpoint). */
async function startPageServer(live) {
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://localhost');
    if (url.pathname === '/') {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end(page({ key: live.app.key, host: live.server.host, port: live.server.port }));
    } else if (url.pathname === '/pusher/auth' && req.method === 'POST') {
      let body = '';
      for await (const chunk of req) body += chunk;
      const form = new URLSearchParams(body);
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(live.pusher.authorizeChannel(form.get('socket_id'), form.get('channel_name'))));
    } else if (url.pathname === '/favicon.ico') {
      res.writeHead(204).end();
    } else if (/^\/[\w.-]+\.js$/.test(url.pathname)) {
      try {
        const js = await readFile(path.join(DIST, url.pathname));
        res.writeHead(200, { 'Content-Type': 'text/javascript' });
        res.end(js);
      } catch {
        res.writeHead(404).end();
      }
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://localhost:${server.address().port}/`, close: () => new Promise((r) => server.close(r)) };
}

let live;
let pageServer;
let browser;
before(async () => {
  await buildBundle();
  live = await startLive();
  pageServer = await startPageServer(live);
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
});
after(async () => {
  if (browser) await browser.close();
  if (pageServer) await pageServer.close();
  if (live) await live.stop();
});

/** Opens the page and waits for "connected": generously, as CI runs this beside sanitized
 * servers on two cores; a timeout says what the page showed and logged. */
async function openConnected(tab) {
  const logged = [];
  tab.on('console', (m) => logged.push(`${m.type()}: ${m.text()}`));
  tab.on('pageerror', (e) => logged.push(String(e)));
  await tab.goto(pageServer.url);
  await tab.waitForFunction(() => document.getElementById('state').textContent === 'connected', null, { timeout: 30000 })
    .catch(async (e) => {
      throw new Error(`page never connected: state "${await tab.textContent('#state')}", console ${JSON.stringify(logged)}: ${e.message}`);
    });
}

test('a page using the bundle shows public and encrypted events triggered through REST', async () => {
  const tab = await browser.newPage();
  const consoleErrors = [];
  tab.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
  tab.on('pageerror', (e) => consoleErrors.push(String(e)));
  await openConnected(tab);
  await tab.waitForFunction(
    () => document.getElementById('subscribed').textContent.split(' ').filter(Boolean).length === 2,
    null,
    { timeout: 10000 },
  );
  assert.match(await tab.textContent('#socket'), /^\d+\.\d+$/);

  await live.pusher.trigger('browser-news', 'message', { text: 'Hello from REST' });
  await live.pusher.trigger('private-encrypted-browser', 'message', { text: 'Secret from REST' });
  await tab.waitForFunction(() => document.getElementById('log').children.length >= 2, null, { timeout: 10000 });

  const items = await tab.$$eval('#log li', (lis) => lis.map((li) => li.textContent));
  assert.deepEqual(items.sort(), ['browser-news: Hello from REST', 'private-encrypted-browser: Secret from REST']);
  const shot = path.join(os.tmpdir(), `realtime-sdk-browser-${process.pid}.png`);
  await tab.screenshot({ path: shot });
  console.log(`screenshot: ${shot}`);
  assert.deepEqual(consoleErrors, []);
  await tab.close();
});

test('window offline triggers a liveness check that a healthy connection survives', async () => {
  const tab = await browser.newPage();
  await openConnected(tab);
  const socketBefore = await tab.textContent('#socket');
  await tab.evaluate(() => window.dispatchEvent(new Event('offline')));
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(await tab.textContent('#state'), 'connected');
  assert.equal(await tab.evaluate(() => window.rt.connection.socket_id), socketBefore);
  await tab.close();
});
