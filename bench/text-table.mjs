// A plain-text table for the console and the results Markdown: the first `textColumns`
// columns left-aligned, the numbers right-aligned, two spaces between columns.

/** `header` and `body` rows of strings; returns the lines joined, with a rule under the header. */
export function textTable(header, body, textColumns) {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cells) => cells.map((x, i) => (i < textColumns ? x.padEnd(widths[i]) : x.padStart(widths[i]))).join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n");
}
