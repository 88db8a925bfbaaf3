// The side-by-side secret scenarios, recorded with real virsh on libvirtd
// (record-golden.ts) and replayed on tsvirt (golden.test.ts), in the storage
// scenarios' format (test/storage/golden/scenarios.ts) with one more step:
//   @secret-files   the files the secret driver keeps (etc/secrets): name, mode,
//                   size and content, for the secrets the scenario made.
// Every scenario undefines what it defined; the recorder and the replay through
// tsvirtd also remove whatever a failing scenario left.
import type { StorageScenario } from '../../storage/golden/scenarios.js';

/** Fixed UUIDs: the transcripts mask UUIDs, but the XML files name them. */
const A = '5e6c1d2a-0000-4000-8000-00000000000a';
const B = '5e6c1d2a-0000-4000-8000-00000000000b';

/** A step writing a secret definition to $T/NAME.xml. */
const xml = (name: string, text: string) => `@sh printf '%s' "${text}" > $T/${name}.xml`;
const secret = (attrs: string, uuid: string, inner: string) => `<secret ${attrs}><uuid>${uuid}</uuid>${inner}</secret>`;
const VOLUME_USAGE = "<usage type='volume'><volume>/var/lib/tsvirt-golden/disk.img</volume></usage>";

export const SECRET_SCENARIOS: readonly StorageScenario[] = [
  {
    name: 'secret-define-dumpxml-list',
    steps: [
      xml('a', secret("ephemeral='no' private='no'", A, `<description>golden &amp; disk</description>${VOLUME_USAGE}`)),
      'secret-define $T/a.xml',
      'secret-list',
      `secret-dumpxml ${A}`,
      `secret-dumpxml ${A} --xpath //volume`,
      '@secret-files',
      `secret-undefine ${A}`,
      `secret-undefine ${A}`,
      'secret-list',
      '@secret-files',
    ],
  },
  {
    name: 'secret-set-get-value',
    steps: [
      xml('a', secret("ephemeral='no' private='no'", A, VOLUME_USAGE)),
      'secret-define $T/a.xml',
      `secret-get-value ${A}`,
      `secret-set-value ${A} --base64 aGVsbG8gd29ybGQ=`,
      `secret-get-value ${A}`,
      `secret-get-value ${A} --plain`,
      '@secret-files',
      "@sh printf 'c2Vjb25k\\n' > $T/value.b64",
      `secret-set-value ${A} --file $T/value.b64`,
      `secret-get-value ${A}`,
      "@sh printf 'raw bytes' > $T/value.raw",
      `secret-set-value ${A} --file $T/value.raw --plain`,
      `secret-get-value ${A} --plain`,
      '@secret-files',
      `secret-set-value ${A}`,
      `secret-set-value ${A} --base64 eA== --plain`,
      `secret-set-value ${A} --file $T/value.raw --interactive`,
      `secret-set-value ${A} --file $T/missing`,
      '@sh head -c 2000 /dev/zero > $T/big',
      `secret-set-value ${A} --file $T/big --plain`,
      '@sh : > $T/empty',
      `secret-set-value ${A} --file $T/empty --plain`,
      `secret-undefine ${A}`,
    ],
  },
  {
    name: 'secret-private',
    steps: [
      xml('a', secret("ephemeral='no' private='yes'", A, "<usage type='ceph'><name>client.golden</name></usage>")),
      'secret-define $T/a.xml',
      `secret-set-value ${A} --base64 cHJpdmF0ZQ==`,
      `secret-get-value ${A}`,
      'secret-list --private',
      'secret-list --no-private',
      `secret-dumpxml ${A}`,
      '@secret-files',
      xml('b', secret("ephemeral='no' private='no'", A, "<usage type='ceph'><name>client.golden</name></usage>")),
      'secret-define $T/b.xml',
      `secret-undefine ${A}`,
    ],
  },
  {
    name: 'secret-ephemeral',
    steps: [
      xml('a', secret("ephemeral='yes' private='no'", A, "<usage type='tls'><name>golden-tls</name></usage>")),
      'secret-define $T/a.xml',
      `secret-set-value ${A} --base64 ZXBoZW1lcmFs`,
      `secret-get-value ${A}`,
      'secret-list --ephemeral',
      'secret-list --no-ephemeral',
      '@secret-files',
      xml('b', secret("ephemeral='no' private='no'", A, "<usage type='tls'><name>golden-tls</name></usage>")),
      'secret-define $T/b.xml',
      '@secret-files',
      `secret-get-value ${A}`,
      // back to ephemeral: libvirt 9.0 removes the value file but leaves UUID.xml
      // behind (it checks the new definition's flag), a file that would bring the
      // secret back at the next start; tsvirt removes both, so no files are compared
      'secret-define $T/a.xml',
      `secret-get-value ${A}`,
      'secret-list --ephemeral',
      `secret-undefine ${A}`,
    ],
  },
  {
    name: 'secret-usage-types',
    steps: [
      xml('a', secret("ephemeral='no' private='no'", A, "<usage type='iscsi'><target>libvirtiscsi</target></usage>")),
      xml('b', secret("ephemeral='no' private='no'", B, "<usage type='vtpm'><name>golden-vtpm</name></usage>")),
      'secret-define $T/a.xml',
      'secret-define $T/b.xml',
      'secret-list',
      `secret-dumpxml ${A}`,
      `secret-dumpxml ${B}`,
      `secret-undefine ${A}`,
      `secret-undefine ${B}`,
      xml('c', secret("ephemeral='no' private='no'", A, "<usage type='none'/>")),
      'secret-define $T/c.xml',
      'secret-list',
      `secret-dumpxml ${A}`,
      `secret-undefine ${A}`,
    ],
  },
  {
    name: 'secret-redefine-rules',
    steps: [
      xml('a', secret("ephemeral='no' private='no'", A, VOLUME_USAGE)),
      xml('b', secret("ephemeral='no' private='no'", B, VOLUME_USAGE)),
      xml('c', secret("ephemeral='no' private='no'", A, "<usage type='volume'><volume>/other</volume></usage>")),
      xml('d', secret("ephemeral='no' private='no'", A, `<description>now described</description>${VOLUME_USAGE}`)),
      'secret-define $T/a.xml',
      'secret-define $T/b.xml',
      'secret-define $T/c.xml',
      'secret-define $T/d.xml',
      `secret-dumpxml ${A}`,
      'secret-list',
      `secret-undefine ${A}`,
    ],
  },
  {
    name: 'secret-xml-errors',
    steps: [
      xml('a', "<secret><usage type='bogus'/></secret>"),
      'secret-define $T/a.xml',
      xml('b', "<secret><usage type='volume'/></secret>"),
      'secret-define $T/b.xml',
      xml('c', "<secret ephemeral='maybe'/>"),
      'secret-define $T/c.xml',
      xml('d', '<secret><uuid>not-a-uuid</uuid></secret>'),
      'secret-define $T/d.xml',
      xml('e', '<pool/>'),
      'secret-define $T/e.xml',
      xml('f', "<secret><usage/></secret>"),
      'secret-define $T/f.xml',
      xml('g', "<secret private='no'><usage type='iscsi'><target></target></usage></secret>"),
      'secret-define $T/g.xml',
      'secret-define $T/missing.xml',
      'secret-dumpxml nosuch',
      `secret-dumpxml ${B}`,
      `secret-get-value ${B}`,
      'secret-list',
    ],
  },
  {
    name: 'secret-generated-uuid',
    steps: [
      xml('a', "<secret><description>no uuid</description><usage type='ceph'><name>generated</name></usage></secret>"),
      'secret-define $T/a.xml',
      'secret-list',
      'secret-list --no-ephemeral --no-private',
      '@secret-files',
    ],
  },
];
