// A worker's life between messages: wait for a region (spin, then sleep on the futex), run
// its part of it, and go back to waiting, until mail arrives (it returns to its event loop
// to read it), the pool stops, or it fails (it publishes the fault and leaves).
//
// Waiting is spin-then-sleep, as in pthreadpool and OpenMP: after a region a worker polls
// REGION for the job's threadSpinMs, so back-to-back steps find it awake, and then sleeps
// on Atomics.wait, costing no CPU. When the opener has published a cadence (steps that
// come a regular gap after the last one ended, as in a training loop), a sleeping worker
// sets a timer to wake a little before the next step is due and polls briefly around it:
// the step then finds it awake, and the caller saves the system call that wakes a sleeper
// (tens of microseconds on a virtual machine) and the sleeper's own wake-up.
import { clockUs, prewake } from "./cadence.ts";
import { CTRL, WORKER_WORDS } from "./control-block.ts";
import { describe, NAP_SLOT, publishFault, runPhase, slotOf, spin, type ShareTask, type ThreadState } from "./region.ts";
import { trace, TRACE } from "./trace.ts";

/** What a worker keeps of a job (one optimizer): its task and how to run it. */
export interface WorkerJob {
  slot: number;
  task: ShareTask;
  /** This thread's claim order over the job's shares. */
  order: readonly number[];
  /** Whether its regions scan before they step. */
  scans: boolean;
  /** options.threadSpinMs. */
  spinMs: number;
}

/**
 * How long a worker polls inside a region for the others' last shares before it sleeps
 * (ms): at a large n a share takes about a millisecond, and a worker asleep at the end of
 * the region would have to be woken for the next one.
 */
export const REGION_SPIN_MS = 5;

/** Why workerMain returned. */
export type WorkerExit = "mail" | "stop" | "fault";

/** A worker's state across regions. */
export interface WorkerState extends ThreadState {
  /** The job's threadSpinMs of the last region it ran. */
  spinMs: number;
  /** The pool clock's epoch (src/pool/cadence.ts). */
  epoch: number;
  /** When (µs on the pool clock) this worker last saw a region end; undefined before the first. */
  ranUntil: number | undefined;
  /** How late its timed waits end (ms, nine in ten at most this late): it wakes that much earlier. */
  lateMs: number;
}

export const newWorkerState = (spinMs: number, epoch: number): WorkerState => ({ holding: -1, phase: 0, job: 0, spinMs, epoch, ranUntil: undefined, lateMs: 0.05 });

/**
 * Worker `self`'s loop: its part of every region of a job it holds (`jobs`, by slot), until
 * the pool stops or mail waits for it (`read`: the messages it has read so far).
 */
export function workerMain(ctrl: Int32Array, self: number, jobs: ReadonlyMap<number, WorkerJob>, read: number, st: WorkerState): WorkerExit {
  const mail = WORKER_WORDS.mailPosted[self];
  let seen = Atomics.load(ctrl, CTRL.REGION);
  // A NAP region (a step the caller runs alone) sends this thread to sleep at once:
  // polling would only take a core from the caller and from other processes.
  let nap = false;
  try {
    for (;;) {
      // Mail is posted before REGION is bumped for it: a bump this thread missed (it read
      // `seen` after it) leaves the mail count changed, seen here.
      if (Atomics.load(ctrl, mail) !== read) return "mail";
      let slept = 0;
      if (nap || !spin(st.spinMs, () => Atomics.load(ctrl, CTRL.REGION) !== seen || Atomics.load(ctrl, mail) !== read)) {
        sleep(ctrl, self, seen, read, st);
        slept = 1;
      }
      // REGION before STOP: stopAll() sets STOP before it bumps REGION, so a ticket read
      // here with STOP still 0 is one that open() gave out.
      const ticket = Atomics.load(ctrl, CTRL.REGION);
      if (Atomics.load(ctrl, CTRL.STOP) !== 0) {
        Atomics.add(ctrl, CTRL.EXITED, 1); // the last write: stop() waits for it
        Atomics.notify(ctrl, CTRL.EXITED);
        return "stop";
      }
      if (Atomics.load(ctrl, mail) !== read) return "mail";
      nap = false;
      if (ticket === seen) continue;
      seen = ticket;
      const slot = slotOf(ticket);
      if (slot === NAP_SLOT) {
        nap = true;
        continue;
      }
      const job = jobs.get(slot);
      if (job === undefined) continue;
      trace(self, TRACE.seen, slept);
      runRegion(ctrl, self, job, ticket, st);
    }
  } catch (error) {
    // An exception or a trap (a RuntimeError) in this thread: report it and leave.
    publishFault(ctrl, self, st, describe(error));
    return "fault";
  }
}

/** This worker's part of region `ticket` of `job`. */
function runRegion(ctrl: Int32Array, self: number, job: WorkerJob, ticket: number, st: WorkerState): void {
  st.spinMs = job.spinMs;
  st.job = job.slot;
  if (job.scans) {
    runPhase(ctrl, st, job.order, job.order.length, ticket, self, 0, job.task);
    trace(self, TRACE.wait, 0);
    if (!meet(ctrl, CTRL.SCANNED, ticket, st.spinMs, true) || Atomics.load(ctrl, CTRL.FIRST_BAD) >= 0) return;
    trace(self, TRACE.met, 0);
  }
  runPhase(ctrl, st, job.order, job.order.length, ticket, self, 1, job.task);
  // Polled to the region's end, so threadSpinMs counts from there.
  meet(ctrl, CTRL.STEPPED, ticket, st.spinMs, false);
  st.ranUntil = clockUs(st.epoch);
}

/**
 * Waits in region `ticket` until ctrl[word] reaches it: polls for the longer of spinMs and
 * REGION_SPIN_MS, then sleeps on the word if `sleep` (the barrier, which this thread must
 * pass), or gives up (the end, which it only polls for). False when the region ended
 * otherwise (the pool stopped) or this thread gave up.
 */
function meet(ctrl: Int32Array, word: number, ticket: number, spinMs: number, sleep: boolean): boolean {
  const reached = () => Atomics.load(ctrl, word) === ticket || Atomics.load(ctrl, CTRL.REGION) !== ticket;
  for (;;) {
    if (spin(Math.max(spinMs, REGION_SPIN_MS), reached) || !sleep) break;
    const v = Atomics.load(ctrl, word);
    if (v !== ticket && Atomics.load(ctrl, CTRL.REGION) === ticket) Atomics.wait(ctrl, word, v);
  }
  return Atomics.load(ctrl, word) === ticket;
}

/**
 * Sleeps on REGION until it moves past `seen` or mail arrives. Where the opener publishes a
 * cadence, it sleeps only until the polling window before the next step opens, polls
 * through it, and sleeps on if nothing came.
 */
function sleep(ctrl: Int32Array, self: number, seen: number, read: number, st: WorkerState): void {
  const asleep = WORKER_WORDS.asleep[self], wake = WORKER_WORDS.wake[self];
  const moved = () => Atomics.load(ctrl, CTRL.REGION) !== seen || Atomics.load(ctrl, WORKER_WORDS.mailPosted[self]) !== read;
  for (;;) {
    // After a NAP too: it ends the polling, not the cadence (the opener has published when
    // the step it runs alone should end).
    const plan = prewake(ctrl, st.epoch, st.ranUntil);
    // ASLEEP before the last look at REGION and the mail (the worker line's ordering rule).
    Atomics.store(ctrl, asleep, 1);
    const w = Atomics.load(ctrl, wake);
    if (moved()) break;
    trace(self, TRACE.sleep, plan === undefined ? -1 : 1000 * plan.sleepMs);
    if (plan === undefined) {
      Atomics.wait(ctrl, wake, w);
      break;
    }
    // No window: the step is overdue. Look again later whether another has ended since.
    if (plan.windowMs === 0) {
      if (Atomics.wait(ctrl, wake, w, plan.sleepMs) !== "timed-out") break;
      continue;
    }
    // A timed wait ends late (the kernel's timer slack, then the wait for a core): wake that
    // much earlier, and poll that much longer, so the window is where it was planned.
    const early = st.lateMs;
    const sleepMs = plan.sleepMs - early;
    if (sleepMs > 0) {
      const due = performance.now() + sleepMs;
      if (Atomics.wait(ctrl, wake, w, sleepMs) !== "timed-out") break;
      const late = performance.now() - due;
      // Rests where one wake in ten is later than it (the same approximation as the cadence's lead).
      st.lateMs = Math.max(0, st.lateMs + (late > st.lateMs ? 0.9 : -0.1) * Math.max(0.005, st.lateMs / 4));
    }
    Atomics.store(ctrl, asleep, 0);
    trace(self, TRACE.window, 1000 * (plan.windowMs + early));
    if (spin(plan.windowMs + early, moved)) return;
    // Nothing came in the window: follow the cadence from the step that ended last.
  }
  Atomics.store(ctrl, asleep, 0);
}
