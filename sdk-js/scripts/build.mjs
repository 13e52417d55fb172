// Builds the SDK's bundles, all minified:
//   dist/realtime.min.js              ES module, self-contained (browsers, bundlers)
//   dist/realtime.global.min.js       <script> build: defines window.Realtime, the client class
//                                     itself (usable where code expects window.Pusher)
//   dist/realtime.cjs                 CommonJS: require() returns the client class
//   dist/realtime-encryption.min.js   decryption + tweetnacl as an ES module, imported lazily by
//                                     the ES module and <script> builds, from next to them
//   dist/realtime-encryption.cjs      the same for the CommonJS build
// The encryption code is loaded only the first time a private-encrypted channel is subscribed,
// so pages without encrypted channels never download tweetnacl.
import { build } from 'esbuild';
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DIST = path.join(ROOT, 'dist');
export const BUNDLE = path.join(DIST, 'realtime.min.js');
export const GLOBAL_BUNDLE = path.join(DIST, 'realtime.global.min.js');
export const CJS_BUNDLE = path.join(DIST, 'realtime.cjs');
export const ENCRYPTION_BUNDLE = path.join(DIST, 'realtime-encryption.min.js');
export const CJS_ENCRYPTION_BUNDLE = path.join(DIST, 'realtime-encryption.cjs');

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

/** Keeps `import('./encryption.js')` dynamic, pointing at the sibling encryption bundle `file`. */
const lazyEncryption = (file) => ({
  name: 'lazy-encryption',
  setup(b) {
    b.onResolve({ filter: /^\.\/encryption\.js$/ }, () => ({ path: `./${path.basename(file)}`, external: true }));
  },
});

/**
 * A classic script's relative import() resolves against the page, not the script, so the
 * <script> build replaces the loader with one that remembers its own URL while it runs.
 */
const SCRIPT_RELATIVE_LOADER = `
const script = typeof document !== 'undefined' ? document.currentScript : null;
const base = script && script.src ? script.src : globalThis.location && globalThis.location.href;
export const loadEncryption = () => import(new URL(${JSON.stringify(path.basename(ENCRYPTION_BUNDLE))}, base).href);
`;
const scriptRelativeEncryption = {
  name: 'script-relative-encryption',
  setup(b) {
    b.onResolve({ filter: /^\.\/load-encryption\.js$/ }, () => ({ path: 'load-encryption', namespace: 'realtime' }));
    b.onLoad({ filter: /.*/, namespace: 'realtime' }, () => ({ contents: SCRIPT_RELATIVE_LOADER, loader: 'js' }));
  },
};

/**
 * Builds every bundle into a private directory, then moves each file into dist/ with rename()
 * (atomic per file) and removes what the build no longer makes. Test files running at the same
 * time may build too: a page or require() reading dist/ meanwhile sees whole files, old or new,
 * never a half-written or deleted one.
 */
export async function buildBundle() {
  const out = mkdtempSync(path.join(ROOT, '.dist-'));
  try {
    await buildInto(out);
    mkdirSync(DIST, { recursive: true });
    const made = new Set(readdirSync(out));
    for (const f of made) renameSync(path.join(out, f), path.join(DIST, f));
    for (const f of readdirSync(DIST)) if (!made.has(f)) rmSync(path.join(DIST, f), { recursive: true, force: true });
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

async function buildInto(out) {
  const to = (file) => path.join(out, path.basename(file));
  const BUNDLE_OUT = to(BUNDLE), ENCRYPTION_OUT = to(ENCRYPTION_BUNDLE), GLOBAL_OUT = to(GLOBAL_BUNDLE);
  const CJS_OUT = to(CJS_BUNDLE), CJS_ENCRYPTION_OUT = to(CJS_ENCRYPTION_BUNDLE);
  const entry = (file) => [path.join(ROOT, 'src', file)];
  await Promise.all([
    build({ ...common, entryPoints: entry('index.js'), outfile: BUNDLE_OUT, plugins: [lazyEncryption(ENCRYPTION_BUNDLE)] }),
    build({ ...common, entryPoints: entry('encryption.js'), outfile: ENCRYPTION_OUT }),
    build({
      ...common,
      entryPoints: entry('global.js'),
      outfile: GLOBAL_OUT,
      format: 'iife',
      globalName: 'Realtime',
      // The IIFE yields the module namespace; the global is its default export, the class.
      footer: { js: 'Realtime=Realtime.default;' },
      plugins: [scriptRelativeEncryption],
    }),
    build({
      ...common,
      entryPoints: entry('global.js'),
      outfile: CJS_OUT,
      format: 'cjs',
      platform: 'node',
      footer: { js: 'module.exports=module.exports.default;' },
      plugins: [lazyEncryption(CJS_ENCRYPTION_BUNDLE)],
    }),
    build({ ...common, entryPoints: entry('encryption.js'), outfile: CJS_ENCRYPTION_OUT, format: 'cjs', platform: 'node' }),
  ]);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await buildBundle();
  console.log(`built ${path.relative(process.cwd(), DIST)}/`);
}
