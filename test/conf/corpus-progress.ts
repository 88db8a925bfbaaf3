// Progress meter (not a test): runs the conformance inputs through
// parseDomainXML with the QEMU domain-level hooks and compares the result with
// libvirt's expected.xml outside <devices> (devices, addresses and implicit
// controllers are other modules' work). Defined cases compare XML; rejected
// cases compare the error message.
//   node dist/test/conf/corpus-progress.js [FILTER-REGEX] [--show N]

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from '../../src/conf/document.js';
import { completeDomain, formatDomainXML } from '../../src/conf/domain.js';
import { findBinaryForArch, QemuCapsCache } from '../../src/drivers/qemu/capabilities.js';
import { qemuDomainPostParse, qemuDomainPostParseBasic, qemuValidateDomain } from '../../src/drivers/qemu/domain-defaults.js';
import { SECURITY_MODELS } from '../../src/drivers/qemu/security/process-label.js';
import { child } from '../../src/util/xml.js';
import { qemuCorpusDir, recordedHost } from '../helpers/corpus.js';
import { tempDir } from '../helpers/temp-dir.js';

const corpus = qemuCorpusDir();
const args = process.argv.slice(2);
const showIdx = args.indexOf('--show');
const show = showIdx >= 0 ? Number(args.splice(showIdx, 2)[1]) : 5;
const filter = new RegExp(args[0] ?? '.');

/** The document without its <devices> block. */
function withoutDevices(xml: string): string {
  return xml.replace(/\n {2}<devices>[\s\S]*\n {2}<\/devices>/, '').trim();
}

async function main(): Promise<void> {
  if (!corpus) process.exit(2);
  const caps = new QemuCapsCache(tempDir('caps'), recordedHost(corpus));
  const counts = { xmlPass: 0, xmlFail: 0, errPass: 0, errFail: 0 };
  const failures: string[] = [];
  for (const id of readdirSync(corpus).filter((d) => filter.test(d)).sort()) {
    const dir = join(corpus, id);
    if (!existsSync(join(dir, 'input.xml'))) continue;
    const input = readFileSync(join(dir, 'input.xml'), 'utf8');
    const errFile = join(dir, 'expected.err');
    const expectedErr = existsSync(errFile) ? readFileSync(errFile, 'utf8').split('\n').slice(1).join('\n').replace(/^error: /, '').trim() : undefined;
    let got: string;
    try {
      const dom = parseDocument(input, '(domain_definition)', 'domain');
      const type = child(child(dom, 'os') ?? dom, 'type');
      const emulator = child(child(dom, 'devices') ?? dom, 'emulator')?.text;
      const binary = emulator || findBinaryForArch(type?.attrs['arch'] ?? 'x86_64') || '/usr/bin/qemu-system-x86_64';
      const qemuCaps = await caps.get(binary);
      completeDomain(dom, {
        hooks: {
          defaultSecurityModel: SECURITY_MODELS[0],
          postParseBasic: (d) => qemuDomainPostParseBasic(d, findBinaryForArch),
          postParse: (d) => qemuDomainPostParse(d, qemuCaps),
          validate: (d) => qemuValidateDomain(d, qemuCaps),
        },
      });
      got = formatDomainXML(dom, { inactive: true });
    } catch (e) {
      const message = (e as Error).message;
      if (expectedErr !== undefined) {
        if (message === expectedErr) counts.errPass++;
        else {
          counts.errFail++;
          failures.push(`${id}: error\n  got:  ${message}\n  want: ${expectedErr}`);
        }
      } else {
        counts.xmlFail++;
        failures.push(`${id}: rejected: ${message}`);
      }
      continue;
    }
    if (expectedErr !== undefined) {
      counts.errFail++;
      failures.push(`${id}: accepted, libvirt says: ${expectedErr}`);
      continue;
    }
    const want = withoutDevices(readFileSync(join(dir, 'expected.xml'), 'utf8'));
    const have = withoutDevices(got);
    if (want === have) counts.xmlPass++;
    else {
      counts.xmlFail++;
      const w = want.split('\n');
      const h = have.split('\n');
      let i = 0;
      while (i < w.length && w[i] === h[i]) i++;
      failures.push(`${id}: line ${i + 1}\n  got:  ${h[i] ?? '<eof>'}\n  want: ${w[i] ?? '<eof>'}`);
    }
  }
  for (const f of failures.slice(0, show)) console.log(f);
  console.log(`domain-level xml: ${counts.xmlPass} passed, ${counts.xmlFail} failed; errors: ${counts.errPass} exact, ${counts.errFail} not`);
}

await main();
