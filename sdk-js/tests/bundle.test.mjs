// The bundles: built by esbuild, within their size budget, and usable as an ES module, as
// CommonJS (require) and as a classic <script> (window.Realtime), here from Node with `ws`
// injected, against a fake server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { readFileSync } from 'node:fs';
import vm from 'node:vm';
import nacl from 'tweetnacl';
import { buildBundle, BUNDLE, GLOBAL_BUNDLE, CJS_BUNDLE } from '../scripts/build.mjs';
import { bundleSizes, BUDGET_GZIP } from '../scripts/size.mjs';
import { startFakeServer, established, nextEvent, WebSocket } from './helpers.mjs';

const require = createRequire(import.meta.url);

test('every core bundle (ESM, <script>, CommonJS) is at most 8 KB min+gzip; encryption is separate', async () => {
  await buildBundle();
  const sizes = bundleSizes();
  assert.deepEqual(
    sizes.map((s) => [s.file, s.core]),
    [
      ['realtime.min.js', true],
      ['realtime.global.min.js', true],
      ['realtime.cjs', true],
      ['realtime-encryption.min.js', false],
      ['realtime-encryption.cjs', false],
    ],
  );
  for (const { file, gzip } of sizes.filter((s) => s.core)) {
    assert.ok(gzip <= BUDGET_GZIP, `${file} is ${gzip} bytes gzipped, budget ${BUDGET_GZIP}`);
  }
  // tweetnacl lives only in the lazily imported encryption bundles; the core bundles are self-contained.
  const esm = readFileSync(BUNDLE, 'utf8');
  assert.doesNotMatch(esm, /^import\b|[;}]import[{ "']/, 'no static imports');
  assert.match(esm, /import\("\.\/realtime-encryption\.min\.js"\)/);
  assert.match(readFileSync(CJS_BUNDLE, 'utf8'), /import\("\.\/realtime-encryption\.cjs"\)/);
  assert.doesNotMatch(readFileSync(CJS_BUNDLE, 'utf8'), /require\("tweetnacl"\)/);
  assert.match(readFileSync(GLOBAL_BUNDLE, 'utf8'), /import\(new URL\("realtime-encryption\.min\.js",/);
});

/** Connects a client of class `Client` to a fake server and checks the socket id. */
async function connects(Client) {
  const fake = await startFakeServer((s) => established(s));
  const client = new Client('key', { wsHost: fake.host, wsPort: fake.port, forceTLS: false, WebSocket, networkEvents: null });
  await nextEvent(client.connection, 'connected');
  assert.match(client.connection.socket_id, /^\d+\.\d+$/);
  client.disconnect();
  await fake.close();
}

test('the ES module bundle exports Realtime and connects', async () => {
  await buildBundle();
  const { Realtime, default: Default } = await import(pathToFileURL(BUNDLE).href);
  assert.equal(Default, Realtime);
  await connects(Realtime);
});

test('require() of the CommonJS bundle returns the class, with the named exports on it', async () => {
  await buildBundle();
  const Realtime = require(CJS_BUNDLE);
  assert.equal(typeof Realtime, 'function');
  assert.equal(Realtime.Realtime, Realtime);
  assert.equal(Realtime.default, Realtime);
  assert.equal(typeof Realtime.AuthError, 'function');
  assert.equal(Realtime.VERSION, '0.1.0');
  // The package name resolves to the same file for require() (package.json "exports").
  assert.equal(require('@realtime/sdk-js'), Realtime);
  await connects(Realtime);
});

test('the CommonJS bundle loads its encryption bundle lazily and decrypts', async () => {
  await buildBundle();
  const Realtime = require(CJS_BUNDLE);
  const key = nacl.randomBytes(32);
  const nonce = nacl.randomBytes(24);
  const box = nacl.secretbox(new TextEncoder().encode('{"text":"sealed"}'), nonce, key);
  const b64 = (bytes) => Buffer.from(bytes).toString('base64');
  const fake = await startFakeServer((socket) => {
    established(socket);
    socket.on('message', (raw) => {
      const { event, data } = JSON.parse(String(raw));
      if (event !== 'pusher:subscribe') return;
      socket.send(JSON.stringify({ event: 'pusher_internal:subscription_succeeded', channel: data.channel, data: '{}' }));
      const payload = JSON.stringify({ nonce: b64(nonce), ciphertext: b64(box) });
      socket.send(JSON.stringify({ event: 'secret', channel: data.channel, data: payload }));
    });
  });
  const client = new Realtime('key', {
    wsHost: fake.host, wsPort: fake.port, forceTLS: false, WebSocket, networkEvents: null,
    channelAuthorization: { customHandler: (_params, callback) => callback(null, { auth: 'key:sig', shared_secret: b64(key) }) },
  });
  const vault = client.subscribe('private-encrypted-vault');
  assert.deepEqual(await nextEvent(vault, 'secret'), { text: 'sealed' });
  client.disconnect();
  await fake.close();
});

test('the <script> bundle defines the global Realtime as the client class itself', async () => {
  await buildBundle();
  const window = { WebSocket, queueMicrotask, setTimeout, clearTimeout };
  window.window = window;
  const before = Object.keys(window);
  vm.runInNewContext(readFileSync(GLOBAL_BUNDLE, 'utf8'), window);
  const Realtime = window.Realtime;
  assert.equal(typeof Realtime, 'function');
  assert.equal(Realtime.Realtime, Realtime);
  assert.equal(typeof Realtime.prototype.subscribe, 'function');
  assert.deepEqual(Object.keys(window), [...before, 'Realtime'], 'one global only');
  await connects(Realtime);
});
