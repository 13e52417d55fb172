// Builds the browser bundles, both minified ES modules:
//   dist/realtime.min.js             the SDK, self-contained
//   dist/realtime-encryption.min.js  decryption + tweetnacl, imported lazily by the SDK the
//                                    first time a private-encrypted channel is subscribed
// so pages without encrypted channels never download tweetnacl.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DIST = path.join(ROOT, 'dist');
export const BUNDLE = path.join(DIST, 'realtime.min.js');
export const ENCRYPTION_BUNDLE = path.join(DIST, 'realtime-encryption.min.js');

const common = {
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2020'],
  minify: true,
  sourcemap: true,
  legalComments: 'none',
  logLevel: 'warning',
};

/** Keeps `import('./encryption.js')` dynamic, pointing at the sibling encryption bundle. */
const lazyEncryption = {
  name: 'lazy-encryption',
  setup(b) {
    b.onResolve({ filter: /^\.\/encryption\.js$/ }, () => ({
      path: `./${path.basename(ENCRYPTION_BUNDLE)}`,
      external: true,
    }));
  },
};

/** Builds both bundles into dist/ (cleared first). */
export async function buildBundle() {
  rmSync(DIST, { recursive: true, force: true });
  await Promise.all([
    build({ ...common, entryPoints: [path.join(ROOT, 'src/index.js')], outfile: BUNDLE, plugins: [lazyEncryption] }),
    build({ ...common, entryPoints: [path.join(ROOT, 'src/encryption.js')], outfile: ENCRYPTION_BUNDLE }),
  ]);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await buildBundle();
  console.log(`built ${path.relative(process.cwd(), BUNDLE)} and ${path.relative(process.cwd(), ENCRYPTION_BUNDLE)}`);
}
