// Helpers for the HTTP API suites (rest_*.test.mjs): our own implementation of the request
// signature of PROTOCOL.md §14.2 (so raw requests can be built independently of the `pusher`
// SDK, including deliberately broken ones), a small http.request wrapper, and pusher-js
// clients that subscribe through the real SDK's authorizeChannel / authenticateUser.
import { createHash, createHmac } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import PusherJs from 'pusher-js';
import Pusher from 'pusher';
import { pusherJsOptions, pusherRestOptions, waitFor } from '../harness/index.mjs';

export const md5hex = (s) => createHash('md5').update(s).digest('hex');
export const hmacHex = (secret, s) => createHmac('sha256', secret).update(s).digest('hex');
export const nowSeconds = () => Math.floor(Date.now() / 1000);

/**
 * The §14.2 string to sign: METHOD \n PATH \n sorted k=v (decoded values, keys lowercased,
 * auth_signature excluded).
 */
export function stringToSign(method, path, params) {
  const query = Object.keys(params)
    .filter((k) => k !== 'auth_signature')
    .map((k) => [k.toLowerCase(), String(params[k])])
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  return `${method.toUpperCase()}\n${path}\n${query}`;
}

/**
 * Returns the signed parameters (an object, values unescaped) for a request.
 * opts: { key, secret, timestamp, params, body (string), omit: [names], override: {k: v} }
 * `omit` drops parameters after signing, `override` replaces values after signing; both
 * produce deliberately broken requests.
 */
export function signParams(method, path, opts) {
  const params = {
    auth_key: opts.key,
    auth_timestamp: String(opts.timestamp ?? nowSeconds()),
    auth_version: '1.0',
    ...(opts.body ? { body_md5: md5hex(opts.body) } : {}),
    ...(opts.params || {}),
  };
  params.auth_signature = hmacHex(opts.secret, stringToSign(method, path, params));
  for (const k of opts.omit || []) delete params[k];
  Object.assign(params, opts.override || {});
  return params;
}

/** k=v&k=v with every key and value percent-encoded (what PHP/Guzzle sends). */
export function encodeQuery(params) {
  return Object.entries(params)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
}

/**
 * Sends one HTTP request with node:http and resolves {status, headers, text, json}.
 * opts: { method, path (wire path), query (string, without '?'), body, headers, agent }
 */
export function httpRequest(server, opts) {
  return new Promise((resolve, reject) => {
    const body = opts.body ?? undefined;
    const headers = { ...(opts.headers || {}) };
    if (body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type'))
      headers['content-type'] = 'application/json';
    if (body !== undefined) headers['content-length'] = Buffer.byteLength(body);
    const req = http.request(
      {
        host: server.host,
        port: server.port,
        method: opts.method || 'GET',
        path: opts.path + (opts.query ? `?${opts.query}` : ''),
        headers,
        agent: opts.agent ?? false,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => {
          let json;
          try { json = JSON.parse(text); } catch { json = undefined; }
          resolve({ status: res.statusCode, headers: res.headers, text, json, socket: res.socket });
        });
      },
    );
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/**
 * A signed request to the app's HTTP API. `path` is relative to /apps/{id} (e.g. "/events");
 * body may be an object (JSON-encoded) or a string (sent as is).
 * opts: { method, path, params, body, key, secret, timestamp, omit, override, appId,
 *         wirePrefix (prepended on the wire only), signedPath (override), agent, headers }
 */
export function signedRequest(server, app, opts) {
  const method = opts.method || (opts.body !== undefined ? 'POST' : 'GET');
  const appId = opts.appId ?? app.id;
  const path = `/apps/${appId}${opts.path}`;
  const body = opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
  const params = signParams(method, opts.signedPath ?? path, {
    key: opts.key ?? app.key,
    secret: opts.secret ?? app.secret,
    timestamp: opts.timestamp,
    params: opts.params,
    body,
    omit: opts.omit,
    override: opts.override,
  });
  return httpRequest(server, {
    method,
    path: (opts.wirePrefix || '') + path,
    query: encodeQuery(params),
    body,
    headers: opts.headers,
    agent: opts.agent,
  });
}

/** The `pusher` server SDK pointed at our server. */
export function restClient(server, app, extra = {}) {
  return new Pusher(pusherRestOptions(server, app, extra));
}

/** Resolves the parsed JSON body of a `pusher` SDK response, asserting 200 first. */
export async function sdkJson(promise) {
  const res = await promise;
  if (res.status !== 200) throw new Error(`expected 200, got ${res.status}`);
  return res.json();
}

/** Runs an SDK call that must fail; resolves {status, body} of the RequestError. */
export async function sdkError(promise) {
  try {
    const res = await promise;
    throw new Error(`expected a RequestError, got HTTP ${res.status}`);
  } catch (e) {
    if (e.status === undefined) throw e;
    let json;
    try { json = JSON.parse(e.body); } catch { json = undefined; }
    return { status: e.status, body: e.body, json };
  }
}

/**
 * A connected pusher-js client. Private/presence channels are authorized with the real
 * `pusher` SDK (authorizeChannel), sign-in with authenticateUser.
 * opts: { presence: {user_id, user_info}, user: {id, user_info}, extra: {...pusher-js opts},
 *         rest: a `pusher` instance to authorize with (e.g. one with an encryption master key) }
 */
export async function connectClient(server, app, opts = {}) {
  const rest = opts.rest || restClient(server, app);
  const client = new PusherJs(app.key, pusherJsOptions(server, {
    channelAuthorization: {
      customHandler: ({ socketId, channelName }, cb) => {
        try {
          cb(null, rest.authorizeChannel(socketId, channelName,
            channelName.startsWith('presence-') ? opts.presence : undefined));
        } catch (e) { cb(e, null); }
      },
    },
    userAuthentication: {
      customHandler: ({ socketId }, cb) => {
        try { cb(null, rest.authenticateUser(socketId, opts.user)); } catch (e) { cb(e, null); }
      },
    },
    ...(opts.extra || {}),
  }));
  client.received = []; // every channel event: {channel, event, data}
  client.errors = [];
  client.connection.bind('error', (e) => client.errors.push(e));
  client.bind_global(() => {}); // keep pusher-js from warning about unbound events
  await waitFor(() => client.connection.state === 'connected', 5000, 'pusher-js connected');
  return client;
}

/** Subscribes and resolves once pusher:subscription_succeeded arrived; records events. */
export async function subscribe(client, name) {
  const channel = client.subscribe(name);
  let failure = null;
  channel.bind('pusher:subscription_error', (e) => (failure = e));
  channel.bind_global((event, data) => {
    if (!event.startsWith('pusher:') && !event.startsWith('pusher_internal:'))
      client.received.push({ channel: name, event, data });
  });
  await waitFor(() => {
    if (failure) throw new Error(`subscription to ${name} failed: ${JSON.stringify(failure)}`);
    return channel.subscribed;
  }, 5000, `subscription to ${name}`);
  return channel;
}

/** Signs in (app must have --user-auth) and waits for the server-to-user subscription. */
export async function signin(client) {
  client.user.signin();
  await waitFor(() => client.user.user_data && client.user.serverToUserChannel?.subscribed,
    5000, 'signin and #server-to-user subscription');
}

/** Events of `client` on `channel` named `event`. */
export const eventsOf = (client, channel, event) =>
  client.received.filter((e) => e.channel === channel && e.event === event);

/**
 * Proves a negative: triggers a sentinel on `channel` after the event under test, waits until
 * the sentinel reached `client`, then the earlier event can no longer be in flight (one
 * ordered connection).
 */
export async function flush(rest, clients, channel) {
  const name = `sentinel-${Math.random().toString(36).slice(2)}`;
  await rest.trigger(channel, name, {});
  for (const c of clients)
    await waitFor(() => eventsOf(c, channel, name).length > 0, 3000, `sentinel on ${channel}`);
}

/** Opens a raw TCP connection; resolves the socket once connected. */
export function rawSocket(server) {
  return new Promise((resolve, reject) => {
    const s = net.connect(server.port, server.host, () => resolve(s));
    s.on('error', reject);
  });
}

/** Resolves {data, closedAfterMs} when the raw socket is closed by the peer. */
export function readUntilClose(socket) {
  const started = Date.now();
  let data = '';
  socket.setEncoding('utf8');
  socket.on('data', (d) => (data += d));
  return new Promise((resolve) => socket.on('close', () => resolve({ data, closedAfterMs: Date.now() - started })));
}

/** Resolves promise's value, or null after ms (the timer does not keep the process alive). */
export function within(promise, ms) {
  let timer;
  const expiry = new Promise((resolve) => { timer = setTimeout(() => resolve(null), ms); });
  return Promise.race([promise, expiry]).finally(() => clearTimeout(timer));
}
