// The minified browser bundle: built by esbuild, within its size budget, and usable as an ES
// module (here from Node, with `ws` injected, against a fake server).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pathToFileURL } from 'node:url';
import { readFileSync } from 'node:fs';
import { buildBundle, BUNDLE } from '../scripts/build.mjs';
import { bundleSizes, BUDGET_GZIP } from '../scripts/size.mjs';
import { startFakeServer, established, WebSocket } from './helpers.mjs';

test('dist/realtime.min.js is at most 8 KB min+gzip', async () => {
  await buildBundle();
  const [main, encryption] = bundleSizes();
  assert.equal(main.file, 'realtime.min.js');
  assert.ok(main.gzip <= BUDGET_GZIP, `bundle is ${main.gzip} bytes gzipped, budget ${BUDGET_GZIP}`);
  // tweetnacl lives only in the lazily imported encryption bundle; the SDK bundle is self-contained.
  assert.equal(encryption.file, 'realtime-encryption.min.js');
  const source = readFileSync(BUNDLE, 'utf8');
  assert.doesNotMatch(source, /^import\b|[;}]import[{ "']/, 'no static imports');
  assert.match(source, /import\("\.\/realtime-encryption\.min\.js"\)/);
});

test('the bundle exports Realtime and connects', async () => {
  await buildBundle();
  const { Realtime, default: Default } = await import(pathToFileURL(BUNDLE).href);
  assert.equal(Default, Realtime);
  const fake = await startFakeServer((s) => established(s));
  const client = new Realtime('key', { wsHost: fake.host, wsPort: fake.port, forceTLS: false, WebSocket, networkEvents: null });
  await new Promise((resolve) => client.connection.bind('connected', resolve));
  assert.match(client.connection.socket_id, /^\d+\.\d+$/);
  client.disconnect();
  await fake.close();
});
