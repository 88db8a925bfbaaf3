// CPU/node sets in libvirt's syntax ("0-3,^2,8"), parsed and printed like
// virBitmapParse / virBitmapFormat.

/** Parses a set (bits below `limit`, libvirt's VIR_DOMAIN_CPUMASK_LEN); undefined when invalid. */
export function parseBitmap(text: string, limit = 16384): Set<number> | undefined {
  const set = new Set<number>();
  const s = text.trim();
  if (s === '') return undefined;
  for (const raw of s.split(',')) {
    const part = raw.trim();
    const neg = part.startsWith('^');
    const body = neg ? part.slice(1) : part;
    const m = /^(\d+)(?:-(\d+))?$/.exec(body);
    if (!m) return undefined;
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo || hi >= limit || (neg && m[2] !== undefined)) return undefined;
    for (let i = lo; i <= hi; i++) {
      if (neg) set.delete(i);
      else set.add(i);
    }
  }
  return set;
}

/** Canonical text: ascending, consecutive runs collapsed to "a-b". */
export function formatBitmap(set: ReadonlySet<number>): string {
  const values = [...set].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < values.length; ) {
    let j = i;
    while (j + 1 < values.length && values[j + 1] === values[j]! + 1) j++;
    parts.push(i === j ? `${values[i]}` : `${values[i]}-${values[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}
