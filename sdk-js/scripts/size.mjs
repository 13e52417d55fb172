// Prints the minified and min+gzip sizes of every bundle; exits 1 when a core bundle (the
// client without the lazily loaded encryption code) is over the budget.
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBundle, BUNDLE, GLOBAL_BUNDLE, CJS_BUNDLE, ENCRYPTION_BUNDLE, CJS_ENCRYPTION_BUNDLE, DIST } from './build.mjs';

export const BUDGET_GZIP = 8 * 1024;

/** Returns [{file, min, gzip, core}]: the ESM, <script> and CommonJS builds, then encryption. */
export function bundleSizes() {
  const core = [BUNDLE, GLOBAL_BUNDLE, CJS_BUNDLE];
  return [...core, ENCRYPTION_BUNDLE, CJS_ENCRYPTION_BUNDLE].map((file) => {
    const bytes = readFileSync(file);
    return {
      file: path.relative(DIST, file),
      min: bytes.length,
      gzip: gzipSync(bytes, { level: 9 }).length,
      core: core.includes(file),
    };
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await buildBundle();
  const kb = (n) => `${(n / 1024).toFixed(2)} KB`;
  const sizes = bundleSizes();
  for (const { file, min, gzip, core } of sizes) {
    console.log(`${file.padEnd(30)} ${kb(min).padStart(10)} min  ${kb(gzip).padStart(9)} min+gzip${core ? '' : '  (lazy)'}`);
  }
  const largest = Math.max(...sizes.filter((s) => s.core).map((s) => s.gzip));
  console.log(`budget: ${kb(largest)} of ${kb(BUDGET_GZIP)} (largest core bundle, min+gzip)`);
  if (largest > BUDGET_GZIP) process.exitCode = 1;
}
