// The thread pool's choice between waking sleeping workers and running a step alone.
import { describe, expect, it } from "vitest";
import { WakeChoice } from "../src/thread-pool.ts";

/** A choice that has tried each way twice: woken at `woken` ms, alone at `alone` ms. */
function tried(woken: number, alone: number): WakeChoice {
  const choice = new WakeChoice();
  for (const [expected, ms] of [[true, 50], [true, woken], [false, 50], [false, alone]] as const) {
    expect(choice.choose()).toBe(expected);
    choice.record(expected, ms);
  }
  return choice;
}

describe("WakeChoice", () => {
  it("tries each way twice, keeps the second sample (the first pays for a cold JIT), then takes the faster", () => {
    const choice = tried(1.0, 0.25); // the first samples (50 ms each) are forgotten
    const picks = Array.from({ length: 32 }, () => choice.choose());
    // Alone is faster; every 16th choice explores waking.
    expect(picks.filter((woke) => woke)).toHaveLength(2);
    expect(picks[15]).toBe(true);
    expect(picks[31]).toBe(true);
  });

  it("follows a change: the average moves a quarter of the way per measurement", () => {
    const choice = tried(1.0, 0.5);
    expect(choice.choose()).toBe(false);
    // Waking becomes cheap (the machine got quiet): 0.75·1 + 0.25·0.2 = 0.8, then 0.65, 0.5375, 0.453…
    for (const expected of [false, false, false, true]) {
      choice.record(true, 0.2);
      expect(choice.choose()).toBe(expected);
    }
  });

  it("counts an outlier at most 4 times the average it joins", () => {
    const choice = tried(0.3, 0.5);
    expect(choice.choose()).toBe(true);
    // A 100 ms pause in a woken step counts as 1.2 ms: 0.75·0.3 + 0.25·1.2 = 0.525 > 0.5.
    choice.record(true, 100);
    expect(choice.choose()).toBe(false);
    // Two ordinary woken steps bring it back below: 0.461, then 0.421.
    choice.record(true, 0.27);
    choice.record(true, 0.3);
    expect(choice.choose()).toBe(true);
  });

  it("scores a wake by the steps it buys: a woken batch of 8 beats running alone, though its first step is the slowest", () => {
    // Batches of 8 back-to-back steps, each batch finding the workers asleep. Woken: the
    // first step pays 1 ms, the other 7 run on 2 threads at 0.1 ms. Alone: 0.3 ms each.
    const choice = new WakeChoice();
    const picks: boolean[] = [];
    for (let batch = 0; batch < 40; batch++) {
      const woke = choice.next();
      picks.push(woke);
      if (woke) for (let k = 0; k < 8; k++) choice.stepped(k === 0 ? 1 : 0.1);
      else {
        choice.stepped(0.3); // alone: the next step finds them asleep again and chooses
        for (let k = 1; k < 8; k++) {
          picks.push(choice.next());
          choice.stepped(0.3);
        }
      }
    }
    // Per step, woken costs (1 + 7 × 0.1) / 8 = 0.2125 ms: after trying both, it wakes,
    // exploring running alone once every 16 choices.
    const settled = picks.slice(16);
    expect(settled.filter((woke) => !woke).length).toBeLessThanOrEqual(Math.ceil(settled.length / 16) * 8);
    expect(picks.slice(-4)).toEqual([true, true, true, true]);
  });
});
