// The qemu driver's domain store across processes: each DomainStore here plays
// one tsvirsh process over a shared config folder. A process sees what another
// defined, changed (by rename or in place) or removed, and a new process lists
// domains from the config index without parsing their files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { formatXml, parseXml, type XmlElement } from '../../src/util/xml.js';
import { DirectoryWatch } from '../../src/util/file-stamp.js';
import { DomainStore } from '../../src/drivers/qemu/domain-store.js';
import { tempDir } from '../helpers/temp-dir.js';

const UUID = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const def = (name: string, n: number, memory = 65536) => parseXml(`<domain type='qemu'><name>${name}</name><uuid>${UUID(n)}</uuid><memory>${memory}</memory></domain>`);
const memoryOf = (d: XmlElement) => d.children.find((c) => c.name === 'memory')?.text;

function folder() {
  const root = tempDir('store');
  const dirs = { config: path.join(root, 'qemu'), autostart: path.join(root, 'qemu', 'autostart'), index: path.join(root, 'domain-index.json') };
  mkdirSync(dirs.autostart, { recursive: true });
  return dirs;
}

/** One "process": a store with its own memory, counting parses and load errors. */
function processOver(dirs: ReturnType<typeof folder>) {
  const stats = { parses: 0, errors: [] as string[], vouched: [] as boolean[] };
  const store = new DomainStore(
    dirs.config,
    dirs.autostart,
    dirs.index,
    (text, _file, vouched) => {
      stats.parses++;
      stats.vouched.push(vouched);
      return parseXml(text);
    },
    (d) => formatXml(d),
    (file, e) => stats.errors.push(`${path.basename(file)}: ${e.message}`),
  );
  return { store, stats };
}

const names = (store: DomainStore) => store.list().map((o) => o.name).sort();

test('a domain defined, rewritten or removed by one process is seen by another', async () => {
  const dirs = folder();
  const a = processOver(dirs);
  const b = processOver(dirs);
  await a.store.sync();
  await b.store.sync();
  await a.store.savePersistent(def('one', 1));
  await a.store.savePersistent(def('two', 2));
  await b.store.sync();
  assert.deepEqual(names(b.store), ['one', 'two']);

  // a redefinition replaces the file by rename
  await b.store.savePersistent(def('one', 1, 131072));
  await a.store.sync();
  assert.equal(memoryOf(a.store.findByName('one')!.def), '131072');

  // removed by the other process
  await b.store.deleteConfig(b.store.findByName('two')!);
  await a.store.sync();
  assert.deepEqual(names(a.store), ['one']);
  assert.equal(a.store.findByUUID(UUID(2)), undefined);
});

test('a config file rewritten in place (the folder mtime does not move) is re-read when its domain is used', async () => {
  const dirs = folder();
  const a = processOver(dirs);
  await a.store.sync();
  await a.store.savePersistent(def('inplace', 3));
  // make the folder look long unchanged, so that a sync trusts it
  const past = new Date(Date.now() - 60_000);
  utimesSync(dirs.config, past, past);
  await a.store.sync();
  await a.store.sync();
  const file = a.store.configFile('inplace');
  writeFileSync(file, readFileSync(file, 'utf8').replace('65536', '262144'));
  utimesSync(dirs.config, past, past);
  await a.store.sync();
  assert.equal(memoryOf(a.store.findByName('inplace')!.def), '65536', 'an unchanged folder is not re-read');
  a.store.refreshConfig('inplace');
  assert.equal(memoryOf(a.store.findByName('inplace')!.def), '262144');
});

test('a new process lists domains from the index without parsing them, and parses a definition on first use', async () => {
  const dirs = folder();
  const writer = processOver(dirs);
  await writer.store.sync();
  for (let i = 1; i <= 20; i++) await writer.store.savePersistent(def(`d${i}`, i));

  const reader = processOver(dirs);
  await reader.store.sync();
  assert.equal(reader.store.list().length, 20);
  assert.equal(reader.stats.parses, 0);
  assert.equal(reader.store.findByName('d7')!.uuid, UUID(7));
  assert.equal(memoryOf(reader.store.findByName('d7')!.def), '65536');
  assert.equal(reader.stats.parses, 1);

  // a file changed since the index was written is parsed, the others are not
  const file = writer.store.configFile('d3');
  writeFileSync(file, readFileSync(file, 'utf8').replace('65536', '1048576'));
  const third = processOver(dirs);
  await third.store.sync();
  assert.equal(third.stats.parses, 1);
  assert.equal(memoryOf(third.store.findByName('d3')!.def), '1048576');

  // a file removed by another process is gone even though the index still names it
  rmSync(writer.store.configFile('d5'));
  const fourth = processOver(dirs);
  await fourth.store.sync();
  assert.equal(fourth.store.findByName('d5'), undefined);
  assert.equal(fourth.store.list().length, 19);
});

test('a new process finding the folder as the index recorded it stats no config file, and still sees a file rewritten in place once its domain is used', async () => {
  const dirs = folder();
  const writer = processOver(dirs);
  await writer.store.sync();
  for (let i = 1; i <= 3; i++) await writer.store.savePersistent(def(`t${i}`, i));
  // a full read of a folder that has been still for longer than the clock granularity records its stamp
  const past = new Date(Date.now() - 60_000);
  utimesSync(dirs.config, past, past);
  const scanner = processOver(dirs);
  await scanner.store.sync();
  assert.ok(JSON.parse(readFileSync(dirs.index, 'utf8')).folder, 'the index vouches for the folder');

  // t2 rewritten in place, folder untouched: a listing trusts the index (no stat, no parse) ...
  const file = writer.store.configFile('t2');
  writeFileSync(file, readFileSync(file, 'utf8').replace('65536', '524288'));
  utimesSync(dirs.config, past, past);
  const reader = processOver(dirs);
  await reader.store.sync();
  assert.deepEqual(names(reader.store), ['t1', 't2', 't3']);
  assert.equal(reader.stats.parses, 0);
  // ... and using the domain checks its file
  reader.store.refreshConfig('t2');
  assert.equal(memoryOf(reader.store.findByName('t2')!.def), '524288');

  // a folder that changed since is stat'ed file by file again: the removal is seen
  rmSync(writer.store.configFile('t3'));
  const later = processOver(dirs);
  await later.store.sync();
  assert.deepEqual(names(later.store), ['t1', 't2']);
});

test('a new process finding the folder as indexed loads a domain into the list only when asked for it, and keeps the index whole', async (t) => {
  const dirs = folder();
  t.after(() => rmSync(path.dirname(dirs.config), { recursive: true, force: true }));
  const writer = processOver(dirs);
  await writer.store.sync();
  for (let i = 1; i <= 5; i++) await writer.store.savePersistent(def(`l${i}`, i));
  await writer.store.setAutostart(writer.store.findByName('l4')!, true);
  const past = new Date(Date.now() - 60_000);
  utimesSync(dirs.config, past, past);
  await processOver(dirs).store.sync(); // a full read under a proven folder stamp: the index vouches for the folder

  const reader = processOver(dirs);
  await reader.store.sync();
  assert.equal(reader.store.loadedObjects().length, 0);
  assert.equal(reader.store.findByName('l2')!.uuid, UUID(2));
  assert.equal(reader.store.findByUUID(UUID(3).toUpperCase())!.name, 'l3', 'by UUID through the index');
  assert.equal(reader.store.findByName('l4')!.autostart, true, 'a domain loaded later reads the autostart links as synced');
  assert.equal(reader.store.findByName('nope'), undefined);
  assert.equal(reader.store.findByUUID(UUID(99)), undefined);
  assert.deepEqual(reader.store.loadedObjects().map((o) => o.name).sort(), ['l2', 'l3', 'l4']);
  assert.equal(reader.stats.parses, 0);

  // a name or UUID clash with a domain not loaded yet is still refused
  assert.throws(() => reader.store.checkAddable(def('l5', 42)), /domain 'l5' already exists with uuid/);
  assert.throws(() => reader.store.checkAddable(def('other', 1)), /domain 'l1' is already defined with uuid/);

  // a define writes the index from every file, loaded or not
  await reader.store.savePersistent(def('l6', 6));
  const index = JSON.parse(readFileSync(dirs.index, 'utf8')) as { files: Record<string, unknown> };
  assert.deepEqual(Object.keys(index.files).sort(), ['l1.xml', 'l2.xml', 'l3.xml', 'l4.xml', 'l5.xml', 'l6.xml']);
  assert.deepEqual(names(reader.store), ['l1', 'l2', 'l3', 'l4', 'l5', 'l6']);
  assert.equal(reader.stats.parses, 0);
});

test('a process that read the index before others defined domains takes theirs from the rewritten index, parsing none', async () => {
  const dirs = folder();
  const writer = processOver(dirs);
  await writer.store.sync();
  await writer.store.savePersistent(def('early', 1));
  const waiter = processOver(dirs);
  await waiter.store.sync();
  // meanwhile (as while waiting for the driver lock) another process defines more
  for (let i = 2; i <= 4; i++) await writer.store.savePersistent(def(`late${i}`, i));
  await waiter.store.sync();
  assert.deepEqual(names(waiter.store), ['early', 'late2', 'late3', 'late4']);
  assert.equal(waiter.stats.parses, 0);
});

test('a broken or lost index only costs parses', async () => {
  const dirs = folder();
  const writer = processOver(dirs);
  await writer.store.sync();
  await writer.store.savePersistent(def('x', 1));
  writeFileSync(dirs.index, '{"format":1,"files":{"x.xml":"garbage"');
  const reader = processOver(dirs);
  await reader.store.sync();
  assert.deepEqual(names(reader.store), ['x']);
  assert.equal(reader.stats.parses, 1);
  assert.deepEqual(reader.stats.errors, []);
  // the index was rewritten: the next process parses nothing
  const next = processOver(dirs);
  await next.store.sync();
  assert.equal(next.stats.parses, 0);
});

test('a config file whose name does not match its domain is reported, the others load', async () => {
  const dirs = folder();
  const a = processOver(dirs);
  await a.store.sync();
  await a.store.savePersistent(def('good', 1));
  writeFileSync(path.join(dirs.config, 'wrong.xml'), formatXml(def('other', 2)));
  const b = processOver(dirs);
  await b.store.sync();
  assert.deepEqual(names(b.store), ['good']);
  assert.equal(b.stats.errors.length, 1);
  assert.match(b.stats.errors[0]!, /^wrong\.xml: .*Domain config filename '.*wrong\.xml' does not match domain name 'other'/);
});

test('folder watch: a folder changed within the clock granularity of our last look is not trusted', () => {
  const dir = tempDir('watch');
  const watch = new DirectoryWatch(dir);
  assert.equal(watch.changed(), true, 'first look');
  assert.equal(watch.changed(), true, 'just created: its mtime is too recent to prove anything');
  const past = new Date(Date.now() - 60_000);
  utimesSync(dir, past, past);
  assert.equal(watch.changed(), true, 'the mtime moved');
  assert.equal(watch.changed(), false, 'old and unchanged');
  writeFileSync(path.join(dir, 'new.xml'), '');
  assert.equal(watch.changed(), true, 'an entry was added');
  utimesSync(dir, past, past);
  watch.changed();
  assert.equal(watch.changed(), false);
  watch.forget();
  assert.equal(watch.changed(), true, 'forgotten');
});

test('a file version the index vouches for is parsed unchecked; a version changed since is checked', async (t) => {
  const dirs = folder();
  t.after(() => rmSync(path.dirname(dirs.config), { recursive: true, force: true }));
  const a = processOver(dirs);
  await a.store.sync();
  await a.store.savePersistent(def('vouched', 7));
  await a.store.savePersistent(def('changed', 8));

  const b = processOver(dirs);
  await b.store.sync();
  assert.equal(b.stats.parses, 0);
  assert.equal(memoryOf(b.store.findByName('vouched')!.def), '65536');
  assert.deepEqual(b.stats.vouched, [true]);

  // replaced after b read the index: b's lazy definition reads a version the index never saw
  const file = a.store.configFile('changed');
  const replacement = `${file}.new`;
  writeFileSync(replacement, readFileSync(file, 'utf8').replace('65536', '131072'));
  renameSync(replacement, file);
  assert.equal(memoryOf(b.store.findByName('changed')!.def), '131072');
  assert.deepEqual(b.stats.vouched, [true, false]);

  // a new process checks the changed file when it loads it
  const c = processOver(dirs);
  await c.store.sync();
  assert.deepEqual(c.stats.vouched, [false]);
  assert.equal(memoryOf(c.store.findByName('changed')!.def), '131072');
  assert.deepEqual(c.stats.errors, []);
});
