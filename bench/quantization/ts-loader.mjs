// The module hook behind ts-hooks.mjs: .ts files are loaded as ES modules with their types
// stripped; everything else loads as usual.
import { readFile } from "node:fs/promises";
import { transform } from "esbuild";

export async function load(url, context, nextLoad) {
  if (!url.startsWith("file:") || !url.endsWith(".ts")) return nextLoad(url, context);
  const source = await readFile(new URL(url), "utf8");
  const { code } = await transform(source, { loader: "ts", format: "esm", target: "es2022", sourcefile: url });
  return { format: "module", source: code, shortCircuit: true };
}
