// Bundles the compiled tsvirsh (dist/src/cli/main.js and everything it imports)
// into one ES module, dist/tsvirsh.mjs, which bin/tsvirsh runs: Node then reads
// and links one file instead of ~200 modules, most of a short CLI run's start-up.
import { build } from 'esbuild';

await build({
  entryPoints: ['dist/src/cli/main.js'],
  outfile: 'dist/tsvirsh.mjs',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'warning',
});
