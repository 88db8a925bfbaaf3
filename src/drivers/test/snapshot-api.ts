// The test driver's snapshot calls: create, list, navigate, revert, delete.

import { DomainEventType, StartedDetail, StoppedDetail, SuspendedDetail } from '../../driver/event-numbers.js';
import { DomainState, PausedReason, RunningReason, ShutoffReason } from '../../driver/flags.js';
import type { HypervisorDriver } from '../../driver/families.js';
import type { ProcArgs, ProcRet } from '../../driver/procedures.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { child, element, type XmlElement } from '../../util/xml.js';
import { textOf, type DomainObj } from './node.js';
import { formatSnapshotXML, parseSnapshotRedefine, parseSnapshotRequest, SNAPSHOT_STATES, type Snapshot } from '../../conf/snapshot.js';
import { parseTestDomainElement } from './domain-xml.js';
import { parseDocument } from '../../conf/document.js';
import { TestObjects, checkFlags, flag, wanted, XML_SECURE, type SnapshotRef } from './objects.js';

// virDomainSnapshotCreateFlags
const REDEFINE = 1;
const CURRENT = 2;
const HALT = 8;

export class SnapshotAPI extends TestObjects implements HypervisorDriver {
  private snapObj(snap: SnapshotRef): { obj: DomainObj; snap: Snapshot } {
    const obj = this.domainObj(snap.dom);
    return { obj, snap: obj.snapshots.get(snap.name) };
  }

  private snapRef(obj: DomainObj, name: string): SnapshotRef {
    return { dom: this.refOf(obj), name };
  }

  async domainSnapshotCreateXML({ dom, xml_desc: xml, flags }: ProcArgs<'domainSnapshotCreateXML'>): Promise<ProcRet<'domainSnapshotCreateXML'>> {
    // REDEFINE, CURRENT, HALT, QUIESCE, ATOMIC, LIVE, VALIDATE
    checkFlags(flags, REDEFINE | CURRENT | HALT | 64 | 128 | 256 | 512, 'testDomainSnapshotCreateXML');
    const obj = this.domainObj(dom);
    if (!obj.persistent && flags & HALT) throw virError(ErrorCode.OPERATION_INVALID, 'cannot halt after transient domain snapshot', ErrorDomain.TEST);
    if (flags & REDEFINE) return { snap: this.redefineSnapshot(obj, xml, (flags & CURRENT) !== 0) };
    const req = parseSnapshotRequest(xml);
    const now = Math.floor(Date.now() / 1000);
    const state = SNAPSHOT_STATES[obj.state]!;
    const offline = obj.state === DomainState.SHUTOFF;
    const snap: Snapshot = {
      name: req.name ?? String(now),
      description: req.description,
      state,
      creationTime: now,
      memory: offline ? 'no' : 'internal',
      disks: this.snapshotDisks(obj.def),
      dom: structuredClone(obj.def),
      parent: obj.snapshots.current,
    };
    obj.snapshots.add(snap);
    if (flags & HALT && this.isActive(obj)) this.shutdownState(obj, ShutoffReason.FROM_SNAPSHOT, StoppedDetail.FROM_SNAPSHOT);
    obj.snapshots.current = snap.name;
    return { snap: this.snapRef(obj, snap.name) };
  }

  /**
   * testDomainSnapshotRedefine: a snapshot's full XML (as snapshot-dumpxml
   * prints it) replaces the one of that name or adds it; CURRENT makes it current.
   */
  private redefineSnapshot(obj: DomainObj, xml: string, makeCurrent: boolean): SnapshotRef {
    const root = parseDocument(xml, '(domain_snapshot)', 'domainsnapshot');
    const { snap } = parseSnapshotRedefine(root, parseTestDomainElement, false);
    const old = obj.snapshots.find(snap.name);
    if (old) Object.assign(old, snap);
    else obj.snapshots.add(snap);
    if (makeCurrent) obj.snapshots.current = snap.name;
    return this.snapRef(obj, snap.name);
  }

  /** virDomainSnapshotAlignDisks: every disk gets an internal snapshot unless it cannot have one. */
  private snapshotDisks(def: XmlElement): XmlElement | undefined {
    const disks = this.disks(def).map((d) => {
      const readOnly = child(d, 'readonly') !== undefined || d.attrs.device === 'cdrom' || d.attrs.device === 'floppy';
      return element('disk', { name: child(d, 'target')?.attrs.dev ?? '', snapshot: readOnly ? 'no' : 'internal' });
    });
    return disks.length ? element('disks', {}, disks) : undefined;
  }

  async domainListAllSnapshots({ dom, need_results, flags }: ProcArgs<'domainListAllSnapshots'>): Promise<ProcRet<'domainListAllSnapshots'>> {
    const snapshots = this.listSnapshots(dom, flags);
    return { snapshots: wanted(snapshots, need_results), ret: snapshots.length };
  }
  async domainSnapshotNum({ dom, flags }: ProcArgs<'domainSnapshotNum'>): Promise<ProcRet<'domainSnapshotNum'>> {
    return { num: this.listSnapshots(dom, flags).length };
  }

  /** testDomainListAllSnapshots */
  private listSnapshots(dom: SnapshotRef['dom'], flags: number): SnapshotRef[] {
    checkFlags(flags, 0x7ff, 'testDomainListAllSnapshots');
    const obj = this.domainObj(dom);
    return obj.snapshots.list(flags).map((s) => this.snapRef(obj, s.name));
  }

  async domainSnapshotListAllChildren({ snapshot, need_results, flags }: ProcArgs<'domainSnapshotListAllChildren'>): Promise<ProcRet<'domainSnapshotListAllChildren'>> {
    const snapshots = this.listChildren(snapshot, flags);
    return { snapshots: wanted(snapshots, need_results), ret: snapshots.length };
  }
  async domainSnapshotNumChildren({ snap, flags }: ProcArgs<'domainSnapshotNumChildren'>): Promise<ProcRet<'domainSnapshotNumChildren'>> {
    return { num: this.listChildren(snap, flags).length };
  }

  /** testDomainSnapshotListAllChildren */
  private listChildren(snapRef: SnapshotRef, flags: number): SnapshotRef[] {
    checkFlags(flags, 0x7ff, 'testDomainSnapshotListAllChildren');
    const { obj, snap } = this.snapObj(snapRef);
    return obj.snapshots.list(flags, snap.name).map((s) => this.snapRef(obj, s.name));
  }

  async domainSnapshotLookupByName({ dom, name, flags }: ProcArgs<'domainSnapshotLookupByName'>): Promise<ProcRet<'domainSnapshotLookupByName'>> {
    checkFlags(flags, 0, 'testDomainSnapshotLookupByName');
    const obj = this.domainObj(dom);
    return { snap: this.snapRef(obj, obj.snapshots.get(name).name) };
  }
  async domainHasCurrentSnapshot({ dom, flags }: ProcArgs<'domainHasCurrentSnapshot'>): Promise<ProcRet<'domainHasCurrentSnapshot'>> {
    checkFlags(flags, 0, 'testDomainHasCurrentSnapshot');
    return { result: flag(this.domainObj(dom).snapshots.current !== undefined) };
  }
  async domainSnapshotCurrent({ dom, flags }: ProcArgs<'domainSnapshotCurrent'>): Promise<ProcRet<'domainSnapshotCurrent'>> {
    checkFlags(flags, 0, 'testDomainSnapshotCurrent');
    const obj = this.domainObj(dom);
    if (obj.snapshots.current === undefined) {
      throw virError(ErrorCode.NO_DOMAIN_SNAPSHOT, 'the domain does not have a current snapshot', ErrorDomain.DOMAIN_SNAPSHOT);
    }
    return { snap: this.snapRef(obj, obj.snapshots.current) };
  }
  async domainSnapshotGetParent({ snap: snapRef, flags }: ProcArgs<'domainSnapshotGetParent'>): Promise<ProcRet<'domainSnapshotGetParent'>> {
    checkFlags(flags, 0, 'testDomainSnapshotGetParent');
    const { obj, snap } = this.snapObj(snapRef);
    if (snap.parent === undefined) {
      throw virError(ErrorCode.NO_DOMAIN_SNAPSHOT, `snapshot '${snap.name}' does not have a parent`, ErrorDomain.DOMAIN_SNAPSHOT);
    }
    return { snap: this.snapRef(obj, snap.parent) };
  }
  async domainSnapshotIsCurrent({ snap: snapRef, flags }: ProcArgs<'domainSnapshotIsCurrent'>): Promise<ProcRet<'domainSnapshotIsCurrent'>> {
    checkFlags(flags, 0, 'testDomainSnapshotIsCurrent');
    const { obj, snap } = this.snapObj(snapRef);
    return { current: flag(obj.snapshots.current === snap.name) };
  }
  async domainSnapshotHasMetadata({ snap, flags }: ProcArgs<'domainSnapshotHasMetadata'>): Promise<ProcRet<'domainSnapshotHasMetadata'>> {
    checkFlags(flags, 0, 'testDomainSnapshotHasMetadata');
    this.snapObj(snap);
    return { metadata: 1 };
  }
  async domainSnapshotGetXMLDesc({ snap: snapRef, flags }: ProcArgs<'domainSnapshotGetXMLDesc'>): Promise<ProcRet<'domainSnapshotGetXMLDesc'>> {
    checkFlags(flags, XML_SECURE, 'testDomainSnapshotGetXMLDesc');
    const { obj, snap } = this.snapObj(snapRef);
    return { xml: formatSnapshotXML(snap, textOf(obj.def, 'uuid'), (flags & XML_SECURE) !== 0) };
  }

  async domainRevertToSnapshot({ snap: snapRef, flags }: ProcArgs<'domainRevertToSnapshot'>): Promise<void> {
    const RUNNING = 1;
    const PAUSED = 2;
    checkFlags(flags, RUNNING | PAUSED | 4, 'testDomainRevertToSnapshot');
    const { obj, snap } = this.snapObj(snapRef);
    const liveState = snap.state === 'running' || snap.state === 'paused';
    if (!obj.persistent && !liveState && !(flags & (RUNNING | PAUSED))) {
      throw virError(ErrorCode.OPERATION_INVALID, 'transient domain needs to request run or pause to revert to inactive snapshot', ErrorDomain.TEST);
    }
    if (!snap.dom) {
      throw virError(ErrorCode.OPERATION_INVALID, `snapshot '${snap.name}' lacks domain '${snapRef.dom.name}' rollback info`, ErrorDomain.TEST);
    }
    obj.snapshots.current = undefined;
    const config = structuredClone(snap.dom);
    if (liveState) {
      if (this.isActive(obj)) this.shutdownState(obj, ShutoffReason.FROM_SNAPSHOT, StoppedDetail.FROM_SNAPSHOT);
      obj.def = config;
      this.startFromSnapshot(obj, !(flags & RUNNING) && (snap.state === 'paused' || (flags & PAUSED) !== 0));
    } else {
      if (this.isActive(obj)) obj.newDef = config;
      else obj.def = config;
      if (this.isActive(obj)) this.shutdownState(obj, ShutoffReason.FROM_SNAPSHOT, StoppedDetail.FROM_SNAPSHOT);
      if (flags & (RUNNING | PAUSED)) this.startFromSnapshot(obj, (flags & PAUSED) !== 0);
    }
    obj.snapshots.current = snap.name;
  }

  /** Runs the reverted domain, paused if asked, with libvirt's STARTED (then SUSPENDED) events. */
  private startFromSnapshot(obj: DomainObj, paused: boolean): void {
    this.startState(obj, RunningReason.FROM_SNAPSHOT);
    this.domainEvent(obj, DomainEventType.STARTED, StartedDetail.FROM_SNAPSHOT);
    if (!paused) return;
    this.setState(obj, DomainState.PAUSED, PausedReason.FROM_SNAPSHOT);
    this.domainEvent(obj, DomainEventType.SUSPENDED, SuspendedDetail.FROM_SNAPSHOT);
  }

  async domainSnapshotDelete({ snap: snapRef, flags }: ProcArgs<'domainSnapshotDelete'>): Promise<void> {
    const CHILDREN = 1;
    const CHILDREN_ONLY = 4;
    checkFlags(flags, CHILDREN | CHILDREN_ONLY, 'testDomainSnapshotDelete');
    const { obj, snap } = this.snapObj(snapRef);
    obj.snapshots.remove(snap.name, (flags & CHILDREN) !== 0, (flags & CHILDREN_ONLY) !== 0);
  }
}
