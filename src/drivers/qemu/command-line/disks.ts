// Disks: one -blockdev node graph per disk (a protocol "storage" node and a
// "format" node for every image in the backing chain, backing-most first)
// followed by the -device front end.
import type { XmlElement } from '../../../util/xml.js';
import { child, childrenNamed } from '../../../util/xml.js';
import { virError, ErrorCode, ErrorDomain } from '../../../util/error.js';
import type { BuildContext, JsonProps } from './context.js';
import { props } from './context.js';
import { addAddressProps, addVirtioOptions, virtioModel } from './address.js';
import { unitFactor } from './machine.js';
import { escapeOptionValue } from '../../../util/qemu-option.js';
import { diskNameToIndex } from './aliases.js';
import { chardevString } from './chardev.js';
import { encryptedSecretObject, encryptionSecretAlias, imageEncryption, qemuLuksSecret } from '../disk-secrets.js';

/** One image of a disk's backing chain, with the node names libvirt gives it. */
interface ChainImage {
  source: XmlElement;
  /** The <disk> or <backingStore> element holding type/format. */
  holder: XmlElement;
  type: string;
  format: string;
  id: number;
}

interface DiskNodes {
  /** Images from the top (the disk itself) down; empty when the disk has no medium. */
  chain: ChainImage[];
  /** True when the chain ends in an explicit empty <backingStore/>. */
  terminated: boolean;
}

/**
 * Where an image's storage id is written: a disk's top image on its <source>,
 * an image below it on its <backingStore> (as libvirt's live XML has them).
 */
function indexHolder(disk: XmlElement, holder: XmlElement): XmlElement | undefined {
  return holder === disk ? child(disk, 'source') : holder;
}

/** The storage id a running domain's image already has (index='N'). */
function recordedId(where: XmlElement | undefined): number | undefined {
  const index = Number(where?.attrs.index);
  return Number.isInteger(index) && index > 0 ? index : undefined;
}

/**
 * Which storage ids libvirt hands out: disks last-to-first, each chain
 * top-down, empty drives included. Images of a running domain keep the id
 * they were started or hotplugged with (<source index=...>); a new image gets
 * the next one after every recorded id, as libvirt's per-domain node name
 * counter does, so a hotplugged disk never reuses a node name.
 */
export function assignStorageIds(disks: XmlElement[]): Map<XmlElement, DiskNodes> {
  const out = new Map<XmlElement, DiskNodes>();
  let next = Math.max(0, ...disks.flatMap((d) => recordedIdsOf(d)));
  for (const disk of [...disks].reverse()) {
    const chain: ChainImage[] = [];
    // SD cards go through the legacy -drive path, which names no nodes.
    if (child(disk, 'target')?.attrs.bus === 'sd') {
      out.set(disk, { chain, terminated: false });
      continue;
    }
    let terminated = false;
    let holder: XmlElement | undefined = disk;
    while (holder) {
      const type: string = holder.attrs.type ?? 'file';
      const source = child(holder, 'source');
      if (holder !== disk && holder.attrs.type === undefined) {
        terminated = true;
        break;
      }
      const format = holder === disk ? child(disk, 'driver')?.attrs.type : child(holder, 'format')?.attrs.type;
      if (type === 'volume' || type === 'vhostuser') break;
      chain.push({ source: source ?? { name: 'source', attrs: {}, children: [], text: '', line: 0 }, holder, type, format: format ?? 'raw', id: recordedId(indexHolder(disk, holder)) ?? ++next });
      holder = child(holder, 'backingStore');
    }
    out.set(disk, { chain, terminated });
  }
  return out;
}

function recordedIdsOf(disk: XmlElement): number[] {
  const ids: number[] = [];
  for (let holder: XmlElement | undefined = disk; holder; holder = child(holder, 'backingStore')) {
    const id = recordedId(indexHolder(disk, holder));
    if (id !== undefined) ids.push(id);
  }
  return ids;
}

/**
 * Writes each image's storage id into the live XML (<source index='N'/>, as
 * libvirt's live XML shows it), so that later hotplugs and stats name the
 * same nodes QEMU was given.
 */
export function recordStorageIds(disks: XmlElement[]): void {
  for (const [disk, { chain }] of assignStorageIds(disks)) {
    for (const image of chain) {
      if (!image.holder.children.includes(image.source)) continue;
      const where = indexHolder(disk, image.holder)!;
      where.attrs = { ...where.attrs, index: String(image.id) };
    }
  }
}

function isEmpty(image: ChainImage): boolean {
  if (image.type === 'network') return image.source.attrs.protocol === undefined;
  return (image.source.attrs.file ?? image.source.attrs.dev ?? image.source.attrs.dir) === undefined;
}

interface CacheFlags { writeback: boolean; direct: boolean; noFlush: boolean }

function cacheFlags(mode: string | undefined): CacheFlags | undefined {
  switch (mode) {
    case 'writeback': return { writeback: true, direct: false, noFlush: false };
    case 'writethrough': return { writeback: false, direct: false, noFlush: false };
    case 'none': return { writeback: true, direct: true, noFlush: false };
    case 'directsync': return { writeback: false, direct: true, noFlush: false };
    case 'unsafe': return { writeback: true, direct: false, noFlush: true };
    default: return undefined;
  }
}

function storageProps(ctx: BuildContext, disk: XmlElement, image: ChainImage, cache: CacheFlags | undefined): JsonProps {
  const src = image.source;
  let out: JsonProps;
  switch (image.type) {
    case 'file':
      out = props(['driver', 'file'], ['filename', src.attrs.file ?? '']);
      break;
    case 'block':
      out = props(['driver', 'host_device'], ['filename', src.attrs.dev ?? '']);
      addPrManager(ctx, image, out);
      break;
    case 'dir':
      out = props(['driver', 'vvfat'], ['dir', src.attrs.dir ?? ''], ['floppy', disk.attrs.device === 'floppy'], ['rw', !child(disk, 'readonly')]);
      break;
    case 'network':
      out = networkStorageProps(src);
      if (src.attrs.tls === 'yes') {
        const creds = `objlibvirt-${image.id}-storage_tls0`;
        ctx.cmd.json('-object', { 'qom-type': 'tls-creds-x509', id: creds, dir: ctx.options.tlsX509CertDir, endpoint: 'client', 'verify-peer': true });
        out['tls-creds'] = creds;
        if (src.attrs.tlsHostname) out['tls-hostname'] = src.attrs.tlsHostname;
      }
      break;
    default:
      throw virError(ErrorCode.CONFIG_UNSUPPORTED, `unsupported disk type '${image.type}'`, ErrorDomain.QEMU);
  }
  const aio = child(disk, 'driver')?.attrs.io;
  if (aio && (image.type === 'file' || image.type === 'block')) out.aio = aio;
  out['node-name'] = `libvirt-${image.id}-storage`;
  if (cache) out.cache = { direct: cache.direct, 'no-flush': cache.noFlush };
  out['auto-read-only'] = true;
  out.discard = 'unmap';
  ctx.cmd.json('-blockdev', out);
  return out;
}

/** SCSI persistent reservations: the shared managed helper, or the disk's own helper socket. */
function addPrManager(ctx: BuildContext, image: ChainImage, out: JsonProps): void {
  const reservations = child(image.source, 'reservations');
  if (!reservations || reservations.attrs.enabled === 'no') return;
  if (reservations.attrs.managed === 'yes') {
    out['pr-manager'] = MANAGED_PR_HELPER;
    return;
  }
  const id = `pr-helper-libvirt-${image.id}-storage`;
  ctx.cmd.json('-object', { 'qom-type': 'pr-manager-helper', id, path: child(reservations, 'source')?.attrs.path ?? '' });
  out['pr-manager'] = id;
}

const MANAGED_PR_HELPER = 'pr-helper0';

/** The managed pr-helper object, once, when any disk uses it (qemuBuildManagedPRCommandLine). */
export function buildManagedPrHelper(ctx: BuildContext): void {
  const used = ctx.view.deviceList('disk').some((d) => child(child(d, 'source') ?? d, 'reservations')?.attrs.managed === 'yes');
  if (used) ctx.cmd.json('-object', { 'qom-type': 'pr-manager-helper', id: MANAGED_PR_HELPER, path: `${ctx.runtime.libDir}/${MANAGED_PR_HELPER}.sock` });
}

function hostServer(host: XmlElement | undefined, defaultPort?: string): JsonProps {
  const transport = host?.attrs.transport ?? 'tcp';
  if (transport === 'unix') return props(['type', 'unix'], ['path', host?.attrs.socket ?? '']);
  return props(['type', 'inet'], ['host', host?.attrs.name ?? ''], ['port', host?.attrs.port ?? defaultPort ?? '']);
}

export function networkStorageProps(src: XmlElement): JsonProps {
  const protocol = src.attrs.protocol ?? '';
  const hosts = childrenNamed(src, 'host');
  const host = hosts[0];
  const name = src.attrs.name ?? '';
  switch (protocol) {
    case 'nbd':
      return props(['driver', 'nbd'], ['server', hostServer(host, '10809')], ['export', src.attrs.name]);
    case 'http': case 'https': case 'ftp': case 'ftps': case 'tftp': {
      const port = host?.attrs.port;
      const query = src.attrs.query ? `?${src.attrs.query}` : '';
      const url = `${protocol}://${host?.attrs.name ?? ''}${port ? `:${port}` : ''}/${name.replace(/^\//, '')}${query}`;
      const timeout = child(src, 'timeout')?.attrs.seconds;
      const readahead = child(src, 'readahead')?.attrs.size;
      const ssl = child(src, 'ssl')?.attrs.verify;
      return props(['driver', protocol], ['url', url], ['sslverify', ssl === undefined ? undefined : ssl === 'yes'],
        ['timeout', timeout !== undefined ? Number(timeout) : undefined], ['readahead', readahead !== undefined ? Number(readahead) : undefined]);
    }
    case 'iscsi': {
      const [target, lun] = name.split('/');
      return props(['driver', 'iscsi'], ['portal', `${host?.attrs.name ?? ''}:${host?.attrs.port ?? '3260'}`], ['target', target ?? ''], ['lun', Number(lun ?? 0)], ['transport', 'tcp']);
    }
    case 'gluster': {
      const [volume, ...rest] = name.split('/');
      // qemu.conf gluster_debug_level defaults to 4.
      return props(['driver', 'gluster'], ['volume', volume ?? ''], ['path', rest.join('/')], ['server', hosts.map((h) => hostServer(h, '24007'))], ['debug', 4]);
    }
    case 'rbd': {
      const slash = name.indexOf('/');
      return props(['driver', 'rbd'], ['pool', name.slice(0, slash)], ['image', name.slice(slash + 1)],
        ['server', hosts.length ? hosts.map((h) => props(['host', h.attrs.name ?? ''], ['port', h.attrs.port ?? '6789'])) : undefined]);
    }
    case 'sheepdog':
      return props(['driver', 'sheepdog'], ['server', hostServer(host, '7000')], ['vdi', name]);
    case 'nfs': {
      const identity = child(src, 'identity');
      const id = (v: string | undefined) => (v === undefined ? undefined : Number(v.replace(/^\+/, '')));
      return props(['driver', 'nfs'], ['server', props(['host', host?.attrs.name ?? ''], ['type', 'inet'])], ['path', name],
        ['user', id(identity?.attrs.user)], ['group', id(identity?.attrs.group)]);
    }
    default:
      throw virError(ErrorCode.CONFIG_UNSUPPORTED, `unsupported network disk protocol '${protocol}'`, ErrorDomain.QEMU);
  }
}

const BACKING_FORMATS = new Set(['qcow', 'qcow2', 'qed', 'vmdk', 'cow', 'vhd', 'vpc', 'vdi']);

/**
 * The secret object an image QEMU decrypts (luks) needs, placed before the
 * image's nodes as libvirt places it; returns its alias.
 */
function encryptionSecret(ctx: BuildContext, disk: XmlElement, image: ChainImage): string | undefined {
  const lookup = qemuLuksSecret(imageEncryption(image.holder, image.holder === disk));
  if (!lookup) return undefined;
  const { diskSecrets, masterKey } = ctx.options;
  if (!diskSecrets || !masterKey) throw virError(ErrorCode.INTERNAL_ERROR, "missing secret info for 'luks' driver", ErrorDomain.QEMU);
  const alias = encryptionSecretAlias(image.id);
  ctx.cmd.json('-object', encryptedSecretObject(alias, diskSecrets.value(lookup), masterKey));
  return alias;
}

function formatProps(ctx: BuildContext, disk: XmlElement, image: ChainImage, below: ChainImage | undefined,
  terminated: boolean, cache: CacheFlags | undefined, keySecret: string | undefined): void {
  const driver = child(disk, 'driver');
  const top = image.holder === disk;
  const readOnly = top ? child(disk, 'readonly') !== undefined : true;
  const out = props(['node-name', `libvirt-${image.id}-format`], ['read-only', readOnly]);
  if (top && driver?.attrs.discard) out.discard = driver.attrs.discard;
  const detect = top ? driver?.attrs.detect_zeroes : undefined;
  if (detect && detect !== 'off') out['detect-zeroes'] = detect === 'unmap' && driver?.attrs.discard !== 'unmap' ? 'on' : detect;
  if (cache) out.cache = { direct: cache.direct, 'no-flush': cache.noFlush };
  // QEMU's names; a FAT directory is emulated by the vvfat protocol layer, so its format layer is raw.
  const format = { vhd: 'vhdx', ploop: 'parallels', fat: 'raw' }[image.format] ?? image.format;
  out.driver = format;
  // raw LUKS is QEMU's luks format driver; qcow2 decrypts its own clusters
  if (keySecret && format === 'raw') Object.assign(out, { driver: 'luks', 'key-secret': keySecret });
  else if (keySecret) out.encrypt = { format: 'luks', 'key-secret': keySecret };
  const formatEl = top ? driver : child(image.holder, 'format');
  const maxSize = formatEl ? child(child(formatEl, 'metadata_cache') ?? formatEl, 'max_size') : undefined;
  if (format === 'qcow2' && maxSize && child(formatEl!, 'metadata_cache')) out['cache-size'] = Math.round(Number(maxSize.text.trim()) * unitFactor(maxSize.attrs.unit ?? 'bytes') * 1024);
  out.file = `libvirt-${image.id}-storage`;
  if (BACKING_FORMATS.has(image.format)) {
    if (below) out.backing = `libvirt-${below.id}-format`;
    else if (terminated) out.backing = null;
  }
  ctx.cmd.json('-blockdev', out);
}

/** bootindex values: per-device <boot order>, else <os><boot dev> for the first disk of each kind. */
export function diskBootIndexes(ctx: BuildContext): Map<XmlElement, number> {
  const out = new Map<XmlElement, number>();
  const bootDevs = ctx.view.os.children.filter((c) => c.name === 'boot').map((c) => c.attrs.dev);
  const pos = (dev: string) => bootDevs.indexOf(dev) + 1;
  const pending: Record<string, number> = { cdrom: pos('cdrom'), disk: pos('hd'), lun: pos('hd'), floppy: pos('fd') };
  let diskTaken = false;
  for (const disk of ctx.view.deviceList('disk')) {
    const order = child(disk, 'boot')?.attrs.order;
    if (order !== undefined) {
      out.set(disk, Number(order));
      continue;
    }
    const kind = disk.attrs.device ?? 'disk';
    const isHd = kind === 'disk' || kind === 'lun';
    const index = isHd ? (diskTaken ? 0 : pending.disk!) : (pending[kind] ?? 0);
    if (isHd) diskTaken = true;
    else pending[kind] = 0;
    if (index > 0) out.set(disk, index);
  }
  return out;
}

function errorPolicies(driver: XmlElement | undefined): [string | undefined, string | undefined] {
  const err = driver?.attrs.error_policy;
  let werror = err;
  let rerror = driver?.attrs.rerror_policy;
  if (err === 'enospace') werror = 'enospc';
  else if (rerror === undefined) rerror = werror;
  return [werror, rerror];
}

function deviceProps(ctx: BuildContext, disk: XmlElement, drive: string | undefined, bootindex: number | undefined): JsonProps {
  const { view } = ctx;
  const target = child(disk, 'target');
  const bus = target?.attrs.bus ?? '';
  const device = disk.attrs.device ?? 'disk';
  const driver = child(disk, 'driver');
  const alias = view.alias(disk);
  const serialText = child(disk, 'serial')?.text;
  let out: JsonProps;
  let deviceId: string | undefined;
  let removable: boolean | undefined;
  switch (bus) {
    case 'ide': case 'sata':
      out = props(['driver', device === 'cdrom' ? 'ide-cd' : 'ide-hd']);
      break;
    case 'scsi':
      if (device === 'lun') out = props(['driver', 'scsi-block']);
      else {
        out = props(['driver', device === 'cdrom' ? 'scsi-cd' : 'scsi-hd']);
        deviceId = serialText ?? `drive-${alias}`;
      }
      break;
    case 'virtio': {
      out = props(['driver', virtioModel(disk, 'virtio-blk', disk.attrs.model)]);
      addVirtioOptions(disk, out);
      const tri = (v: string | undefined) => (v === 'on' ? true : v === 'off' ? false : undefined);
      const n = (v: string | undefined) => (v !== undefined && Number(v) > 0 ? Number(v) : undefined);
      Object.assign(out, props(['iothread', driver?.attrs.iothread !== undefined ? `iothread${driver.attrs.iothread}` : undefined],
        ['ioeventfd', tri(driver?.attrs.ioeventfd)], ['event_idx', tri(driver?.attrs.event_idx)],
        // SCSI passthrough of a LUN over virtio-blk
        ['scsi', device === 'lun' ? true : undefined],
        ['num-queues', n(driver?.attrs.queues)], ['queue-size', n(driver?.attrs.queue_size)]));
      break;
    }
    case 'usb':
      out = props(['driver', 'usb-storage']);
      removable = target?.attrs.removable === 'on';
      break;
    case 'fdc':
      out = props(['driver', 'floppy']);
      break;
    default:
      throw virError(ErrorCode.INTERNAL_ERROR, `unsupported disk bus '${bus}' with device setup`, ErrorDomain.QEMU);
  }
  addAddressProps(view, disk, out);
  const blockio = child(disk, 'blockio');
  const geometry = child(disk, 'geometry');
  const cache = cacheFlags(cacheMode(disk));
  const [werror, rerror] = errorPolicies(driver);
  const num = (v: string | undefined) => (v !== undefined && Number(v) > 0 ? Number(v) : undefined);
  const wwn = child(disk, 'wwn')?.text;
  Object.assign(out, props(
    ['device_id', deviceId],
    ['share-rw', child(disk, 'shareable') ? true : undefined],
    ['drive', drive],
    ['id', alias],
    ['bootindex', device === 'floppy' ? undefined : bootindex],
    ['logical_block_size', num(blockio?.attrs.logical_block_size)],
    ['physical_block_size', num(blockio?.attrs.physical_block_size)],
    ['wwn', wwn !== undefined ? BigInt(`0x${wwn.replace(/^0x/, '')}`) : undefined],
    ['rotation_rate', num(target?.attrs.rotation_rate)],
    ['vendor', child(disk, 'vendor')?.text],
    ['product', child(disk, 'product')?.text],
    ['removable', removable],
    ['write-cache', cache && device !== 'lun' ? (cache.writeback ? 'on' : 'off') : undefined],
    ['cyls', num(geometry?.attrs.cyls)],
    ['heads', num(geometry?.attrs.heads)],
    ['secs', num(geometry?.attrs.secs)],
    ['bios-chs-trans', geometry?.attrs.trans],
    ['serial', serialText?.replaceAll(' ', '\\ ')],
    ['werror', werror],
    ['rerror', rerror],
  ));
  return out;
}

/** The cache mode in effect: a writable shared disk must not be cached by the host (qemuDomainPrepareDiskCachemode). */
function cacheMode(disk: XmlElement): string | undefined {
  const explicit = child(disk, 'driver')?.attrs.cache;
  if (explicit && explicit !== 'default') return explicit;
  return child(disk, 'shareable') && !child(disk, 'readonly') ? 'none' : undefined;
}

export function buildDisks(ctx: BuildContext): void {
  const disks = ctx.view.deviceList('disk');
  const nodes = assignStorageIds(disks);
  const boot = diskBootIndexes(ctx);
  for (const disk of disks) {
    // Transient disks sharing their backing image are hot-plugged once QEMU runs.
    if (child(disk, 'transient')?.attrs.shareBacking === 'yes') continue;
    if (child(disk, 'target')?.attrs.bus === 'sd') {
      buildSdCard(ctx, disk);
      continue;
    }
    if (disk.attrs.type === 'vhostuser') {
      buildVhostUserDisk(ctx, disk, boot.get(disk));
      continue;
    }
    const { chain, terminated } = nodes.get(disk)!;
    const cache = cacheFlags(cacheMode(disk));
    const hasMedium = chain.length > 0 && !isEmpty(chain[0]!);
    if (hasMedium) {
      for (let i = chain.length - 1; i >= 0; i--) {
        const keySecret = encryptionSecret(ctx, disk, chain[i]!);
        storageProps(ctx, disk, chain[i]!, cache);
        formatProps(ctx, disk, chain[i]!, chain[i + 1], terminated && i === chain.length - 1, cache, keySecret);
      }
    }
    let drive = hasMedium ? `libvirt-${chain[0]!.id}-format` : undefined;
    if (drive && child(disk, 'driver')?.attrs.copy_on_read === 'on') {
      const node = `libvirt-CoR-${child(disk, 'target')?.attrs.dev ?? ''}`;
      ctx.cmd.json('-blockdev', { driver: 'copy-on-read', 'node-name': node, file: drive, discard: 'unmap' });
      drive = node;
    }
    ctx.cmd.json('-device', deviceProps(ctx, disk, drive, boot.get(disk)));
  }
}

/** SD cards still use QEMU's legacy -drive if=sd (no -device exists for them). */
function buildSdCard(ctx: BuildContext, disk: XmlElement): void {
  const file = child(disk, 'source')?.attrs.file ?? child(disk, 'source')?.attrs.dev ?? '';
  const format = child(disk, 'driver')?.attrs.type ?? 'raw';
  const index = diskNameToIndex(child(disk, 'target')?.attrs.dev ?? '');
  ctx.cmd.add('-drive', `file=${escapeOptionValue(file)},format=${format},if=sd,index=${index}`);
}

/** A disk served by a vhost-user backend: a chardev to its socket and vhost-user-blk, no block layer. */
function buildVhostUserDisk(ctx: BuildContext, disk: XmlElement, bootindex: number | undefined): void {
  const alias = ctx.view.alias(disk);
  const chardev = `chr-vu-${alias}`;
  ctx.cmd.add('-chardev', chardevString(ctx, { ...disk, name: 'disk', attrs: { type: 'unix' } }, chardev));
  const out = props(['driver', virtioModel(disk, 'vhost-user-blk', disk.attrs.model)]);
  addVirtioOptions(disk, out);
  addAddressProps(ctx.view, disk, out);
  Object.assign(out, props(['chardev', chardev], ['id', alias], ['bootindex', bootindex]));
  ctx.cmd.json('-device', out);
}

/** The highest block node id the disks take; host devices backed by storage number on from there. */
export function lastDiskStorageId(disks: XmlElement[]): number {
  return Math.max(0, ...[...assignStorageIds(disks).values()].flatMap((d) => d.chain.map((image) => image.id)));
}
