// Device validation through the qemu driver's whole XML pipeline: the generic
// checks (conf/devices/validate.ts), the driver's checks against the binary's
// capabilities (drivers/qemu/device-validate.ts), their order, and the
// driver-path and secret handling of the device defaults.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { virErrorMessage } from '../helpers/errors.js';
import { formatDomainXML, parseDomainXML } from '../../src/conf/domain.js';
import { fakeQemuCaps } from '../helpers/qemu-caps.js';
import { qemuDomainHooks, type QemuHookContext } from '../../src/drivers/qemu/domain-hooks.js';

interface Options {
  arch?: 'x86_64' | 'aarch64';
  deviceTypes?: string[];
  commands?: string[];
  spiceTLS?: boolean;
  channelTargetDir?: string;
}

function parse(devices: string, o: Options = {}) {
  const arch = o.arch ?? 'x86_64';
  const ctx: QemuHookContext = {
    caps: fakeQemuCaps(arch, { deviceTypes: o.deviceTypes, commands: o.commands }),
    hotplugPcieSparePorts: 1,
    spiceTLS: o.spiceTLS ?? false,
    privileged: true,
    channelTargetDir: o.channelTargetDir ?? '/var/lib/libvirt/qemu/channel/target',
    nvramDir: '/var/lib/libvirt/qemu/nvram',
  };
  const xml = `<domain type='qemu'><name>g</name><uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid><memory>131072</memory>
    <os><type arch='${arch}' machine='${arch === 'x86_64' ? 'q35' : 'virt'}'>hvm</type></os>
    <devices><emulator>/usr/bin/qemu-system-${arch}</emulator>${devices}</devices></domain>`;
  return parseDomainXML(xml, { hooks: qemuDomainHooks(ctx) });
}

function rejection(devices: string, o: Options = {}): string {
  return virErrorMessage(() => parse(devices, o));
}

test('a video model the binary lacks is refused, one it has is kept', () => {
  const qxl = "<video><model type='qxl'/></video>";
  assert.equal(rejection(qxl, { arch: 'aarch64' }), "unsupported configuration: domain configuration does not support video model 'qxl'");
  assert.match(formatDomainXML(parse(qxl, { deviceTypes: ['qxl-vga'] }), { inactive: true }), /<model type='qxl' ram='65536'/);
});

test('a non-primary VGA is refused: only qxl and virtio may be secondary', () => {
  const two = "<video><model type='virtio'/></video><video><model type='vga'/></video>";
  assert.equal(rejection(two, { deviceTypes: ['virtio-gpu-pci'] }), "unsupported configuration: video type 'vga' is only valid as primary video device");
});

test('a SPICE TLS port needs spice_tls in qemu.conf', () => {
  const spice = "<graphics type='spice' port='5903' tlsPort='5904' autoport='no'><listen type='address' address='127.0.0.1'/></graphics>";
  const o = { deviceTypes: ['qxl-vga'], commands: ['query-spice'] };
  assert.equal(rejection(spice, o), 'unsupported configuration: spice TLS port set in XML configuration, but TLS is disabled in qemu.conf');
  assert.doesNotThrow(() => parse(spice, { ...o, spiceTLS: true }));
  assert.equal(rejection(spice, { spiceTLS: true }), 'unsupported configuration: spice graphics are not supported with this QEMU');
});

test('the generic checks of a device run before the driver checks of the same device', () => {
  // both the generic bus/address rule and the driver's "unexpected address type" apply; libvirt reports the generic one
  const disk = "<disk type='file' device='disk'><source file='/x.img'/><target dev='sda' bus='sata'/><address type='pci' domain='0x0000' bus='0x00' slot='0x09' function='0x0'/></disk>";
  assert.equal(rejection(disk), "unsupported configuration: Invalid address type 'pci' for the disk 'sda' with the bus type 'sata'");
});

test('cross-device checks: duplicate host devices and drive addresses', () => {
  const hostdev = "<hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0x0000' bus='0x06' slot='0x12' function='0x5'/></source></hostdev>";
  assert.equal(rejection(hostdev + hostdev), 'XML error: Hostdev already exists in the domain configuration');
  const disk = (dev: string) =>
    `<disk type='file' device='disk'><source file='/${dev}.img'/><target dev='${dev}' bus='scsi'/><address type='drive' controller='0' bus='0' target='0' unit='0'/></disk>`;
  assert.equal(
    rejection(disk('sda') + disk('sdb')),
    "unsupported configuration: Found duplicate drive address for disk with target name 'sda' controller='0' bus='0' target='0' unit='0'",
  );
});

test('TPM backends follow the binary: no tpm-emulator device, no emulator backend', () => {
  const tpm = "<tpm model='tpm-tis'><backend type='passthrough'><device path='/dev/tpm0'/></backend></tpm>";
  assert.equal(rejection(tpm), 'unsupported configuration: The QEMU executable /usr/bin/qemu-system-x86_64 does not support TPM backend type passthrough');
  assert.doesNotThrow(() => parse(tpm, { deviceTypes: ['tpm-tis', 'tpm-passthrough'] }));
  assert.equal(rejection("<tpm model='tpm-tis'/>"), 'XML error: missing TPM device backend');
});

test('the IOMMU model must fit the machine', () => {
  assert.equal(rejection("<iommu model='intel'/>", { arch: 'aarch64' }), "unsupported configuration: IOMMU device: 'intel' is only supported with Q35 machines");
  assert.equal(rejection("<iommu model='virtio'/>", { deviceTypes: ['virtio-iommu-pci'] }), "unsupported configuration: IOMMU device: 'virtio' requires ACPI");
});

test('a generated guest-agent socket path is dropped relative to the driver folder, not the system one', () => {
  const channel = (path: string) => `<channel type='unix'><source mode='bind' path='${path}'/><target type='virtio' name='org.qemu.guest_agent.0'/></channel>`;
  const embedDir = '/srv/lab/lib/qemu/channel/target';
  const generated = formatDomainXML(parse(channel(`${embedDir}/g.org.qemu.guest_agent.0`), { channelTargetDir: embedDir }), { inactive: true });
  assert.doesNotMatch(generated, /<source /);
  const foreign = formatDomainXML(parse(channel('/var/lib/libvirt/qemu/channel/target/g.org.qemu.guest_agent.0'), { channelTargetDir: embedDir }), { inactive: true });
  assert.match(foreign, /<source mode='bind' path='\/var\/lib\/libvirt\/qemu\/channel\/target\/g\.org\.qemu\.guest_agent\.0'\/>/);
});

test('a reconnecting unix channel whose socket is generated is refused (bind mode)', () => {
  const channel = "<channel type='unix'><source mode='connect' path='/tmp/channel/domain-x/asdf'><reconnect enabled='yes' timeout='10'/></source><target type='virtio' name='asdf'/></channel>";
  assert.equal(rejection(channel), 'internal error: chardev reconnect is possible only for connect mode');
});

test('network disk cookies are printed only with the secure flag', () => {
  const disk = `<disk type='network' device='disk'><driver name='qemu' type='raw'/>
    <source protocol='https' name='image.raw'><host name='example.org'/><cookies><cookie name='session'>secret-value</cookie></cookies></source>
    <target dev='vda' bus='virtio'/></disk>`;
  const def = parse(disk);
  assert.doesNotMatch(formatDomainXML(def, { inactive: true }), /cookie/);
  assert.match(formatDomainXML(def, { inactive: true, secure: true }), /<cookie name='session'>secret-value<\/cookie>/);
});

test('domain-level device rules: firmware panic models need their guest, one regular TPM', () => {
  assert.equal(rejection("<panic model='pseries'/>"), "unsupported configuration: only pSeries guests support panic device of model 'pseries'");
  assert.equal(rejection("<panic model='isa'/>"), 'unsupported configuration: the QEMU binary does not support the ISA panic device');
  assert.doesNotThrow(() => parse("<panic model='isa'/>", { deviceTypes: ['pvpanic'] }));
  const tpm = "<tpm model='tpm-tis'><backend type='passthrough'><device path='/dev/tpm0'/></backend></tpm>";
  assert.equal(rejection(tpm + tpm, { deviceTypes: ['tpm-tis', 'tpm-passthrough'] }), 'unsupported configuration: only a single TPM non-proxy device is supported');
});

test('controllers: q35 has no IDE, tunables belong to virtio-scsi', () => {
  const ide = "<disk type='file' device='disk'><source file='/x.img'/><target dev='hda' bus='ide'/></disk>";
  assert.equal(rejection(ide), 'unsupported configuration: IDE controllers are unsupported for this QEMU binary or machine type');
  assert.equal(
    rejection("<controller type='scsi' index='0' model='lsilogic'><driver queues='4'/></controller>"),
    "unsupported configuration: 'queues' is only supported by virtio-scsi controller",
  );
  assert.equal(
    rejection("<controller type='scsi' index='0' model='virtio-scsi'/>"),
    "unsupported configuration: This QEMU doesn't support virtio scsi controller",
  );
});

test('interfaces: virtio queue sizes are powers of two, slirp takes one IPv4 with a short prefix', () => {
  const nic = (inner: string) => `<interface type='user'><mac address='52:54:00:00:00:01'/><model type='virtio'/>${inner}</interface>`;
  assert.equal(rejection(nic("<driver rx_queue_size='100'/>")), 'unsupported configuration: rx_queue_size has to be a power of two');
  assert.equal(rejection(nic("<ip address='10.0.2.15' prefix='30'/>")), 'XML error: invalid prefix, must be in range of 4-27');
  assert.doesNotThrow(() => parse(nic("<driver rx_queue_size='256'/><ip address='10.0.2.15' prefix='24'/>"), { deviceTypes: ['virtio-net-pci'] }));
});

test('virDomainDiskDefValidate: each rule refuses with libvirt 9.0\'s message (checked with virsh define)', () => {
  const disk = (attrs: string, inner: string) => `<disk ${attrs}>${inner}</disk>`;
  const file = "<source file='/x'/>";
  const cases: Array<[string, string]> = [
    [disk("type='file' device='disk'", "<target dev='sdb' bus='scsi'/>"), 'missing source information for device sdb'],
    [disk("type='file' device='floppy'", `${file}<target dev='sda' bus='fdc'/>`), 'internal error: Invalid floppy device name: sda'],
    [disk("type='file' device='floppy'", `${file}<target dev='fda' bus='ide'/>`), "internal error: Invalid bus type 'ide' for floppy disk"],
    [disk("type='file' device='disk'", `${file}<target dev='fda' bus='fdc'/>`), "internal error: Invalid bus type 'fdc' for disk"],
    [disk("type='file' device='disk'", `${file}<target dev='sda' bus='sata' removable='on'/>`), 'XML error: removable is only valid for usb disks'],
    [disk("type='file' device='disk'", `${file}<target dev='sda' bus='sata' tray='open'/>`), 'unsupported configuration: tray is only valid for cdrom and floppy'],
    [disk("type='file' device='disk'", `${file}<target dev='sda' bus='scsi'/><vendor>123456789</vendor>`), 'unsupported configuration: disk vendor is more than 8 characters'],
    [disk("type='file' device='disk'", `${file}<target dev='sda' bus='scsi'/><product>12345678901234567</product>`), 'unsupported configuration: disk product is more than 16 characters'],
    [disk("type='file' device='disk'", `${file}<target dev='sda' bus='scsi'/><vendor>ab\tc</vendor>`), 'XML error: disk vendor is not printable string'],
    [disk("type='file' device='disk'", `<driver name='qemu' queues='2'/>${file}<target dev='sda' bus='sata'/>`), 'unsupported configuration: queues attribute in disk driver element is only supported by virtio-blk'],
    [disk("type='file' device='disk'", `<driver name='qemu' event_idx='on'/>${file}<target dev='sda' bus='sata'/>`), 'unsupported configuration: disk event_idx mode supported only for virtio bus'],
    [disk("type='file' device='disk'", `<driver name='qemu' iommu='on'/>${file}<target dev='sda' bus='sata'/>`), 'unsupported configuration: iommu driver option is only supported for virtio devices'],
    [disk("type='file' device='disk' model='virtio'", `${file}<target dev='sda' bus='sata'/>`), "unsupported configuration: disk model 'virtio' not supported for bus 'sata'"],
    [disk("type='file' device='disk'", `${file}<target dev='vda' bus='virtio'/><iotune><total_bytes_sec>5</total_bytes_sec><read_bytes_sec>4</read_bytes_sec></iotune>`), 'XML error: total and read/write bytes_sec cannot be set at the same time'],
    [disk("type='file' device='disk'", `${file}<target dev='vda' bus='virtio'/><iotune><total_iops_sec_max>5</total_iops_sec_max><write_iops_sec_max>4</write_iops_sec_max></iotune>`), 'XML error: total and read/write iops_sec_max cannot be set at the same time'],
    [disk("type='file' device='disk'", "<source file='/x' startupPolicy='requisite'/><target dev='vda' bus='virtio'/>"), "XML error: disk startupPolicy 'requisite' is allowed only for cdrom or floppy"],
    [disk("type='network' device='cdrom'", "<source protocol='nbd' name='x' startupPolicy='optional'><host name='h'/></source><target dev='sda' bus='sata'/>"), "XML error: disk startupPolicy 'optional' is not allowed for disk of 'network' type"],
    [disk("type='block' device='lun' sgio='unfiltered'", "<source dev='/dev/sda'/><target dev='sda' bus='scsi'/>"), 'unsupported configuration: unfiltered sgio is no longer supported'],
  ];
  for (const [xml, message] of cases) assert.equal(rejection(xml), message, xml);
  // the same shapes that libvirt accepts: an empty cdrom, a zero limit next to a set one, queues='0'
  for (const ok of [
    disk("type='file' device='cdrom'", "<target dev='sdc' bus='sata'/>"),
    disk("type='file' device='disk'", `${file}<target dev='vda' bus='virtio'/><iotune><total_bytes_sec>0</total_bytes_sec><read_bytes_sec>4</read_bytes_sec></iotune>`),
    disk("type='file' device='disk'", `<driver name='qemu' queues='0'/>${file}<target dev='sda' bus='sata'/>`),
  ]) assert.doesNotThrow(() => parse(ok), ok);
});
