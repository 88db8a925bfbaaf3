// Bundles the compiled tsvirsh (dist/src/cli/main.js and everything it imports)
// into one file, which bin/tsvirsh runs: Node then reads one file instead of ~200
// modules, most of a short CLI run's start-up. tsvirsh is a CommonJS bundle so that
// bin/tsvirsh can compile it with V8's code cache (ES modules take no cache in
// Node 20) and so that the built-in modules a command does not reach (child_process,
// crypto, net, ...) are only required by the lazily initialised parts that use them.
// The cache is seeded here by a few typical commands on a throw-away embedded root.
// tsvirtd (dist/src/daemon/main.js -> dist/tsvirtd.mjs), long-lived, stays an ES module.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';

/**
 * node:fs/promises costs a query ~1.4 ms to load (it pulls in readline and the fs
 * watchers) although a query never calls it: in tsvirsh each of its functions is a
 * stand-in that loads it at the first call (fs.promises is the same module, loaded lazily).
 */
const lazyFsPromises = {
  name: 'lazy-fs-promises',
  setup(b) {
    b.onResolve({ filter: /^(node:)?fs\/promises$/ }, () => ({ path: 'fs/promises', namespace: 'lazy-builtin' }));
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, async () => {
      const [fsp, fs] = await Promise.all([import('node:fs/promises'), import('node:fs')]);
      const exports = Object.keys(fsp).filter((name) => name !== 'default').map((name) => {
        if (typeof fsp[name] === 'function') return `export function ${name}(...args) { return require('node:fs').promises.${name}(...args); }`;
        // a value (constants) is taken from node:fs, which holds the same object
        if (fsp[name] !== fs[name]) throw new Error(`bundle: node:fs/promises.${name} has no twin in node:fs`);
        return `export const ${name} = require('node:fs').${name};`;
      });
      return { contents: exports.join('\n'), loader: 'js' };
    });
  },
};

const common = { bundle: true, platform: 'node', target: 'node20', sourcemap: 'linked', logLevel: 'warning' };
// import.meta.url (a module locating the files beside it) is the bundle's own URL in both formats
await build({
  ...common, entryPoints: ['dist/src/cli/main.js'], outfile: 'dist/tsvirsh.cjs', format: 'cjs',
  define: { 'import.meta.url': '__bundleURL' },
  // the file is the function CommonJS would wrap it in: bin/tsvirsh compiles it as read,
  // without a 2 MB string concatenation for V8 to flatten
  banner: { js: "(function (exports, require, module, __filename, __dirname) {const __bundleURL = require('node:url').pathToFileURL(__filename).href;" },
  footer: { js: '})' },
  // import('node:...') becomes a require: bin/tsvirsh runs the bundle as a vm.Script, where import() has no loader
  supported: { 'dynamic-import': false },
  // a smaller file to read, and no comments for V8 to skip
  minifyWhitespace: true,
  plugins: [lazyFsPromises],
});
await build({ ...common, entryPoints: ['dist/src/daemon/main.js'], outfile: 'dist/tsvirtd.mjs', format: 'esm' });
// esbuild escapes non-ASCII text in code (charset 'ascii') but keeps it in the comments it
// preserves; escaped there too, the bundle is ASCII and bin/tsvirsh reads it as Latin-1
const cli = readFileSync('dist/tsvirsh.cjs', 'utf8');
const ascii = cli.replace(/[^\x00-\x7f]/gu, (c) => `\\u{${c.codePointAt(0).toString(16)}}`);
if (ascii !== cli) writeFileSync('dist/tsvirsh.cjs', ascii);

rmSync('dist/tsvirsh.cjs.cache', { force: true });
const scratch = mkdtempSync(path.join(os.tmpdir(), 'tsvirt-bundle-'));
try {
  const xml = path.join(scratch, 'seed.xml');
  writeFileSync(xml, "<domain type='qemu'><name>seed</name><memory unit='KiB'>65536</memory><os><type arch='x86_64' machine='pc'>hvm</type></os></domain>\n");
  const commands = [`define ${xml}`, 'list --all', 'list --all --name', 'dominfo seed', 'domstate seed', 'dumpxml seed', 'undefine seed'];
  execFileSync(process.execPath, ['bin/tsvirsh', '-q', '-c', `qemu:///embed?root=${scratch}/root`, commands.join(' ; ')], { stdio: 'ignore' });
} catch (e) {
  // the cache is only a speed-up: the first real run writes one
  console.warn(`bundle: code cache not seeded (${e.message.split('\n')[0]})`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
