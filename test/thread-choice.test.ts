// The thread pool's choice between running a step on its threads and running it alone.
import { describe, expect, it } from "vitest";
import { ThreadChoice } from "../src/thread-pool.ts";

/** A choice that has tried each way twice: woken at `woken` ms, alone at `alone` ms. */
function tried(woken: number, alone: number): ThreadChoice {
  const choice = new ThreadChoice();
  for (const [expected, ms] of [[true, 50], [true, woken], [false, 50], [false, alone]] as const) {
    expect(choice.choose()).toBe(expected);
    choice.record(expected, ms);
  }
  return choice;
}

/**
 * Runs `steps` steps under a fresh choice; `ms(threads, k, picks)` is what step k costs the
 * way it was run (picks: the ways of the steps before it). Returns the ways, in order.
 */
function simulate(steps: number, ms: (threads: boolean, k: number, picks: readonly boolean[]) => number): boolean[] {
  const choice = new ThreadChoice();
  const picks: boolean[] = [];
  for (let k = 0; k < steps; k++) {
    const threads = choice.next();
    choice.stepped(ms(threads, k, picks));
    picks.push(threads);
  }
  return picks;
}

describe("ThreadChoice", () => {
  it("tries each way twice, keeps the second sample (the first pays for a cold JIT), then takes the faster", () => {
    const choice = tried(1.0, 0.25); // the first samples (50 ms each) are forgotten
    expect(choice.threadsFaster).toBe(false);
    const picks = Array.from({ length: 64 }, () => choice.choose());
    // Alone is faster. The other way is tried after 2, 4 and 8 choices, then every 16th.
    const tries = picks.flatMap((threads, k) => (threads ? [k + 1] : []));
    expect(tries).toEqual([2, 6, 14, 30, 46, 62]);
  });

  it("follows a change: the average moves a quarter of the way per measurement", () => {
    const choice = tried(1.0, 0.5);
    // Threads become cheap (the machine got quiet): 0.75·1 + 0.25·0.2 = 0.8, then 0.65, 0.5375, 0.453…
    for (const expected of [false, false, false, true]) {
      choice.record(true, 0.2);
      expect(choice.threadsFaster).toBe(expected);
    }
  });

  it("counts an outlier at most twice the average it joins: one slow episode does not turn the choice, three do", () => {
    const choice = tried(0.3, 0.5);
    expect(choice.threadsFaster).toBe(true);
    // A 100 ms pause in a threaded episode counts as 0.6 ms: 0.75·0.3 + 0.25·0.6 = 0.375 < 0.5.
    choice.record(true, 100);
    expect(choice.threadsFaster).toBe(true);
    // A lasting change: 0.75·0.375 + 0.25·0.75 = 0.469, then 0.586 > 0.5.
    choice.record(true, 100);
    expect(choice.threadsFaster).toBe(true);
    choice.record(true, 100);
    expect(choice.threadsFaster).toBe(false);
  });

  it("holds a choice for an episode: FIRST_EPISODES steps while it learns, then EPISODE", () => {
    const choice = new ThreadChoice();
    const episode = (threads: boolean, steps: number, ms: number) => {
      for (let k = 1; k < steps; k++) {
        choice.stepped(ms);
        expect(choice.next()).toBe(threads); // the episode holds
      }
      choice.stepped(ms);
    };
    expect(choice.next()).toBe(true); // first try: threads
    episode(true, ThreadChoice.FIRST_EPISODES, 1);
    expect(choice.next()).toBe(true); // scored (1 ms); the second try of threads
    episode(true, ThreadChoice.FIRST_EPISODES, 2);
    expect(choice.next()).toBe(false); // scored (2 ms); now alone
    episode(false, ThreadChoice.FIRST_EPISODES, 3);
    expect(choice.next()).toBe(false); // the second try of alone
    episode(false, ThreadChoice.FIRST_EPISODES, 3);
    expect(choice.next()).toBe(true); // threads (2 ms) beat alone (3 ms)
    episode(true, ThreadChoice.EPISODE, 2); // learnt: a whole episode
    expect(choice.next()).toBe(false); // 2 choices on: the first try of the slower way
  });

  it("scores a wake by the steps it buys: threads beat running alone in batches of 8, though a batch's first step is the slowest", () => {
    // Batches of 8 back-to-back steps, each batch finding the workers asleep, as does a
    // threaded step after a step alone (a NAP). A step that wakes them costs 1 ms, one on
    // awake threads 0.1 ms, a step alone 0.3 ms.
    const picks = simulate(800, (threads, k, before) => (threads ? (k % 8 === 0 || !before[k - 1] ? 1 : 0.1) : 0.3));
    // Per step, threads cost (1 + 7 × 0.1) / 8 = 0.2125 ms: after trying both, threads,
    // trying alone (an episode of 8 steps) once every 16 choices at most.
    const settled = picks.slice(128);
    expect(settled.filter((threads) => !threads).length).toBeLessThanOrEqual(Math.ceil(settled.length / 128) * 8);
    expect(picks.slice(-8)).toEqual(Array(8).fill(true));
  });

  it("runs alone where threads cost more per step (another process keeps a core busy), exploring threads once every 16 choices", () => {
    // Back-to-back steps, the workers awake: threads 0.15 ms a step, alone 0.1 ms.
    const picks = simulate(800, (threads) => (threads ? 0.15 : 0.1));
    const settled = picks.slice(64);
    const threaded = settled.filter((threads) => threads).length;
    // One threaded episode (8 steps) in every 16 choices (16 × 8 steps).
    expect(threaded).toBeGreaterThan(0);
    expect(threaded).toBeLessThanOrEqual(Math.ceil(settled.length / (16 * ThreadChoice.EPISODE)) * ThreadChoice.EPISODE);
  });

  it("cuts a losing try short and waits the longer for the next one, the more it lost", () => {
    // A busy machine: threads cost 1 ms a step, alone 0.1 ms. A try of threads stops after
    // one step (0.9 ms lost > half an episode alone, 0.4 ms), and the next waits until the
    // steps since took 0.9 / TRY_SHARE = 45 ms: 450 steps alone.
    const picks = simulate(3000, (threads) => (threads ? 1 : 0.1));
    const settled = picks.slice(100);
    const tries = settled.filter((threads, k) => threads && !settled[k - 1]).length;
    expect(settled.filter((threads) => threads)).toHaveLength(tries); // each try: one step
    expect(tries).toBeGreaterThanOrEqual(4);
    expect(tries).toBeLessThanOrEqual(7);
  });

  it("goes back to threads at the first try that wins, whatever the old average said", () => {
    // Busy: threads lose (1 ms a step against 0.1 alone), until the other process ends at step 1000.
    const picks = simulate(4000, (threads, k) => (threads ? (k < 1000 ? 1 : 0.05) : 0.1));
    expect(picks.slice(900, 1000).filter((threads) => threads).length).toBeLessThanOrEqual(1);
    // The next try comes within 450 steps (see above) and wins; from then on, threads,
    // trying alone (an episode of 8 steps) once every 16 choices.
    const first = picks.indexOf(true, 1000);
    expect(first - 1000).toBeLessThanOrEqual(460);
    const after = picks.slice(first);
    expect(after.filter((threads) => !threads).length).toBeLessThanOrEqual(Math.ceil(after.length / 128) * 8);
  });
});
