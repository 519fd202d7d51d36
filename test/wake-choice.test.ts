// The thread pool's choice between waking sleeping workers and running a step alone.
import { describe, expect, it } from "vitest";
import { WakeChoice } from "../src/thread-pool.ts";

describe("WakeChoice", () => {
  it("tries waking, then running alone, then keeps the faster and explores the other every 16th step", () => {
    const choice = new WakeChoice();
    expect(choice.choose()).toBe(true);
    choice.record(true, 1.0); // woken: 1 ms
    expect(choice.choose()).toBe(false);
    choice.record(false, 0.25); // alone: 0.25 ms, faster
    const picks = Array.from({ length: 32 }, () => choice.choose());
    expect(picks.filter((woke) => woke)).toHaveLength(2);
    expect(picks[15]).toBe(true);
    expect(picks[31]).toBe(true);
  });

  it("follows a change: the average moves a quarter of the way per measurement", () => {
    const choice = new WakeChoice();
    choice.record(true, 1.0);
    choice.record(false, 0.5);
    expect(choice.choose()).toBe(false);
    // Waking becomes cheap (the machine got quiet): 0.75·1 + 0.25·0.2 = 0.8, then 0.65, 0.5375, 0.453…
    for (const expected of [false, false, false, true]) {
      choice.record(true, 0.2);
      expect(choice.choose()).toBe(expected);
    }
  });
});
