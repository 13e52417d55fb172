// Where sdk-js must behave like pusher-js 8 because real apps (and Laravel Echo) rely on it:
// the TLS rule, the channel registry, the deprecated `authorizer`/`authTransport` options,
// auth transports, close codes 4000-4099, and presence waiting for an in-flight sign-in.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Realtime, makeClient, startFakeServer, established, nextEvent, waitForState, sleep, startLive, WebSocket } from './helpers.mjs';

let live;
before(async () => (live = await startLive()));
after(() => live && live.stop());

// ------------------------------------------------------------------ TLS rule

/** Returns the URL of the client's first connection attempt (the socket never opens). */
async function firstUrl(options, location) {
  const urls = [];
  class RecordingWebSocket {
    constructor(url) {
      urls.push(url);
    }
    close() {}
  }
  const saved = Object.getOwnPropertyDescriptor(globalThis, 'location');
  if (location) Object.defineProperty(globalThis, 'location', { value: location, configurable: true });
  try {
    const client = new Realtime('key', { wsHost: 'rt.example', WebSocket: RecordingWebSocket, networkEvents: null, ...options });
    await sleep(0);
    client.disconnect();
  } finally {
    if (location) {
      if (saved) Object.defineProperty(globalThis, 'location', saved);
      else delete globalThis.location;
    }
  }
  return urls[0];
}

test('TLS by default, as pusher-js: no forceTLS means wss:// on wssPort', async () => {
  assert.match(await firstUrl({}), /^wss:\/\/rt\.example:443\/app\/key\?/);
  assert.match(await firstUrl({ wsPort: 6001, wssPort: 6002 }), /^wss:\/\/rt\.example:6002\//);
  assert.match(await firstUrl({}, { protocol: 'http:', hostname: 'page.example' }), /^wss:\/\//);
});

test('only forceTLS === false gives ws://; other falsy values keep TLS', async () => {
  assert.match(await firstUrl({ forceTLS: false, wsPort: 6001 }), /^ws:\/\/rt\.example:6001\//);
  assert.match(await firstUrl({ forceTLS: true }), /^wss:\/\//);
  assert.match(await firstUrl({ forceTLS: undefined }), /^wss:\/\//);
  assert.match(await firstUrl({ forceTLS: 0 }), /^wss:\/\//);
});

test('an https page always uses TLS, even with forceTLS: false', async () => {
  const https = { protocol: 'https:', hostname: 'app.example' };
  assert.match(await firstUrl({ forceTLS: false, wsPort: 6001, wssPort: 6002 }, https), /^wss:\/\/rt\.example:6002\//);
});

// ------------------------------------------------------------------ channel registry

test('channels registry: channels.channels[name], find(name), all(), forgotten on unsubscribe', async () => {
  const client = live.client('reg');
  const news = client.subscribe('news');
  const orders = client.subscribe('private-orders');
  assert.equal(client.channels.channels.news, news);
  assert.equal(client.channels.channels['private-orders'], orders);
  assert.equal(client.channels.find('private-orders'), orders);
  assert.equal(client.channels.find('missing'), undefined);
  assert.equal(client.channels.find('constructor'), undefined, 'no inherited properties');
  assert.deepEqual(client.channels.all(), [news, orders]);
  assert.deepEqual(Object.keys(client.channels.channels), ['news', 'private-orders']);
  assert.equal(client.channel('news'), news);
  assert.deepEqual(client.allChannels(), [news, orders]);
  await nextEvent(orders, 'pusher:subscription_succeeded');
  // What Echo's whisper() does: look the channel up in the registry and trigger on it.
  assert.equal(client.channels.channels['private-orders'].trigger('client-typing', { who: 'reg' }), true);
  client.unsubscribe('private-orders');
  assert.equal(client.channels.find('private-orders'), undefined);
  assert.deepEqual(client.channels.all(), [news]);
  client.disconnect();
});

// ------------------------------------------------------------------ deprecated authorizer, transports

test('the deprecated authorizer option: called with the channel and {authTransport, authEndpoint, auth}', async () => {
  const calls = [];
  const client = makeClient(live.app.key, live.server, {
    authEndpoint: '/legacy/auth',
    authTransport: 'ajax',
    auth: { params: { team: '7' }, headers: { 'X-Team': '7' } },
    // The shape of Laravel Echo's docs: callback(false, data) on success.
    authorizer: (channel, options) => {
      calls.push({ channel, options });
      return {
        authorize: (socketId, callback) => callback(false, live.pusher.authorizeChannel(socketId, channel.name)),
      };
    },
  });
  const orders = client.subscribe('private-legacy');
  await nextEvent(orders, 'pusher:subscription_succeeded');
  assert.equal(calls.length, 1);
  assert.equal(calls[0].channel, orders);
  assert.deepEqual(calls[0].options, {
    authTransport: 'ajax',
    authEndpoint: '/legacy/auth',
    auth: { params: { team: '7' }, headers: { 'X-Team': '7' } },
  });
  client.disconnect();
});

test('an authorizer reporting callback(true, error) gives pusher:subscription_error with its message', async () => {
  const client = makeClient(live.app.key, live.server, {
    authorizer: () => ({ authorize: (_socketId, callback) => callback(true, new Error('Request failed with status code 403')) }),
  });
  const orders = client.subscribe('private-refused');
  assert.deepEqual(await nextEvent(orders, 'pusher:subscription_error'), {
    type: 'AuthError',
    error: 'Request failed with status code 403',
  });
  client.disconnect();
});

test('channelAuthorization wins over the legacy options, as in pusher-js', async () => {
  let legacyCalled = false;
  const client = makeClient(live.app.key, live.server, {
    authorizer: () => {
      legacyCalled = true;
      return { authorize: (_s, callback) => callback(true, new Error('legacy')) };
    },
    channelAuthorization: { transport: 'ajax', endpoint: `${live.auth.base}/auth` },
  });
  const orders = client.subscribe('private-modern');
  await nextEvent(orders, 'pusher:subscription_succeeded');
  assert.equal(legacyCalled, false);
  client.disconnect();
});

test('an unknown auth transport is refused when the client is created', () => {
  const options = { forceTLS: false, WebSocket, networkEvents: null };
  assert.throws(() => new Realtime('key', { ...options, authTransport: 'pigeon' }), {
    name: 'TypeError',
    message: "'pigeon' is not a recognized auth transport",
  });
  assert.throws(() => new Realtime('key', { ...options, channelAuthorization: { transport: 'pigeon', endpoint: '/a' } }), {
    message: "'pigeon' is not a recognized auth transport",
  });
  assert.throws(() => new Realtime('key', { ...options, userAuthentication: { transport: 'pigeon', endpoint: '/a' } }), {
    message: "'pigeon' is not a recognized auth transport",
  });
});

test('userAuthentication.customHandler signs the user in', async () => {
  const client = makeClient(live.app.key, live.server, {
    userAuthentication: {
      customHandler: ({ socketId }, callback) => callback(null, live.pusher.authenticateUser(socketId, { id: 'custom' })),
    },
  });
  client.signin();
  assert.deepEqual(await nextEvent(client.user, 'pusher:signin_success'), { id: 'custom' });
  client.disconnect();
});

// ------------------------------------------------------------------ presence after sign-in

/** Channel auth without channel_data: the server takes the member from the signed-in user. */
const signOnly = {
  customHandler: ({ socketId, channelName }, callback) => callback(null, live.pusher.authorizeChannel(socketId, channelName)),
};

test('a presence subscription without channel_data waits for the in-flight sign-in', async () => {
  const client = live.client('pam', { channelAuthorization: signOnly });
  client.signin();
  const room = client.subscribe('presence-signed-in');
  const members = await nextEvent(room, 'pusher:subscription_succeeded');
  assert.deepEqual(members.me, { id: 'pam', info: { name: 'User pam' } });
  assert.equal(members.count, 1);
  client.disconnect();
});

test('a presence subscription whose sign-in fails reports pusher:subscription_error instead of hanging', async () => {
  const client = live.client('pat', {
    channelAuthorization: signOnly,
    userAuthentication: { endpoint: `${live.auth.base}/deny` },
  });
  client.signin();
  const room = client.subscribe('presence-not-signed-in');
  const error = await nextEvent(room, 'pusher:subscription_error');
  assert.equal(error.type, 'AuthError');
  assert.match(error.error, /no user_id in channel_data and not signed in/);
  client.disconnect();
});

// ------------------------------------------------------------------ close codes 4000-4099

/** A fake server that closes every connection with `code`; returns the URLs tried. */
async function closedWith(code, options) {
  const fake = await startFakeServer((s) => s.close(code, 'closed by test'));
  class PlainWebSocket extends WebSocket {
    constructor(url) {
      super(url.replace(/^wss:/, 'ws:')); // the fake server speaks plain ws only
      this.requestedUrl = url;
    }
  }
  const tried = [];
  const client = makeClient('key', fake, {
    WebSocket: class extends PlainWebSocket {
      constructor(url) {
        super(url);
        tried.push(url.split(':')[0]);
      }
    },
    reconnectDelay: 50,
    ...options,
  });
  const error = nextEvent(client.connection, 'error');
  await waitForState(client, 'disconnected');
  const reported = await error;
  await sleep(700);
  const state = client.connection.state;
  client.disconnect();
  await fake.close();
  return { tried, state, reported };
}

test('4000 on a TLS connection is not retried: state disconnected (as pusher-js)', async () => {
  const { tried, state, reported } = await closedWith(4000, { forceTLS: true });
  assert.deepEqual(tried, ['wss']);
  assert.equal(state, 'disconnected');
  assert.deepEqual(reported, { type: 'PusherError', data: { code: 4000, message: 'closed by test' } });
});

test('4000 on a plain connection switches to TLS once, then stops', async () => {
  const { tried, state } = await closedWith(4000, { forceTLS: false });
  assert.deepEqual(tried, ['ws', 'wss']);
  assert.equal(state, 'disconnected');
});

test('4004 and 4099 are not retried', async () => {
  for (const code of [4004, 4099]) {
    const { tried, state } = await closedWith(code, { forceTLS: false });
    assert.deepEqual(tried, ['ws'], `code ${code}`);
    assert.equal(state, 'disconnected');
  }
});
