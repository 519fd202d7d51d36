process.on("unhandledRejection", (r, p) => { console.log("UNHANDLED", r); process.exit(1); });
const { sizeContenders } = await import("./bench/contenders.mjs");
const { Bench } = await import("tinybench");
const all = await sizeContenders(1e4);
const skip = process.argv[2];
const list = all.filter(c => !skip || !c.name.includes(skip));
for (let round = 0; round < 3; round++) {
  const order = round % 2 ? [...list].reverse() : list;
  const bench = new Bench({ retainSamples: true, time: 250, iterations: 5, warmupTime: 20, warmupIterations: 2 });
  for (const c of order) bench.add(c.name, c.step, c.beforeAll ? { beforeAll: c.beforeAll } : {});
  bench.addEventListener("cycle", (e) => console.log(round, e.task?.name));
  await bench.run();
}
for (const c of list) { console.log("dispose", c.name); c.dispose(); }
await new Promise(r => setTimeout(r, 500));
console.log("ok");
