// The test driver's snapshot calls: create, list, navigate, revert, delete.

import { DomainState, PausedReason, RunningReason, ShutoffReason, type DomainRef, type SnapshotRef } from '../../api/types.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { child, element, type XmlElement } from '../../util/xml.js';
import { textOf, type DomainObj } from './node.js';
import { formatSnapshotXML, parseSnapshotRedefine, parseSnapshotRequest, SNAPSHOT_STATES, type Snapshot } from './snapshots.js';
import { parseTestDomainElement } from './domain-xml.js';
import { parseDocument } from '../../conf/document.js';
import { TestObjects, checkFlags, XML_SECURE } from './objects.js';

// virDomainSnapshotCreateFlags
const REDEFINE = 1;
const CURRENT = 2;
const HALT = 8;

export class SnapshotAPI extends TestObjects {
  private snapObj(snap: SnapshotRef): { obj: DomainObj; snap: Snapshot } {
    const obj = this.domainObj(snap.domain);
    return { obj, snap: obj.snapshots.get(snap.name) };
  }

  private snapRef(obj: DomainObj, name: string): SnapshotRef {
    return { domain: this.refOf(obj), name };
  }

  async domainSnapshotCreateXML(dom: DomainRef, xml: string, flags: number): Promise<SnapshotRef> {
    // REDEFINE, CURRENT, HALT, QUIESCE, ATOMIC, LIVE, VALIDATE
    checkFlags(flags, REDEFINE | CURRENT | HALT | 64 | 128 | 256 | 512, 'testDomainSnapshotCreateXML');
    const obj = this.domainObj(dom);
    if (!obj.persistent && flags & HALT) throw virError(ErrorCode.OPERATION_INVALID, 'cannot halt after transient domain snapshot', ErrorDomain.TEST);
    if (flags & REDEFINE) return this.redefineSnapshot(obj, xml, (flags & CURRENT) !== 0);
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
    if (flags & HALT && this.isActive(obj)) this.shutdownState(obj, ShutoffReason.FROM_SNAPSHOT);
    obj.snapshots.current = snap.name;
    return this.snapRef(obj, snap.name);
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

  async domainListAllSnapshots(dom: DomainRef, flags: number): Promise<SnapshotRef[]> {
    checkFlags(flags, 0x7ff, 'testDomainListAllSnapshots');
    const obj = this.domainObj(dom);
    return obj.snapshots.list(flags).map((s) => this.snapRef(obj, s.name));
  }
  async domainSnapshotNum(dom: DomainRef, flags: number): Promise<number> {
    return (await this.domainListAllSnapshots(dom, flags)).length;
  }
  async domainSnapshotListAllChildren(snapRef: SnapshotRef, flags: number): Promise<SnapshotRef[]> {
    checkFlags(flags, 0x7ff, 'testDomainSnapshotListAllChildren');
    const { obj, snap } = this.snapObj(snapRef);
    return obj.snapshots.list(flags, snap.name).map((s) => this.snapRef(obj, s.name));
  }
  async domainSnapshotNumChildren(snapRef: SnapshotRef, flags: number): Promise<number> {
    return (await this.domainSnapshotListAllChildren(snapRef, flags)).length;
  }
  async domainSnapshotLookupByName(dom: DomainRef, name: string, flags = 0): Promise<SnapshotRef> {
    checkFlags(flags, 0, 'testDomainSnapshotLookupByName');
    const obj = this.domainObj(dom);
    return this.snapRef(obj, obj.snapshots.get(name).name);
  }
  async domainHasCurrentSnapshot(dom: DomainRef, flags = 0): Promise<boolean> {
    checkFlags(flags, 0, 'testDomainHasCurrentSnapshot');
    return this.domainObj(dom).snapshots.current !== undefined;
  }
  async domainSnapshotCurrent(dom: DomainRef, flags = 0): Promise<SnapshotRef> {
    checkFlags(flags, 0, 'testDomainSnapshotCurrent');
    const obj = this.domainObj(dom);
    if (obj.snapshots.current === undefined) {
      throw virError(ErrorCode.NO_DOMAIN_SNAPSHOT, 'the domain does not have a current snapshot', ErrorDomain.DOMAIN_SNAPSHOT);
    }
    return this.snapRef(obj, obj.snapshots.current);
  }
  async domainSnapshotGetParent(snapRef: SnapshotRef, flags = 0): Promise<SnapshotRef> {
    checkFlags(flags, 0, 'testDomainSnapshotGetParent');
    const { obj, snap } = this.snapObj(snapRef);
    if (snap.parent === undefined) {
      throw virError(ErrorCode.NO_DOMAIN_SNAPSHOT, `snapshot '${snap.name}' does not have a parent`, ErrorDomain.DOMAIN_SNAPSHOT);
    }
    return this.snapRef(obj, snap.parent);
  }
  async domainSnapshotIsCurrent(snapRef: SnapshotRef, flags = 0): Promise<boolean> {
    checkFlags(flags, 0, 'testDomainSnapshotIsCurrent');
    const { obj, snap } = this.snapObj(snapRef);
    return obj.snapshots.current === snap.name;
  }
  async domainSnapshotHasMetadata(snapRef: SnapshotRef, flags = 0): Promise<boolean> {
    checkFlags(flags, 0, 'testDomainSnapshotHasMetadata');
    this.snapObj(snapRef);
    return true;
  }
  async domainSnapshotGetXMLDesc(snapRef: SnapshotRef, flags = 0): Promise<string> {
    checkFlags(flags, XML_SECURE, 'testDomainSnapshotGetXMLDesc');
    const { obj, snap } = this.snapObj(snapRef);
    return formatSnapshotXML(snap, textOf(obj.def, 'uuid'), (flags & XML_SECURE) !== 0);
  }

  async domainRevertToSnapshot(snapRef: SnapshotRef, flags = 0): Promise<void> {
    const RUNNING = 1;
    const PAUSED = 2;
    checkFlags(flags, RUNNING | PAUSED | 4, 'testDomainRevertToSnapshot');
    const { obj, snap } = this.snapObj(snapRef);
    const liveState = snap.state === 'running' || snap.state === 'paused';
    if (!obj.persistent && !liveState && !(flags & (RUNNING | PAUSED))) {
      throw virError(ErrorCode.OPERATION_INVALID, 'transient domain needs to request run or pause to revert to inactive snapshot', ErrorDomain.TEST);
    }
    if (!snap.dom) {
      throw virError(ErrorCode.OPERATION_INVALID, `snapshot '${snap.name}' lacks domain '${snapRef.domain.name}' rollback info`, ErrorDomain.TEST);
    }
    obj.snapshots.current = undefined;
    const config = structuredClone(snap.dom);
    if (liveState) {
      if (this.isActive(obj)) this.shutdownState(obj, ShutoffReason.FROM_SNAPSHOT);
      obj.def = config;
      this.startState(obj, RunningReason.FROM_SNAPSHOT);
      if (!(flags & RUNNING) && (snap.state === 'paused' || flags & PAUSED)) {
        obj.state = DomainState.PAUSED;
        obj.reason = PausedReason.FROM_SNAPSHOT;
      }
    } else {
      if (this.isActive(obj)) obj.newDef = config;
      else obj.def = config;
      if (this.isActive(obj)) this.shutdownState(obj, ShutoffReason.FROM_SNAPSHOT);
      if (flags & (RUNNING | PAUSED)) {
        this.startState(obj, RunningReason.FROM_SNAPSHOT);
        if (flags & PAUSED) {
          obj.state = DomainState.PAUSED;
          obj.reason = PausedReason.FROM_SNAPSHOT;
        }
      }
    }
    obj.snapshots.current = snap.name;
  }

  async domainSnapshotDelete(snapRef: SnapshotRef, flags = 0): Promise<void> {
    const CHILDREN = 1;
    const CHILDREN_ONLY = 4;
    checkFlags(flags, CHILDREN | CHILDREN_ONLY, 'testDomainSnapshotDelete');
    const { obj, snap } = this.snapObj(snapRef);
    obj.snapshots.remove(snap.name, (flags & CHILDREN) !== 0, (flags & CHILDREN_ONLY) !== 0);
  }
}
