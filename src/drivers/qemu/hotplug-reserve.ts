// tsvirt's per-domain override of the number of spare hotplug pcie-root-ports,
// kept in the domain's <metadata> under tsvirt's own namespace:
//
//   <metadata>
//     <tsvirt:hotplug xmlns:tsvirt='https://tsvirt.dev/xmlns/domain/1.0' pcie-ports='8'/>
//   </metadata>
//
// Any prefix may be used; the namespace URI is what identifies the element.

import { ErrorCode, virError } from '../../util/error.js';
import { child, type XmlElement } from '../../util/xml.js';
import { parseUnsigned } from '../../conf/xml-props.js';

export const TSVIRT_DOMAIN_NS = 'https://tsvirt.dev/xmlns/domain/1.0';

/** Highest PCI controller index (= bus number) QEMU and libvirt accept. */
export const MAX_PCI_BUS_INDEX = 255;

/** The element's namespace URI, from its own xmlns declarations (metadata children carry them). */
function namespaceOf(el: XmlElement): { uri: string | undefined; local: string } {
  const colon = el.name.indexOf(':');
  const prefix = colon < 0 ? undefined : el.name.slice(0, colon);
  const local = colon < 0 ? el.name : el.name.slice(colon + 1);
  const uri = prefix === undefined ? el.attrs.xmlns : el.attrs[`xmlns:${prefix}`];
  return { uri, local };
}

/** The metadata override of the spare pcie-root-port count, if the domain has one. */
export function hotplugPortsOverride(domain: XmlElement): number | undefined {
  const metadata = child(domain, 'metadata');
  if (metadata === undefined) return undefined;
  for (const el of metadata.children) {
    const { uri, local } = namespaceOf(el);
    if (uri !== TSVIRT_DOMAIN_NS || local !== 'hotplug') continue;
    const text = el.attrs['pcie-ports'];
    if (text === undefined) return undefined;
    const n = parseUnsigned(text, 10);
    if (n === undefined || n > BigInt(MAX_PCI_BUS_INDEX)) {
      throw virError(ErrorCode.CONFIG_UNSUPPORTED,
        `invalid hotplug pcie-ports '${text}' in tsvirt metadata: expected a number of root ports from 0 to ${MAX_PCI_BUS_INDEX}`);
    }
    return Number(n);
  }
  return undefined;
}
