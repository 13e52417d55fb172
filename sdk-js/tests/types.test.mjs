// The hand-written declarations (src/index.d.ts) type-check, accept every pusher-js option and
// fit Laravel Echo: `tsc --noEmit` over tests/types/echo-app.ts, a TypeScript app as Laravel's
// docs write it (laravel-echo and pusher-js types from node_modules, skipLibCheck off).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../scripts/build.mjs';

test('tsc --noEmit accepts the Echo app using sdk-js, and rejects what pusher-js rejects', () => {
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', path.join(ROOT, 'tests', 'types')], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(`${result.stdout}${result.stderr}`, '');
  assert.equal(result.status, 0);
});

test('every value index.d.ts declares is exported at runtime', async () => {
  const declared = [...readFileSync(path.join(ROOT, 'src', 'index.d.ts'), 'utf8').matchAll(/^export declare (?:class|function|const) (\w+)/gm)]
    .map((m) => m[1]);
  assert.ok(declared.includes('Realtime') && declared.includes('Channels'), declared.join());
  const sdk = await import('../src/index.js');
  assert.deepEqual(declared.filter((name) => !(name in sdk)), []);
  assert.equal(sdk.default, sdk.Realtime);
});
