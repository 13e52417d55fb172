// Live rtserver: private-encrypted channels; payloads encrypted by the `pusher` npm SDK
// (and by sdk-php when it is present) are decrypted in the client.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLive, nextEvent, ENCRYPTION_MASTER_KEY } from './helpers.mjs';

let live;
before(async () => (live = await startLive()));
after(() => live && live.stop());

test('an event triggered by the pusher SDK is decrypted with the shared_secret', async () => {
  const client = live.client();
  const channel = client.subscribe('private-encrypted-vault');
  await nextEvent(channel, 'pusher:subscription_succeeded');
  const got = nextEvent(channel, 'secret');
  await live.pusher.trigger('private-encrypted-vault', 'secret', { code: 'swordfish', n: 42 });
  assert.deepEqual(await got, { code: 'swordfish', n: 42 });
  client.disconnect();
});

test('the shared_secret is not sent to the server', async () => {
  const sent = [];
  const { WebSocket } = await import('ws');
  class Spy extends WebSocket {
    send(data, ...rest) {
      sent.push(JSON.parse(data));
      return super.send(data, ...rest);
    }
  }
  const client = live.client(null, { WebSocket: Spy });
  const channel = client.subscribe('private-encrypted-spy');
  await nextEvent(channel, 'pusher:subscription_succeeded');
  const subscribe = sent.find((m) => m.event === 'pusher:subscribe');
  assert.deepEqual(Object.keys(subscribe.data).sort(), ['auth', 'channel']);
  client.disconnect();
});

test('client events are refused on encrypted channels', async () => {
  const client = live.client();
  const channel = client.subscribe('private-encrypted-noclient');
  await nextEvent(channel, 'pusher:subscription_succeeded');
  assert.throws(() => channel.trigger('client-x', {}), /encrypted/);
  client.disconnect();
});

test('an auth response without shared_secret is a subscription error', async () => {
  const { default: Pusher } = await import('pusher');
  const plain = new Pusher({ appId: live.app.id, key: live.app.key, secret: live.app.secret });
  const customHandler = ({ socketId, channelName }, cb) => cb(null, plain.authorizeChannel(socketId, channelName));
  const client = live.client(null, { channelAuthorization: { customHandler } });
  const error = await nextEvent(client.subscribe('private-encrypted-nokey'), 'pusher:subscription_error');
  assert.match(error.error, /shared_secret/);
  client.disconnect();
});

const here = path.dirname(fileURLToPath(import.meta.url));
const phpAutoload = path.resolve(here, '../../sdk-php/autoload.php');
const hasPhp = spawnSync('php', ['-v']).status === 0 && existsSync(phpAutoload);

test('an event triggered by sdk-php is decrypted too', { skip: !hasPhp && 'sdk-php or php not available' }, async () => {
  const client = live.client();
  const channel = client.subscribe('private-encrypted-php');
  await nextEvent(channel, 'pusher:subscription_succeeded');
  const got = nextEvent(channel, 'from-php');
  const { app, server } = live;
  const script = `require ${JSON.stringify(phpAutoload)};
    $p = new Realtime\\Pusher(${JSON.stringify(app.key)}, ${JSON.stringify(app.secret)}, ${JSON.stringify(String(app.id))},
      ['host' => ${JSON.stringify(server.host)}, 'port' => ${server.port}, 'scheme' => 'http', 'useTLS' => false,
       'encryption_master_key_base64' => ${JSON.stringify(ENCRYPTION_MASTER_KEY)}]);
    $p->trigger('private-encrypted-php', 'from-php', ['lang' => 'php']);`;
  const r = spawnSync('php', ['-r', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr || r.stdout);
  assert.deepEqual(await got, { lang: 'php' });
  client.disconnect();
});
