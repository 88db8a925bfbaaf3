// One domain known to a driver (virDomainObj): its definitions, run state and
// flags. Drivers add what only they keep (the test driver's snapshots) by
// extending the class.

import type { XmlElement } from '../../util/xml.js';
import { DomainState } from './domain-enums.js';

/** Where a definition comes from: the parsed tree, or a loader run on first use. */
export type DefinitionSource = XmlElement | (() => XmlElement);

export class DomainObject {
  /** -1 while inactive */
  id = -1;
  state = DomainState.SHUTOFF;
  reason = 0;
  autostart = false;
  /** the persistent definition to use at next start, when changed while running */
  newDef?: XmlElement;
  private source: DefinitionSource;

  constructor(
    /** changed only through DomainObjectList.rename, which keeps the name index */
    public name: string,
    /** lowercase, as libvirt formats it */
    readonly uuid: string,
    def: DefinitionSource,
    public persistent: boolean,
  ) {
    this.source = def;
  }

  /**
   * The current definition: the persistent one while inactive, the live one while
   * running. A list of a thousand domains need not parse a thousand files to be
   * listed, so a definition may be loaded only when first asked for.
   */
  get def(): XmlElement {
    if (typeof this.source === 'function') this.source = this.source();
    return this.source;
  }

  set def(def: DefinitionSource) {
    this.source = def;
  }

  get active(): boolean {
    return this.id !== -1;
  }

  /** The persistent definition, whether the domain runs or not. */
  get persistentDef(): XmlElement {
    return this.newDef ?? this.def;
  }
}
