// virsh's listing order: names compared case-insensitively (vshStrcasecmp).

/** The characters toLowerCase may change: a name without any is its own lowercase form. */
const MAY_LOWER = /[A-Z\u0080-\uffff]/;

/** `name` lowercased, the very string when nothing would change (list sorts a thousand names). */
const lowered = (name: string): string => (MAY_LOWER.test(name) ? name.toLowerCase() : name);

export function compareNames(a: { name: string }, b: { name: string }): number {
  const x = lowered(a.name);
  const y = lowered(b.name);
  return x < y ? -1 : x > y ? 1 : 0;
}

export function byName<T extends { name: string }>(items: T[]): T[] {
  return [...items].sort(compareNames);
}
