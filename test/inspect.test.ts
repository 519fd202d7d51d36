// console.log(opt) and util.inspect(opt) show what the optimizer is, and never throw.
import { inspect } from "node:util";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createRmsprop, presets } from "../src/index.ts";

describe("util.inspect of an optimizer", () => {
  it("shows n, backend, threads, the step count and every resolved option", async () => {
    const opt = await createRmsprop(1000, { ...presets.pytorch, lr: 1e-3, momentum: 0.5, backend: "scalar" });
    opt.step();
    opt.step();
    const text = inspect(opt, { breakLength: Infinity });
    expect(text.startsWith("Rmsprop {")).toBe(true);
    for (const fact of ["n: 1000", "backend: 'scalar'", "threads: 1", "stepCount: 2", "lr: 0.001", "momentum: 0.5"]) expect(text).toContain(fact);
    // Every option the optimizer resolved, with the value opt.options holds, except the two shown resolved above.
    for (const [key, value] of Object.entries(opt.options)) {
      if (["backend", "threads", "groups", "memory"].includes(key)) continue;
      expect(text).toContain(`${key}: ${inspect(value)}`);
    }
    opt.dispose();
  });

  it("names the groups and an external memory", async () => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    const opt = await createRmsprop(10, { groups: [{ name: "weights", size: 6 }, { name: "bias", size: 4, lr: 0 }], memory });
    const text = inspect(opt, { breakLength: Infinity });
    expect(text).toContain("groups: [ 'weights', 'bias' ]");
    expect(text).toContain("memory: 'external'");
    opt.dispose();
  });

  it("after dispose() says disposed instead of throwing", async () => {
    const opt = await createRmsprop(7);
    opt.step();
    opt.dispose();
    expect(() => opt.n).toThrow(/disposed/);
    expect(inspect(opt)).toBe("Rmsprop { disposed: true, n: 7, stepCount: 1 }");
  });

  it("nested past the inspect depth, prints its name", async () => {
    const opt = await createRmsprop(3);
    expect(inspect({ a: { b: opt } }, { depth: 1 })).toBe("{ a: { b: [Rmsprop] } }");
    opt.dispose();
  });

  it("the built package imports nothing from Node for it (the symbol is the registered one)", () => {
    const built = readFileSync("dist/rmsprop.js", "utf8");
    expect(built).toContain('Symbol.for("nodejs.util.inspect.custom")');
    expect(built).not.toMatch(/from "node:|import\("node:util/);
  });
});
