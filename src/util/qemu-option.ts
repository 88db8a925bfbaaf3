// QEMU's legacy comma-separated option syntax ("-chardev socket,id=x,path=...").
//
// In that syntax ',' separates options, so a literal comma inside a value is
// written ',,'. Every value that libvirt passes through
// virQEMUBuildBufferEscapeComma goes through escapeOptionValue here: a path or
// name holding ',' '=' quotes or spaces stays one single value and can never
// inject an extra option. (Values are argv elements, never shell words, so
// nothing else needs quoting.)

export type OptionValue = string | number | boolean | undefined | null;

/** Doubles every ',' so QEMU reads the value back verbatim. */
export function escapeOptionValue(value: string): string {
  return value.replaceAll(',', ',,');
}

/**
 * Joins `head` (a driver/backend name, or undefined) and key=value pairs into
 * one option string. Undefined/null values are left out; booleans become
 * on/off; string values are escaped.
 */
export function formatOptions(head: string | undefined, pairs: Array<[string, OptionValue]>): string {
  const parts: string[] = head === undefined ? [] : [head];
  for (const [key, value] of pairs) {
    if (value === undefined || value === null) continue;
    const text = typeof value === 'boolean' ? (value ? 'on' : 'off') : typeof value === 'number' ? String(value) : escapeOptionValue(value);
    parts.push(`${key}=${text}`);
  }
  return parts.join(',');
}
