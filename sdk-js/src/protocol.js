// Pusher protocol 7 framing: URLs, message decoding and what to do on each close code.

export const VERSION = '0.1.0';

/** Builds ws[s]://host:port[path]/app/key?protocol=7&... (PROTOCOL.md §1.1). */
export function socketUrl(key, { useTLS, host, wsPort, wssPort, wsPath = '' }, token) {
  const scheme = useTLS ? 'wss' : 'ws';
  const port = useTLS ? wssPort : wsPort;
  let query = `protocol=7&client=js&version=${VERSION}&flash=false`;
  if (token) query += `&token=${encodeURIComponent(token)}`;
  return `${scheme}://${host}:${port}${wsPath}/app/${encodeURIComponent(key)}?${query}`;
}

/**
 * The claims of a connection token (JWT) without verifying it (the server does): used to know
 * which channels the token grants, so that no authorization request is made for them.
 * Returns null for anything that is not a readable JWT.
 */
export function tokenClaims(token) {
  if (typeof token !== 'string') return null;
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  try {
    const b64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    const text = typeof atob === 'function' ? atob(b64) : Buffer.from(b64, 'base64').toString('binary');
    const json = decodeURIComponent(Array.from(text, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join(''));
    const claims = JSON.parse(json);
    return claims && typeof claims === 'object' ? claims : null;
  } catch {
    return null;
  }
}

/** True when the token's `channels` claim grants name (exact names, `*` matches any run). */
export function tokenGrants(claims, name) {
  const list = claims && Array.isArray(claims.channels) ? claims.channels : [];
  return list.some((pattern) => {
    if (typeof pattern !== 'string') return false;
    const re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
    return re.test(name);
  });
}

/** Parses a JSON string, returning the input unchanged when it is not JSON. */
export function parseMaybeJson(value) {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

/**
 * Decodes one text frame into {event, channel?, data?, user_id?}. `data` is JSON-decoded
 * when it is a string that holds JSON (the server double-encodes, §2.1). Returns null for
 * frames that are not an object with a string `event`.
 */
export function decodeMessage(text) {
  let message;
  try {
    message = JSON.parse(text);
  } catch {
    return null;
  }
  if (!message || typeof message !== 'object' || typeof message.event !== 'string') return null;
  if ('data' in message) message.data = parseMaybeJson(message.data);
  return message;
}

/** Encodes a client → server frame. */
export function encodeMessage(event, data, channel) {
  const message = { event, data };
  if (channel) message.channel = channel;
  return JSON.stringify(message);
}

/**
 * Maps a WebSocket close code to the client's reaction (PROTOCOL.md §4.2):
 * 'tls' (retry now over wss), 'refused' (fail, no retry), 'backoff' (retry after ≥ 1 s),
 * 'now' (retry immediately) or 'retry' (ordinary reconnect with backoff).
 */
export function closeAction(code) {
  if (code === 4000) return 'tls';
  if (code >= 4001 && code < 4100) return 'refused';
  if (code >= 4100 && code < 4200) return 'backoff';
  if (code >= 4200 && code < 4300) return 'now';
  if (code >= 4300 && code < 4400) return 'refused';
  if (code >= 1002 && code <= 1004) return 'backoff';
  return 'retry';
}
