// Prints the minified and min+gzip sizes of the browser bundles; exits 1 over the budget.
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBundle, BUNDLE, ENCRYPTION_BUNDLE, DIST } from './build.mjs';

export const BUDGET_GZIP = 8 * 1024;

/** Returns [{file, min, gzip}] for the SDK bundle, then the lazily loaded encryption bundle. */
export function bundleSizes() {
  return [BUNDLE, ENCRYPTION_BUNDLE].map((file) => {
    const bytes = readFileSync(file);
    return { file: path.relative(DIST, file), min: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await buildBundle();
  const kb = (n) => `${(n / 1024).toFixed(2)} KB`;
  for (const { file, min, gzip } of bundleSizes()) {
    console.log(`${file.padEnd(30)} ${kb(min).padStart(10)} min  ${kb(gzip).padStart(9)} min+gzip`);
  }
  const main = bundleSizes()[0];
  console.log(`budget: ${kb(main.gzip)} of ${kb(BUDGET_GZIP)} (main bundle, min+gzip)`);
  if (main.gzip > BUDGET_GZIP) process.exitCode = 1;
}
