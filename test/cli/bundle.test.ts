// The tsvirsh bundle (scripts/bundle.mjs, run by `npm run build`): the drivers a URI
// reaches at open, and the qemu driver's modules it loads at first use, are files of
// their own, so the core file a query reads holds none of them, and bin/tsvirsh joins
// them up again with one instance of the core's modules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const DIST = fileURLToPath(new URL('../..', import.meta.url));
const TSVIRSH = fileURLToPath(new URL('../../../bin/tsvirsh', import.meta.url));
const SIDES = ['remote', 'test', 'network', 'storage', 'secret'];
/** The qemu driver's side files, in layers: the define pipeline's hooks, what runs QEMU, the rest it loads at first use. */
const QEMU_LAYERS = ['qemu-define', 'qemu-run', 'qemu-lazy'];

const built = existsSync(join(DIST, 'tsvirsh.cjs'));
if (!built && process.env.CI === 'true') throw new Error('dist/tsvirsh.cjs is missing: run npm run build');
const skip = built ? false : 'dist/tsvirsh.cjs is missing (npm run build bundles tsvirsh)';

/** The TypeScript sources a bundle file was made from (its source map). */
function sourcesOf(file: string): string[] {
  return (JSON.parse(readFileSync(join(DIST, `${file}.map`), 'utf8')) as { sources: string[] }).sources;
}

test('the core bundle holds no side driver; each side file holds its driver and nothing of the core', { skip }, () => {
  const core = new Set(sourcesOf('tsvirsh.cjs'));
  assert.ok(core.has('../src/drivers/qemu/driver.ts'), 'the qemu driver is part of the core');
  assert.ok(core.has('../src/util/error.ts'));
  for (const name of SIDES) {
    const side = sourcesOf(`tsvirsh-${name}.cjs`);
    assert.ok(side.includes(`../src/drivers/${name}/driver.ts`), `tsvirsh-${name}.cjs holds the ${name} driver`);
    // a project module in both would be two instances (two VirError classes); the bundler's
    // stand-in for node:fs/promises holds no state and is in each file
    assert.deepEqual(side.filter((s) => s.startsWith('../src/') && core.has(s)), [], `tsvirsh-${name}.cjs takes the core's modules from the core`);
  }
  assert.ok(!core.has('../src/rpc/client.ts'), 'the RPC client is not part of the core');
});

test('side drivers run through bin/tsvirsh, their errors reported as libvirt errors', { skip }, () => {
  const run = (command: string) => {
    try {
      return { out: execFileSync(process.execPath, [TSVIRSH, '-c', 'test:///default', command], { encoding: 'utf8', stdio: 'pipe' }), err: '' };
    } catch (e) {
      const { stdout, stderr } = e as { stdout: string; stderr: string };
      return { out: stdout, err: stderr };
    }
  };
  const listed = run('list --all ; net-list --all ; pool-list --all');
  assert.match(listed.out, /^ 1 +test +running$/m);
  assert.match(listed.out, /^ default +active/m);
  assert.match(listed.out, /^ default-pool +active/m);
  // a VirError the test driver throws is the class the CLI checks with instanceof
  const missing = run('net-info nosuch');
  assert.equal(missing.err, "error: failed to get network 'nosuch'\nerror: Network not found: no network with matching name 'nosuch'\n");
});

test("the qemu driver's modules a query never runs are side files: the define hooks, what runs QEMU, snapshots...", { skip }, () => {
  const core = new Set(sourcesOf('tsvirsh.cjs'));
  const layers = new Map(QEMU_LAYERS.map((name) => [name, sourcesOf(`tsvirsh-${name}.cjs`)]));
  const holds = (name: string, modules: string[]) => {
    for (const module of modules) assert.ok(layers.get(name)!.includes(`../src/drivers/qemu/${module}.ts`), `tsvirsh-${name}.cjs holds ${module}.ts`);
  };
  holds('qemu-define', ['domain-hooks', 'address-assign']);
  holds('qemu-run', ['domain-processes', 'lifecycle', 'hotplug', 'qmp', 'command-line']);
  holds('qemu-lazy', ['snapshot', 'migration', 'save-restore', 'agent-api']);
  const seen = new Map<string, string>();
  for (const [name, sources] of layers) {
    for (const source of sources.filter((s) => s.startsWith('../src/'))) {
      assert.ok(!core.has(source), `tsvirsh-${name}.cjs takes ${source} from the core`);
      assert.equal(seen.get(source), undefined, `${source} is in tsvirsh-${name}.cjs and tsvirsh-${seen.get(source)}.cjs`);
      seen.set(source, name);
    }
  }
  for (const module of ['domain-runtime', 'domain-store', 'domain-xml', 'status-file']) assert.ok(core.has(`../src/drivers/qemu/${module}.ts`), `a query's ${module}.ts is in the core`);
});

const QEMU = '/usr/bin/qemu-system-x86_64';
const noQemu = !existsSync(QEMU) && `${QEMU} is missing (define probes it)`;
if (noQemu && process.env.CI === 'true') throw new Error(`${noQemu}: scripts/setup.sh installs it`);

test('define, queries and undefine through bin/tsvirsh reach the qemu side files and the core as one driver; a query needs none', { skip: skip || noQemu }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tsvirt-bundle-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const xml = join(dir, 'side.xml');
  writeFileSync(xml, "<domain type='qemu'><name>side</name><memory unit='KiB'>65536</memory><os><type arch='x86_64' machine='pc'>hvm</type></os></domain>\n");
  const uri = `qemu:///embed?root=${dir}/root`;
  const run = (command: string) => execFileSync(process.execPath, [TSVIRSH, '-q', '-c', uri, command], { encoding: 'utf8', stdio: 'pipe' });
  // the define hooks (qemu-define, with the QMP probe of qemu-run) fill in the machine's devices and their PCI addresses
  run(`define ${xml}`);
  const dumped = run('dumpxml side');
  assert.match(dumped, /<controller type='pci' index='0' model='pci-root'\/>/);
  assert.match(dumped, /<address type='pci' domain='0x0000' bus='0x00' slot='0x0\d' function='0x0'\/>/);
  assert.match(run('domstate side'), /^shut off$/m);
  // a query of shut-off domains runs none of them: a tree without the qemu side files answers it ...
  const bare = join(dir, 'bare');
  mkdirSync(join(bare, 'bin'), { recursive: true });
  mkdirSync(join(bare, 'dist'));
  for (const file of ['tsvirsh', 'package.json']) copyFileSync(join(TSVIRSH, '..', file), join(bare, 'bin', file));
  for (const file of readdirSync(DIST).filter((f) => f.endsWith('.cjs') && !f.startsWith('tsvirsh-qemu-'))) copyFileSync(join(DIST, file), join(bare, 'dist', file));
  const query = (command: string) => execFileSync(process.execPath, [join(bare, 'bin', 'tsvirsh'), '-q', '-c', uri, command], { encoding: 'utf8', stdio: 'pipe' });
  assert.equal(query('list --all --name'), 'side\n');
  assert.match(query('dominfo side'), /^State: +shut off$/m);
  assert.match(query('domstate side'), /^shut off$/m);
  assert.equal(query('dumpxml side'), dumped);
  // ... and a start reaches for what runs QEMU
  assert.throws(() => query('start side'), (e: { stderr: string }) => e.stderr.includes('tsvirsh-qemu-run.cjs'));
  // the snapshot API is in qemu-lazy (undefine, as virsh's, counts snapshots there too)
  assert.throws(() => run('snapshot-current side'), (e: { stderr: string }) => e.stderr === "error: domain 'side' has no current snapshot\n");
  run('undefine side');
  assert.equal(run('list --all --name'), '');
});
