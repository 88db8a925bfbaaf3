// virsh's table layout (vsh-table.c): each cell is " text" padded to the column
// width + 2 (not the last column), a dashed line of sum(width + 3) under the header.
// Without the header (-q) widths come from the data rows only.

/** Display width of a cell: control characters are shown escaped (\xNN) as virsh does. */
function safeCell(text: string): string {
  return text.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export function formatTable(header: string[], rows: string[][], withHeader: boolean): string {
  const all = [header, ...rows].map((r) => r.map(safeCell));
  const widths = header.map(() => 0);
  for (const row of withHeader ? all : all.slice(1)) {
    row.forEach((cell, i) => (widths[i] = Math.max(widths[i]!, [...cell].length)));
  }
  const line = (row: string[]) =>
    row.map((cell, i) => ` ${cell}${i < row.length - 1 ? ' '.repeat(widths[i]! - [...cell].length + 2) : ''}`).join('') + '\n';
  let out = '';
  if (withHeader) {
    out += line(all[0]!);
    out += '-'.repeat(widths.reduce((sum, w) => sum + w + 3, 0)) + '\n';
  }
  for (const row of all.slice(1)) out += line(row);
  return out;
}
