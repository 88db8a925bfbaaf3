// UUIDs as libvirt reads and prints them (virUUIDParse / virUUIDFormat / virUUIDGenerate).


/**
 * Parses a UUID the way virUUIDParse does: 32 hex digits, dashes allowed
 * between byte pairs, surrounding blanks ignored. Returns the canonical
 * lowercase 8-4-4-4-12 form, or undefined when malformed.
 */
export function parseUUID(text: string): string | undefined {
  const s = text.trim();
  let hex = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '-') continue;
    if (!/[0-9a-fA-F]/.test(c)) return undefined;
    hex += c.toLowerCase();
  }
  if (hex.length !== 32) return undefined;
  return formatUUIDHex(hex);
}

function formatUUIDHex(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A random version-4 UUID (virUUIDGenerate). */
export function generateUUID(): string {
  // crypto is loaded by the first new UUID, not by every process that imports this module
  const b = process.getBuiltinModule('node:crypto').randomBytes(16);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  return formatUUIDHex(b.toString('hex'));
}
