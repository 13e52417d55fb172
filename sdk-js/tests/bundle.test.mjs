// The minified browser bundle: built by esbuild, within its size budget, and usable as an ES
// module (here from Node, with `ws` injected, against a fake server).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pathToFileURL } from 'node:url';
import { buildBundle, BUNDLE } from '../scripts/build.mjs';
import { bundleSizes, BUDGET_GZIP } from '../scripts/size.mjs';
import { startFakeServer, established, WebSocket } from './helpers.mjs';

test('dist/realtime.min.js is at most 8 KB min+gzip', async () => {
  await buildBundle();
  const [main, ...chunks] = bundleSizes();
  assert.equal(main.file, 'realtime.min.js');
  assert.ok(main.gzip <= BUDGET_GZIP, `bundle is ${main.gzip} bytes gzipped, budget ${BUDGET_GZIP}`);
  // tweetnacl is only in the lazily loaded encryption chunk.
  assert.ok(chunks.some((c) => c.file.startsWith('chunks/encryption-')));
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
