// Bundles the compiled tsvirsh (dist/src/cli/main.js and everything it imports)
// into dist/tsvirsh.cjs, which bin/tsvirsh runs: Node then reads one file instead of ~200
// modules, most of a short CLI run's start-up. tsvirsh is a CommonJS bundle so that
// bin/tsvirsh can compile it with V8's code cache (ES modules take no cache in
// Node 20) and so that the built-in modules a command does not reach (child_process,
// crypto, net, ...) are only required by the lazily initialised parts that use them.
// The drivers a connection opens only when its URI reaches them (remote, test, network,
// storage, secret) are files of their own beside it, dist/tsvirsh-NAME.cjs: V8 reads and
// deserialises a script whole, used or not, so a query pays only for the core it runs.
// So are the qemu driver's modules it loads at first use (dist/tsvirsh-qemu-*.cjs).
// The caches are seeded here by a few typical commands on a throw-away embedded root.
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
const cjs = {
  ...common, format: 'cjs',
  // import.meta.url (a module locating the files beside it) is the bundle's own URL in both formats
  define: { 'import.meta.url': '__bundleURL' },
  // each file is the function CommonJS would wrap it in: bin/tsvirsh compiles it as read,
  // without a 2 MB string concatenation for V8 to flatten
  banner: { js: "(function (exports, require, module, __filename, __dirname) {const __bundleURL = require('node:url').pathToFileURL(__filename).href;" },
  footer: { js: '})' },
  // import('node:...') becomes a require: bin/tsvirsh runs the bundle as a vm.Script, where import() has no loader
  supported: { 'dynamic-import': false },
  // a smaller file to read, and no comments for V8 to skip
  minifyWhitespace: true,
};
const CLI_ENTRY = 'dist/src/cli/main.js';
/** The drivers src/drivers/builtin.ts loads at open, each bundled into dist/tsvirsh-NAME.cjs. */
const DRIVER_ENTRIES = new Map(['remote', 'test', 'network', 'storage', 'secret'].map((name) => [`dist/src/drivers/${name}/driver.js`, name]));
/**
 * The modules the qemu driver loads with import() are side files too, in layers,
 * each module reached by `require('tsvirsh-side:NAME#FILE')`; a module several
 * layers reach is in the first of them, and the later ones take it from there:
 * qemu-define holds the define pipeline's hooks, qemu-run what runs QEMU (processes,
 * hotplug, security: a query loads it once a domain runs), qemu-lazy the rest
 * (snapshots, migration, statistics, the guest agent, ...).
 */
const QEMU_DIR = 'dist/src/drivers/qemu/';
const QEMU_LAYERS = [
  ['qemu-define', `${QEMU_DIR}domain-hooks.js`],
  ['qemu-run', `${QEMU_DIR}domain-processes.js`],
  ['qemu-lazy', undefined],
];
const isLayer = (name) => QEMU_LAYERS.some(([layer]) => layer === name);
// bin/tsvirsh's require() takes these ids: a side file (and a module of it after '#'), and a module of the core for a side file
const SIDE_PREFIX = 'tsvirsh-side:';
const CORE_PREFIX = 'tsvirsh-core:';

/** A compiled module of the project (not a built-in, not a plugin's virtual module). */
const isProjectFile = (file) => file.startsWith('dist/');

/** The project modules reachable from `start` through imports of any kind, not entering `stops`. */
function reachable(inputs, start, stops) {
  const seen = new Set();
  const walk = (file) => {
    if (seen.has(file) || stops.has(file) || !isProjectFile(file)) return;
    seen.add(file);
    for (const i of inputs[file].imports) if (!i.external) walk(i.path);
  };
  walk(start);
  return seen;
}

/** The project modules reachable from any of `starts`, not entering `stops`. */
const reachableFrom = (inputs, starts, stops) => new Set([...starts].flatMap((start) => [...reachable(inputs, start, stops)]));

/**
 * The qemu driver's modules it imports only with import(), from its own modules:
 * those no module of the core imports statically (the core is what remains when
 * they are cut off, so the search repeats until none is left to drop).
 */
function qemuLazyEntries(inputs) {
  const entries = new Set();
  for (const [file, { imports }] of Object.entries(inputs)) {
    if (file.startsWith(QEMU_DIR)) for (const i of imports) if (i.kind === 'dynamic-import' && i.path.startsWith(QEMU_DIR)) entries.add(i.path);
  }
  for (;;) {
    const core = reachable(inputs, CLI_ENTRY, new Set([...entries, ...DRIVER_ENTRIES.keys()]));
    const pinned = [...core].flatMap((file) => inputs[file].imports.filter((i) => i.kind !== 'dynamic-import' && entries.has(i.path)).map((i) => i.path));
    if (pinned.length === 0) return entries;
    for (const file of pinned) entries.delete(file);
  }
}

/** The side files: name -> the modules the core reaches them by (the drivers', then the qemu layers in order). */
function sideFiles(inputs) {
  const sides = new Map([...DRIVER_ENTRIES].map(([entry, name]) => [name, new Set([entry])]));
  const lazy = qemuLazyEntries(inputs);
  for (const [name, entry] of QEMU_LAYERS) {
    if (entry !== undefined && !lazy.delete(entry)) throw new Error(`bundle: ${entry} is no longer loaded by import()`);
    sides.set(name, entry === undefined ? lazy : new Set([entry]));
  }
  return sides;
}

/**
 * Which modules each side file holds: those only its entries reach (a qemu layer:
 * beyond the layers before it). What the core reaches, or two side files share
 * otherwise, stays one instance in the core (one VirError class, one registry of
 * events), which the side file takes through CORE_PREFIX requires.
 */
function partition(inputs, sides) {
  const allEntries = new Set([...sides.values()].flatMap((entries) => [...entries]));
  const core = reachable(inputs, CLI_ENTRY, allEntries);
  for (const file of core) {
    for (const i of inputs[file].imports) if (allEntries.has(i.path) && i.kind !== 'dynamic-import') throw new Error(`bundle: ${file} imports ${i.path}, a side file's module, statically`);
  }
  const reach = new Map([...sides].map(([name, entries]) => [name, reachableFrom(inputs, entries, core)]));
  const drivers = [...reach].filter(([name]) => !isLayer(name));
  const layersReach = new Set(QEMU_LAYERS.flatMap(([name]) => [...reach.get(name)]));
  const owned = new Map();
  for (const [name, files] of drivers) {
    const others = [...drivers.filter(([n]) => n !== name).map(([, f]) => f), layersReach];
    owned.set(name, new Set([...files].filter((f) => !others.some((o) => o.has(f)))));
    for (const entry of sides.get(name)) if (!owned.get(name).has(entry)) throw new Error(`bundle: ${entry} is imported by another side file`);
  }
  // a layer stops at the core, the layers before it, and what a driver's side file reaches too
  const below = new Set([...core, ...drivers.flatMap(([, files]) => [...files])]);
  const layerOf = new Map();
  for (const [name] of QEMU_LAYERS) {
    const files = reachableFrom(inputs, sides.get(name), below);
    owned.set(name, files);
    for (const file of files) {
      below.add(file);
      layerOf.set(file, name);
    }
  }
  const shared = new Set();
  for (const [name, files] of owned) {
    for (const file of files) {
      for (const i of inputs[file].imports) if (!i.external && !files.has(i.path) && !layerOf.has(i.path) && isProjectFile(i.path)) shared.add(i.path);
    }
  }
  return { owned, shared, layerOf };
}

/** In the core: a side driver's module is its file, a qemu module loaded by import() one of its layer's, loaded at the first import(). */
function sidesOutside(layerOf) {
  return {
    name: 'sides-outside',
    setup(b) {
      b.onResolve({ filter: /^\./ }, (args) => {
        const file = path.relative(process.cwd(), path.resolve(args.resolveDir, args.path));
        if (layerOf.has(file)) return { path: `${SIDE_PREFIX}${layerOf.get(file)}#${file}`, external: true };
        const name = DRIVER_ENTRIES.get(file);
        return name === undefined ? undefined : { path: SIDE_PREFIX + name, external: true };
      });
    },
  };
}

/** A side file of several modules: its entry gives each by path. */
function moduleSwitch(entry, exportName, files, prelude = []) {
  const cases = [...files].sort().map((file) => `    case ${JSON.stringify(file)}: return require(${JSON.stringify('./' + file)});`);
  return {
    name: `entry-${entry}`,
    setup(b) {
      b.onResolve({ filter: new RegExp(`^${entry}$`) }, () => ({ path: entry, namespace: 'tsvirsh' }));
      b.onLoad({ filter: /.*/, namespace: 'tsvirsh' }, () => ({
        resolveDir: process.cwd(),
        loader: 'js',
        contents: [...prelude, `export function ${exportName}(file) {`, '  switch (file) {', ...cases, '    default: throw new Error(`tsvirsh: no module ${file} in ' + entry + '`);', '  }', '}'].join('\n'),
      }));
    },
  };
}

/** The core's entry: tsvirsh's main module, and the modules side files take from it by path. */
const coreEntry = (shared) => moduleSwitch('tsvirsh-core-entry', 'coreModule', shared, [`export * from './${CLI_ENTRY}';`]);

/** In a side file: every project module it does not own comes from the qemu layer holding it, else from the core. */
function fromCore(owned, layerOf) {
  return {
    name: 'from-core',
    setup(b) {
      b.onResolve({ filter: /^\./ }, (args) => {
        const file = path.relative(process.cwd(), path.resolve(args.resolveDir, args.path));
        if (owned.has(file)) return undefined;
        return { path: layerOf.has(file) ? `${SIDE_PREFIX}${layerOf.get(file)}#${file}` : CORE_PREFIX + file, external: true };
      });
    },
  };
}

const probe = await build({ ...cjs, entryPoints: [CLI_ENTRY], write: false, metafile: true, sourcemap: false, plugins: [lazyFsPromises] });
const sides = sideFiles(probe.metafile.inputs);
const { owned, shared, layerOf } = partition(probe.metafile.inputs, sides);
const outputs = ['dist/tsvirsh.cjs'];
await build({ ...cjs, entryPoints: { tsvirsh: 'tsvirsh-core-entry' }, outfile: 'dist/tsvirsh.cjs', plugins: [lazyFsPromises, sidesOutside(layerOf), coreEntry(shared)] });
for (const [name, entries] of sides) {
  const outfile = `dist/tsvirsh-${name}.cjs`;
  // a layer gives each of its modules by path: the core's import()s and the later layers take them
  const entry = isLayer(name) ? { entryPoints: ['tsvirsh-side-entry'], extra: [moduleSwitch('tsvirsh-side-entry', 'sideModule', owned.get(name))] } : { entryPoints: [...entries], extra: [] };
  await build({ ...cjs, entryPoints: entry.entryPoints, outfile, plugins: [lazyFsPromises, fromCore(owned.get(name), layerOf), ...entry.extra] });
  outputs.push(outfile);
}
await build({ ...common, entryPoints: ['dist/src/daemon/main.js'], outfile: 'dist/tsvirtd.mjs', format: 'esm' });
// esbuild escapes non-ASCII text in code (charset 'ascii') but keeps it in the comments it
// preserves; escaped there too, the bundle is ASCII and bin/tsvirsh reads it as Latin-1
for (const file of outputs) {
  const text = readFileSync(file, 'utf8');
  const ascii = text.replace(/[^\x00-\x7f]/gu, (c) => `\\u{${c.codePointAt(0).toString(16)}}`);
  if (ascii !== text) writeFileSync(file, ascii);
  rmSync(`${file}.cache`, { force: true });
}

const scratch = mkdtempSync(path.join(os.tmpdir(), 'tsvirt-bundle-'));
try {
  const xml = path.join(scratch, 'seed.xml');
  writeFileSync(xml, "<domain type='qemu'><name>seed</name><memory unit='KiB'>65536</memory><os><type arch='x86_64' machine='pc'>hvm</type></os></domain>\n");
  const embed = `qemu:///embed?root=${scratch}/root`;
  const commands = [`define ${xml}`, 'list --all', 'list --all --name', 'dominfo seed', 'domstate seed', 'dumpxml seed', 'undefine seed'];
  execFileSync(process.execPath, ['bin/tsvirsh', '-q', '-c', embed, commands.join(' ; ')], { stdio: 'ignore' });
  // the side drivers' caches, by later runs: the core's cache stays the queries' own (the
  // remote driver's is written by its first real use: none of these URIs loads it)
  execFileSync(process.execPath, ['bin/tsvirsh', '-q', '-c', embed, 'net-list --all ; pool-list --all ; secret-list'], { stdio: 'ignore' });
  execFileSync(process.execPath, ['bin/tsvirsh', '-q', '-c', 'test:///default', 'list --all ; net-list --all ; pool-list --all'], { stdio: 'ignore' });
} catch (e) {
  // the cache is only a speed-up: the first real run writes one
  console.warn(`bundle: code cache not seeded (${e.message.split('\n')[0]})`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
