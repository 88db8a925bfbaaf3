// The tsvirsh bundle (scripts/bundle.mjs, run by `npm run build`): the drivers a URI
// reaches at open are files of their own, so the core file a query reads holds none of
// them, and bin/tsvirsh joins them up again with one instance of the core's modules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const DIST = fileURLToPath(new URL('../..', import.meta.url));
const TSVIRSH = fileURLToPath(new URL('../../../bin/tsvirsh', import.meta.url));
const SIDES = ['remote', 'test', 'network', 'storage', 'secret'];

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
