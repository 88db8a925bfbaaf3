// The tree shared by domain snapshots and checkpoints (libvirt's
// virdomainmomentobjlist): moments in creation order, each naming its parent,
// and the list filters both kinds have (roots, descendants, leaves).
import { ErrorCode, ErrorDomain, virError } from '../util/error.js';

export interface Moment {
  name: string;
  parent?: string;
}

/** The virDomainMomentListFlags bits both kinds share (same values in both public APIs). */
export const MomentListFlags = { ROOTS: 1 << 0, DESCENDANTS: 1 << 0, LEAVES: 1 << 2, NO_LEAVES: 1 << 3 } as const;

export class MomentTree<T extends Moment> {
  readonly all: T[] = [];

  find(name: string): T | undefined {
    return this.all.find((s) => s.name === name);
  }

  /** virDomainMomentAssignDef: names are unique. */
  add(moment: T, errorDomain: ErrorDomain): void {
    if (this.find(moment.name)) throw virError(ErrorCode.OPERATION_FAILED, `domain moment ${moment.name} already exists`, errorDomain);
    this.all.push(moment);
  }

  children(name: string | undefined): T[] {
    return this.all.filter((s) => s.parent === name);
  }

  descendants(name: string): T[] {
    const out: T[] = [];
    const walk = (n: string) => {
      for (const c of this.children(n)) {
        out.push(c);
        walk(c.name);
      }
    };
    walk(name);
    return out;
  }

  /** virDomainMomentFindLeaf: the tip when the moments form one chain, else none. */
  singleLeaf(): T | undefined {
    let level = this.children(undefined);
    let tip: T | undefined;
    while (level.length === 1) {
      tip = level[0]!;
      level = this.children(tip.name);
    }
    return level.length === 0 ? tip : undefined;
  }

  /** `set` ordered parents before children (the TOPOLOGICAL list flag). */
  topological(set: T[]): T[] {
    const wanted = new Set(set);
    const out: T[] = [];
    const walk = (parent: string | undefined) => {
      for (const c of this.children(parent)) {
        if (wanted.has(c)) out.push(c);
        walk(c.name);
      }
    };
    walk(undefined);
    return out;
  }

  /** The shared filters; `from` restricts to children (or descendants) of a moment. */
  select(flags: number, from?: string): T[] {
    let set: T[];
    if (from !== undefined) set = flags & MomentListFlags.DESCENDANTS ? this.descendants(from) : this.children(from);
    else set = flags & MomentListFlags.ROOTS ? this.children(undefined) : [...this.all];
    const leafMask = MomentListFlags.LEAVES | MomentListFlags.NO_LEAVES;
    if ((flags & leafMask) !== 0 && (flags & leafMask) !== leafMask) {
      const leaf = (s: T) => this.children(s.name).length === 0;
      set = set.filter((s) => (flags & MomentListFlags.LEAVES ? leaf(s) : !leaf(s)));
    }
    return set;
  }
}
