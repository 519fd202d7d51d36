// Copies the last benchmark run (bench/results/latest.md) into README.md between the
// bench markers, so the README's table is always one real run, never hand-typed numbers.
import { readFileSync, writeFileSync } from "node:fs";

const start = "<!-- bench:start -->";
const end = "<!-- bench:end -->";
const readme = readFileSync("README.md", "utf8");
const table = readFileSync("bench/results/latest.md", "utf8").trim();
const i = readme.indexOf(start);
const j = readme.indexOf(end);
if (i < 0 || j < i) throw new Error(`README.md lacks the ${start} … ${end} markers`);
writeFileSync("README.md", `${readme.slice(0, i + start.length)}\n${table}\n${readme.slice(j)}`);
console.log("README.md: benchmark table updated from bench/results/latest.md");
