// Differential check of the address engine against the installed libvirt:
// random pc/q35/virt topologies are defined with real virsh (embed mode, a
// private root), and the engine must reproduce every address libvirt chose.
// Runs whenever virsh and a running libvirtd are there, with a few topologies;
// TSVIRT_DIFFERENTIAL=<count> [TSVIRT_SEED=<n>] runs more (or 0: none).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { libvirtUnavailable } from '../helpers/libvirt.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseXml } from '../../src/util/xml.js';
import { assignQemuAddresses } from '../../src/drivers/qemu/address-assign.js';
import { addressMap, diffMaps, strippedDomain } from './address-harness.js';

/** Topologies per default run: enough to catch a regression, few enough for every run of the suite. */
const DEFAULT_COUNT = 12;
const count = Number(process.env.TSVIRT_DIFFERENTIAL ?? DEFAULT_COUNT);
let seed = Number(process.env.TSVIRT_SEED ?? 1);

const skip = count <= 0 ? 'TSVIRT_DIFFERENTIAL=0' : libvirtUnavailable();
if (skip !== false && count > 0) console.warn(`SKIPPING pci-differential: ${skip}`);

const random = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
const chance = (p: number) => random() < p;

/** One random domain: NICs of every model, virtio disks, video, USB, sound, bridges, explicit addresses. */
function randomDomain(name: string, n: number): string {
  const machine = pick(['pc', 'q35', 'q35', 'virt'] as const);
  const dev: string[] = [];
  let mac = 0;
  const nic = (model: string, address = '') => dev.push(`<interface type='user'><mac address='52:54:00:00:${(n % 256).toString(16).padStart(2, '0')}:${(mac++).toString(16).padStart(2, '0')}'/><model type='${model}'/>${address}</interface>`);
  const nicModels = machine === 'virt' ? ['virtio', 'e1000', 'virtio-transitional'] : ['virtio', 'e1000', 'e1000e', 'rtl8139', 'virtio-transitional'];
  for (let i = Math.floor(random() * 12); i > 0; i--) nic(pick(nicModels));
  for (let i = 0; i < Math.floor(random() * 6); i++) {
    dev.push(`<disk type='file' device='disk'><source file='/var/tmp/${name}-${i}.img'/><target dev='vd${String.fromCharCode(97 + i)}' bus='virtio'/></disk>`);
  }
  if (machine !== 'virt' && chance(0.4)) dev.push("<graphics type='vnc'/>");
  if (chance(0.3)) dev.push(`<video><model type='${pick(machine === 'virt' ? ['virtio'] : ['virtio', 'qxl', 'vga', 'cirrus', 'bochs'])}'/></video>`);
  if (chance(0.3)) dev.push(`<controller type='usb' model='${pick(['qemu-xhci', 'nec-xhci', 'ich9-ehci1', 'none', 'piix3-uhci'])}'/>`);
  if (machine !== 'virt' && chance(0.3)) dev.push(`<sound model='${pick(['ich9', 'ich6', 'ac97'])}'/>`);
  if (chance(0.3)) dev.push("<controller type='virtio-serial'/><channel type='pty'><target type='virtio' name='org.example.0'/></channel>");
  if (chance(0.2)) dev.push("<memballoon model='none'/>");
  if (chance(0.25)) {
    dev.push(`<controller type='pci' index='0' model='${machine === 'pc' ? 'pci-root' : 'pcie-root'}'/>`);
    const models = machine === 'pc' ? ['pci-bridge'] : ['pcie-root-port', 'pcie-root-port', 'pcie-to-pci-bridge', 'dmi-to-pci-bridge'];
    for (let i = 1 + Math.floor(random() * 3); i > 0; i--) dev.push(`<controller type='pci' model='${pick(models)}'/>`);
  }
  if (chance(0.2)) {
    const slot = 8 + Math.floor(random() * 10);
    nic('e1000', `<address type='pci' bus='0' slot='${slot}' function='0' multifunction='on'/>`);
    nic('e1000', `<address type='pci' bus='0' slot='${slot}' function='1'/>`);
  }
  if (chance(0.3)) nic(pick(['e1000', 'virtio']), `<address type='pci' bus='0' slot='${5 + Math.floor(random() * 20)}'/>`);
  if (chance(0.15)) nic('e1000', `<address type='pci' bus='${1 + Math.floor(random() * 3)}' slot='${1 + Math.floor(random() * 5)}'/>`);
  const arch = machine === 'virt' ? 'aarch64' : 'x86_64';
  return `<domain type='qemu'><name>${name}</name><memory unit='MiB'>256</memory><vcpu>1</vcpu>
<os><type arch='${arch}' machine='${machine}'>hvm</type></os>${arch === 'x86_64' ? '<features><acpi/></features>' : "<cpu mode='custom'><model>cortex-a57</model></cpu>"}
<devices>${dev.join('')}</devices></domain>`;
}

test('random topologies get the addresses the installed libvirt gives them', { skip }, () => {
  const root = mkdtempSync(join(tmpdir(), 'tsvirt-pci-diff-'));
  const uri = `qemu:///embed?root=${root}`;
  const virsh = (cmd: string) => execFileSync('virsh', ['-q', '-c', uri, cmd], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const failures: string[] = [];
  try {
    for (let n = 0; n < count; n++) {
      const name = `pci-diff-${n}`;
      const file = join(root, `${name}.xml`);
      const xml = randomDomain(name, n);
      writeFileSync(file, xml);
      let expected: string;
      try {
        virsh(`define ${file}`);
        expected = virsh(`dumpxml --inactive ${name}`);
        virsh(`undefine ${name}`);
      } catch {
        continue; // libvirt refused it: the error path is the corpus' job
      }
      const domain = strippedDomain(parseXml(xml), parseXml(expected));
      try {
        assignQemuAddresses(domain);
        const diffs = diffMaps(addressMap(parseXml(expected)), addressMap(domain));
        if (diffs.length > 0) failures.push(`${name}: ${diffs[0]}\n${xml}`);
      } catch (e) {
        failures.push(`${name}: threw ${(e as Error).message}\n${xml}`);
      }
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  assert.deepEqual(failures, []);
});
