// virsh's listing order: names compared case-insensitively (vshStrcasecmp).

export function compareNames(a: { name: string }, b: { name: string }): number {
  const x = a.name.toLowerCase();
  const y = b.name.toLowerCase();
  return x < y ? -1 : x > y ? 1 : 0;
}

export function byName<T extends { name: string }>(items: T[]): T[] {
  return [...items].sort(compareNames);
}
