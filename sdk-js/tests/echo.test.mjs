// Laravel Echo 2.x (the npm package's browser build) driving sdk-js in headless Chromium, as a
// Laravel app would: listen, private + whisper/listenForWhisper, join with here/joining/leaving,
// encryptedPrivate, toOthers through axios's X-Socket-Id header, and a server restart. The same
// page script runs with pusher-js 8 (window.Pusher from its with-encryption build) as the
// reference, so every assertion below holds for both clients.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { buildBundle, DIST, ROOT } from '../scripts/build.mjs';
import { startLive } from './helpers.mjs';

const modules = (file) => path.join(ROOT, 'node_modules', file);
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Scripts the page can load, by URL path. */
const SCRIPTS = {
  '/axios.min.js': modules('axios/dist/axios.min.js'),
  '/echo.iife.js': modules('laravel-echo/dist/echo.iife.js'),
  '/pusher-with-encryption.min.js': modules('pusher-js/dist/web/pusher-with-encryption.min.js'),
  '/realtime.global.min.js': path.join(DIST, 'realtime.global.min.js'),
  '/realtime-encryption.min.js': path.join(DIST, 'realtime-encryption.min.js'),
};

/**
 * The application page, written the way Laravel's docs set Echo up. `client` picks the Pusher
 * implementation: `realtime` loads our <script> build and uses window.Realtime where
 * window.Pusher is expected; `pusher` loads pusher-js. `mode=client` hands Echo a client built
 * from the same options (`new Echo({...options, client})`); `mode=global` lets Echo construct
 * window.Pusher itself. Everything the page sees is pushed onto window.seen.
 */
function page(live, query) {
  const client = query.get('client');
  const library = client === 'realtime'
    ? '<script src="/realtime.global.min.js"></script>\n<script>window.Pusher = window.Realtime;</script>'
    : '<script src="/pusher-with-encryption.min.js"></script>';
  const config = { key: live.app.key, host: live.server.host, port: live.server.port };
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Echo with ${client}</title></head>
<body>
<script>
  // Records the URL of every WebSocket the page opens.
  window.socketUrls = [];
  window.WebSocket = class extends WebSocket {
    constructor(url, protocols) {
      super(url, protocols);
      window.socketUrls.push(url);
    }
  };
</script>
<script src="/axios.min.js"></script>
<script src="/echo.iife.js"></script>
${library}
<script>
  const query = new URLSearchParams(location.search);
  const user = query.get('user');
  const suffix = query.get('suffix');
  const config = ${JSON.stringify(config)};
  const options = {
    broadcaster: 'pusher',
    key: config.key,
    cluster: 'mt1',
    wsHost: config.host,
    wsPort: config.port,
    wssPort: config.port,
    forceTLS: false,
    enabledTransports: ['ws', 'wss'],
    authEndpoint: query.get('authEndpoint') || '/broadcasting/auth',
    auth: { headers: { 'X-User-Id': user } },
  };
  if (query.get('authTransport')) options.authTransport = query.get('authTransport');
  if (query.get('forceTLS') === 'unset') delete options.forceTLS;
  if (query.get('userAuthentication') === 'jsonp') {
    options.userAuthentication = { endpoint: '/jsonp/user-auth', transport: 'jsonp' };
  }
  const seen = (window.seen = []);
  const note = (text) => seen.push(text);
  const echo = query.get('mode') === 'global'
    ? new Echo.default(options)
    : new Echo.default({ ...options, client: new window.Pusher(options.key, options) });
  window.echo = echo;
  for (const name of (query.get('channels') || '').split(',').filter(Boolean)) {
    if (name === 'news') {
      echo.channel('news-' + suffix).subscribed(() => note('subscribed:news'))
        .listen('Headline', (e) => note('news:' + e.title));
    } else if (name === 'chat') {
      echo.private('chat-' + suffix).subscribed(() => note('subscribed:chat'))
        .error((e) => note('error:chat:' + (e.status || e.error)))
        .listen('Said', (e) => note('said:' + e.text))
        .listenForWhisper('typing', (e) => note('whisper:' + e.from));
    } else if (name === 'room') {
      echo.join('room-' + suffix).subscribed(() => note('subscribed:room'))
        .here((users) => note('here:' + users.map((u) => u.name).sort().join(',')))
        .joining((u) => note('joining:' + u.name))
        .leaving((u) => note('leaving:' + u.name))
        .listenForWhisper('wave', (e) => note('wave:' + e.from));
    } else if (name === 'vault') {
      echo.encryptedPrivate('vault-' + suffix).subscribed(() => note('subscribed:vault'))
        .listen('Secret', (e) => note('secret:' + e.text));
    }
  }
  window.whisperChat = () => echo.private('chat-' + suffix).whisper('typing', { from: user });
  window.waveRoom = () => echo.join('room-' + suffix).whisper('wave', { from: user });
  window.whisperVault = () => {
    try {
      echo.encryptedPrivate('vault-' + suffix).whisper('typing', { from: user });
      return 'sent';
    } catch (err) {
      return 'threw';
    }
  };
  window.signin = () => echo.connector.signin();
  // pusher-js emits no event on success: user.user_data is what both clients share.
  window.signedInAs = () => echo.connector.pusher.user.user_data && echo.connector.pusher.user.user_data.id;
  window.say = (text) => axios.post('/api/say', { text, channel: 'private-chat-' + suffix });
</script>
</body></html>`;
}

/** Reads a request body as text. */
async function readBody(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return body;
}

/**
 * The Laravel app stand-in: the page, the scripts, /broadcasting/auth (POST, form-encoded, the
 * user from X-User-Id), /jsonp/auth (GET with ?callback=, for authTransport 'jsonp') and
 * /api/say, a controller that broadcasts `->toOthers()`: it excludes the X-Socket-Id sender.
 */
async function startAppServer(live) {
  const app = { requests: [] };
  const authorize = (socketId, channel, userId) => {
    const presence = channel.startsWith('presence-') ? { user_id: userId, user_info: { name: `User ${userId}` } } : undefined;
    return live.pusher.authorizeChannel(socketId, channel, presence);
  };
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://localhost');
    app.requests.push({ method: req.method, path: url.pathname, query: url.searchParams, headers: req.headers });
    if (url.pathname === '/') {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end(page(live, url.searchParams));
    } else if (url.pathname === '/broadcasting/auth' && req.method === 'POST') {
      const form = new URLSearchParams(await readBody(req));
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(authorize(form.get('socket_id'), form.get('channel_name'), req.headers['x-user-id'])));
    } else if (url.pathname === '/jsonp/auth' && req.method === 'GET') {
      const q = url.searchParams;
      const data = authorize(q.get('socket_id'), q.get('channel_name'), 'jsonp-user');
      res.writeHead(200, { 'Content-Type': 'text/javascript' });
      res.end(`${q.get('callback')}(${JSON.stringify(data)});`);
    } else if (url.pathname === '/jsonp/user-auth' && req.method === 'GET') {
      const q = url.searchParams;
      const data = live.pusher.authenticateUser(q.get('socket_id'), { id: 'jsonp-user' });
      res.writeHead(200, { 'Content-Type': 'text/javascript' });
      res.end(`${q.get('callback')}(${JSON.stringify(data)});`);
    } else if (url.pathname === '/api/say' && req.method === 'POST') {
      const { text, channel } = JSON.parse(await readBody(req));
      const socketId = req.headers['x-socket-id'];
      await live.pusher.trigger(channel, 'App\\Events\\Said', { text }, socketId ? { socket_id: socketId } : {});
      res.writeHead(204).end();
    } else if (SCRIPTS[url.pathname]) {
      try {
        res.writeHead(200, { 'Content-Type': 'text/javascript' });
        res.end(await readFile(SCRIPTS[url.pathname]));
      } catch {
        res.writeHead(404).end();
      }
    } else {
      res.writeHead(url.pathname === '/favicon.ico' ? 204 : 404).end();
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  app.url = (params) => `http://localhost:${server.address().port}/?${new URLSearchParams(params)}`;
  app.close = () => new Promise((r) => server.close(r));
  return app;
}

let live;
let app;
let browser;
before(async () => {
  await buildBundle();
  live = await startLive();
  app = await startAppServer(live);
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
});
after(async () => {
  if (browser) await browser.close();
  if (app) await app.close();
  if (live) await live.stop();
});

/** Opens the page; collects page errors into `errors`. */
async function openPage(params, errors) {
  const tab = await browser.newPage();
  tab.on('pageerror', (e) => errors.push(`${params.user}: ${e}`));
  tab.on('console', (m) => m.type() === 'error' && errors.push(`${params.user}: ${m.text()}`));
  await tab.goto(app.url(params));
  return tab;
}

/** Waits until the page has seen `text` at least `times` times. */
async function waitSeen(tab, text, times = 1, timeout = 10000) {
  try {
    await tab.waitForFunction(([t, n]) => window.seen.filter((s) => s === t).length >= n, [text, times], { timeout });
  } catch (err) {
    const seen = await tab.evaluate(() => window.seen);
    throw new Error(`page never saw '${text}' x${times}; saw ${JSON.stringify(seen)}`, { cause: err });
  }
}

const seenBy = (tab) => tab.evaluate(() => window.seen.slice());
const CHANNELS = ['news', 'chat', 'room', 'vault'];

async function waitSubscribed(tab, times = 1) {
  for (const name of CHANNELS) await waitSeen(tab, `subscribed:${name}`, times);
}

/** The whole Echo script; `client` is 'realtime' or 'pusher'. */
async function echoScenario(client) {
  const suffix = client;
  const errors = [];
  const base = { client, suffix, mode: 'client', channels: CHANNELS.join(',') };
  const ada = await openPage({ ...base, user: 'ada' }, errors);
  await waitSubscribed(ada);
  await waitSeen(ada, 'here:User ada');
  const bob = await openPage({ ...base, user: 'bob' }, errors);
  await waitSubscribed(bob);

  // join: here / joining
  await waitSeen(bob, 'here:User ada,User bob');
  await waitSeen(ada, 'joining:User bob');

  // listen on a public channel and on an encrypted private channel
  await live.pusher.trigger(`news-${suffix}`, 'App\\Events\\Headline', { title: 'extra' });
  await live.pusher.trigger(`private-encrypted-vault-${suffix}`, 'App\\Events\\Secret', { text: 'hush' });
  for (const tab of [ada, bob]) {
    await waitSeen(tab, 'news:extra');
    await waitSeen(tab, 'secret:hush');
  }

  // whisper / listenForWhisper on private and presence channels; never echoed to the sender
  await ada.evaluate(() => window.whisperChat());
  await ada.evaluate(() => window.waveRoom());
  await waitSeen(bob, 'whisper:ada');
  await waitSeen(bob, 'wave:ada');
  // whisper on an encrypted channel is refused by the client, as pusher-js does
  assert.equal(await ada.evaluate(() => window.whisperVault()), 'threw');

  // toOthers: axios carries X-Socket-Id; the app excludes that socket from the broadcast
  const adaSocket = await ada.evaluate(() => window.echo.socketId());
  assert.match(adaSocket, /^\d+\.\d+$/);
  await ada.evaluate(() => window.say('only for others'));
  const say = app.requests.filter((r) => r.path === '/api/say').at(-1);
  assert.equal(say.headers['x-socket-id'], adaSocket);
  await waitSeen(bob, 'said:only for others');
  await live.pusher.trigger(`private-chat-${suffix}`, 'App\\Events\\Said', { text: 'for everyone' });
  await waitSeen(ada, 'said:for everyone');
  await waitSeen(bob, 'said:for everyone');
  assert.deepEqual((await seenBy(ada)).filter((s) => s.startsWith('said:')), ['said:for everyone']);
  assert.deepEqual((await seenBy(ada)).filter((s) => s.startsWith('whisper:') || s.startsWith('wave:')), []);

  // leaving
  await bob.close();
  await waitSeen(ada, 'leaving:User bob');

  // reconnect: the server is killed and restarted on the same port; Echo's listeners keep working
  await live.server.kill();
  live.server = await live.harness.startServer({ dbUrl: live.dbUrl, port: live.server.port });
  await waitSubscribed(ada, 2);
  await waitSeen(ada, 'here:User ada', 2);
  const adaSocketAfter = await ada.evaluate(() => window.echo.socketId());
  assert.match(adaSocketAfter, /^\d+\.\d+$/);
  assert.notEqual(adaSocketAfter, adaSocket);
  await live.pusher.trigger(`news-${suffix}`, 'App\\Events\\Headline', { title: 'after restart' });
  await live.pusher.trigger(`private-encrypted-vault-${suffix}`, 'App\\Events\\Secret', { text: 'still secret' });
  await waitSeen(ada, 'news:after restart');
  await waitSeen(ada, 'secret:still secret');
  const cy = await openPage({ ...base, user: 'cy' }, errors);
  await waitSubscribed(cy);
  await waitSeen(ada, 'joining:User cy');
  await cy.evaluate(() => window.whisperChat());
  await waitSeen(ada, 'whisper:cy');
  await cy.close();
  await waitSeen(ada, 'leaving:User cy');
  await ada.close();

  // The only console errors allowed are the browser's own reports of the refused connections
  // while the server was down.
  assert.deepEqual(errors.filter((e) => !/WebSocket connection to .* failed/.test(e)), []);
}

test('pusher-js 8 as Echo client (the reference)', () => echoScenario('pusher'));
test('sdk-js as Echo client: listen, whisper, join, encryptedPrivate, toOthers, reconnect', () => echoScenario('realtime'));

/**
 * Echo builds window.Pusher itself from its options, with authTransport 'jsonp' for channels
 * and userAuthentication.transport 'jsonp' for sign-in.
 */
async function jsonpScenario(client) {
  const errors = [];
  const tab = await openPage(
    {
      client, suffix: `jsonp-${client}`, mode: 'global', channels: 'chat', user: 'jay',
      authEndpoint: '/jsonp/auth', authTransport: 'jsonp', userAuthentication: 'jsonp',
    },
    errors,
  );
  await waitSeen(tab, 'subscribed:chat');
  const jsonp = app.requests.filter((r) => r.path === '/jsonp/auth' && r.query.get('channel_name') === `private-chat-jsonp-${client}`);
  assert.equal(jsonp.length, 1);
  assert.equal(jsonp[0].method, 'GET');
  assert.match(jsonp[0].query.get('socket_id'), /^\d+\.\d+$/);
  assert.ok(jsonp[0].query.get('callback'), 'a callback name');
  await live.pusher.trigger(`private-chat-jsonp-${client}`, 'App\\Events\\Said', { text: 'via jsonp' });
  await waitSeen(tab, 'said:via jsonp');
  await tab.evaluate(() => window.signin());
  await tab.waitForFunction(() => window.signedInAs() === 'jsonp-user', null, { timeout: 10000 });
  const signins = app.requests.filter((r) => r.path === '/jsonp/user-auth');
  assert.equal(signins.at(-1).method, 'GET');
  assert.ok(signins.at(-1).query.get('callback'), 'a callback name');
  assert.deepEqual(errors, []);
  await tab.close();
}

test('pusher-js 8 built by Echo from window.Pusher authorizes and signs in over JSONP (the reference)', () => jsonpScenario('pusher'));
test('window.Realtime built by Echo as window.Pusher authorizes and signs in over JSONP (authTransport)', () => jsonpScenario('realtime'));


/** Without forceTLS the client connects with TLS (wss:// on wssPort), even on an http page. */
async function tlsScenario(client) {
  const tab = await browser.newPage();
  await tab.goto(app.url({ client, suffix: `tls-${client}`, mode: 'client', channels: '', user: 'tia', forceTLS: 'unset' }));
  await tab.waitForFunction(() => window.socketUrls.length > 0, null, { timeout: 5000 });
  const sockets = await tab.evaluate(() => window.socketUrls.slice());
  assert.match(sockets[0] || '', new RegExp(`^wss://${live.server.host}:${live.server.port}/app/${live.app.key}\\?`));
  assert.ok(sockets.every((url) => url.startsWith('wss://')), JSON.stringify(sockets));
  await tab.close();
}

test('pusher-js 8 without forceTLS uses wss:// on an http page (the reference)', () => tlsScenario('pusher'));
test('sdk-js without forceTLS uses wss:// on an http page, like pusher-js', () => tlsScenario('realtime'));
