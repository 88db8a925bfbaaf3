// virDomainGetGuestInfo in the qemu driver (qemuDomainGetGuestInfo): the
// guest agent's view of users, OS, timezone, hostname, filesystems, disks and
// interfaces, as libvirt's typed parameters. With no type asked for, every type
// is tried and the ones the agent lacks are left out; a type asked for must work.
import type { ProcRet } from '../../driver/procedures.js';
import { typedParam, type TypedParam } from '../../driver/typed-params.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { jsonMember, type JsonNode } from '../../util/libvirt-json.js';
import type { XmlElement } from '../../util/xml.js';
import { agentCommand, AgentCommandUnsupported } from './agent.js';
import { agentFilesystems, agentInterfaces, diskTargetByPciAddress, integer, items, malformed, text, withAgent, type AgentFilesystem, type AgentInterface } from './agent-api.js';
import { checkFlags, type DomainRef, type QemuDriver } from './driver.js';

/** virDomainGuestInfoTypes */
const GuestInfo = { USERS: 1 << 0, OS: 1 << 1, TIMEZONE: 1 << 2, HOSTNAME: 1 << 3, FILESYSTEM: 1 << 4, DISKS: 1 << 5, INTERFACES: 1 << 6 } as const;
const ALL_TYPES = Object.values(GuestInfo).reduce((a, b) => a | b, 0);

/** guest-get-osinfo's members and the parameters they become, in libvirt's order */
const OS_INFO: Array<[string, string]> = [
  ['id', 'os.id'], ['name', 'os.name'], ['pretty-name', 'os.pretty-name'], ['version', 'os.version'], ['version-id', 'os.version-id'],
  ['machine', 'os.machine'], ['variant', 'os.variant'], ['variant-id', 'os.variant-id'], ['kernel-release', 'os.kernel-release'], ['kernel-version', 'os.kernel-version'],
];

export async function guestInfo(driver: QemuDriver, dom: DomainRef, types: number, flags: number): Promise<ProcRet<'domainGetGuestInfo'>> {
  checkFlags(flags, 0, 'qemuDomainGetGuestInfo');
  if (types & ~ALL_TYPES) throw virError(ErrorCode.INVALID_ARG, `unsupported guest information types '0x${(types & ~ALL_TYPES).toString(16)}'`, ErrorDomain.QEMU);
  const wanted = types === 0 ? ALL_TYPES : types;
  const reportUnsupported = types !== 0;
  return withAgent(driver, dom, async (agent, running) => {
    // an agent without the command gives nothing for that type, unless the caller asked for it
    const ask = async <T>(type: number, query: () => Promise<T>): Promise<T | undefined> => {
      if (!(wanted & type)) return undefined;
      try {
        return await query();
      } catch (e) {
        if (e instanceof AgentCommandUnsupported) return undefined;
        throw e;
      }
    };
    const returned = async (name: string) => jsonMember(await agent.command(agentCommand(name), undefined, reportUnsupported), 'return');
    const params: TypedParam[] = [];
    params.push(...(await ask(GuestInfo.USERS, async () => userParams(await returned('guest-get-users')))) ?? []);
    params.push(...(await ask(GuestInfo.OS, async () => osParams(await returned('guest-get-osinfo')))) ?? []);
    params.push(...(await ask(GuestInfo.TIMEZONE, async () => timezoneParams(await returned('guest-get-timezone')))) ?? []);
    const hostname = await ask(GuestInfo.HOSTNAME, async () => hostName(await returned('guest-get-host-name')));
    if (hostname !== undefined) params.push(typedParam.string('hostname', hostname));
    const filesystems = await ask(GuestInfo.FILESYSTEM, () => agentFilesystems(agent, reportUnsupported));
    const disks = await ask(GuestInfo.DISKS, async () => await returned('guest-get-disks'));
    const ifaces = await ask(GuestInfo.INTERFACES, () => agentInterfaces(agent, reportUnsupported));
    if (filesystems?.length) params.push(...filesystemParams(filesystems, running.live));
    const diskList = items(disks);
    if (diskList?.length) params.push(...diskParams(diskList, running.live));
    if (ifaces?.length) params.push(...interfaceParams(ifaces));
    return { params };
  });
}

function userParams(ret: JsonNode | undefined): TypedParam[] {
  const users = items(ret);
  if (!users) throw malformed('guest-get-users reply was missing return data');
  const params = [typedParam.uint('user.count', users.length)];
  users.forEach((u, i) => {
    const name = text(jsonMember(u, 'user'));
    if (name === undefined) throw malformed("'user' missing in reply of guest-get-users");
    params.push(typedParam.string(`user.${i}.name`, name));
    const domain = text(jsonMember(u, 'domain'));
    if (domain !== undefined) params.push(typedParam.string(`user.${i}.domain`, domain));
    const login = jsonMember(u, 'login-time');
    if (login?.kind !== 'literal' || Number.isNaN(Number(login.text))) throw malformed("'login-time' missing in reply of guest-get-users");
    params.push(typedParam.ullong(`user.${i}.login-time`, BigInt(Math.trunc(Number(login.text) * 1000))));
  });
  return params;
}

function osParams(ret: JsonNode | undefined): TypedParam[] {
  if (ret?.kind !== 'object') throw malformed('guest-get-osinfo reply was missing return data');
  return OS_INFO.flatMap(([member, field]) => {
    const value = text(jsonMember(ret, member));
    return value === undefined ? [] : [typedParam.string(field, value)];
  });
}

function timezoneParams(ret: JsonNode | undefined): TypedParam[] {
  if (ret?.kind !== 'object') throw malformed('guest-get-timezone reply was missing return data');
  const params: TypedParam[] = [];
  const zone = text(jsonMember(ret, 'zone'));
  if (zone !== undefined) params.push(typedParam.string('timezone.name', zone));
  const offset = integer(jsonMember(ret, 'offset'));
  if (offset === undefined) throw malformed("'offset' missing in reply of guest-get-timezone");
  params.push(typedParam.int('timezone.offset', Number(offset)));
  return params;
}

function hostName(ret: JsonNode | undefined): string {
  if (ret?.kind !== 'object') throw malformed();
  const name = text(jsonMember(ret, 'host-name'));
  if (name === undefined) throw malformed("'host-name' missing in guest-get-host-name reply");
  return name;
}

/** qemuAgentFSInfoFormatParams */
function filesystemParams(filesystems: AgentFilesystem[], live: XmlElement): TypedParam[] {
  const params = [typedParam.uint('fs.count', filesystems.length)];
  filesystems.forEach((fs, i) => {
    params.push(typedParam.string(`fs.${i}.name`, fs.name), typedParam.string(`fs.${i}.mountpoint`, fs.mountpoint), typedParam.string(`fs.${i}.fstype`, fs.fstype));
    if (fs.totalBytes !== undefined) params.push(typedParam.ullong(`fs.${i}.total-bytes`, fs.totalBytes));
    if (fs.usedBytes !== undefined) params.push(typedParam.ullong(`fs.${i}.used-bytes`, fs.usedBytes));
    params.push(typedParam.uint(`fs.${i}.disk.count`, fs.disks.length));
    fs.disks.forEach((d, j) => {
      const target = diskTargetByPciAddress(live, d.pci);
      if (target !== undefined) params.push(typedParam.string(`fs.${i}.disk.${j}.alias`, target));
      if (d.serial !== undefined) params.push(typedParam.string(`fs.${i}.disk.${j}.serial`, d.serial));
      if (d.dev !== undefined) params.push(typedParam.string(`fs.${i}.disk.${j}.device`, d.dev));
    });
  });
  return params;
}

/** qemuAgentDiskInfoFormatParams over guest-get-disks' reply */
function diskParams(disks: readonly JsonNode[], live: XmlElement): TypedParam[] {
  const params = [typedParam.uint('disk.count', disks.length)];
  disks.forEach((disk, i) => {
    const name = text(jsonMember(disk, 'name'));
    const partition = jsonMember(disk, 'partition');
    if (name === undefined || partition?.kind !== 'literal') throw malformed("'name' or 'partition' missing in reply of guest-get-disks");
    params.push(typedParam.string(`disk.${i}.name`, name), typedParam.boolean(`disk.${i}.partition`, partition.text === 'true'));
    const deps = (items(jsonMember(disk, 'dependencies')) ?? []).map(text).filter((d): d is string => d !== undefined);
    if (deps.length > 0) params.push(typedParam.uint(`disk.${i}.dependency.count`, deps.length));
    deps.forEach((dep, j) => params.push(typedParam.string(`disk.${i}.dependency.${j}.name`, dep)));
    const address = jsonMember(disk, 'address');
    if (address) {
      const serial = text(jsonMember(address, 'serial'));
      if (serial !== undefined) params.push(typedParam.string(`disk.${i}.serial`, serial));
      const target = diskTargetByPciAddress(live, jsonMember(address, 'pci-controller'));
      if (target !== undefined) params.push(typedParam.string(`disk.${i}.alias`, target));
    }
    const alias = text(jsonMember(disk, 'alias'));
    if (alias !== undefined) params.push(typedParam.string(`disk.${i}.guest_alias`, alias));
  });
  return params;
}

/** virDomainInterfaceFormatParams */
function interfaceParams(ifaces: AgentInterface[]): TypedParam[] {
  const params = [typedParam.uint('if.count', ifaces.length)];
  ifaces.forEach((iface, i) => {
    params.push(typedParam.string(`if.${i}.name`, iface.name), typedParam.string(`if.${i}.hwaddr`, iface.hwaddr ?? ''), typedParam.uint(`if.${i}.addr.count`, iface.addrs.length));
    iface.addrs.forEach((a, j) => {
      params.push(
        typedParam.string(`if.${i}.addr.${j}.type`, a.type === 0 ? 'ipv4' : 'ipv6'),
        typedParam.string(`if.${i}.addr.${j}.addr`, a.addr),
        typedParam.uint(`if.${i}.addr.${j}.prefix`, a.prefix),
      );
    });
  });
  return params;
}
