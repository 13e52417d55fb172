// Builds dist/realtime.min.js: a minified ES module for browsers. The encryption code and
// tweetnacl go to a lazily loaded chunk, so pages without encrypted channels never load them.
import { build } from 'esbuild';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DIST = path.join(ROOT, 'dist');
export const BUNDLE = path.join(DIST, 'realtime.min.js');

/** Builds the bundle; returns the esbuild metafile (outputs and their sizes). */
export async function buildBundle() {
  const result = await build({
    entryPoints: { 'realtime.min': path.join(ROOT, 'src/index.js') },
    outdir: DIST,
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2020'],
    minify: true,
    sourcemap: true,
    metafile: true,
    legalComments: 'none',
    logLevel: 'warning',
  });
  return result.metafile;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await buildBundle();
  console.log(`built ${path.relative(process.cwd(), BUNDLE)}`);
}
