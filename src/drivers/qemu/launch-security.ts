// AMD SEV launch security on the qemu driver: the host's SEV parameters
// (nodesevinfo), a SEV guest's launch measurement (domlaunchsecinfo) and the
// injection of a launch secret into a paused SEV guest (domsetlaunchsecstate).
// Whether SEV is there is the capability probe's answer (query-sev-capabilities
// of the host architecture's QEMU), as in libvirt; without it every call gives
// libvirt's refusal.
import { closeSync, openSync, readSync } from 'node:fs';
import { child, childText, type XmlElement } from '../../util/xml.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { typedParam, typedParamValue, TypedParamType, type TypedParam } from '../../driver/typed-params.js';
import { validateTypedParams } from '../../driver/typed-params-validate.js';
import { DomainState } from '../../conf/objects/domain-enums.js';
import { findBinaryForArch, hostArch, type QemuCaps } from './capabilities.js';
import { checkFlags, type DomainRef, type QemuDriver } from './driver.js';

/** VIR_TYPED_PARAM_STRING_OKAY: the only flag the getters take */
const TYPED_PARAM_STRING_OKAY = 1 << 2;

const SECRET_HEADER = 'sev-secret-header';
const SECRET = 'sev-secret';
const SECRET_SET_ADDRESS = 'sev-secret-set-address';

/** virQEMUCapsCacheLookupDefault without arguments: the capabilities of the host architecture's QEMU. */
async function defaultCaps(driver: QemuDriver): Promise<QemuCaps> {
  const binary = findBinaryForArch(hostArch());
  if (!binary) throw virError(ErrorCode.CONFIG_UNSUPPORTED, `unable to find any emulator to serve '${hostArch()}' architecture`, ErrorDomain.QEMU);
  return driver.caps.get(binary);
}

/**
 * The SEV guest counts the CPU tells (CPUID Fn8000_001F: ECX the highest
 * ASID, EDX the lowest ASID of guests without SEV-ES), read through the
 * kernel's cpuid device; none when it cannot be read.
 */
function sevGuestCounts(): { maxGuests: number; maxEsGuests: number } {
  const regs = Buffer.alloc(16);
  try {
    const fd = openSync('/dev/cpu/0/cpuid', 'r');
    try {
      readSync(fd, regs, 0, 16, 0x8000001f);
    } finally {
      closeSync(fd);
    }
  } catch {
    return { maxGuests: 0, maxEsGuests: 0 };
  }
  const maxAsid = regs.readUInt32LE(8);
  const minAsid = regs.readUInt32LE(12);
  if (maxAsid === 0 || minAsid === 0) return { maxGuests: 0, maxEsGuests: 0 };
  return { maxGuests: maxAsid - minAsid + 1, maxEsGuests: minAsid - 1 };
}

/** qemuNodeGetSEVInfo */
export async function nodeSevInfo(driver: QemuDriver, flags: number): Promise<TypedParam[]> {
  const caps = await defaultCaps(driver);
  const sev = caps.sev ? caps.sevCapabilities : undefined;
  if (!sev) throw virError(ErrorCode.OPERATION_UNSUPPORTED, 'QEMU does not support SEV guest', ErrorDomain.QEMU);
  checkFlags(flags, TYPED_PARAM_STRING_OKAY, 'qemuGetSEVInfoToParams');
  const { maxGuests, maxEsGuests } = sevGuestCounts();
  return [
    typedParam.string('pdh', sev.pdh),
    typedParam.string('cert-chain', sev.certChain),
    ...(sev.cpu0Id !== undefined ? [typedParam.string('cpu0-id', sev.cpu0Id)] : []),
    typedParam.uint('cbitpos', sev.cbitpos),
    typedParam.uint('reduced-phys-bits', sev.reducedPhysBits),
    typedParam.uint('max-guests', maxGuests),
    typedParam.uint('max-es-guests', maxEsGuests),
  ];
}

function isSevGuest(def: XmlElement): boolean {
  return child(def, 'launchSecurity')?.attrs.type === 'sev';
}

/** qemuDomainGetLaunchSecurityInfo: nothing for a guest without SEV; a SEV guest's measurement and firmware facts. */
export async function launchSecurityInfo(driver: QemuDriver, dom: DomainRef, flags: number): Promise<TypedParam[]> {
  const obj = await driver.objectOf(dom);
  if (!isSevGuest(obj.def)) return [];
  checkFlags(flags, TYPED_PARAM_STRING_OKAY, 'qemuDomainGetSEVInfo');
  return driver.runtime.withRunning(dom, async (_obj, running) => {
    const qmp = await driver.runtime.runtime.ensureMonitor(running);
    const { data } = await qmp.execute<{ data: string }>('query-sev-launch-measure');
    const info = await qmp.execute<{ 'api-major': number; 'api-minor': number; 'build-id': number; policy: number }>('query-sev');
    return [
      typedParam.string('sev-measurement', data),
      typedParam.uint('sev-api-major', info['api-major']),
      typedParam.uint('sev-api-minor', info['api-minor']),
      typedParam.uint('sev-build-id', info['build-id']),
      typedParam.uint('sev-policy', info.policy),
    ];
  });
}

/** qemuDomainSetLaunchSecurityState: a launch secret for a paused SEV guest whose QEMU can inject one. */
export async function setLaunchSecurityState(driver: QemuDriver, dom: DomainRef, params: readonly TypedParam[], flags: number): Promise<void> {
  checkFlags(flags, 0, 'qemuDomainSetLaunchSecurityState');
  validateTypedParams(params, { [SECRET_HEADER]: TypedParamType.STRING, [SECRET]: TypedParamType.STRING, [SECRET_SET_ADDRESS]: TypedParamType.ULLONG });
  const obj = await driver.objectOf(dom);
  if (!isSevGuest(obj.def)) {
    throw virError(ErrorCode.OPERATION_UNSUPPORTED, 'setting a launch secret is only supported in SEV-enabled domains', ErrorDomain.QEMU);
  }
  const value = (field: string) => params.find((p) => p.field === field);
  const header = value(SECRET_HEADER);
  const secret = value(SECRET);
  if (!header || !secret) throw virError(ErrorCode.INTERNAL_ERROR, 'Both secret and the secret header are required', ErrorDomain.QEMU);
  const address = value(SECRET_SET_ADDRESS);
  await driver.runtime.withRunning(dom, async (_obj, running) => {
    if (running.state !== DomainState.PAUSED) throw virError(ErrorCode.OPERATION_INVALID, 'domain must be in a paused state', ErrorDomain.QEMU);
    const caps = await driver.caps.get(childText(child(running.live, 'devices') ?? running.live, 'emulator')?.trim() ?? '');
    if (!caps.commands.has('sev-inject-launch-secret')) {
      throw virError(ErrorCode.OPERATION_UNSUPPORTED, 'QEMU does not support setting a launch secret', ErrorDomain.QEMU);
    }
    const qmp = await driver.runtime.runtime.ensureMonitor(running);
    await qmp.execute('sev-inject-launch-secret', {
      'packet-header': typedParamValue(header),
      secret: typedParamValue(secret),
      ...(address ? { gpa: Number(typedParamValue(address)) } : {}),
    });
  });
}
