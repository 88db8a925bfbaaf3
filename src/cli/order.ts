// virsh's listing order: names compared case-insensitively (vshStrcasecmp).

export function compareNames(a: { name: string }, b: { name: string }): number {
  return compareCaseless(a.name, b.name);
}

/**
 * `x` and `y` compared as their lowercase forms, without making them while both are
 * ASCII (list sorts a thousand names: two new strings per comparison were most of it).
 */
function compareCaseless(x: string, y: string): number {
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) {
    let c = x.charCodeAt(i);
    let d = y.charCodeAt(i);
    if (c > 0x7f || d > 0x7f) return compareLowered(x, y);
    if (c >= 0x41 && c <= 0x5a) c += 0x20;
    if (d >= 0x41 && d <= 0x5a) d += 0x20;
    if (c !== d) return c - d < 0 ? -1 : 1;
  }
  return x.length === y.length ? 0 : x.length < y.length ? -1 : 1;
}

/** Beyond ASCII, lowercasing may change a string's length: the whole forms are compared. */
function compareLowered(x: string, y: string): number {
  const lx = x.toLowerCase();
  const ly = y.toLowerCase();
  return lx < ly ? -1 : lx > ly ? 1 : 0;
}

export function byName<T extends { name: string }>(items: T[]): T[] {
  return [...items].sort(compareNames);
}
