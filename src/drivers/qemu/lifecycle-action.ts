// virDomainSetLifecycleAction on the qemu driver (libvirt's
// qemuDomainSetLifecycleAction): on_poweroff, on_reboot or on_crash of the live
// and/or persistent definition, refused where the qemu driver cannot carry the
// action out; a live on_reboot change also tells QEMU what a guest reset does.
import { ModificationImpact } from '../../driver/flags.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { child, cloneElement, type XmlElement } from '../../util/xml.js';
import { checkFlags, type DomainRef, type QemuDriver } from './driver.js';

/** virDomainLifecycle and virDomainLifecycleAction, by number */
const LIFECYCLE_TYPES = ['poweroff', 'reboot', 'crash'] as const;
const LIFECYCLE_ACTIONS = ['destroy', 'restart', 'rename-restart', 'preserve', 'coredump-destroy', 'coredump-restart'];

const unsupportedConfig = (message: string) => virError(ErrorCode.CONFIG_UNSUPPORTED, message, ErrorDomain.QEMU);

/** virDomainDefLifecycleActionAllowed: coredump actions are for crashes only. */
function checkAllowed(type: string, action: string): void {
  if (type !== 'crash' && action.startsWith('coredump-')) throw virError(ErrorCode.CONFIG_UNSUPPORTED, `Lifecycle event '${type}' doesn't support '${action}' action`, ErrorDomain.DOMAIN);
}

/** qemuValidateLifecycleAction on the definition as it would be after the change. */
function validate(def: XmlElement, type: string, action: string): void {
  const actions = Object.fromEntries(LIFECYCLE_TYPES.map((t) => [t, t === type ? action : child(def, `on_${t}`)?.text.trim()]));
  if (Object.values(actions).includes('rename-restart')) {
    throw unsupportedConfig("qemu driver doesn't support the 'rename-restart' action for 'on_reboot'/'on_poweroff'/'on_crash'");
  }
  if (actions.poweroff === 'preserve' || actions.reboot === 'preserve') {
    throw unsupportedConfig("qemu driver doesn't support the 'preserve' action for 'on_reboot'/'on_poweroff'");
  }
  if (actions.poweroff === 'restart' && actions.reboot === 'destroy') {
    throw unsupportedConfig("qemu driver doesn't support 'onReboot' set to 'destroy and 'onPoweroff' set to 'reboot'");
  }
}

function setAction(def: XmlElement, type: string, action: string): void {
  const el = child(def, `on_${type}`);
  // the definitions always carry all three (parseLifecycle's defaults)
  if (el) el.text = action;
}

export async function setLifecycleAction(driver: QemuDriver, dom: DomainRef, typeNumber: number, actionNumber: number, flags: number): Promise<void> {
  checkFlags(flags, ModificationImpact.LIVE | ModificationImpact.CONFIG, 'qemuDomainSetLifecycleAction');
  const type = LIFECYCLE_TYPES[typeNumber];
  const action = LIFECYCLE_ACTIONS[actionNumber];
  // the public API's range checks
  if (type === undefined) throw virError(ErrorCode.INVALID_ARG, `invalid lifecycle type '${typeNumber}'`, ErrorDomain.DOMAIN);
  if (action === undefined) throw virError(ErrorCode.INVALID_ARG, `invalid lifecycle action '${actionNumber}'`, ErrorDomain.DOMAIN);
  checkAllowed(type, action);
  const rt = driver.runtime;
  await rt.withDomain(dom, async (obj, running) => {
    const { live, config } = rt.impact(flags, obj, running);
    const persistent = config ? cloneElement(obj.newDef ?? obj.def) : undefined;
    if (live) validate(running!.live, type, action);
    if (persistent) validate(persistent, type, action);
    if (live) {
      const before = child(running!.live, `on_${type}`)?.text.trim();
      // qemuDomainModifyLifecycleActionLive: QEMU resets or stops on a guest reset
      if (type === 'reboot' && before !== action && (action === 'destroy' || action === 'restart')) {
        await (await rt.runtime.ensureMonitor(running!)).execute('set-action', { reboot: action === 'destroy' ? 'shutdown' : 'reset' });
      }
      setAction(running!.live, type, action);
      await rt.runtime.saveStatus(running!);
    }
    if (persistent) {
      setAction(persistent, type, action);
      await rt.savePersistent(persistent);
    }
    await rt.sync({ refresh: false });
  });
}
