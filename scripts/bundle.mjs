// Bundles the compiled tsvirsh (dist/src/cli/main.js and everything it imports)
// into one ES module, dist/tsvirsh.mjs, which bin/tsvirsh runs: Node then reads
// and links one file instead of ~200 modules, most of a short CLI run's start-up.
// tsvirtd (dist/src/daemon/main.js -> dist/tsvirtd.mjs) is bundled the same way.
import { build } from 'esbuild';

for (const [entry, out] of [
  ['dist/src/cli/main.js', 'dist/tsvirsh.mjs'],
  ['dist/src/daemon/main.js', 'dist/tsvirtd.mjs'],
]) {
  await build({
    entryPoints: [entry],
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: 'linked',
    logLevel: 'warning',
  });
}
