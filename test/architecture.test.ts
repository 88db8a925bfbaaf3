// The layering of src/, checked on every import (static and dynamic): a forbidden
// edge fails the suite instead of waiting for a reviewer to notice it.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

/** The layer of a file under src/: its first folder, drivers/<name> for a driver, 'index' for the package entry. */
function layerOf(file: string): string {
  const parts = relative(SRC, file).split('/');
  if (parts.length === 1) return 'index';
  if (parts[0] === 'drivers') return parts.length === 2 ? `drivers/${parts[1]!.replace(/\.ts$/, '')}` : `drivers/${parts[1]}`;
  return parts[0]!;
}

/** Which layers each layer may import (besides itself). Drivers may import no other driver. */
function allowed(from: string, to: string): boolean {
  if (from === to) return true;
  const driverBase = ['driver', 'conf', 'util'];
  switch (from) {
    case 'util':
      return false;
    case 'conf':
    case 'rpc':
      return to === 'util';
    case 'driver':
      return ['rpc', 'conf', 'util'].includes(to);
    case 'daemon':
      // libvirtd registers the built-in drivers as libvirt.c does; tsvirtd takes them from the same list
      return ['driver', 'rpc', 'conf', 'util', 'drivers/builtin'].includes(to);
    case 'api':
      // libvirt.c registers the built-in drivers; here one module lists them, lazily
      return ['driver', 'util', 'drivers/builtin'].includes(to);
    case 'cli':
      return ['api', 'util'].includes(to);
    case 'drivers/builtin':
      return to.startsWith('drivers/') || driverBase.includes(to);
    case 'drivers/remote':
      return [...driverBase, 'rpc'].includes(to);
    case 'index':
      return ['api', 'driver', 'util'].includes(to);
    default:
      return from.startsWith('drivers/') && driverBase.includes(to);
  }
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)'(\.[^']+)'/g;

test('src/ imports follow the layering (util <- conf <- driver contract <- drivers <- api <- cli)', () => {
  const violations: string[] = [];
  for (const file of sourceFiles(SRC)) {
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const target = resolve(dirname(file), m[1]!.replace(/\.js$/, '.ts'));
      const from = layerOf(file);
      const to = layerOf(target);
      if (!allowed(from, to)) violations.push(`${relative(SRC, file)} (${from}) imports ${relative(SRC, target)} (${to})`);
    }
  }
  assert.deepEqual(violations, []);
});

test('the layer rules refuse what they should', () => {
  assert.equal(allowed('drivers/qemu', 'drivers/test'), false);
  assert.equal(allowed('drivers/qemu', 'api'), false);
  assert.equal(allowed('conf', 'driver'), false);
  assert.equal(allowed('cli', 'drivers/qemu'), false);
  assert.equal(allowed('api', 'drivers/qemu'), false);
  assert.equal(allowed('util', 'conf'), false);
  assert.equal(allowed('drivers/qemu', 'rpc'), false);
  assert.equal(allowed('drivers/remote', 'rpc'), true);
});
