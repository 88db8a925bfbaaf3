// MAC addresses as libvirt reads and prints them (virMacAddrParse / virMacAddrFormat).

/**
 * Parses "xx:xx:xx:xx:xx:xx" (one or two hex digits per byte, ':' or '-'
 * separated) into libvirt's lowercase two-digit form; undefined when malformed.
 */
export function parseMAC(text: string): string | undefined {
  const parts = text.split(/[:-]/);
  if (parts.length !== 6 || !parts.every((p) => /^[0-9a-fA-F]{1,2}$/.test(p))) return undefined;
  return parts.map((p) => p.toLowerCase().padStart(2, '0')).join(':');
}

/** The group bit of the first byte (virMacAddrIsMulticast). */
export function isMulticastMAC(mac: string): boolean {
  return (parseInt(mac.slice(0, 2), 16) & 1) === 1;
}
