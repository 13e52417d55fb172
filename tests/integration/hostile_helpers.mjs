// Helpers for the hostile-client suites (hostile_*.test.mjs): a byte-level RFC 6455 client on
// node:net (so tests can send unmasked, oversized, fragmented or otherwise broken frames), raw
// HTTP sockets, a well-behaved pusher-js "watch" client that must keep receiving probe events
// within 1 s while the server is under attack, and a VmRSS tracker of the server process.
// Every socket created here is registered and destroyed by destroyAll(); every wait has a
// deadline, so a suite cannot hang on a server that misbehaves.
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { sanitizerEnv, sleep, waitFor } from '../harness/index.mjs';
import { pusherClient, restClient, rssKb, subscribed } from './helpers.mjs';

export { sleep, waitFor };

export const KIB = 1024;
export const MIB = 1024 * 1024;
export const SANITIZED = process.env.RT_SANITIZED === '1';

/**
 * RSS bounds in kB over the server's baseline: at any time, and shortly after a probe's sockets
 * are gone. They are the real check on the plain build; ASan's allocator keeps freed chunks
 * cached and resident, so under ASan they only catch gross growth.
 */
export const RSS_PEAK_KB = (SANITIZED ? 160 : 64) * 1024;
export const RSS_AFTER_KB_BOUND = (SANITIZED ? 96 : 16) * 1024;

/**
 * The small edge settings of EDGE_SPEC.md the hostile suites run with, so every timeout fires
 * within seconds. Values are strings, as the server reads them from the environment.
 */
export const EDGE = {
  RT_HTTP_HEADER_TIMEOUT: '2',
  RT_HTTP_BODY_TIMEOUT: '2',
  RT_SEND_BUFFER_HARD_KB: '256',
  RT_SEND_BUFFER_SOFT_KB: '64',
  RT_SEND_BUFFER_SOFT_SECONDS: '2',
  RT_CLOSE_TIMEOUT: '2',
  RT_HTTP_BODY_INFLIGHT_PER_IP_KB: '1024',
  RT_HTTP_BODY_INFLIGHT_KB: '2048',
};
export const seconds = (name) => Number(EDGE[name]) * 1000;

/**
 * Server environment for a hostile suite: EDGE plus, under ASan, a small allocator quarantine
 * (ASan's default keeps 256 MiB of freed memory resident, which would make the RSS bound
 * measure ASan instead of the server).
 */
export function hostileEnv(extra = {}) {
  const env = { ...EDGE, ...extra };
  if (SANITIZED) {
    const asan = sanitizerEnv().ASAN_OPTIONS;
    env.ASAN_OPTIONS = `${asan ? `${asan}:` : ''}quarantine_size_mb=16:thread_local_quarantine_size_kb=64`;
  }
  return env;
}

/* ------------------------------------------------------------------------------------------ */
/* Socket registry                                                                              */

const sockets = new Set();

/** Registers a socket so destroyAll() ends it; errors are recorded, never thrown. */
export function track(socket) {
  sockets.add(socket);
  socket.errors = [];
  socket.on('error', (e) => socket.errors.push(e.code || e.message));
  socket.once('close', () => sockets.delete(socket));
  return socket;
}

/** Destroys every socket opened through these helpers that is still open. */
export function destroyAll() {
  for (const s of sockets) s.destroy();
  sockets.clear();
}

/** Resolves value of promise, or null after ms (the timer never keeps the process alive). */
export function within(promise, ms) {
  let timer;
  const expiry = new Promise((resolve) => { timer = setTimeout(() => resolve(null), ms); });
  return Promise.race([promise, expiry]).finally(() => clearTimeout(timer));
}

/** Opens a TCP connection to the server (optionally from another loopback address). */
export function connectTcp(server, { localAddress } = {}, ms = 3000) {
  const s = track(net.connect({ port: server.port, host: server.host, ...(localAddress ? { localAddress } : {}) }));
  s.closedAt = null;
  s.endedAt = null;
  s.whenClosed = new Promise((resolve) => s.once('close', () => { s.closedAt = Date.now(); resolve(s.closedAt); }));
  s.once('end', () => (s.endedAt = Date.now()));
  const connected = new Promise((resolve, reject) => {
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
  return within(connected, ms).then((r) => {
    if (!r) { s.destroy(); throw new Error(`TCP connect to ${server.port} timed out`); }
    s.connectedAt = Date.now();
    return s;
  });
}

/* ------------------------------------------------------------------------------------------ */
/* RFC 6455 frames                                                                              */

export const OP = { CONT: 0x0, TEXT: 0x1, BINARY: 0x2, CLOSE: 0x8, PING: 0x9, PONG: 0xa };

/**
 * Encodes one client frame.
 * opts: { fin = true, rsv = 0 (3 bits: RSV1=4, RSV2=2, RSV3=1), opcode, payload (Buffer|string),
 *         mask = true, maskKey (4 bytes, random by default),
 *         length: announced payload length (default payload.length; larger to announce bytes
 *         that are never sent) }
 */
export function encodeFrame(opts) {
  const payload = Buffer.isBuffer(opts.payload) ? opts.payload : Buffer.from(opts.payload ?? '', 'utf8');
  const fin = opts.fin ?? true;
  const mask = opts.mask ?? true;
  const length = opts.length ?? payload.length;
  let header;
  if (length < 126) {
    header = Buffer.alloc(2);
    header[1] = length;
  } else if (length < 65536) {
    header = Buffer.alloc(4);
    header[1] = 126;
    header.writeUInt16BE(length, 2);
  } else {
    header = Buffer.alloc(10);
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  header[0] = (fin ? 0x80 : 0) | ((opts.rsv ?? 0) << 4) | (opts.opcode & 0x0f);
  if (!mask) return Buffer.concat([header, payload]);
  header[1] |= 0x80;
  const key = opts.maskKey ?? randomBytes(4);
  const body = Buffer.alloc(payload.length);
  for (let i = 0; i < payload.length; i++) body[i] = payload[i] ^ key[i & 3];
  return Buffer.concat([header, key, body]);
}

/** A close frame payload: 2-byte code + UTF-8 reason. */
export function closePayload(code, reason = '') {
  const b = Buffer.alloc(2 + Buffer.byteLength(reason));
  b.writeUInt16BE(code, 0);
  b.write(reason, 2);
  return b;
}

/**
 * Incremental parser of server frames (unmasked, as RFC 6455 requires from a server).
 * push(chunk) returns the complete frames: {fin, rsv, opcode, masked, payload}.
 */
export class FrameParser {
  constructor() { this.buf = Buffer.alloc(0); }

  push(chunk) {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const frames = [];
    for (;;) {
      if (this.buf.length < 2) break;
      const b0 = this.buf[0], b1 = this.buf[1];
      let len = b1 & 0x7f, off = 2;
      if (len === 126) {
        if (this.buf.length < 4) break;
        len = this.buf.readUInt16BE(2); off = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) break;
        len = Number(this.buf.readBigUInt64BE(2)); off = 10;
      }
      const masked = (b1 & 0x80) !== 0;
      const keyLen = masked ? 4 : 0;
      if (this.buf.length < off + keyLen + len) break;
      let payload = Buffer.from(this.buf.subarray(off + keyLen, off + keyLen + len));
      if (masked) {
        const key = this.buf.subarray(off, off + 4);
        for (let i = 0; i < payload.length; i++) payload[i] ^= key[i & 3];
      }
      frames.push({ fin: (b0 & 0x80) !== 0, rsv: (b0 >> 4) & 7, opcode: b0 & 0x0f, masked, payload });
      this.buf = this.buf.subarray(off + keyLen + len);
    }
    return frames;
  }
}

/* ------------------------------------------------------------------------------------------ */
/* A raw WebSocket client on node:net                                                           */

/**
 * A WebSocket client that does its own handshake and framing over a raw TCP socket. Records
 * server frames: `messages` (text frames JSON-parsed), `pings`/`pongs` (payloads), `closeFrame`
 * ({code, reason, at}). `closed` resolves when the TCP socket is closed.
 */
export class RawWs {
  constructor(socket) {
    this.socket = socket;
    this.messages = [];
    this.pongs = [];
    this.closeFrame = null;
    this.serverFrames = 0;
    this.parser = new FrameParser();
    this.replyToClose = true;
  }

  /**
   * Connects, sends the WebSocket upgrade for /app/KEY and waits for the 101 (checking
   * Sec-WebSocket-Accept). opts: { localAddress, query, waitEstablished = true }
   */
  static async open(server, key, opts = {}) {
    const socket = await connectTcp(server, opts);
    const ws = new RawWs(socket);
    const wsKey = randomBytes(16).toString('base64');
    const query = opts.query ?? 'protocol=7&client=js&version=8.4.0&flash=false';
    socket.write(
      `GET /app/${key}?${query} HTTP/1.1\r\nHost: ${server.host}:${server.port}\r\n` +
      `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${wsKey}\r\n` +
      'Sec-WebSocket-Version: 13\r\n\r\n',
    );
    const head = await within(new Promise((resolve) => {
      let buf = Buffer.alloc(0);
      const onData = (d) => {
        buf = Buffer.concat([buf, d]);
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        socket.off('data', onData);
        resolve({ head: buf.subarray(0, end).toString('latin1'), rest: buf.subarray(end + 4) });
      };
      socket.on('data', onData);
      socket.whenClosed.then(() => resolve(null));
    }), 3000);
    if (!head) { socket.destroy(); throw new Error('no WebSocket handshake answer within 3 s'); }
    const accept = createHash('sha1').update(`${wsKey}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    if (!/^HTTP\/1\.1 101 /.test(head.head) || !head.head.toLowerCase().includes(`sec-websocket-accept: ${accept.toLowerCase()}`)) {
      socket.destroy();
      throw new Error(`bad handshake answer: ${head.head}`);
    }
    socket.on('data', (d) => ws.onData(d));
    if (head.rest.length) ws.onData(head.rest);
    if (opts.waitEstablished !== false) {
      const m = await ws.next((m) => m.event === 'pusher:connection_established' || m.event === 'pusher:error');
      if (m.event !== 'pusher:connection_established') throw new Error(`connection refused: ${JSON.stringify(m)}`);
      ws.socketId = JSON.parse(m.data).socket_id;
    }
    return ws;
  }

  onData(chunk) {
    for (const f of this.parser.push(chunk)) {
      this.serverFrames++;
      if (f.opcode === OP.TEXT) {
        const text = f.payload.toString('utf8');
        try { this.messages.push(JSON.parse(text)); } catch { this.messages.push({ unparseable: text }); }
      } else if (f.opcode === OP.PONG) {
        this.pongs.push(f.payload);
      } else if (f.opcode === OP.PING) {
        this.write(encodeFrame({ opcode: OP.PONG, payload: f.payload }));
      } else if (f.opcode === OP.CLOSE) {
        const code = f.payload.length >= 2 ? f.payload.readUInt16BE(0) : null;
        this.closeFrame = { code, reason: f.payload.subarray(2).toString('utf8'), at: Date.now() };
        if (this.replyToClose) this.write(encodeFrame({ opcode: OP.CLOSE, payload: f.payload.subarray(0, 2) }));
      }
    }
  }

  get closed() { return this.socket.whenClosed; }
  get isClosed() { return this.socket.closedAt !== null; }

  /** Writes bytes unless the socket is gone; returns socket.write's answer (false = full). */
  write(buf) {
    if (this.socket.destroyed || !this.socket.writable) return false;
    return this.socket.write(buf);
  }

  /** Sends a masked text frame with JSON (objects are encoded). */
  send(obj, opts = {}) {
    return this.write(encodeFrame({ opcode: OP.TEXT, payload: typeof obj === 'string' ? obj : JSON.stringify(obj), ...opts }));
  }

  /** Resolves the first message from index `from` matching pred; rejects after ms. */
  next(pred, ms = 3000, from = 0) {
    let i = from;
    return waitFor(() => {
      for (; i < this.messages.length; i++) if (pred(this.messages[i])) return this.messages[i];
      return null;
    }, ms, `message matching ${pred}`);
  }

  /** Sends obj and resolves the first message after it that matches pred. */
  request(obj, pred, ms = 3000) {
    const from = this.messages.length;
    this.send(obj);
    return this.next(pred, ms, from);
  }

  /** pusher:ping -> pusher:pong. */
  ping(ms = 3000) {
    return this.request({ event: 'pusher:ping', data: {} }, (m) => m.event === 'pusher:pong', ms);
  }

  /** Subscribes (auth for private channels) and resolves the answer on that channel. */
  subscribe(channel, data = {}, ms = 3000) {
    return this.request({ event: 'pusher:subscribe', data: { channel, ...data } },
      (m) => m.channel === channel && /subscription_succeeded|subscription_error/.test(m.event), ms);
  }

  /** Resolves {code, reason, afterMs} of the server's close frame, or null after ms. */
  async closeFrameWithin(ms, since = Date.now()) {
    const got = await within(waitFor(() => this.closeFrame, ms + 50, 'close frame').catch(() => null), ms);
    return got ? { code: got.code, reason: got.reason, afterMs: got.at - since } : null;
  }

  /** Stops reading from the socket (TCP zero window once the kernel buffer is full). */
  pause() { this.socket.pause(); }

  destroy() { this.socket.destroy(); }
}

/* ------------------------------------------------------------------------------------------ */
/* Raw HTTP                                                                                     */

/** Parses "HTTP/1.1 408 ...\r\nheaders\r\n\r\nbody" into {status, headers, body, json}. */
export function parseHttpResponse(text) {
  const end = text.indexOf('\r\n\r\n');
  if (!/^HTTP\/1\.[01] \d{3}/.test(text) || end < 0) return null;
  const lines = text.slice(0, end).split('\r\n');
  const status = Number(lines[0].split(' ')[1]);
  const headers = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  let body = text.slice(end + 4);
  if (headers['content-length'] !== undefined) body = body.slice(0, Number(headers['content-length']));
  let json;
  try { json = JSON.parse(body); } catch { json = undefined; }
  return { status, headers, body, json };
}

/**
 * Collects everything a raw socket receives; `response()` resolves {response, afterMs} as soon
 * as a complete HTTP response (head + Content-Length body) arrived, or null at close/deadline.
 */
export function collectHttp(socket) {
  let text = '';
  const started = socket.connectedAt ?? Date.now();
  let resolveFn;
  const done = new Promise((resolve) => (resolveFn = resolve));
  const check = () => {
    const r = parseHttpResponse(text);
    if (r && (r.headers['content-length'] === undefined || Buffer.byteLength(r.body) >= Number(r.headers['content-length'])))
      resolveFn({ response: r, afterMs: Date.now() - started });
  };
  socket.setEncoding('latin1');
  socket.on('data', (d) => { text += d; check(); });
  socket.whenClosed.then(() => resolveFn(null));
  return { text: () => text, response: (ms) => within(done, ms) };
}

/* ------------------------------------------------------------------------------------------ */
/* The well-behaved client and memory                                                           */

/**
 * A real pusher-js client subscribed to a probe channel for a whole suite. probe() triggers an
 * event through the `pusher` SDK and records how long it took to arrive (trigger call to
 * receipt, so a server slow to accept or answer REST requests counts too).
 */
export class Watch {
  static async start(server, app, channel = 'probe') {
    const w = new Watch();
    w.channel = channel;
    w.rest = restClient(server, app);
    w.client = pusherClient(server, app);
    await subscribed(w.client, channel);
    w.received = new Map();
    w.client.channel(channel).bind('probe', (data) => w.received.set(data.id, Date.now()));
    w.results = [];
    w.seq = 0;
    await w.probe('start');
    if (w.failures().length) throw new Error(`watch client did not get the first probe: ${JSON.stringify(w.results)}`);
    return w;
  }

  /** Triggers one probe event and waits up to 1 s for it; records {label, ms|null}. */
  async probe(label) {
    const id = ++this.seq;
    const t0 = Date.now();
    const trigger = this.rest.trigger(this.channel, 'probe', { id, label }).catch((e) => ({ error: e.message || String(e) }));
    const got = await within(waitFor(() => this.received.get(id), 1100, `probe ${id}`).catch(() => null), 1000);
    const triggered = await within(trigger, 5000);
    const r = { label, id, ms: got ? got - t0 : null, ...(triggered?.error ? { error: triggered.error } : {}) };
    this.results.push(r);
    return r;
  }

  /** Runs fn() while probing every `every` ms; resolves fn's value. */
  async during(label, fn, every = 250) {
    let running = true;
    const loop = (async () => {
      let n = 0;
      while (running) {
        await this.probe(`${label} #${++n}`);
        await sleep(every);
      }
    })();
    try {
      return await fn();
    } finally {
      running = false;
      await loop;
    }
  }

  /** Probes that did not arrive within 1 s. */
  failures() { return this.results.filter((r) => r.ms === null || r.ms > 1000); }

  /** Probes of the given label prefix that did not arrive within 1 s. */
  failuresOf(label) { return this.failures().filter((r) => r.label.startsWith(label)); }

  stop() { this.client.disconnect(); }
}

/** Samples the server's VmRSS every 100 ms; peak(since) is the highest sample since a mark. */
export class RssTracker {
  constructor(pid) {
    this.pid = pid;
    this.samples = [];
    this.sample();
    this.timer = setInterval(() => this.sample(), 100);
    this.timer.unref();
  }

  sample() {
    try {
      const kb = rssKb(this.pid);
      this.samples.push({ at: Date.now(), kb });
      return kb;
    } catch {
      return null; // process gone
    }
  }

  now() { return this.sample(); }

  peak(since = 0) {
    return this.samples.filter((s) => s.at >= since).reduce((m, s) => Math.max(m, s.kb), 0);
  }

  stop() { clearInterval(this.timer); }
}

/** Value of an unlabelled /metrics line, or null. */
export async function metric(server, name) {
  const ctl = new AbortController();
  const res = await within(fetch(`${server.url}/metrics`, { signal: ctl.signal }).then((r) => r.text()).catch(() => null), 3000);
  ctl.abort();
  if (res === null) return null;
  const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(res);
  return m ? Number(m[1]) : null;
}

/** HTTP status of GET /health, or null when the server does not answer within 3 s. */
export async function healthStatus(server) {
  const ctl = new AbortController();
  const res = await within(fetch(`${server.url}/health`, { signal: ctl.signal }).then((r) => r.status).catch(() => null), 3000);
  ctl.abort();
  return res;
}
