// Error answers that quote the request stay JSON with the right status even when the quoted
// text is cut inside a UTF-8 sequence (it used to become 500 {"error":"Out of memory"}).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, createApp, startServer } from '../harness/index.mjs';
import { signedRequest } from './rest_helpers.mjs';

let server, app;

before(async () => {
  const db = createDatabase();
  app = createApp(db, []);
  server = await startServer({ dbUrl: db });
});

after(async () => { await server?.stop(); });

test('an invalid channel name cut at 64 bytes inside a multi-byte character is 400 with JSON', async () => {
  const res = await signedRequest(server, app, { path: '/events', body: { name: 'e', channels: [`${'a'.repeat(63)}é`], data: 'x' } });
  assert.equal(res.status, 400, res.text);
  assert.match(res.headers['content-type'], /^application\/json/);
  assert.deepEqual(res.json, { error: `Invalid channel name "${'a'.repeat(63)}?"` });
});

test('an invalid channel name with whole non-ASCII characters is quoted with them replaced', async () => {
  const res = await signedRequest(server, app, { path: '/events', body: { name: 'e', channels: ['café'], data: 'x' } });
  assert.equal(res.status, 400, res.text);
  assert.deepEqual(res.json, { error: 'Invalid channel name "café"' });
});
