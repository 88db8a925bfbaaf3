// virsh's table layout (vsh-table.c): each cell is " text" padded to the column
// width + 2 (not the last column), a dashed line of sum(width + 3) under the header.
// Without the header (-q) widths come from the data rows only.
// list --all prints a row per domain: plain cells (no control character, no
// surrogate pair) take the fast paths, which are most of its cost for a thousand.

const CONTROL = /[\x00-\x1f\x7f]/;
const CONTROLS = /[\x00-\x1f\x7f]/g;
const SURROGATE = /[\uD800-\uDFFF]/;

/** Display text of a cell: control characters are shown escaped (\xNN) as virsh does. */
function safeCell(text: string): string {
  return CONTROL.test(text) ? text.replace(CONTROLS, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`) : text;
}

/** Width in characters (code points, not UTF-16 units). */
function widthOf(text: string): number {
  return SURROGATE.test(text) ? [...text].length : text.length;
}

export function formatTable(header: string[], rows: string[][], withHeader: boolean): string {
  const all = [header, ...rows].map((r) => r.map(safeCell));
  // each cell measured once: the padding below needs the same widths again
  const cellWidths = all.map((r) => r.map(widthOf));
  const widths = header.map(() => 0);
  for (const row of withHeader ? cellWidths : cellWidths.slice(1)) {
    row.forEach((width, i) => (widths[i] = Math.max(widths[i]!, width)));
  }
  const line = (r: number) => {
    const row = all[r]!;
    let text = '';
    for (let i = 0; i < row.length; i++) text += ` ${row[i]}${i < row.length - 1 ? ' '.repeat(widths[i]! - cellWidths[r]![i]! + 2) : ''}`;
    return `${text}\n`;
  };
  let out = '';
  if (withHeader) {
    out += line(0);
    out += '-'.repeat(widths.reduce((sum, w) => sum + w + 3, 0)) + '\n';
  }
  for (let r = 1; r < all.length; r++) out += line(r);
  return out;
}
