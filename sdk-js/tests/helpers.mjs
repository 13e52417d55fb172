// Shared helpers for the sdk-js suites: clients wired to `ws`, a scriptable fake server for
// protocol edge cases, a real auth endpoint, and the live rtserver set-up through the harness.
import http from 'node:http';
import { existsSync } from 'node:fs';
import { WebSocketServer, WebSocket } from 'ws';
import { Realtime } from '../src/index.js';
import { buildBundle, BUNDLE } from '../scripts/build.mjs';

export { Realtime, WebSocket };
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Builds dist/realtime.min.js unless it exists (ctest runs `node --test file` directly). */
export async function ensureBundle() {
  if (!existsSync(BUNDLE)) await buildBundle();
  return BUNDLE;
}

/** Resolves with the next `event` on a dispatcher (channel, connection, user...); rejects after ms. */
export function nextEvent(emitter, event, ms = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.unbind(event, handler);
      reject(new Error(`timed out waiting for '${event}'`));
    }, ms);
    function handler(data, metadata) {
      clearTimeout(timer);
      emitter.unbind(event, handler);
      resolve(metadata ? { data, metadata } : data);
    }
    emitter.bind(event, handler);
  });
}

/** Resolves when the client's connection reaches `state` (immediately if already there). */
export function waitForState(client, state, ms = 5000) {
  if (client.connection.state === state) return Promise.resolve();
  return nextEvent(client.connection, state, ms);
}

/** Records every state the connection goes through. */
export function recordStates(client) {
  const states = [];
  client.connection.bind('state_change', ({ current }) => states.push(current));
  return states;
}

/** A client for a server at host:port, with `ws` as WebSocket and no browser network events. */
export function makeClient(key, { host, port }, options = {}) {
  return new Realtime(key, {
    wsHost: host,
    wsPort: port,
    wssPort: port,
    forceTLS: false,
    WebSocket,
    networkEvents: null,
    ...options,
  });
}

// ------------------------------------------------------------------ fake server

/**
 * A WebSocket server whose behaviour each test scripts. `onConnection(socket, request)` runs
 * for every client; `established(socket, extra)` sends pusher:connection_established.
 * Collects frames received by the server in `frames`, and request URLs in `urls`.
 */
export async function startFakeServer(onConnection) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.once('listening', r));
  const fake = {
    host: '127.0.0.1',
    port: wss.address().port,
    urls: [],
    frames: [],
    sockets: [],
    onConnection,
    close: () => {
      for (const s of wss.clients) s.terminate();
      return new Promise((r) => wss.close(r));
    },
  };
  let counter = 0;
  wss.on('connection', (socket, request) => {
    fake.urls.push(request.url);
    fake.sockets.push(socket);
    socket.on('message', (data) => fake.frames.push(JSON.parse(String(data))));
    socket.socketId = `${++counter}.${1000 + counter}`;
    fake.onConnection(socket, request);
  });
  return fake;
}

/** Sends the handshake frame from a fake server (data double-encoded, as rtserver does). */
export function established(socket, activityTimeout = 120) {
  socket.send(
    JSON.stringify({
      event: 'pusher:connection_established',
      data: JSON.stringify({ socket_id: socket.socketId, activity_timeout: activityTimeout }),
    }),
  );
}

// ------------------------------------------------------------------ auth endpoint

/**
 * A tiny HTTP auth endpoint backed by the `pusher` server SDK, like a Laravel/Express app's:
 *   POST /auth       → pusher.authorizeChannel (presence user from the X-User-Id header)
 *   POST /user-auth  → pusher.authenticateUser (user id from X-User-Id, watchlist from X-Watchlist)
 *   POST /deny       → 403
 * Records each request {path, contentType, body} in `requests`.
 */
export async function startAuthServer(pusher) {
  const requests = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      requests.push({ path: req.url, contentType: req.headers['content-type'], body, headers: req.headers });
      const form = new URLSearchParams(body);
      const socketId = form.get('socket_id');
      const userId = req.headers['x-user-id'] || 'anonymous';
      let reply;
      if (req.url === '/auth') {
        const channel = form.get('channel_name');
        const presence = channel.startsWith('presence-') ? { user_id: userId, user_info: { name: `User ${userId}` } } : undefined;
        reply = pusher.authorizeChannel(socketId, channel, presence);
      } else if (req.url === '/user-auth') {
        const user = { id: userId, user_info: { name: `User ${userId}` } };
        if (req.headers['x-watchlist']) user.watchlist = req.headers['x-watchlist'].split(',');
        reply = pusher.authenticateUser(socketId, user);
      } else {
        res.writeHead(403, { 'Content-Type': 'text/plain' });
        res.end('Forbidden');
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(reply));
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${server.address().port}`;
  return { base, requests, close: () => new Promise((r) => server.close(r)) };
}

// ------------------------------------------------------------------ live rtserver

/** Base64 of a fixed 32-byte master key for encrypted channels in tests. */
export const ENCRYPTION_MASTER_KEY = Buffer.alloc(32, 7).toString('base64');

/**
 * Starts a fresh database, app and rtserver, a `pusher` REST client for it and an auth
 * endpoint. Returns {harness, dbUrl, app, server, pusher, auth, options(extra), stop()}.
 */
export async function startLive(appFlags = ['--client-events', '--user-auth']) {
  const harness = await import('../../tests/harness/index.mjs');
  const { default: Pusher } = await import('pusher');
  const dbUrl = harness.createDatabase();
  const app = harness.createApp(dbUrl, appFlags);
  const live = { harness, dbUrl, app };
  live.server = await harness.startServer({ dbUrl });
  live.pusher = new Pusher({ ...harness.pusherRestOptions(live.server, app), encryptionMasterKeyBase64: ENCRYPTION_MASTER_KEY });
  live.auth = await startAuthServer(live.pusher);
  live.clients = [];
  /** A connected-on-creation client for this server; userId sets the X-User-Id auth header. */
  live.client = (userId, options = {}) => {
    const headers = userId ? { 'X-User-Id': userId, ...(options.headers || {}) } : options.headers || {};
    const client = makeClient(app.key, live.server, {
      channelAuthorization: { endpoint: `${live.auth.base}/auth`, headers },
      userAuthentication: { endpoint: `${live.auth.base}/user-auth`, headers },
      ...options,
    });
    live.clients.push(client);
    return client;
  };
  live.stop = async () => {
    for (const c of live.clients) c.disconnect();
    await live.auth.close();
    await live.server.stop();
  };
  return live;
}
