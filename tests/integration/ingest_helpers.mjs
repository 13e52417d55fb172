// Helpers for the ingest*.test.mjs suites (docs/ingest.md): a minimal RESP client over a
// plain socket (so the tests speak to Redis exactly as a backend would, with no npm client),
// PHP's json_encode, and Laravel's RedisBroadcaster::broadcast rebuilt byte for byte.
import net from 'node:net';

class RedisError extends Error {}

/** Parses one RESP reply at buf[off..]: [value, next offset], or null when incomplete. */
function parseReply(buf, off) {
  if (off >= buf.length) return null;
  const nl = buf.indexOf('\r\n', off);
  if (nl < 0) return null;
  const type = String.fromCharCode(buf[off]);
  const line = buf.toString('utf8', off + 1, nl);
  const next = nl + 2;
  switch (type) {
    case '+': return [line, next];
    case '-': return [new RedisError(line), next];
    case ':': return [Number(line), next];
    case '$': {
      const n = Number(line);
      if (n < 0) return [null, next];
      if (buf.length < next + n + 2) return null;
      return [buf.toString('utf8', next, next + n), next + n + 2];
    }
    case '*': {
      const n = Number(line);
      if (n < 0) return [null, next];
      const items = [];
      let at = next;
      for (let i = 0; i < n; i++) {
        const r = parseReply(buf, at);
        if (!r) return null;
        items.push(r[0]);
        at = r[1];
      }
      return [items, at];
    }
    default: throw new Error(`unexpected RESP type ${type}`);
  }
}

/** One connection to Redis: `command(...args)` resolves with the reply (rejects on -ERR). */
export class RedisClient {
  static connect(port) {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(new RedisClient(socket)));
      socket.once('error', reject);
    });
  }

  constructor(socket) {
    this.socket = socket;
    this.pending = [];
    this.buf = Buffer.alloc(0);
    socket.on('data', (d) => {
      this.buf = Buffer.concat([this.buf, d]);
      for (;;) {
        const r = parseReply(this.buf, 0);
        if (!r) break;
        this.buf = this.buf.subarray(r[1]);
        const { resolve, reject } = this.pending.shift();
        if (r[0] instanceof RedisError) reject(r[0]); else resolve(r[0]);
      }
    });
    socket.on('error', () => {});
  }

  command(...args) {
    const parts = [`*${args.length}\r\n`];
    for (const a of args) {
      const b = Buffer.isBuffer(a) ? a : Buffer.from(String(a));
      parts.push(`$${b.length}\r\n`, b, '\r\n');
    }
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.socket.write(Buffer.concat(parts.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(p)))));
    });
  }

  close() { this.socket.destroy(); }
}

/** PHP's json_encode with default flags: "/" escaped as "\/", non-ASCII as \uXXXX. */
export function phpJsonEncode(value) {
  return JSON.stringify(value)
    .replace(/\//g, '\\/')
    .replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The Lua script RedisBroadcaster::broadcastMultipleChannelsScript() runs. */
export const LARAVEL_BROADCAST_SCRIPT = `
for i = 2, #ARGV do
  redis.call('publish', ARGV[i], ARGV[1])
end
`;

/**
 * What Laravel's RedisBroadcaster::broadcast($channels, $event, $payload) sends: the payload
 * as json_encode(['event' => $event, 'data' => $payload, 'socket' => Arr::pull($payload,
 * 'socket')]) — 'data' is evaluated before the pull, so it keeps "socket" — EVALed with every
 * channel name prefixed by the connection's prefix. Resolves with the EVAL reply.
 */
export function laravelBroadcast(redis, prefix, channels, event, payload) {
  const socket = payload.socket ?? null;
  // a PHP array without keys encodes as []
  const data = Object.keys(payload).length ? payload : [];
  const message = phpJsonEncode({ event, data, socket });
  return redis.command('EVAL', LARAVEL_BROADCAST_SCRIPT, 0, message, ...channels.map((c) => `${prefix}${c}`));
}

/** The fields of a stream entry [id, [f, v, ...]] as an object. */
export const entryFields = ([, fields]) => Object.fromEntries(
  Array.from({ length: fields.length / 2 }, (_, i) => [fields[2 * i], fields[2 * i + 1]]),
);

/** XINFO GROUPS of key as objects ({name, consumers, pending, 'last-delivered-id', ...}). */
export async function groups(redis, key) {
  const rows = await redis.command('XINFO', 'GROUPS', key);
  return rows.map((row) => Object.fromEntries(Array.from({ length: row.length / 2 }, (_, i) => [row[2 * i], row[2 * i + 1]])));
}
