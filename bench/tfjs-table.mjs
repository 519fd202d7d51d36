// The tfjs section's table (bench/tfjs.mjs), apart from its measurements so that the report
// and the docs' redraw load without tfjs.
import { textTable } from "./text-table.mjs";

export const TFJS_BASELINE = "tf.train.rmsprop";

const ratio = (x) => `${x.toFixed(2)}×`;

/** The section's rows as a console table. */
export function tfjsTable(rows) {
  const header = ["backend", "implementation", "median ms", "spread", `vs ${TFJS_BASELINE}`, "ratio range"];
  const body = rows.map((r) => [
    r.section,
    r.name,
    r.medianMs < 10 ? r.medianMs.toFixed(2) : r.medianMs.toFixed(0),
    `±${(r.spread * 100).toFixed(0)}%`,
    ratio(r.vsPlainJs),
    `${ratio(r.vsPlainJsRange[0])}–${ratio(r.vsPlainJsRange[1])}`,
  ]);
  return textTable(header, body, 2);
}
