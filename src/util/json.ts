// JSON text for QEMU (command-line JSON options and QMP): like JSON.stringify,
// but a bigint is written as its exact digits, because QEMU reads 64-bit
// integers (a disk's WWN, for one) that a double would round.

export type QemuJson = string | number | bigint | boolean | null | undefined | QemuJson[] | { [key: string]: QemuJson };

export function formatQemuJson(value: QemuJson): string {
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : formatQemuJson(v))).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const members: string[] = [];
    for (const [k, v] of Object.entries(value)) if (v !== undefined) members.push(`${JSON.stringify(k)}:${formatQemuJson(v)}`);
    return `{${members.join(',')}}`;
  }
  return JSON.stringify(value);
}
