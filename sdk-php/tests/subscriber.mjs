// A real pusher-js client for the PHP live tests. It connects to rtserver, optionally signs
// in, subscribes to the channels it is given and prints one JSON line per thing that happens:
//   {"type":"connected","socket_id":"1.2"}  {"type":"subscribed","channel":"c"}
//   {"type":"signed_in"}  {"type":"ready"}  {"type":"state","current":"disconnected"}
//   {"type":"event","channel":"c","event":"e","data":<as pusher-js delivers it>}
//   {"type":"subscription_error","channel":"c","error":...}  {"type":"fatal","message":"..."}
// Auth requests are answered by fixtures/authorize.php, i.e. by the PHP SDK under test.
//
// Usage: node subscriber.mjs '{"channels":["a","private-b"],"user":{"id":"42"},
//                              "presence":{"user_id":"7","user_info":{"name":"Ada"}}}'
// Env: RT_WS_HOST, RT_WS_PORT, RT_APP_KEY, RT_APP_SECRET, RT_APP_ID, RT_E2E_MASTER_KEY_B64,
//      RT_SOURCE_DIR (to find tests/node_modules). Exits when stdin closes.
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const sourceDir = process.env.RT_SOURCE_DIR || path.resolve(here, '../..');
const require = createRequire(path.join(sourceDir, 'tests', 'package.json'));
const Pusher = require('pusher-js');

const spec = JSON.parse(process.argv[2] || '{}');
const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');

/** Asks the PHP SDK (fixtures/authorize.php) for an auth response. */
function phpAuth(request, callback) {
  const child = execFile(process.env.PHP_BINARY || 'php', [path.join(here, 'fixtures', 'authorize.php')],
    { env: process.env, timeout: 10000 }, (err, stdout, stderr) => {
      if (err) return callback(new Error(`authorize.php failed: ${stderr || err.message}`), null);
      try {
        callback(null, JSON.parse(stdout));
      } catch (e) {
        callback(new Error(`authorize.php printed no JSON: ${stdout}`), null);
      }
    });
  child.stdin.end(JSON.stringify(request));
}

const pusher = new Pusher(process.env.RT_APP_KEY, {
  wsHost: process.env.RT_WS_HOST || '127.0.0.1',
  wsPort: Number(process.env.RT_WS_PORT),
  wssPort: Number(process.env.RT_WS_PORT),
  forceTLS: false,
  enabledTransports: ['ws'],
  disableStats: true,
  cluster: 'mt1',
  channelAuthorization: {
    customHandler: ({ socketId, channelName }, callback) => {
      const presence = channelName.startsWith('presence-');
      phpAuth(presence
        ? { type: 'presence', socket_id: socketId, channel: channelName, ...(spec.presence || { user_id: 'anon' }) }
        : { type: 'channel', socket_id: socketId, channel: channelName }, callback);
    },
  },
  userAuthentication: {
    customHandler: ({ socketId }, callback) => {
      phpAuth({ type: 'user', socket_id: socketId, user_data: spec.user }, callback);
    },
  },
});

const pending = new Set(spec.channels || []);
let signedIn = !spec.user;
let readySent = false;
let connected = false;
const maybeReady = () => {
  if (!readySent && connected && pending.size === 0 && signedIn) {
    readySent = true;
    out({ type: 'ready' });
  }
};

pusher.connection.bind('state_change', ({ current }) => out({ type: 'state', current }));
pusher.connection.bind('connected', () => {
  out({ type: 'connected', socket_id: pusher.connection.socket_id });
  connected = true;
  maybeReady();
});
pusher.connection.bind('error', (err) => out({
  type: 'connection_error',
  error: err?.error?.data ?? err?.error?.message ?? err?.type ?? String(err),
}));

for (const name of spec.channels || []) {
  const channel = pusher.subscribe(name);
  channel.bind('pusher:subscription_succeeded', () => {
    out({ type: 'subscribed', channel: name });
    pending.delete(name);
    maybeReady();
  });
  channel.bind('pusher:subscription_error', (error) => out({ type: 'subscription_error', channel: name, error }));
  channel.bind_global((event, data) => {
    if (event.startsWith('pusher:') || event.startsWith('pusher_internal:')) return;
    out({ type: 'event', channel: name, event, data });
  });
}

if (spec.user) {
  pusher.bind('pusher:signin_success', () => {
    out({ type: 'signed_in' });
    signedIn = true;
    maybeReady();
  });
  pusher.user.bind_global((event, data) => out({ type: 'event', channel: `#server-to-user-${spec.user.id}`, event, data }));
  pusher.signin();
}
maybeReady();

process.on('uncaughtException', (e) => out({ type: 'fatal', message: String(e?.stack || e) }));
process.stdin.resume();
process.stdin.on('end', () => {
  pusher.disconnect();
  setTimeout(() => process.exit(0), 50);
});
