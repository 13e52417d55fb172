// Helpers shared by the protocol_*.test.mjs suites: raw WebSocket clients (for frames pusher-js
// cannot send), real pusher-js clients wired to the `pusher` server SDK for auth, and process
// checks. Everything here is black-box: it only talks to rtserver over the network.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import Pusher from 'pusher';
import PusherJs from 'pusher-js';
import { pusherJsOptions, pusherRestOptions, sleep, waitFor } from '../harness/index.mjs';

export { WebSocket, Pusher, PusherJs };

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
export const PUSHER_JS_VERSION = require(path.join(here, '../node_modules/pusher-js/package.json')).version;

export const SOCKET_ID_RE = /^\d+\.\d+$/;

/** ws:// URL of an app on server; query defaults to what pusher-js sends. */
export function wsUrl(server, key, { path: p, query } = {}) {
  const q = query === undefined ? `protocol=7&client=js&version=${PUSHER_JS_VERSION}&flash=false` : query;
  return `ws://${server.host}:${server.port}${p ?? `/app/${key}`}${q ? `?${q}` : ''}`;
}

/**
 * A raw WebSocket client that records every frame. Text frames are JSON-parsed into
 * `messages` (the `data` string is left as sent); `closed` resolves to {code, reason}.
 */
export class RawClient {
  constructor(url, wsOptions = {}) {
    this.url = url;
    this.messages = [];
    this.raw = [];
    this.ws = new WebSocket(url, wsOptions);
    this.ws.on('message', (buf, isBinary) => {
      const text = buf.toString('utf8');
      this.raw.push({ text, isBinary });
      try {
        this.messages.push(JSON.parse(text));
      } catch {
        this.messages.push({ unparseable: text });
      }
    });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', resolve);
      this.ws.once('error', reject);
    });
    this.ws.on('error', () => {});
    this.closed = new Promise((resolve) => {
      this.ws.once('close', (code, reason) => resolve({ code, reason: reason.toString('utf8') }));
    });
    this.isClosed = false;
    this.closed.then(() => (this.isClosed = true));
  }

  /** Connects and waits for pusher:connection_established; returns the parsed data. */
  static async connect(url, wsOptions) {
    const c = new RawClient(url, wsOptions);
    await c.opened;
    const m = await c.next((m) => m.event === 'pusher:connection_established');
    c.established = JSON.parse(m.data);
    c.socketId = c.established.socket_id;
    return c;
  }

  send(obj) {
    this.ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj));
  }

  /** Resolves with the first recorded message (from index `from`) matching pred. */
  async next(pred, ms = 3000, from = 0) {
    let i = from;
    return waitFor(() => {
      for (; i < this.messages.length; i++) if (pred(this.messages[i])) return this.messages[i];
      return null;
    }, ms, `message matching ${pred}`);
  }

  /** Sends a frame and resolves with the first message after it matching pred. */
  async request(obj, pred, ms = 3000) {
    const from = this.messages.length;
    this.send(obj);
    return this.next(pred, ms, from);
  }

  /** Messages received from index `from` on. */
  since(from) {
    return this.messages.slice(from);
  }

  /** pusher:ping -> pusher:pong on this socket. */
  async ping(ms = 3000) {
    return this.request({ event: 'pusher:ping', data: {} }, (m) => m.event === 'pusher:pong', ms);
  }

  async subscribe(channel, extra = {}) {
    return this.request(
      { event: 'pusher:subscribe', data: { channel, ...extra } },
      (m) => m.channel === channel && /subscription_succeeded|subscription_error|pusher:error/.test(m.event),
    );
  }

  close() {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
  }
}

/** Opens a raw connection and resolves with {client, closed: {code, reason}, messages}. */
export async function handshakeFailure(url, wsOptions = {}, ms = 3000) {
  const c = new RawClient(url, wsOptions);
  const closed = await Promise.race([c.closed, sleep(ms).then(() => null)]);
  c.close();
  return { client: c, closed, messages: c.messages };
}

/** A `pusher` (server SDK) client for app on server. */
export function restClient(server, app, extra = {}) {
  return new Pusher(pusherRestOptions(server, app, extra));
}

/**
 * A real pusher-js client. Channel authorization and user authentication go through the
 * `pusher` SDK's authorizeChannel / authenticateUser with the app's key and secret.
 * opts: { presence: {user_id, user_info} | (channelName) => ..., user: {id, ...} , sdk, pusherJs: {...} }
 */
export function pusherClient(server, app, opts = {}) {
  const sdk = opts.sdk || restClient(server, app);
  const client = new PusherJs(app.key, pusherJsOptions(server, {
    channelAuthorization: {
      customHandler: ({ socketId, channelName }, cb) => {
        try {
          if (opts.authorize) return cb(null, opts.authorize(socketId, channelName, sdk));
          const presence = typeof opts.presence === 'function' ? opts.presence(channelName) : opts.presence;
          cb(null, channelName.startsWith('presence-') && presence
            ? sdk.authorizeChannel(socketId, channelName, presence)
            : sdk.authorizeChannel(socketId, channelName));
        } catch (e) {
          cb(e, null);
        }
      },
    },
    userAuthentication: {
      customHandler: ({ socketId }, cb) => {
        try {
          if (opts.authenticate) return cb(null, opts.authenticate(socketId, sdk));
          cb(null, sdk.authenticateUser(socketId, opts.user));
        } catch (e) {
          cb(e, null);
        }
      },
    },
    ...(opts.pusherJs || {}),
  }));
  client.events = [];
  client.bind_global((event, data) => client.events.push({ event, data }));
  return client;
}

/** Resolves when a pusher-js client is connected; returns its socket id. */
export async function connected(client, ms = 5000) {
  await waitFor(() => client.connection.state === 'connected', ms, 'pusher-js connected');
  return client.connection.socket_id;
}

/** Subscribes a pusher-js client and resolves with the subscription_succeeded data. */
export function subscribed(client, name, ms = 5000) {
  return new Promise((resolve, reject) => {
    const ch = client.subscribe(name);
    const t = setTimeout(() => reject(new Error(`subscription to ${name} timed out`)), ms);
    ch.bind('pusher:subscription_succeeded', (data) => { clearTimeout(t); resolve(data ?? {}); });
    ch.bind('pusher:subscription_error', (e) => { clearTimeout(t); reject(Object.assign(new Error(`subscription_error on ${name}`), { status: e && e.status, data: e })); });
  });
}

/** Records every event bound on a pusher-js channel into an array. */
export function record(channel) {
  const got = [];
  channel.bind_global((event, data) => got.push({ event, data }));
  return got;
}

/** Resolves true if the process is still running. */
export function alive(server) {
  return server.proc.exitCode === null && server.proc.signalCode === null;
}

/** VmRSS of a pid in KB. */
export function rssKb(pid) {
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

/** Asserts nothing arrives matching pred within ms. Returns the matches (expected empty). */
export async function none(getList, pred, ms = 500) {
  await sleep(ms);
  return getList().filter(pred);
}

export { sleep, waitFor };
