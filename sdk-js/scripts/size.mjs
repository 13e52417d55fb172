// Prints the minified and min+gzip sizes of the browser bundle and its lazy chunks.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBundle, BUNDLE, DIST } from './build.mjs';

export const BUDGET_GZIP = 8 * 1024;

/** Returns {file, min, gzip} for the main bundle and each lazily loaded chunk. */
export function bundleSizes() {
  const chunkDir = path.join(DIST, 'chunks');
  const chunks = existsSync(chunkDir)
    ? readdirSync(chunkDir).filter((f) => f.endsWith('.js')).map((f) => path.join(chunkDir, f))
    : [];
  return [BUNDLE, ...chunks].map((file) => {
    const bytes = readFileSync(file);
    return { file: path.relative(DIST, file), min: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await buildBundle();
  const kb = (n) => `${(n / 1024).toFixed(2)} KB`;
  for (const { file, min, gzip } of bundleSizes()) {
    console.log(`${file.padEnd(40)} ${kb(min).padStart(10)} min  ${kb(gzip).padStart(9)} min+gzip`);
  }
  const main = bundleSizes()[0];
  console.log(`budget: ${kb(main.gzip)} of ${kb(BUDGET_GZIP)} (main bundle, min+gzip)`);
  if (main.gzip > BUDGET_GZIP) process.exitCode = 1;
}
