// One parallel region, the mechanism every thread of the pool runs (the caller is thread 0):
// tickets, claims, the phases of a region and the barrier between them, and the fault
// report. It knows nothing of the work: a region runs a ShareTask's scan, join and step for
// share numbers, whatever they do (src/step-task.ts is the one the optimizer uses).
//
// A region of a job that scans: every thread claims scan shares (its own range first, then
// the others' from the far end) and runs them; the thread that completes the last one runs
// the join once and opens the barrier (SCANNED); if no scan found a bad value, every thread
// claims and runs step shares, and the one that completes the last one ends the region
// (STEPPED). A job that does not scan has the second phase only. Which thread runs a share
// changes nothing in its bits: the shares are fixed by the job.
import { CTRL, FAULT_CHARS, SHARE_WORDS, WORKER_WORDS } from "./control-block.ts";

/** Bits of a ticket that hold the job's slot; the 20 above them hold the region number. */
export const SLOT_BITS = 12;
/** The slot of a region of no work that sends polling workers to sleep (a step run alone). */
export const NAP_SLOT = (1 << SLOT_BITS) - 1;
/** Slots 1 … MAX_JOBS are jobs' (0: a region of no job, a wake for mail). */
export const MAX_JOBS = NAP_SLOT - 1;

/** The work of a job, by share number. */
export interface ShareTask {
  /** The first index share t found NaN/±∞ (or that overflows when scaled), or −1. */
  scan(t: number): number;
  /** After every scan of a region and before any step, by one thread: the clip factors into the blocks. */
  join(): void;
  step(t: number): void;
}

/** What a thread is doing, for its fault report. */
export interface ThreadState {
  /** The share it holds, or −1. */
  holding: number;
  phase: number;
  /** The slot of the job whose region it runs. */
  job: number;
}

export const newThreadState = (): ThreadState => ({ holding: -1, phase: 0, job: 0 });

export const slotOf = (ticket: number): number => ticket & NAP_SLOT;

/** Whether ticket a's region comes after ticket b's (region numbers wrap at 2^20). */
export const newer = (a: number, b: number): boolean => (((a >>> SLOT_BITS) - (b >>> SLOT_BITS)) << SLOT_BITS) > 0;

/** The ticket after `last` for job `slot`. */
export const nextTicket = (last: number, slot: number): number => ((((last >>> SLOT_BITS) + 1) << SLOT_BITS) | slot) | 0;

/**
 * Opens the next region for job `slot` (only the opener calls this: a load and a store, not
 * a compare-exchange). Everything written before it reaches a worker that loads the ticket.
 */
export function open(ctrl: Int32Array, slot: number): number {
  Atomics.store(ctrl, CTRL.FIRST_BAD, -1);
  const ticket = nextTicket(Atomics.load(ctrl, CTRL.REGION), slot);
  Atomics.store(ctrl, CTRL.REGION, ticket);
  return ticket;
}

/** Moves ctrl[word] forward to `ticket`; false if it already was there or past it. */
export function claim(ctrl: Int32Array, word: number, ticket: number): boolean {
  for (;;) {
    const last = Atomics.load(ctrl, word);
    if (!newer(ticket, last)) return false;
    if (Atomics.compareExchange(ctrl, word, last, ticket) === last) return true;
  }
}

/** Lowers FIRST_BAD to `index` if it is smaller. */
export function recordBad(ctrl: Int32Array, index: number): void {
  for (;;) {
    const first = Atomics.load(ctrl, CTRL.FIRST_BAD);
    if (first >= 0 && first <= index) return;
    if (Atomics.compareExchange(ctrl, CTRL.FIRST_BAD, first, index) === first) return;
  }
}

/** Whether every one of `count` shares has finished `phase` in this region (from the top: the far end finishes last). */
function allDone(ctrl: Int32Array, count: number, phase: number, ticket: number): boolean {
  const done = SHARE_WORDS.done[phase];
  for (let t = count - 1; t >= 0; t--) if (Atomics.load(ctrl, done[t]) !== ticket) return false;
  return true;
}

/**
 * The order in which thread `self` of `threads` tries the shares: its own range first, then
 * everyone else's from the last share down, so a thief starts where the owner of a range
 * comes last, and the two meet in the middle.
 */
export function claimOrder(self: number, threads: number, count: number): number[] {
  const per = Math.ceil(count / threads);
  const from = Math.min(count, self * per), to = Math.min(count, from + per);
  const order: number[] = [];
  for (let s = from; s < to; s++) order.push(s);
  for (let s = count - 1; s >= 0; s--) if (s < from || s >= to) order.push(s);
  return order;
}

/**
 * Runs every share of `phase` this thread can still claim, in `order`, of the region's
 * `shares` (a thread's order may leave some to the others). The thread that
 * completes the last share ends the phase: after the scans it runs the join (unless a scan
 * found a bad value) and opens the barrier; after the steps it ends the region. Returns
 * whether this thread ended the phase.
 */
export function runPhase(
  ctrl: Int32Array,
  st: ThreadState,
  order: readonly number[],
  shares: number,
  ticket: number,
  self: number,
  phase: number,
  task: ShareTask,
): boolean {
  const claims = SHARE_WORDS.claim[phase], done = SHARE_WORDS.done[phase];
  st.phase = phase;
  for (let i = 0; i < order.length; i++) {
    if (Atomics.load(ctrl, CTRL.STOP) !== 0) return false;
    const t = order[i];
    if (!claim(ctrl, claims[t], ticket)) continue;
    Atomics.store(ctrl, SHARE_WORDS.owner[t], self);
    st.holding = t;
    if (phase === 0) {
      const bad = task.scan(t);
      if (bad >= 0) recordBad(ctrl, bad);
    } else {
      task.step(t);
    }
    st.holding = -1;
    Atomics.store(ctrl, done[t], ticket);
    if (allDone(ctrl, shares, phase, ticket)) return endPhase(ctrl, ticket, phase, task);
  }
  return false;
}

/** The end of a phase, by a thread that saw every share done (two may: one wins). */
function endPhase(ctrl: Int32Array, ticket: number, phase: number, task: ShareTask): boolean {
  if (phase === 0) {
    if (!claim(ctrl, CTRL.JOINED, ticket)) return false;
    if (Atomics.load(ctrl, CTRL.FIRST_BAD) < 0) task.join();
    Atomics.store(ctrl, CTRL.SCANNED, ticket);
    Atomics.notify(ctrl, CTRL.SCANNED);
    return true;
  }
  if (!claim(ctrl, CTRL.STEPPED, ticket)) return false;
  Atomics.notify(ctrl, CTRL.STEPPED);
  return true;
}

/** After a bad scan: claims every step of the region, so that no late thread runs one. */
export function cancelSteps(ctrl: Int32Array, count: number, ticket: number): void {
  for (let t = 0; t < count; t++) claim(ctrl, SHARE_WORDS.claim[1][t], ticket);
}

/** A share of `phase` claimed in this region and not finished: [share, thread], or undefined. */
export function heldShare(ctrl: Int32Array, count: number, phase: number, ticket: number): [share: number, thread: number] | undefined {
  for (let t = 0; t < count; t++) {
    if (Atomics.load(ctrl, SHARE_WORDS.claim[phase][t]) === ticket && Atomics.load(ctrl, SHARE_WORDS.done[phase][t]) !== ticket) {
      return [t, Atomics.load(ctrl, SHARE_WORDS.owner[t])];
    }
  }
  return undefined;
}

/** A thread's failure as the fault lines hold it. */
export interface Fault {
  thread: number;
  /** The share it held, or −1. */
  share: number;
  phase: number;
  /** The slot of the job it ran (0 when it held no share). */
  job: number;
  text: string;
}

/**
 * Publishes this thread's failure (the first one wins, later ones are dropped) and wakes
 * whoever waits. Written before the thread goes, so a caller blocked at a barrier reads it
 * without events.
 */
export function publishFault(ctrl: Int32Array, self: number, st: ThreadState, text: string): void {
  if (Atomics.compareExchange(ctrl, CTRL.FAULT, 0, -1) === 0) {
    Atomics.store(ctrl, CTRL.FAULT_SHARE, st.holding);
    Atomics.store(ctrl, CTRL.FAULT_PHASE, st.phase);
    Atomics.store(ctrl, CTRL.FAULT_JOB, st.holding >= 0 ? st.job : 0);
    const length = Math.min(text.length, FAULT_CHARS);
    for (let i = 0; i < length; i++) Atomics.store(ctrl, CTRL.FAULT_TEXT + i, text.charCodeAt(i));
    Atomics.store(ctrl, CTRL.FAULT_LENGTH, length);
    Atomics.store(ctrl, CTRL.FAULT, self + 1);
  }
  wakeAll(ctrl);
}

/** The published failure, or undefined. */
export function readFault(ctrl: Int32Array): Fault | undefined {
  const who = Atomics.load(ctrl, CTRL.FAULT);
  if (who <= 0) return undefined;
  let text = "";
  const length = Atomics.load(ctrl, CTRL.FAULT_LENGTH);
  for (let i = 0; i < length; i++) text += String.fromCharCode(Atomics.load(ctrl, CTRL.FAULT_TEXT + i));
  return {
    thread: who - 1,
    share: Atomics.load(ctrl, CTRL.FAULT_SHARE),
    phase: Atomics.load(ctrl, CTRL.FAULT_PHASE),
    job: Atomics.load(ctrl, CTRL.FAULT_JOB),
    text,
  };
}

/**
 * Wakes workers 1 … `count` where asleep (after the opener's REGION or mail store: see the
 * worker line's ordering rule). Each sleeps on a word of its own line, so a step on k of
 * the pool's threads wakes exactly its k − 1 workers; an awake worker costs a load.
 */
export function wakeWorkers(ctrl: Int32Array, count: number): void {
  for (let k = 1; k <= count; k++) {
    if (Atomics.load(ctrl, WORKER_WORDS.asleep[k]) === 0) continue;
    Atomics.add(ctrl, WORKER_WORDS.wake[k], 1);
    Atomics.notify(ctrl, WORKER_WORDS.wake[k]);
  }
}

/** Wakes everyone who may wait on a word of the control block, so that they see STOP, mail or a fault. */
export function wakeAll(ctrl: Int32Array): void {
  wakeWorkers(ctrl, WORKER_WORDS.wake.length - 1);
  for (const word of [CTRL.SCANNED, CTRL.STEPPED, CTRL.EXITED]) Atomics.notify(ctrl, word);
}

/** Tells the workers to exit (STOP, then a bump of REGION), and wakes them. */
export function stopAll(ctrl: Int32Array): void {
  Atomics.store(ctrl, CTRL.STOP, 1);
  Atomics.store(ctrl, CTRL.REGION, nextTicket(Atomics.load(ctrl, CTRL.REGION), 0));
  wakeAll(ctrl);
}

/** Describes a thrown value in a line. */
export function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return `threw ${String(error)}`;
}

/**
 * Polls `done` for at most `ms`; its last answer. The clock is read every 64 polls: an
 * atomic load costs about a nanosecond, a clock read tens of them.
 */
export function spin(ms: number, done: () => boolean): boolean {
  let deadline = -1;
  for (let i = 1; ; i++) {
    if (done()) return true;
    if ((i & 63) === 0) {
      const now = performance.now();
      if (deadline < 0) deadline = now + ms;
      else if (now > deadline) return done();
    }
  }
}
