// The side-by-side storage scenarios: each is run with real virsh against
// libvirtd (qemu:///system, record-golden.ts) and replayed on tsvirt
// (golden.test.ts). A step is a virsh command string, or
//   @sh CMD    a shell command (setup; its output is not compared),
//   @files     what is on disk under $T: type, mode, size, and qemu-img's format,
//              virtual size and backing file of every regular file.
// $L is the loop device LVM_SETUP attached (masked as /dev/loopN).
// $T is the scenario's own scratch folder; the pool is always tsvirt-golden-p
// (libvirtd's namespace is the host's: the recorder removes it after each scenario).

export interface StorageScenario {
  readonly name: string;
  readonly steps: readonly string[];
  /**
   * What the host must offer: 'lvm' a free loop device and the LVM tools;
   * 'lvm-without-dm' also no device-mapper (the recorded lvcreate failure).
   */
  readonly needs?: 'lvm' | 'lvm-without-dm';
}

const P = 'tsvirt-golden-p';
/** A started dir pool at $T/pool. */
const DIR_POOL = [`pool-define-as ${P} dir --target $T/pool`, `pool-build ${P}`, `pool-start ${P}`];
const POOL_XML = (extra: string) =>
  `@sh printf '%s' "<pool type='dir'><name>${P}</name><target><path>$T/pool</path>${extra}</target></pool>" > $T/pool.xml`;

/** A 64 MiB image on a free loop device, named in $T/L. */
const LVM_SETUP = '@sh truncate -s 64M $T/pv.img && losetup -f --show $T/pv.img > $T/L';
/** Whatever a failed scenario left of its group, then the loop device. */
const LVM_TEARDOWN = '@sh vgremove -f tsvirt-golden-vg >/dev/null 2>&1; pvremove -ff -y $(cat $T/L) >/dev/null 2>&1; losetup -d $(cat $T/L)';
const LOGICAL_DEFINE = `pool-define-as ${P} logical --source-dev $L --source-name tsvirt-golden-vg --target /dev/tsvirt-golden-vg`;

/** The passphrase secret of the encrypted volume scenarios. */
const LUKS_SECRET = '5e6c1d2a-0000-4000-8000-00000000001c';

export const STORAGE_SCENARIOS: readonly StorageScenario[] = [
  { name: 'define-list-info-inactive', steps: [`pool-define-as ${P} dir --target $T/pool`, 'pool-list --all', `pool-info ${P}`, `pool-dumpxml ${P}`, `pool-undefine ${P}`, 'pool-list --all'] },
  { name: 'build-start-dumpxml', steps: [...DIR_POOL, '@files', `pool-info ${P}`, `pool-dumpxml ${P}`, `pool-dumpxml --inactive ${P}`, 'pool-list'] },
  { name: 'start-without-target', steps: [`pool-define-as ${P} dir --target $T/missing`, `pool-start ${P}`, `pool-info ${P}`] },
  { name: 'build-existing-dir', steps: ['@sh mkdir -m 0750 $T/pool', `pool-define-as ${P} dir --target $T/pool`, `pool-build ${P}`, '@files', `pool-start ${P}`, `pool-dumpxml ${P}`] },
  { name: 'create-as-transient', steps: [`pool-create-as ${P} dir --target $T/pool --build`, 'pool-list --transient', `pool-info ${P}`, `pool-autostart ${P}`, `pool-destroy ${P}`, 'pool-list --all'] },
  { name: 'autostart', steps: [...DIR_POOL, `pool-autostart ${P}`, 'pool-list --autostart', `pool-info ${P}`, `pool-autostart --disable ${P}`, 'pool-list --no-autostart'] },
  { name: 'define-duplicate', steps: [`pool-define-as ${P} dir --target $T/pool`, `pool-define-as ${P} dir --target $T/other`, `pool-dumpxml ${P}`] },
  { name: 'undefine-active', steps: [...DIR_POOL, `pool-undefine ${P}`, `pool-destroy ${P}`, `pool-undefine ${P}`, `pool-info ${P}`] },
  { name: 'delete-pool', steps: [...DIR_POOL, `pool-delete ${P}`, `pool-destroy ${P}`, `pool-delete ${P}`, '@files', `pool-start ${P}`] },
  { name: 'delete-nonempty-pool', steps: [...DIR_POOL, 'vol-create-as --pool ' + P + ' v.img 1M', `pool-destroy ${P}`, `pool-delete ${P}`, '@files'] },
  { name: 'destroy-inactive', steps: [`pool-define-as ${P} dir --target $T/pool`, `pool-destroy ${P}`, `pool-refresh ${P}`] },
  { name: 'pool-xml-permissions', steps: [POOL_XML('<permissions><mode>0755</mode></permissions>'), `pool-define $T/pool.xml`, `pool-dumpxml ${P}`, `pool-build ${P}`, '@files', `pool-start ${P}`, `pool-dumpxml ${P}`] },
  { name: 'pool-xml-errors', steps: [`@sh printf '%s' "<pool type='dir'><name>${P}</name></pool>" > $T/a.xml`, `pool-define $T/a.xml`, `@sh printf '%s' "<pool type='bogus'><name>x</name></pool>" > $T/b.xml`, `pool-define $T/b.xml`, `@sh printf '%s' "<pool type='dir'><name>a/b</name><target><path>/x</path></target></pool>" > $T/c.xml`, `pool-define $T/c.xml`] },
  { name: 'pool-name-uuid', steps: [`pool-define-as ${P} dir --target $T/pool`, `pool-uuid ${P}`, 'pool-name 00000000-0000-0000-0000-000000000000', 'pool-info nosuch', 'pool-start nosuch'] },
  { name: 'vol-create-raw', steps: [...DIR_POOL, `vol-create-as ${P} v.img 10M`, `vol-info --pool ${P} v.img`, `vol-dumpxml --pool ${P} v.img`, '@files'] },
  { name: 'vol-create-raw-sparse', steps: [...DIR_POOL, `vol-create-as ${P} s.img 64M --allocation 0`, `vol-info --pool ${P} s.img`, `vol-dumpxml --pool ${P} s.img`, '@files'] },
  { name: 'vol-create-raw-partial-allocation', steps: [...DIR_POOL, `vol-create-as ${P} s.img 8M --allocation 1M`, `vol-info --pool ${P} s.img`, '@files'] },
  { name: 'vol-create-qcow2', steps: [...DIR_POOL, `vol-create-as ${P} q.qcow2 1G --format qcow2`, `vol-info --pool ${P} q.qcow2`, `vol-dumpxml --pool ${P} q.qcow2`, '@files'] },
  { name: 'vol-create-qcow2-prealloc', steps: [...DIR_POOL, `vol-create-as ${P} q.qcow2 16M --format qcow2 --prealloc-metadata`, `vol-info --pool ${P} q.qcow2`, '@files'] },
  { name: 'vol-create-raw-prealloc-refused', steps: [...DIR_POOL, `vol-create-as ${P} r.img 16M --prealloc-metadata`, '@files'] },
  {
    name: 'vol-create-xml-compat-lazy',
    steps: [
      ...DIR_POOL,
      `@sh printf '%s' "<volume><name>l.qcow2</name><capacity unit='M'>32</capacity><target><format type='qcow2'/><compat>1.1</compat><features><lazy_refcounts/></features></target></volume>" > $T/v.xml`,
      `vol-create ${P} $T/v.xml`,
      `vol-dumpxml --pool ${P} l.qcow2`,
      '@files',
    ],
  },
  {
    name: 'vol-create-xml-lazy-old-compat',
    steps: [
      ...DIR_POOL,
      `@sh printf '%s' "<volume><name>l.qcow2</name><capacity unit='M'>32</capacity><target><format type='qcow2'/><compat>0.10</compat><features><lazy_refcounts/></features></target></volume>" > $T/v.xml`,
      `vol-create ${P} $T/v.xml`,
      '@files',
    ],
  },
  {
    name: 'vol-create-xml-perms',
    steps: [
      ...DIR_POOL,
      `@sh printf '%s' "<volume><name>m.img</name><capacity>1048576</capacity><allocation>0</allocation><target><permissions><mode>0644</mode></permissions></target></volume>" > $T/v.xml`,
      `vol-create ${P} $T/v.xml`,
      `vol-dumpxml --pool ${P} m.img`,
      '@files',
    ],
  },
  { name: 'vol-create-compat-on-raw', steps: [...DIR_POOL, `@sh printf '%s' "<volume><name>c.img</name><capacity>1048576</capacity><target><format type='raw'/><compat>1.1</compat></target></volume>" > $T/v.xml`, `vol-create ${P} $T/v.xml`, '@files'] },
  { name: 'vol-create-backing', steps: [...DIR_POOL, `vol-create-as ${P} base.qcow2 64M --format qcow2`, `vol-create-as ${P} top.qcow2 64M --format qcow2 --backing-vol base.qcow2 --backing-vol-format qcow2`, `vol-dumpxml --pool ${P} top.qcow2`, `vol-info --pool ${P} top.qcow2`, '@files'] },
  { name: 'vol-create-backing-raw-refused', steps: [...DIR_POOL, `vol-create-as ${P} base.img 1M`, `vol-create-as ${P} top.img 1M --backing-vol base.img --backing-vol-format raw`, '@files'] },
  { name: 'vol-create-slash-refused', steps: [...DIR_POOL, `vol-create-as ${P} a/b 1M`, `vol-create-as ${P} ../x 1M`, '@files'] },
  { name: 'vol-create-duplicate', steps: [...DIR_POOL, `vol-create-as ${P} v.img 1M`, `vol-create-as ${P} v.img 2M`, '@files'] },
  { name: 'vol-create-bad-format', steps: [...DIR_POOL, `vol-create-as ${P} v.img 1M --format bogus`, `vol-create-as ${P} v.img 1M --format iso`, `vol-info --pool ${P} v.img`, '@files'] },
  { name: 'vol-create-inactive-pool', steps: [`pool-define-as ${P} dir --target $T/pool`, `pool-build ${P}`, `vol-create-as ${P} v.img 1M`, `vol-list ${P}`, '@files'] },
  { name: 'vol-list-details', steps: [...DIR_POOL, `vol-create-as ${P} b.img 2M`, `vol-create-as ${P} a.qcow2 1G --format qcow2`, `vol-list ${P}`, `vol-list ${P} --details`, `pool-refresh ${P}`, `vol-list --pool ${P}`] },
  { name: 'vol-path-key-name-pool', steps: [...DIR_POOL, `vol-create-as ${P} v.img 1M`, `vol-path --pool ${P} v.img`, `vol-key --pool ${P} v.img`, 'vol-name $T/pool/v.img', 'vol-pool $T/pool/v.img', `vol-info $T/pool/v.img`, 'vol-info nosuch', `vol-info --pool ${P} nosuch`] },
  { name: 'vol-delete', steps: [...DIR_POOL, `vol-create-as ${P} v.img 1M`, `vol-delete --pool ${P} v.img`, `vol-list ${P}`, '@files', `vol-delete --pool ${P} v.img`] },
  { name: 'vol-delete-vanished', steps: [...DIR_POOL, `vol-create-as ${P} v.img 1M`, '@sh rm $T/pool/v.img', `vol-delete --pool ${P} v.img`, `vol-list ${P}`] },
  { name: 'vol-clone-raw', steps: [...DIR_POOL, `vol-create-as ${P} v.img 4M --allocation 0`, '@sh printf abc | dd of=$T/pool/v.img bs=1 seek=1048576 conv=notrunc status=none', `vol-clone --pool ${P} v.img c.img`, `vol-info --pool ${P} c.img`, '@files', '@sh cmp $T/pool/v.img $T/pool/c.img && echo same'] },
  { name: 'vol-clone-qcow2', steps: [...DIR_POOL, `vol-create-as ${P} q.qcow2 64M --format qcow2`, `vol-clone --pool ${P} q.qcow2 c.qcow2`, `vol-dumpxml --pool ${P} c.qcow2`, '@files'] },
  { name: 'vol-clone-existing-name', steps: [...DIR_POOL, `vol-create-as ${P} a.img 1M`, `vol-create-as ${P} b.img 1M`, `vol-clone --pool ${P} a.img b.img`, '@files'] },
  { name: 'vol-create-from-convert', steps: [...DIR_POOL, `vol-create-as ${P} r.img 8M`, `@sh printf '%s' "<volume><name>q.qcow2</name><capacity unit='M'>8</capacity><target><format type='qcow2'/></target></volume>" > $T/v.xml`, `vol-create-from ${P} $T/v.xml --inputpool ${P} r.img`, `vol-info --pool ${P} q.qcow2`, '@files'] },
  { name: 'vol-resize-raw', steps: [...DIR_POOL, `vol-create-as ${P} v.img 4M --allocation 0`, `vol-resize --pool ${P} v.img 8M`, `vol-info --pool ${P} v.img`, `vol-resize --pool ${P} v.img 2M`, `vol-resize --pool ${P} v.img 2M --shrink`, `vol-info --pool ${P} v.img`, '@files'] },
  { name: 'vol-resize-raw-allocate', steps: [...DIR_POOL, `vol-create-as ${P} v.img 1M --allocation 0`, `vol-resize --pool ${P} v.img 4M --allocate`, `vol-info --pool ${P} v.img`, '@files'] },
  { name: 'vol-resize-qcow2', steps: [...DIR_POOL, `vol-create-as ${P} q.qcow2 64M --format qcow2`, `vol-resize --pool ${P} q.qcow2 --delta 64M`, `vol-info --pool ${P} q.qcow2`, `vol-resize --pool ${P} q.qcow2 1G --allocate`, `vol-resize --pool ${P} q.qcow2 32M --shrink`, `vol-info --pool ${P} q.qcow2`, '@files'] },
  { name: 'vol-resize-errors', steps: [...DIR_POOL, `vol-create-as ${P} v.img 4M`, `vol-resize --pool ${P} v.img 0`, `vol-resize --pool ${P} v.img --delta -1M`, `vol-resize --pool ${P} v.img --delta 1M --shrink`, `vol-resize --pool ${P} v.img 100P`, `vol-info --pool ${P} v.img`] },
  { name: 'vol-wipe-zero', steps: [...DIR_POOL, `vol-create-as ${P} v.img 2M`, '@sh printf xyz | dd of=$T/pool/v.img conv=notrunc status=none', `vol-wipe --pool ${P} v.img`, '@sh od -c $T/pool/v.img | head -3', `vol-info --pool ${P} v.img`] },
  { name: 'vol-wipe-sparse', steps: [...DIR_POOL, `vol-create-as ${P} v.img 4M --allocation 0`, '@sh printf xyz | dd of=$T/pool/v.img conv=notrunc status=none', `vol-wipe --pool ${P} v.img`, `vol-info --pool ${P} v.img`, '@files'] },
  { name: 'vol-wipe-algorithms', steps: [...DIR_POOL, `vol-create-as ${P} v.img 1M`, `vol-wipe --pool ${P} v.img --algorithm trim`, `vol-wipe --pool ${P} v.img --algorithm bogus`, `vol-wipe --pool ${P} v.img --algorithm zero`] },
  {
    name: 'refresh-probes-files',
    steps: [
      ...DIR_POOL,
      '@sh qemu-img create -q -f raw $T/pool/base.raw 16M',
      '@sh qemu-img create -q -f qcow2 -o compat=1.1 -b $T/pool/base.raw -F raw $T/pool/top.qcow2 32M',
      '@sh mkdir $T/pool/sub',
      '@sh mkfifo $T/pool/fifo',
      '@sh ln -s $T/nowhere $T/pool/dangling',
      `vol-list ${P}`,
      `pool-refresh ${P}`,
      `vol-list ${P} --details`,
      `vol-dumpxml --pool ${P} top.qcow2`,
      `vol-dumpxml --pool ${P} sub`,
      `vol-info --pool ${P} sub`,
    ],
  },
  { name: 'refresh-removed-file', steps: [...DIR_POOL, `vol-create-as ${P} v.img 1M`, '@sh rm $T/pool/v.img', `pool-refresh ${P}`, `vol-list ${P}`] },
  { name: 'restart-rescans', steps: [...DIR_POOL, '@sh qemu-img create -q -f qcow2 $T/pool/x.qcow2 1M', `pool-destroy ${P}`, `vol-list ${P}`, `pool-start ${P}`, `vol-list ${P}`, `vol-info --pool ${P} x.qcow2`] },
  { name: 'pool-list-filters', steps: [...DIR_POOL, 'pool-list --all --type dir', 'pool-list --all --type fs', 'pool-list --inactive', 'pool-list --persistent --name', 'pool-list --uuid --all'] },
  { name: 'find-sources-unsupported', steps: ['find-storage-pool-sources dir', 'find-storage-pool-sources fs', 'find-storage-pool-sources bogus', 'find-storage-pool-sources-as dir --host localhost'] },
  {
    name: 'logical-build-start-refresh',
    needs: 'lvm',
    steps: [
      LVM_SETUP,
      LOGICAL_DEFINE,
      `pool-dumpxml ${P}`,
      `pool-start ${P}`,
      `pool-build ${P}`,
      'find-storage-pool-sources logical',
      'find-storage-pool-sources-as logical',
      `pool-start ${P}`,
      `pool-info ${P}`,
      `pool-dumpxml ${P}`,
      `vol-list ${P}`,
      `pool-refresh ${P}`,
      `pool-list --all --type logical`,
      `pool-destroy ${P}`,
      `pool-info ${P}`,
      `pool-start ${P}`,
      `pool-destroy ${P}`,
      `pool-delete ${P}`,
      'find-storage-pool-sources logical',
      `pool-undefine ${P}`,
      LVM_TEARDOWN,
    ],
  },
  {
    name: 'logical-build-overwrite-rules',
    needs: 'lvm',
    steps: [
      LVM_SETUP,
      LOGICAL_DEFINE,
      `pool-build ${P}`,
      `pool-build ${P} --no-overwrite`,
      `pool-build ${P}`,
      `pool-build ${P} --overwrite --no-overwrite`,
      `pool-delete ${P}`,
      '@sh mkfs.ext4 -q -F $(cat $T/L)',
      `pool-build ${P} --no-overwrite`,
      `pool-undefine ${P}`,
      LVM_TEARDOWN,
    ],
  },
  {
    name: 'logical-vol-create-without-dm',
    needs: 'lvm-without-dm',
    steps: [LVM_SETUP, LOGICAL_DEFINE, `pool-build ${P}`, `pool-start ${P}`, `vol-create-as ${P} v1 8M`, `vol-list ${P}`, `pool-destroy ${P}`, `pool-delete ${P}`, `pool-undefine ${P}`, LVM_TEARDOWN],
  },
  {
    name: 'vol-create-luks-qcow2',
    steps: [
      ...DIR_POOL,
      `@sh printf '%s' "<secret ephemeral='no' private='yes'><uuid>${LUKS_SECRET}</uuid><usage type='volume'><volume>$T/pool/e.qcow2</volume></usage></secret>" > $T/s.xml`,
      'secret-define $T/s.xml',
      `secret-set-value ${LUKS_SECRET} --base64 c2VjcmV0cGFzcw==`,
      `@sh printf '%s' "<volume><name>e.qcow2</name><capacity unit='M'>16</capacity><target><format type='qcow2'/><encryption format='luks'><secret type='passphrase' uuid='${LUKS_SECRET}'/></encryption></target></volume>" > $T/v.xml`,
      `vol-create ${P} $T/v.xml`,
      `vol-dumpxml --pool ${P} e.qcow2`,
      `@sh qemu-img info -U --output=json $T/pool/e.qcow2 | grep -o '"encrypted": true'`,
      '@files',
      `secret-undefine ${LUKS_SECRET}`,
    ],
  },
  {
    name: 'vol-create-luks-errors',
    steps: [
      ...DIR_POOL,
      `@sh printf '%s' "<volume><name>a.qcow2</name><capacity unit='M'>16</capacity><target><format type='qcow2'/><encryption format='luks'/></target></volume>" > $T/a.xml`,
      `vol-create ${P} $T/a.xml`,
      `@sh printf '%s' "<volume><name>b.qcow2</name><capacity unit='M'>16</capacity><target><format type='qcow2'/><encryption format='luks'><secret type='passphrase' uuid='${LUKS_SECRET}'/></encryption></target></volume>" > $T/b.xml`,
      `vol-create ${P} $T/b.xml`,
      `@sh printf '%s' "<volume><name>c.vmdk</name><capacity unit='M'>16</capacity><target><format type='vmdk'/><encryption format='luks'><secret type='passphrase' uuid='${LUKS_SECRET}'/></encryption></target></volume>" > $T/c.xml`,
      `vol-create ${P} $T/c.xml`,
      `vol-list ${P}`,
      '@files',
    ],
  },
];
