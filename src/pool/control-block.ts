// The pool's control block, declared: one row per cache line (or per run of like lines),
// saying what the line holds, which thread writes it, when, and the ordering rule the code
// relies on. The word offsets every thread uses, the table in docs/threads.md and the
// traffic model of test/thread-traffic.test.ts all come from this table
// (pthreadpool keeps the same facts as comments in threadpool-object.h).
//
// Every word is an Int32 accessed with Atomics (sequentially consistent), and the JS memory
// model orders plain accesses of every shared buffer by them: the plain writes of the
// optimizer's memory (StepArgs blocks, θ, g, S) made before an atomic store are visible to
// a thread that has loaded what that store wrote. The pool relies on exactly three such
// pairs, named in the rows below: REGION (the caller's writes before a region reach the
// workers), a share's DONE word and SCANNED (a thread's scan results and the clip factors
// reach the others before any step), STEPPED (every share's writes reach the caller before
// step() returns).
import { MAX_THREADS } from "../machine.ts";
import { MAX_SHARES } from "../pool-shape.ts";

/** Int32 words per 64-byte cache line. */
export const LINE_WORDS = 16;

/** One kind of line of the control block. */
export interface LineSpec {
  /** Lines of this kind: 1, or one per worker or per share. */
  readonly count: number;
  /** Its words, in order from the line's start. */
  readonly words: readonly string[];
  readonly holds: string;
  readonly writer: string;
  readonly when: string;
  /** What must happen before the write, or what the write publishes. */
  readonly order: string;
  /**
   * Writes to each line of this kind in one region that scans and steps, whatever the
   * thread count (test/thread-traffic.test.ts counts them): the traffic model of
   * docs/threads.md.
   */
  readonly writesPerRegion: number;
}

/** The control block, line by line, in memory order. */
export const CONTROL_LINES = {
  region: {
    count: 1,
    words: ["REGION"],
    holds: "the ticket of the current region: its number (high 20 bits) and its job's slot (low 12 bits)",
    writer: "the caller (the pool's one opener: the thread that created the pool)",
    when: "once per threaded step, for mail, and by stop()",
    order:
      "a load and a store, not a compare-exchange: only the opener writes it. Publishes the StepArgs blocks, FIRST_BAD " +
      "and the cadence written before it; a worker reads the slot and the number from one load, so a region is never paired with another's job",
    writesPerRegion: 1,
  },
  stop: {
    count: 1,
    words: ["STOP"],
    holds: "non-zero: the workers exit",
    writer: "the opener, in stop()",
    when: "once, when the pool stops",
    order: "written before stop() bumps REGION; a worker reads REGION before STOP, so a bump it takes for a region was open()'s",
    writesPerRegion: 0,
  },
  scanned: {
    count: 1,
    words: ["SCANNED", "JOINED"],
    holds: "the last region whose every scan share is done (the barrier), and the last region whose join was claimed",
    writer: "the thread that completes the region's last scan share (it claims JOINED first: two may see every share done)",
    when: "once per region that scans",
    order: "SCANNED is written after that thread has seen every share's SCAN_DONE and run the join (the clip factors into the blocks): it publishes both",
    writesPerRegion: 2,
  },
  stepped: {
    count: 1,
    words: ["STEPPED"],
    holds: "the last region whose every step share is done (the end)",
    writer: "the thread that completes the region's last step share",
    when: "once per region",
    order: "written after that thread has seen every share's STEP_DONE: the caller's load of it makes every share's θ and S writes visible",
    writesPerRegion: 1,
  },
  firstBad: {
    count: 1,
    words: ["FIRST_BAD"],
    holds: "the smallest index found NaN/±∞ in this region's scan, or −1",
    writer: "the opener resets it; a scanner lowers it by compare-exchange",
    when: "the reset before REGION; the lowering before the scanner's SCAN_DONE",
    order: "read after SCANNED: every lowering happened before its share's SCAN_DONE",
    writesPerRegion: 1,
  },
  exited: {
    count: 1,
    words: ["EXITED"],
    holds: "workers that saw STOP and left",
    writer: "each worker, once (an add)",
    when: "its last write",
    order: "stop() waits on it, bounded",
    writesPerRegion: 0,
  },
  cadence: {
    count: 1,
    words: ["END", "EARLY", "LATE"],
    holds:
      "the cadence of the opener's steps: when its last step ended (µs on the pool's clock, wrapping), and the window after " +
      "it (µs) where nine steps in ten start, which a sleeping worker wakes for (EARLY 0: no cadence, sleep until woken)",
    writer: "the opener",
    when: "END after each step, threaded or alone, while a cadence is published (none otherwise); EARLY and LATE when the window changes",
    order:
      "LATE before EARLY, EARLY last: a hint only, a worker that reads a stale or torn cadence wakes too early or too late, " +
      "never wrongly; read only by workers about to sleep",
    writesPerRegion: 1,
  },
  fault: {
    count: 1,
    words: ["FAULT", "FAULT_SHARE", "FAULT_PHASE", "FAULT_LENGTH", "FAULT_JOB"],
    holds: "the first failure of any thread: who (thread + 1; −1 while it is written), its share, phase and job, the text's length",
    writer: "the first thread that fails (compare-exchange of FAULT from 0)",
    when: "before the failing thread leaves, so a caller blocked at a barrier reads it without events",
    order: "FAULT is stored last, after the text: a reader that sees thread + 1 sees the whole report",
    writesPerRegion: 0,
  },
  faultText: {
    count: 16,
    words: ["FAULT_TEXT"],
    holds: "the failure's text, a character per word (256 characters over the run of lines)",
    writer: "the thread that won FAULT",
    when: "between its compare-exchange and its store of FAULT",
    order: "published by the store of FAULT",
    writesPerRegion: 0,
  },
  worker: {
    count: MAX_THREADS,
    words: ["MAIL_POSTED", "MAIL_READ", "ASLEEP", "WAKE"],
    holds:
      "worker k's line (thread k): messages posted to it, messages it has read, whether it sleeps (or is about to), " +
      "and the word it sleeps on, so that a step wakes exactly the workers it uses",
    writer: "MAIL_POSTED: the opener, after postMessage; MAIL_READ and ASLEEP: worker k; WAKE: the opener, to wake worker k",
    when: "between regions (mail); ASLEEP around each sleep; WAKE when a step or mail finds worker k asleep",
    order:
      "Dekker's: the worker stores ASLEEP, then loads REGION and its mail before it waits on WAKE; the opener stores REGION " +
      "(or posts mail), then loads ASLEEP and bumps WAKE if set. One of the two sees the other's store, so no wake is lost",
    writesPerRegion: 0,
  },
  share: {
    count: MAX_SHARES,
    words: ["SCAN_CLAIM", "SCAN_DONE", "STEP_CLAIM", "STEP_DONE", "OWNER"],
    holds: "share t: the region that claimed its scan and its step, the region that finished each, and the thread that claimed it last",
    writer: "the thread that claims share t (usually one per region)",
    when: "a claim (compare-exchange from an older region) before the share's work, DONE after it",
    order: "a claim moves only forward, so a late worker holding an old region can never claim a newer region's share",
    writesPerRegion: 6,
  },
} as const satisfies Record<string, LineSpec>;

export type LineName = keyof typeof CONTROL_LINES;

/** First line of each kind, in memory order. */
const firstLine = (() => {
  const first = {} as Record<LineName, number>;
  let line = 0;
  for (const [name, spec] of Object.entries(CONTROL_LINES) as [LineName, LineSpec][]) {
    first[name] = line;
    line += spec.count;
  }
  return first;
})();

/** Int32 words of the control block. */
export const CONTROL_BLOCK_WORDS = (() => {
  const last = Object.entries(CONTROL_LINES).at(-1)! as [LineName, LineSpec];
  return (firstLine[last[0]] + last[1].count) * LINE_WORDS;
})();

/** Word index of `word` in line `index` of kind `line`. */
function wordAt(line: LineName, word: string, index = 0): number {
  const at = (CONTROL_LINES[line].words as readonly string[]).indexOf(word);
  if (at < 0) throw new Error(`no word ${word} in control line ${line}`);
  return (firstLine[line] + index) * LINE_WORDS + at;
}

/** The word offsets of the single lines, by word name. */
export const CTRL = {
  REGION: wordAt("region", "REGION"),
  STOP: wordAt("stop", "STOP"),
  SCANNED: wordAt("scanned", "SCANNED"),
  JOINED: wordAt("scanned", "JOINED"),
  STEPPED: wordAt("stepped", "STEPPED"),
  FIRST_BAD: wordAt("firstBad", "FIRST_BAD"),
  EXITED: wordAt("exited", "EXITED"),
  END: wordAt("cadence", "END"),
  EARLY: wordAt("cadence", "EARLY"),
  LATE: wordAt("cadence", "LATE"),
  FAULT: wordAt("fault", "FAULT"),
  FAULT_SHARE: wordAt("fault", "FAULT_SHARE"),
  FAULT_PHASE: wordAt("fault", "FAULT_PHASE"),
  FAULT_LENGTH: wordAt("fault", "FAULT_LENGTH"),
  FAULT_JOB: wordAt("fault", "FAULT_JOB"),
  FAULT_TEXT: wordAt("faultText", "FAULT_TEXT"),
} as const;

/** Characters of a fault's text: one per word of its run of lines. */
export const FAULT_CHARS = CONTROL_LINES.faultText.count * LINE_WORDS;

const each = (count: number, word: (i: number) => number) => Int32Array.from({ length: count }, (_, i) => word(i));

/** Worker k's words, by k (k ≥ 1; thread 0 is the caller, whose line is unused). */
export const WORKER_WORDS = {
  mailPosted: each(MAX_THREADS, (k) => wordAt("worker", "MAIL_POSTED", k)),
  mailRead: each(MAX_THREADS, (k) => wordAt("worker", "MAIL_READ", k)),
  asleep: each(MAX_THREADS, (k) => wordAt("worker", "ASLEEP", k)),
  wake: each(MAX_THREADS, (k) => wordAt("worker", "WAKE", k)),
};

/** Share t's words, by t; claim and done by phase (0: the scan, 1: the step). Made once: a claim looks them up. */
export const SHARE_WORDS = {
  claim: [each(MAX_SHARES, (t) => wordAt("share", "SCAN_CLAIM", t)), each(MAX_SHARES, (t) => wordAt("share", "STEP_CLAIM", t))],
  done: [each(MAX_SHARES, (t) => wordAt("share", "SCAN_DONE", t)), each(MAX_SHARES, (t) => wordAt("share", "STEP_DONE", t))],
  owner: each(MAX_SHARES, (t) => wordAt("share", "OWNER", t)),
};

/** The kind of line a line number belongs to, and its index within that kind. */
export function lineKind(line: number): [name: LineName, index: number] {
  for (const [name, spec] of Object.entries(CONTROL_LINES) as [LineName, LineSpec][]) {
    if (line >= firstLine[name] && line < firstLine[name] + spec.count) return [name, line - firstLine[name]];
  }
  throw new RangeError(`line ${line} is outside the control block`);
}

/** The control block as the Markdown table of docs/threads.md (test/thread-traffic.test.ts compares them). */
export function controlBlockTable(): string {
  const rows = (Object.entries(CONTROL_LINES) as [LineName, LineSpec][]).map(([name, spec]) => {
    const lines = spec.count === 1 ? String(firstLine[name]) : `${firstLine[name]}–${firstLine[name] + spec.count - 1}`;
    const words = spec.words.join(", ");
    return `| ${lines} | ${words} | ${spec.holds} | ${spec.writer} | ${spec.when} | ${spec.order} | ${spec.writesPerRegion} |`;
  });
  return ["| line | words | holds | written by | when | ordering | writes per region |", "|---|---|---|---|---|---|---|", ...rows].join("\n");
}
