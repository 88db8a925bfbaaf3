// virsh's table layout (vsh-table.c): each cell is " text" padded to the column
// width + 2 (not the last column), a dashed line of sum(width + 3) under the header.
// Without the header (-q) widths come from the data rows only.
// list --all prints a row per domain: a table of plain cells (no control character,
// no surrogate pair) takes the fast path, which is most of its cost for a thousand.

const CONTROL = /[\x00-\x1f\x7f]/;
const CONTROLS = /[\x00-\x1f\x7f]/g;
const SURROGATE = /[\uD800-\uDFFF]/;
/** Any character a cell shows otherwise than as itself, or counts otherwise than as one column. */
const SPECIAL = /[\x00-\x1f\x7f\uD800-\uDFFF]/;

/** Display text of a cell: control characters are shown escaped (\xNN) as virsh does. */
function safeCell(text: string): string {
  return CONTROL.test(text) ? text.replace(CONTROLS, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`) : text;
}

/** Width in characters (code points, not UTF-16 units). */
function widthOf(text: string): number {
  return SURROGATE.test(text) ? [...text].length : text.length;
}

/** Whether any cell holds a SPECIAL character (tested cell by cell: a joined copy of a thousand rows cost more). */
function hasSpecialCell(rows: string[][]): boolean {
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    for (let i = 0; i < row.length; i++) if (SPECIAL.test(row[i]!)) return true;
  }
  return false;
}

export function formatTable(header: string[], rows: string[][], withHeader: boolean): string {
  const shown = withHeader ? [header, ...rows] : rows;
  // a table of plain cells (list --all's thousand rows) is checked by one scan, and its
  // cells need neither escaping nor counting by code point
  const plain = !hasSpecialCell(shown);
  const cells = plain ? shown : shown.map((r) => r.map(safeCell));
  // each cell measured once: the padding below needs the same widths again
  const cellWidths = plain ? undefined : cells.map((r) => r.map(widthOf));
  const widths = header.map(() => 0);
  for (let r = 0; r < cells.length; r++) {
    const row = cells[r]!;
    for (let i = 0; i < row.length; i++) widths[i] = Math.max(widths[i]!, cellWidths ? cellWidths[r]![i]! : row[i]!.length);
  }
  const lines: string[] = [];
  for (let r = 0; r < cells.length; r++) {
    const row = cells[r]!;
    let text = '';
    for (let i = 0; i < row.length - 1; i++) {
      const cell = row[i]!;
      text += ` ${cellWidths ? cell + ' '.repeat(widths[i]! - cellWidths[r]![i]! + 2) : cell.padEnd(widths[i]! + 2)}`;
    }
    lines.push(row.length > 0 ? `${text} ${row[row.length - 1]}\n` : '\n');
    if (withHeader && r === 0) lines.push('-'.repeat(widths.reduce((sum, w) => sum + w + 3, 0)) + '\n');
  }
  return lines.join('');
}
