// The hand-written declarations (src/index.d.ts) type-check, accept every pusher-js option and
// fit Laravel Echo: `tsc --noEmit` over tests/types/echo-app.ts, a TypeScript app as Laravel's
// docs write it (laravel-echo and pusher-js types from node_modules, skipLibCheck off).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { ROOT } from '../scripts/build.mjs';

test('tsc --noEmit accepts the Echo app using sdk-js, and rejects what pusher-js rejects', () => {
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', path.join(ROOT, 'tests', 'types')], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(`${result.stdout}${result.stderr}`, '');
  assert.equal(result.status, 0);
});
