// Worker threads, the pthreadpool way: one pool per process (ProcessPool), whose workers
// every threaded optimizer shares, each registering its memory, kernel and shares with the
// workers it uses as a job; and each step is ONE parallel region of that job. The caller
// bumps the region number once; the work is cut into a few shares per thread (SHARES_PER_THREAD), and every thread
// (the caller is thread 0) first scans shares of grads for NaN/±∞, meets the others at a
// barrier in memory, and, only if every share was finite, steps shares of every group. So
// "throw" and "skip" still change nothing when any gradient is bad, and a step costs one
// wake, not two. Or the step runs alone on the caller, when the threads have lately cost
// more than they saved (ThreadChoice, at the end of this file).
//
// Two parts, as in pthreadpool: the mechanism (threadProgram: spin, sleep, claim, barrier,
// faults) and the work of one share (shareWork: scan it, step it). The mechanism never
// looks inside a share; a share's work gets the kernel, the share's jobs, its index and the
// region, and may read and write the shared memories (see ShareContext).
//
// Shares are claimed, not owned: a thread runs its own range of shares first, then takes
// unclaimed shares of the others from the far end, where their owners come last. A worker
// still waking from its futex when the caller is done with its own range finds part of
// its range, or all of it, done by the caller. So a step is never much slower than on one
// thread, even when the workers slept through a long forward pass, and faster as soon as
// they wake. Which thread runs a share does not change its bits: the shares are fixed.
//
// Waiting threads spin for a bounded time (options.threadSpinMs) before they sleep on a futex
// (Atomics.wait): back-to-back steps find the workers awake, and an idle optimizer's
// workers are asleep within that time, costing no CPU (OpenMP's blocktime, XNNPACK's
// pthreadpool). No message crosses threads per step.
//
// The control block lives in a small shared buffer of the pool's own, out of reach of the
// optimizer's views (a write through opt.params.buffer cannot touch it). Hot words sit on
// cache lines of their own (docs/threads.md, "Design: many cores"):
//   line 0          REGION: the region number, bumped once per step; workers wait on it;
//                   TICKET: the region's job (which optimizer), written before REGION
//   line 32 + 2·64…  worker k: the mail posted to it and the mail it has read (it reads
//                   messages, job registrations, between regions, in its event loop),
//                   and whether it sleeps on REGION (or is about to)
//   line 1          STOP: non-zero tells workers to exit
//   line 2          SCANNED: the last region whose every scan is done (the barrier)
//   line 3          STEPPED: the last region whose every step is done (the end)
//   line 4          FIRST_BAD: the smallest non-finite index found in this region, or −1
//   line 6          EXITED: workers that saw STOP and left: each one's last write
//   lines 7–23      FAULT: the first failure of a thread, with its share and its text
//   line 32 + t     share t: its scan claim and done words, step claim and done words,
//                   and the thread that claimed it last
// A claim is a compare-exchange from an older region number to this one, so a worker that
// wakes late, still holding an old region number, can never claim work of a newer region.
// No counter is shared by all shares: a thread that finishes a share marks the share's
// own line, and only the thread that finds every share marked writes SCANNED or STEPPED.
//
// Nothing hangs: the caller waits in bounded slices, and a worker that fails (an
// exception, a trap, process.exit) writes what happened into the FAULT lines before it
// goes, so the blocked caller, which cannot receive a worker's error event, reads it there
// and throws. A worker that holds a share past STALL_MS is reported the same way. Either
// way the pool is stopped and the optimizer refuses further steps: the failed share may be
// half-written.

import { canBlock, isNode } from "./features.ts";
import { MAX_SHARES } from "./pool-shape.ts";

export { CONTROL_WORDS, shareCount } from "./pool-shape.ts";

/** Words of the pool's control block (see above), a page of its own memory. */
const POOL_WORDS = 16 * (32 + 2 * MAX_SHARES);

/**
 * Limits of the pool, in ms: how long a share may be held before its thread is reported as
 * stalled, and how long dispose() waits at most for the workers to leave. Tests lower them.
 */
export const poolLimits = { stallMs: 5000, exitWaitMs: 100 };

/**
 * The longest a browser window's main thread, which may not sleep, polls (ms) before it
 * yields to the event loop, whatever options.threadSpinMs says: a longer poll would be a
 * frozen page.
 */
export const SPIN_MS = 0.2;

/** A job: a kernel flags word and the byte offset of its StepArgs block. */
export type Job = readonly [flags: number, args: number];

/** A share of the scan: byte offset of its slice of grads, its length, its first index. */
export type ScanJob = readonly [ptr: number, n: number, base: number];

/**
 * A piece of a share's norm scan: `n` gradients at byte `ptr` (whole blocks of one unit),
 * their block sums to byte `out`, the byte offset of the gSign word whose magnitude is the
 * unit's gradient scale this step, and the index of the first gradient.
 */
export type NormPiece = readonly [ptr: number, n: number, out: number, scaleAt: number, base: number];

/** A unit's block sums: its first, how many, and its own clipNorm (or null). */
export type NormUnit = readonly [firstBlock: number, blocks: number, clipNorm: number | null];

/**
 * With clipNorm or globalClipNorm: the scan sums squared gradients instead of looking for
 * NaN/±∞ (a sum is finite exactly when its terms are), and each thread turns the sums into
 * clipping factors before it steps (src/executors.ts builds this; docs/recipe.md).
 */
export interface NormJobs {
  pieces: NormPiece[];
  /** Every unit, in order; step job j of a share is unit j's. */
  units: NormUnit[];
  /** Byte offset of the f64 block sums. */
  sums: number;
  globalClipNorm: number | null;
  /** Record a non-finite gradient (any nonFinite policy but "ignore"). */
  check: boolean;
}

/**
 * One share of every region, as plain data (it is posted to the workers): its slice of the
 * scan and its step jobs (one per unit), and the norm's pieces when the step clips by norm.
 */
export interface ShareJobs {
  scan: ScanJob;
  steps: Job[];
  norm?: NormJobs;
}

/** The kernel exports a thread runs (each thread instantiates its own). */
export interface Kernel {
  step(flags: number, args: number): void;
  first_nonfinite_f32(ptr: number, n: number): number;
  first_nonfinite_scaled_f32(ptr: number, n: number, scale: number): number;
  sum_squares_f32(ptr: number, n: number, scale: number, out: number): number;
}

/** What one share's work may use: its thread's kernel, the memories, and the verdict. */
export interface ShareContext {
  kernel: Kernel;
  /** The optimizer's memory (arrays and StepArgs blocks). */
  memory: WebAssembly.Memory;
  /** The pool's control block. */
  ctrl: Int32Array;
  /** Records a non-finite gradient at `index`: the region steps nothing. */
  recordBad(index: number): void;
}

/**
 * The work of one share, the part of a region that is not mechanism: scan share t's
 * gradients, step share t of every group. Like threadProgram, it is sent to the workers
 * as source text, so the same rules hold (self-contained, no named functions).
 */
function shareWork() {
  // The clipping factors of the last region this thread computed them for (every thread
  // computes the same f64 sums in the same order, so they agree bit for bit).
  let factorsRegion = -1;
  let factors: number[] = [];
  // Views of the memory for the gradient scales, remade only when its buffer changes.
  let scalesOf: ArrayBufferLike | undefined;
  let blockF32 = new Float32Array(0), blockU32 = new Uint32Array(0);
  return {
    scan(cx: ShareContext, jobs: ShareJobs, _t: number, _region: number): void {
      const norm = jobs.norm;
      if (!norm) {
        const scan = jobs.scan;
        const bad = cx.kernel.first_nonfinite_f32(scan[0], scan[1]);
        if (bad >= 0) cx.recordBad(scan[2] + bad);
        // A gradScale above 1 (|gSign|, word 10 of a unit's block) can overflow a finite
        // gradient to ±∞ in the step: scan this share's slice of such a unit scaled
        // (grads at word 1, n at word 5). Scales ≤ 1 cannot overflow.
        const buffer = cx.memory.buffer;
        if (buffer !== scalesOf) {
          scalesOf = buffer;
          blockF32 = new Float32Array(buffer);
          blockU32 = new Uint32Array(buffer);
        }
        for (let j = 0; j < jobs.steps.length; j++) {
          const w = jobs.steps[j][1] >>> 2;
          const scale = Math.abs(blockF32[w + 10]);
          if (!(scale > 1)) continue;
          const at = blockU32[w + 1];
          const k = cx.kernel.first_nonfinite_scaled_f32(at, blockU32[w + 5], scale);
          if (k >= 0) cx.recordBad(scan[2] + (at - scan[0]) / 4 + k);
        }
        return;
      }
      const f32 = new Float32Array(cx.memory.buffer);
      for (let i = 0; i < norm.pieces.length; i++) {
        const piece = norm.pieces[i];
        const scale = Math.abs(f32[piece[3] >>> 2]);
        const block = cx.kernel.sum_squares_f32(piece[0], piece[1], scale, piece[2]);
        if (block < 0 || !norm.check) continue;
        // The first gradient of that block (1024 = NORM_BLOCK) whose scaled value is not finite.
        const from = block * 1024, to = Math.min(piece[1], from + 1024), at = piece[0] >>> 2;
        for (let k = from; k < to; k++) {
          if (!Number.isFinite(Math.fround(f32[at + k] * scale))) {
            cx.recordBad(piece[4] + k);
            break;
          }
        }
      }
    },
    step(cx: ShareContext, jobs: ShareJobs, _t: number, region: number): void {
      const steps = jobs.steps;
      const norm = jobs.norm;
      if (norm) {
        const buffer = cx.memory.buffer;
        const f32 = new Float32Array(buffer), u32 = new Uint32Array(buffer);
        if (factorsRegion !== region) {
          // src/executors.ts's jointNorm and clipFactor, in the same order: each unit's
          // blocks in order, then the units in order; PyTorch's min(1, max/(norm + 1e-6)).
          const sums = new Float64Array(buffer, norm.sums, norm.units.length ? norm.units[norm.units.length - 1][0] + norm.units[norm.units.length - 1][1] : 0);
          const unitSums: number[] = [];
          let total = 0;
          for (let u = 0; u < norm.units.length; u++) {
            let sum = 0;
            for (let b = 0; b < norm.units[u][1]; b++) sum += sums[norm.units[u][0] + b];
            unitSums.push(sum);
            total += sum;
          }
          const g = norm.globalClipNorm;
          const global = g === null ? 1 : Math.fround(Math.min(1, g / (Math.sqrt(total) + 1e-6)));
          factors = [];
          for (let u = 0; u < norm.units.length; u++) {
            const max = norm.units[u][2];
            factors.push(max === null ? global : Math.fround(Math.min(1, max / (Math.sqrt(unitSums[u]) + 1e-6))));
          }
          factorsRegion = region;
        }
        // withClipFactor (src/step-scalars.ts) on the block itself: gSign is word 10, clipScale
        // word 19, the flags word 23; CLIP is 128.
        for (let j = 0; j < steps.length; j++) {
          const factor = factors[j];
          if (factor === 1) continue;
          const w = steps[j][1] >>> 2;
          const flags = u32[w + 23];
          if (Math.abs(f32[w + 10]) === 1 && (flags & 128) === 0) {
            f32[w + 10] = f32[w + 10] * factor;
          } else {
            f32[w + 19] = factor;
            u32[w + 23] = flags | 128;
          }
        }
      }
      for (let j = 0; j < steps.length; j++) cx.kernel.step(steps[j][0], steps[j][1]);
    },
  };
}

type Work = ReturnType<typeof shareWork>;

/**
 * The region's mechanism, written once and run by both sides: the caller calls it, and the
 * workers get its source text. So it must be self-contained (no outer names, which a
 * minifier would rename), use only syntax no bundler rewrites with helpers (no
 * destructuring, spread or `??` inside), and name no function (see `p`).
 * test/threads.test.ts runs it through esbuild.
 */
export function threadProgram(spinMs: number) {
  const LINE = 16;
  const REGION = 0, STOP = 16, SCANNED = 32, STEPPED = 48, FIRST_BAD = 64, EXITED = 96;
  // FAULT: 0, −1 while a thread writes its report, or the failed thread + 1.
  const FAULT = 112, FAULT_SHARE = 113, FAULT_PHASE = 114, FAULT_LENGTH = 115, FAULT_JOB = 116, FAULT_TEXT = 128, FAULT_CHARS = 256;
  // TICKET (a 64-bit word on REGION's line, words 2–3): the region and the job it runs,
  // written together before the region is opened, so a worker never pairs a region with
  // another region's job.
  const TICKET = 1; // in 64-bit words
  // The job of a region of no work: the workers go to sleep (see nap).
  const NAP = -1;
  // How long a worker polls at least for the others inside a region (ms; see meet).
  const REGION_SPIN_MS = 5;
  const SHARE = 512;
  // Words of share t's line: phase 0 is the scan, phase 1 the step.
  const CLAIM = [0, 2], DONE = [1, 3], OWNER = 4;
  // Worker k's line: [mail posted to it, mail it has read, asleep on REGION].
  const WORKER = SHARE + LINE * 64, ASLEEP = 2;

  // One object literal of methods, not named functions: esbuild's keepNames follows every
  // named function with a call to the bundle's `__name` helper, which the workers' copy of
  // this source does not have; a method's name is its key and needs none. Methods call
  // each other through `p`.
  const p = {
    REGION,
    NAP,
    STOP,
    SCANNED,
    STEPPED,
    FIRST_BAD,
    EXITED,
    FAULT,
    SHARE,
    LINE,
    CLAIM,
    DONE,
    OWNER,
    WORKER,
    ASLEEP,
    /** How long this thread polls before it sleeps (the job's threadSpinMs). */
    spinMs,
    /** The share this thread is working on, or −1, its phase and its job: what a fault report names. */
    holding: -1,
    phase: 0,
    job: 0,

    /**
     * The order in which thread `self` of `threads` tries the shares: its own range first,
     * then everyone else's from the last share down, so a thief starts where the owner of a
     * range will come last, and the two meet in the middle.
     */
    claimOrder(self: number, threads: number, count: number): number[] {
      const per = count / threads;
      const order: number[] = [];
      for (let s = self * per; s < (self + 1) * per; s++) order.push(s);
      for (let s = count - 1; s >= 0; s--) if (s < self * per || s >= (self + 1) * per) order.push(s);
      return order;
    },

    /**
     * Waits in a region until ctrl[word] (SCANNED or STEPPED) reaches it, or the region is
     * over (the pool stopped). It polls for the longer of spinMs and REGION_SPIN_MS: the
     * others' last shares take a while at a large n, and a thread asleep here must be
     * woken by the one that finishes (a system call), and then runs late. Then it sleeps.
     */
    meet(ctrl: Int32Array, word: number, region: number): void {
      const ms = p.spinMs;
      p.spinMs = Math.max(ms, REGION_SPIN_MS);
      for (;;) {
        if (Atomics.load(ctrl, word) === region || Atomics.load(ctrl, REGION) !== region) break;
        if (!p.spin(() => Atomics.load(ctrl, word) === region || Atomics.load(ctrl, REGION) !== region)) {
          const v = Atomics.load(ctrl, word);
          if (v !== region && Atomics.load(ctrl, REGION) === region) Atomics.wait(ctrl, word, v);
        }
      }
      p.spinMs = ms;
    },

    /** Polls `done` for at most spinMs; its last answer. */
    spin(done: () => boolean): boolean {
      // The clock is read every 64 polls: an atomic load costs about a nanosecond, a clock
      // read tens of them.
      let deadline = -1;
      for (let i = 1; ; i++) {
        if (done()) return true;
        if ((i & 63) === 0) {
          const now = performance.now();
          if (deadline < 0) deadline = now + p.spinMs;
          else if (now > deadline) return done();
        }
      }
    },

    /**
     * Moves ctrl[word] forward to `region` (claims a share, or marks a phase done); false
     * if it already was there or past it. Region numbers wrap: compare the difference.
     */
    claim(ctrl: Int32Array, word: number, region: number): boolean {
      for (;;) {
        const last = Atomics.load(ctrl, word);
        if (((region - last) | 0) <= 0) return false;
        if (Atomics.compareExchange(ctrl, word, last, region) === last) return true;
      }
    },

    /** Lowers FIRST_BAD to `index` if it is smaller. */
    recordBad(ctrl: Int32Array, index: number): void {
      for (;;) {
        const first = Atomics.load(ctrl, FIRST_BAD);
        if (first >= 0 && first <= index) return;
        if (Atomics.compareExchange(ctrl, FIRST_BAD, first, index) === first) return;
      }
    },

    /** Whether every share's `phase` is done for `region`. */
    allDone(ctrl: Int32Array, count: number, phase: number, region: number): boolean {
      for (let t = count - 1; t >= 0; t--) if (Atomics.load(ctrl, SHARE + LINE * t + DONE[phase]) !== region) return false;
      return true;
    },

    /**
     * Runs `phase` of every share this thread can claim, in its order, by calling
     * `work(t)`. The thread that completes the last share moves the phase's word (SCANNED
     * or STEPPED) to the region and wakes whoever waits on it.
     */
    runShares(ctrl: Int32Array, order: readonly number[], region: number, self: number, phase: number, work: (t: number) => void): void {
      const end = phase === 0 ? SCANNED : STEPPED;
      const count = order.length;
      p.phase = phase;
      for (let i = 0; i < count; i++) {
        if (Atomics.load(ctrl, STOP) !== 0) return;
        const t = order[i];
        const line = SHARE + LINE * t;
        if (!p.claim(ctrl, line + CLAIM[phase], region)) continue;
        Atomics.store(ctrl, line + OWNER, self);
        p.holding = t;
        work(t);
        p.holding = -1;
        Atomics.store(ctrl, line + DONE[phase], region);
        if (p.allDone(ctrl, count, phase, region) && p.claim(ctrl, end, region)) Atomics.notify(ctrl, end);
      }
    },

    /** After a bad scan: claims every step for the region, so no late worker can run one. */
    cancelSteps(ctrl: Int32Array, count: number, region: number): void {
      for (let t = 0; t < count; t++) p.claim(ctrl, SHARE + LINE * t + CLAIM[1], region);
    },

    /** The job of `region`, or 0 when the ticket is of another region (or no job's). */
    jobOf(ctrl: Int32Array, region: number): number {
      const ticket = Atomics.load(new BigInt64Array(ctrl.buffer, ctrl.byteOffset, 2), TICKET);
      return Number(ticket & BigInt(0xffffffff)) === region >>> 0 ? Number(ticket >> BigInt(32)) : 0;
    },

    /**
     * Opens the next region for `job` (0: none, only a wake for mail) to the workers that
     * are awake (spinning ones see it at once). Returns the region number. Waking sleeping
     * ones is the caller's choice (see `wake`): it costs the caller a system call.
     */
    open(ctrl: Int32Array, job: number): number {
      Atomics.store(ctrl, FIRST_BAD, -1);
      return p.bump(ctrl, job);
    },

    /**
     * Sends polling workers to sleep at once (a region of no work, job NAP), when any of
     * `workers` is awake: the caller runs a step alone, and they would only compete with it.
     */
    nap(ctrl: Int32Array, workers: readonly number[]): void {
      for (let i = 0; i < workers.length; i++) {
        if (Atomics.load(ctrl, WORKER + LINE * workers[i] + ASLEEP) === 0) {
          p.bump(ctrl, NAP);
          return;
        }
      }
    },

    /** Moves REGION on to a region of `job`, its ticket first. */
    bump(ctrl: Int32Array, job: number): number {
      const region = (Atomics.load(ctrl, REGION) + 1) | 0;
      const ticket = (BigInt(job) << BigInt(32)) | BigInt(region >>> 0);
      Atomics.store(new BigInt64Array(ctrl.buffer, ctrl.byteOffset, 2), TICKET, ticket);
      Atomics.store(ctrl, REGION, region);
      return region;
    },

    /**
     * Whether any of `workers` sleeps on the futex, or is about to: each marks itself before
     * it sleeps, and clears the mark when it wakes. Waking does not depend on it (every
     * threaded region wakes whoever waits); a NAP does (see nap), and tests.
     */
    sleeping(ctrl: Int32Array, workers: readonly number[]): boolean {
      for (let i = 0; i < workers.length; i++) if (Atomics.load(ctrl, WORKER + LINE * workers[i] + ASLEEP) !== 0) return true;
      return false;
    },

    /** Wakes the workers asleep on REGION. */
    wake(ctrl: Int32Array): void {
      Atomics.notify(ctrl, REGION);
    },

    /** Wakes everyone who may wait on a word, so that they see STOP or a fault. */
    wakeAll(ctrl: Int32Array): void {
      Atomics.notify(ctrl, REGION);
      Atomics.notify(ctrl, SCANNED);
      Atomics.notify(ctrl, STEPPED);
      Atomics.notify(ctrl, EXITED);
    },

    /** Tells the workers to exit, and wakes anyone waiting so that they see it. */
    stop(ctrl: Int32Array): void {
      Atomics.store(ctrl, STOP, 1);
      Atomics.add(ctrl, REGION, 1);
      p.wakeAll(ctrl);
    },

    /**
     * Publishes this thread's failure: the first one wins, later ones are dropped. Written
     * before the thread goes, so a caller blocked at the barrier reads it without events.
     */
    fault(ctrl: Int32Array, self: number, text: string): void {
      if (Atomics.compareExchange(ctrl, FAULT, 0, -1) === 0) {
        Atomics.store(ctrl, FAULT_SHARE, p.holding);
        Atomics.store(ctrl, FAULT_PHASE, p.phase);
        Atomics.store(ctrl, FAULT_JOB, p.holding >= 0 ? p.job : 0);
        const length = Math.min(text.length, FAULT_CHARS);
        for (let i = 0; i < length; i++) Atomics.store(ctrl, FAULT_TEXT + i, text.charCodeAt(i));
        Atomics.store(ctrl, FAULT_LENGTH, length);
        Atomics.store(ctrl, FAULT, self + 1);
      }
      p.wakeAll(ctrl);
    },

    /** The published failure: [thread, share (or −1), phase, text, job], or undefined. */
    faultOf(ctrl: Int32Array): [thread: number, share: number, phase: number, text: string, job: number] | undefined {
      const who = Atomics.load(ctrl, FAULT);
      if (who <= 0) return undefined;
      let text = "";
      const length = Atomics.load(ctrl, FAULT_LENGTH);
      for (let i = 0; i < length; i++) text += String.fromCharCode(Atomics.load(ctrl, FAULT_TEXT + i));
      return [who - 1, Atomics.load(ctrl, FAULT_SHARE), Atomics.load(ctrl, FAULT_PHASE), text, Atomics.load(ctrl, FAULT_JOB)];
    },

    /** A share of `phase` claimed for `region` and not done: [share, thread], or undefined. */
    held(ctrl: Int32Array, count: number, phase: number, region: number): [share: number, thread: number] | undefined {
      for (let t = 0; t < count; t++) {
        const line = SHARE + LINE * t;
        if (Atomics.load(ctrl, line + CLAIM[phase]) === region && Atomics.load(ctrl, line + DONE[phase]) !== region) {
          return [t, Atomics.load(ctrl, line + OWNER)];
        }
      }
      return undefined;
    },

    /** Describes a thrown value in a line. */
    describe(error: unknown): string {
      if (error instanceof Error) return error.name + ": " + error.message;
      return "threw " + String(error);
    },

    /**
     * A worker's loop: its part of every region of a job it holds (`jobs`, by id), until
     * STOP ("stop") or until mail waits for it ("mail": it returns to its event loop to read
     * it; `read` is how much it has read). A job is what one optimizer registered.
     */
    workerMain(ctrl: Int32Array, self: number, jobs: Map<number, WorkerJob>, read: number): string {
      const mail = WORKER + LINE * self;
      let seen = Atomics.load(ctrl, REGION);
      let region = seen;
      // A NAP region (a step the caller runs alone) sends this thread to sleep at once:
      // polling would only take a core from the caller and from other processes.
      let nap = false;
      try {
        for (;;) {
          // Mail is posted before REGION is bumped for it: a bump this thread missed (it
          // read `seen` after it) leaves the mail count changed, seen here.
          if (Atomics.load(ctrl, mail) !== read) return "mail";
          if (nap || !p.spin(() => Atomics.load(ctrl, REGION) !== seen || Atomics.load(ctrl, mail) !== read)) {
            Atomics.store(ctrl, mail + ASLEEP, 1);
            if (Atomics.load(ctrl, mail) === read) Atomics.wait(ctrl, REGION, seen);
            Atomics.store(ctrl, mail + ASLEEP, 0);
          }
          // REGION before STOP: stop() sets STOP before it bumps REGION, so a number read here
          // with STOP still 0 is one that open() gave out. The other way round, a worker delayed
          // between the two loads could take stop()'s bump for a region and claim its shares
          // (their words hold the last real region, an older one): without `check`, it would
          // step every share once more after dispose(), in a memory that may be the user's.
          region = Atomics.load(ctrl, REGION);
          if (Atomics.load(ctrl, STOP) !== 0) {
            // The last write: stop() waits for it.
            Atomics.add(ctrl, EXITED, 1);
            Atomics.notify(ctrl, EXITED);
            return "stop";
          }
          if (Atomics.load(ctrl, mail) !== read) return "mail";
          nap = false;
          if (region === seen) continue;
          seen = region;
          const id = p.jobOf(ctrl, region);
          if (id === NAP) {
            nap = true;
            continue;
          }
          const job = jobs.get(id);
          if (job === undefined) continue; // a wake for mail, or a job this thread has no part in
          p.spinMs = job.spinMs;
          p.job = job.id;
          const cx = job.cx;
          const shares = job.shares;
          const work = job.work;
          if (job.check) {
            // Arrows passed inline, never assigned to a name (see `p`).
            p.runShares(ctrl, job.order, region, self, 0, (t) => work.scan(cx, shares[t], t, region));
            p.meet(ctrl, SCANNED, region); // the barrier
            if (Atomics.load(ctrl, REGION) !== region || Atomics.load(ctrl, FIRST_BAD) >= 0) continue;
          }
          p.runShares(ctrl, job.order, region, self, 1, (t) => work.step(cx, shares[t], t, region));
          // The region's end: threadSpinMs counts from there, not from this thread's last share.
          p.meet(ctrl, STEPPED, region);
        }
      } catch (error) {
        // An exception or a trap (a RuntimeError) in this thread: report it and leave.
        p.fault(ctrl, self, p.describe(error));
        return "fault";
      }
    },
  };
  return p;
}

type Program = ReturnType<typeof threadProgram>;

/** What a worker keeps of a job (one optimizer): its kernel instance and its shares. */
interface WorkerJob {
  id: number;
  cx: ShareContext;
  shares: readonly ShareJobs[];
  order: readonly number[];
  check: boolean;
  spinMs: number;
  work: Work;
}

/**
 * A failure to inject into a worker, for tests: thread `thread` fails in the first share of
 * `phase` it claims in the job's `region`-th region or later. Set `testing.fault` before
 * creating the optimizer.
 */
export interface InjectedFault {
  thread: number;
  phase: "scan" | "step";
  region: number;
  kind: "throw" | "exit" | "trap" | "stall";
  /** How long a "stall" holds the share (ms). */
  ms?: number;
}

/**
 * Test hooks: a fault the next optimizer's job carries, and a fixed choice of every step
 * between the threads (true) and the caller alone (false) instead of ThreadChoice's.
 */
export const testing: { fault: InjectedFault | undefined; threads: boolean | undefined } = { fault: undefined, threads: undefined };

/**
 * The worker's source, so that it runs from a Blob URL in browsers and from `eval` in
 * Node, Deno and Bun: no file for the package to ship or a server to serve.
 */
const workerSource = `
"use strict";
const threadProgram = ${threadProgram.toString()};
const shareWork = ${shareWork.toString()};
// Node, Deno and Bun run this through node:worker_threads, browsers as a Web Worker. The
// source may be evaluated as a script or, when the parent was itself eval'd ESM (node
// --input-type=module -e), as a module without require: a dynamic import works in both.
const node = typeof process === "object" && typeof process.versions?.node === "string";
(node ? import("node:worker_threads").then((m) => m.parentPort) : Promise.resolve(self)).then((port) => {
  let program, ctrl, index = 0, read = 0, done = false;
  const jobs = new Map();
  // Between messages the worker lives in workerMain; it comes back here for its mail.
  const loop = () => {
    if (done || read !== Atomics.load(ctrl, program.WORKER + program.LINE * index)) return;
    const why = program.workerMain(ctrl, index, jobs, read);
    if (why === "stop" || why === "fault") {
      done = true;
      // The parent terminates the worker; a browser worker may also close itself (Node's
      // parentPort.close() is not in Deno's, and is not needed).
      if (!node) self.close();
    }
  };
  const handle = (m) => {
    if (m.type === "init") {
      program = threadProgram(m.spinMs);
      ctrl = new Int32Array(m.control, 0, ${POOL_WORDS});
      index = m.self;
      // process.exit() in a worker ends the thread, not the process: report it first,
      // unless the pool was stopped (then it is the parent ending the worker).
      if (node && typeof process.on === "function") {
        process.on("exit", (code) => {
          if (Atomics.load(ctrl, program.STOP) === 0) program.fault(ctrl, index, "exited (process.exit(" + code + "))");
        });
      }
    } else if (m.type === "register") {
      const kernel = new WebAssembly.Instance(m.module, { env: { memory: m.memory } }).exports;
      let work = shareWork();
      if (m.fault && m.fault.thread === index) work = injectFault(work, m.fault, Atomics.load(ctrl, program.REGION));
      jobs.set(m.id, {
        id: m.id,
        cx: { kernel, memory: m.memory, ctrl, recordBad: (i) => program.recordBad(ctrl, i) },
        shares: m.shares,
        order: program.claimOrder(index, m.threads, m.shares.length),
        check: m.check,
        spinMs: m.spinMs,
        work,
      });
    } else if (m.type === "exit") {
      process.exit(3); // test hook: a worker that dies between steps
    } else if (m.type === "unregister") {
      const job = jobs.get(m.id);
      jobs.delete(m.id);
      // The collector does not count a shared memory as the external memory it schedules
      // by: an untouched buffer of its size, dropped at once, is counted (src/placements.ts).
      if (job) try { new ArrayBuffer(job.cx.memory.buffer.byteLength); } catch {}
    }
    read++;
    Atomics.store(ctrl, program.WORKER + program.LINE * index + 1, read);
    Atomics.notify(ctrl, program.WORKER + program.LINE * index + 1);
    // Through the event loop, so that the collector's tasks run before the worker blocks.
    setTimeout(loop, 0);
  };
  if (node) port.on("message", handle);
  else self.onmessage = (e) => handle(e.data);
});
// Test hook: fails the first share of a phase claimed from the job's region on (see InjectedFault).
const injectFault = (work, fault, base) => {
  const wrap = (phase, run) => (cx, jobs, t, region) => {
    if (phase === fault.phase && ((region - base - fault.region) | 0) >= 0) {
      if (fault.kind === "throw") throw new Error("injected fault");
      if (fault.kind === "exit") process.exit(3);
      if (fault.kind === "trap") cx.kernel.first_nonfinite_f32(cx.memory.buffer.byteLength, 16);
      if (fault.kind === "stall") Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, fault.ms);
    }
    run(cx, jobs, t, region);
  };
  return { scan: wrap("scan", work.scan), step: wrap("step", work.step) };
};
`;

/** The parts of a Node Worker or a Web Worker this pool uses. */
interface AnyWorker {
  postMessage(message: unknown): void;
  terminate(): unknown;
}

/** The slice of node:worker_threads used here (typed locally: the browser build has no Node types). */
interface NodeWorker extends AnyWorker {
  unref(): void;
  on(event: "error" | "exit", listener: (value: unknown) => void): void;
}
type NodeWorkerModule = { Worker: new (source: string, options: { eval: true }) => NodeWorker };



/** Starts one worker thread (an isolate of its own); it runs once it answers its first message. */
async function spawnWorker(): Promise<AnyWorker> {
  if (isNode) {
    // A variable specifier keeps bundlers from resolving a Node built-in for the browser.
    const specifier = "node:worker_threads";
    const { Worker } = (await import(/* webpackIgnore: true */ /* @vite-ignore */ specifier)) as NodeWorkerModule;
    const worker = new Worker(workerSource, { eval: true });
    // Idle pool threads must not keep the process alive. The caller waits for each new
    // worker's answer to its first message (ProcessPool.grow), on a timer that does.
    worker.unref();
    return worker;
  }
  const url = URL.createObjectURL(new Blob([workerSource], { type: "text/javascript" }));
  const worker = new Worker(url);
  URL.revokeObjectURL(url);
  return worker;
}

/** Listens for a worker's death (an error event or an exit) once it runs. */
function watch(worker: AnyWorker, lost: (why: string) => void): void {
  if (isNode) {
    const w = worker as NodeWorker;
    w.on("error", (e) => lost(`failed: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`));
    w.on("exit", (code) => lost(`exited with code ${String(code)}`));
  } else {
    (worker as Worker).onerror = (e) => lost(`failed: ${e.message}`);
  }
}

/**
 * The memory of a pool's control block: a SharedArrayBuffer of a few KiB, or, where the
 * engine hides that constructor (WebKit does, even where a shared wasm memory works), the
 * buffer of a one-page shared WebAssembly.Memory. Not a wasm memory by choice: V8 reserves
 * about 10 GiB of address space for each, which an address-space limit may not allow.
 */
function controlBuffer(): SharedArrayBuffer {
  const Shared = (globalThis as { SharedArrayBuffer?: typeof SharedArrayBuffer }).SharedArrayBuffer;
  if (typeof Shared === "function") return new Shared(4 * POOL_WORDS);
  return new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }).buffer as unknown as SharedArrayBuffer;
}

/** What the user can do after a failure in a step's writes (the step phase). */
const RECOVER =
  "; this optimizer is unusable: the step may have been half-written. Restore a checkpoint into a new optimizer " +
  "(restoreRmsprop(bytes)), or create a new one";
/** ... and after a failure before any write (the scan, another optimizer's step, or between steps). */
const RECOVER_INTACT =
  "; this optimizer is unusable, but its params and state are intact (nothing of this step was written): " +
  "save() it and restore the checkpoint into a new optimizer (restoreRmsprop(bytes))";

const sleepMs = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The process's thread pool (pthreadpool's and ONNX Runtime's model: one pool that every
 * operator shares): one control block and up to a worker per core but the caller's, started
 * when an optimizer first needs them and kept, asleep, for the next. Each threaded optimizer
 * registers a job with the workers it uses (its memory, kernel and shares), and each of its
 * steps is a region of that job. A failure of any thread stops the pool: every optimizer on
 * it refuses further steps, and the next optimizer created starts a new pool.
 */
class ProcessPool {
  readonly buffer = controlBuffer();
  readonly ctrl = new Int32Array(this.buffer, 0, POOL_WORDS);
  readonly program: Program = threadProgram(0);
  readonly workers: AnyWorker[] = [];
  /** Workers being started: concurrent creations share them. */
  #growing: Promise<void> = Promise.resolve();
  broken: Error | undefined;
  stopped = false;
  #nextJob = 1;
  /** Regions of an awaiting caller run one at a time (a browser window's main thread). */
  queue: Promise<unknown> = Promise.resolve();

  newJob(): number {
    return this.#nextJob++;
  }

  /** Grows the pool to `count` workers, each started and initialised (thread k is worker k − 1). */
  grow(count: number): Promise<void> {
    // After the last growth, failed or not: a failure is its caller's, not the next one's.
    this.#growing = this.#growing.catch(() => undefined).then(async () => {
      const missing = count - this.workers.length;
      if (missing <= 0 || this.broken) return;
      const started = await Promise.allSettled(Array.from({ length: missing }, () => spawnWorker()));
      const failed = started.find((s): s is PromiseRejectedResult => s.status === "rejected");
      for (const s of started) if (s.status === "fulfilled") {
        const k = this.workers.push(s.value);
        watch(s.value, (why) => this.lose(k, why));
        this.post(k, { type: "init", control: this.buffer, self: k, spinMs: SPIN_MS });
      }
      if (failed) throw new Error(`rmsprop-wasm could not start its worker threads: ${String(failed.reason)}`, { cause: failed.reason });
      await this.acked(Array.from({ length: this.workers.length }, (_, i) => i + 1));
    });
    return this.#growing;
  }

  /** A worker died outside a region (its events arrive only when no step runs). */
  lose(k: number, why: string): void {
    if (this.stopped) return;
    this.broken ??= new Error(`rmsprop-wasm worker ${k} ${why} between steps${RECOVER_INTACT}`);
    this.stop();
  }

  /** Sends worker k a message; it reads it between regions (a mail bump wakes it). */
  post(k: number, message: unknown): void {
    this.workers[k - 1].postMessage(message);
    Atomics.add(this.ctrl, this.program.WORKER + this.program.LINE * k, 1);
  }

  /** Wakes the workers to read their mail, with a region of no job. */
  deliver(): void {
    // Not open(): a region of another optimizer may be in flight (an awaiting caller), and
    // its verdict must stay. It only loses the workers' help for the rest of it.
    this.program.bump(this.ctrl, 0);
    this.program.wakeAll(this.ctrl);
  }

  /** Waits until workers `ks` have read all their mail (bounded by stallMs). */
  async acked(ks: readonly number[]): Promise<void> {
    const { ctrl, program } = this;
    this.deliver();
    const since = performance.now();
    for (;;) {
      if (this.broken) throw this.broken;
      const waiting = ks.filter((k) => {
        const line = program.WORKER + program.LINE * k;
        return Atomics.load(ctrl, line + 1) !== Atomics.load(ctrl, line);
      });
      if (waiting.length === 0) return;
      if (performance.now() - since > poolLimits.stallMs) {
        throw new Error(`rmsprop-wasm worker ${waiting[0]} did not answer within ${poolLimits.stallMs} ms`);
      }
      await sleepMs(1);
    }
  }

  /** Ends the workers; bounded. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    const { ctrl, program } = this;
    program.stop(ctrl);
    const faulted = program.faultOf(ctrl);
    const live = this.workers.length - (faulted ? 1 : 0);
    const deadline = performance.now() + (canBlock() ? poolLimits.exitWaitMs : SPIN_MS);
    for (let v = Atomics.load(ctrl, program.EXITED); v < live; v = Atomics.load(ctrl, program.EXITED)) {
      const left = deadline - performance.now();
      if (left <= 0) break;
      if (canBlock()) Atomics.wait(ctrl, program.EXITED, v, left);
    }
    for (const w of this.workers) w.terminate();
    if (processPool === this) processPool = undefined;
  }
}

let processPool: ProcessPool | undefined;

/** The process's pool, a new one if there is none or the last one failed. */
function sharedPool(): ProcessPool {
  if (!processPool || processPool.broken || processPool.stopped) processPool = new ProcessPool();
  return processPool;
}

/**
 * Makes sure the process's pool has the workers for `threads` threads (the caller is one),
 * starting those it lacks: before the optimizer allocates its memory, so that where address
 * space is limited (ulimit -v) it is the allocation that fails, with a RangeError, and not a
 * new isolate's reservation of its code space, which V8 cannot survive (it aborts).
 */
export async function prepareThreads(threads: number): Promise<void> {
  await sharedPool().grow(threads - 1);
}

/** Test hook: worker k of the process's pool calls process.exit(3) between steps, as a crash would. */
export function exitWorkerForTests(k: number): void {
  processPool?.post(k, { type: "exit" });
  processPool?.deliver();
}

/** Workers of the process's pool asleep on the futex, or about to be (tests). */
export function sleepingWorkers(): number {
  const pool = processPool;
  if (!pool || pool.stopped) return 0;
  const { ctrl, program } = pool;
  return pool.workers.filter((_, i) => program.sleeping(ctrl, [i + 1])).length;
}

/** Worker threads the process's pool runs now (tests). */
export function poolWorkers(): number {
  return processPool && !processPool.stopped ? processPool.workers.length : 0;
}

export interface ThreadPool {
  /** Threads per region, the caller included. */
  readonly threads: number;
  /**
   * Runs one step: a region on the threads, or `ways.alone` on the caller (ThreadChoice).
   * With the pool's `check`, every share is scanned first and no share is stepped unless
   * all are finite. Returns the first non-finite index (nothing was written) or −1 (the
   * step was applied); a Promise of it where this thread may not block. Throws (or
   * rejects) when a thread failed or stalled, and on every later call.
   */
  run(ways: StepWays): number | Promise<number>;
  /** Leaves the pool: the workers drop this optimizer's kernel and memory. Returns at once. */
  dispose(): void;
}

/** The two ways a step can run, as the optimizer's executor provides them. */
export interface StepWays {
  /** Before a region: writes every share's StepArgs blocks. */
  share(): void;
  /** The whole step on the calling thread, as on one thread: the first bad index, or −1. */
  alone(): number;
}

/** How a pool runs: its thread count, whether a region scans first, how long threads poll. */
export interface PoolSettings {
  threads: number;
  /** Scan grads before each step (any nonFinite policy but "ignore"). */
  check: boolean;
  /** options.threadSpinMs. */
  spinMs: number;
}

/** The control block each live threaded optimizer runs on, by its memory and block offset (tests). */
const controlBlocks = new WeakMap<WebAssembly.Memory, Map<number, Int32Array>>();

/** The control block of the pool running the optimizer at `offset` of `memory` (tests). */
export function controlBlockOf(memory: WebAssembly.Memory, offset = 0): Int32Array | undefined {
  return controlBlocks.get(memory)?.get(offset);
}

/** Named words of the control block, for tests. */
export const CONTROL = (() => {
  const p = threadProgram(0);
  return { REGION: p.REGION, SHARE: p.SHARE, LINE: p.LINE, words: POOL_WORDS };
})();

/**
 * Runs an optimizer's steps on the process's pool (see prepareThreads): `threads` threads,
 * the caller as thread 0 and workers 1 … threads − 1, for `shareCount(threads)` shares. The
 * StepArgs blocks the shares point at must be written before each `run`. `own` is the
 * caller's instance of the kernel on `memory` (the workers make theirs from `module`).
 * `offset` is the optimizer's block in `memory` (it names the pool for tests).
 */
export async function startThreadPool(
  module: WebAssembly.Module,
  memory: WebAssembly.Memory,
  own: Kernel,
  offset: number,
  shares: ShareJobs[],
  { threads, check, spinMs }: PoolSettings,
): Promise<ThreadPool> {
  const pool = sharedPool();
  await pool.grow(threads - 1);
  const { ctrl } = pool;
  const blocking = canBlock();
  const program: Program = threadProgram(blocking ? spinMs : Math.min(spinMs, SPIN_MS));
  const count = shares.length;
  const work = shareWork();
  const cx: ShareContext = { kernel: own, memory, ctrl, recordBad: (i) => program.recordBad(ctrl, i) };
  const job = pool.newJob();
  const helpers = Array.from({ length: threads - 1 }, (_, i) => i + 1);
  const fault = testing.fault;
  for (const k of helpers) pool.post(k, { type: "register", id: job, module, memory, shares, threads, check, spinMs, fault });
  await pool.acked(helpers);
  let blocks = controlBlocks.get(memory);
  if (!blocks) controlBlocks.set(memory, (blocks = new Map()));
  blocks.set(offset, ctrl);
  /** This optimizer's own failure (its thread 0), once known. */
  let broken: Error | undefined;
  let left = false;
  const { SCANNED, STEPPED, STOP, FIRST_BAD } = program;
  const order = program.claimOrder(0, threads, count);

  /** Leaves the pool: unregisters the job, drops every reference to the memory. */
  const leave = () => {
    if (left) return;
    left = true;
    if (!pool.stopped) {
      for (const k of helpers) pool.post(k, { type: "unregister", id: job });
      // Delivered with the next region, or now if none runs (no region is in flight here:
      // dispose() refuses while a step runs).
      pool.deliver();
    }
    blocks.delete(offset);
    // A disposed optimizer that is still referenced holds none of this.
    cx.memory = undefined as unknown as WebAssembly.Memory;
    cx.kernel = undefined as unknown as Kernel;
    shares.length = 0;
  };

  /** The failure a thread published, as the Error this optimizer throws, or undefined. */
  const published = (): Error | undefined => {
    const f = program.faultOf(ctrl);
    if (!f) return undefined;
    const [thread, share, phase, text, faultJob] = f;
    if (faultJob !== job && share >= 0) {
      return new Error(`rmsprop-wasm worker ${thread} failed in another optimizer's step: ${text}; the thread pool is stopped${RECOVER_INTACT}`);
    }
    const where = share >= 0 ? ` while it ${phase === 0 ? "scanned" : "stepped"} share ${share}` : "";
    return new Error(`rmsprop-wasm worker ${thread} failed${where}: ${text}${share >= 0 && phase === 0 ? RECOVER_INTACT : share >= 0 ? RECOVER : RECOVER_INTACT}`);
  };
  /** Why the caller may not wait any longer for `word` to reach `region`, or undefined. */
  const stuck = (word: number, region: number, since: number): Error | undefined => {
    const f = published();
    if (f) return f;
    if (Atomics.load(ctrl, STOP) !== 0) return pool.broken ?? new Error("the thread pool was stopped");
    if (performance.now() - since < poolLimits.stallMs) return undefined;
    const phase = word === SCANNED ? 0 : 1;
    const held = program.held(ctrl, count, phase, region);
    const what = held ? `worker ${held[1]} has held share ${held[0]}` : "a share has been held";
    return new Error(
      `rmsprop-wasm ${what} of this step for over ${poolLimits.stallMs} ms without finishing it (a stalled or dead thread)` +
        (phase === 0 ? RECOVER_INTACT : RECOVER),
    );
  };

  const choice = new ThreadChoice();
  /**
   * One region, as a generator: it yields [word, region] where the caller must wait until
   * ctrl[word] reaches the region, so that a blocking and an awaiting driver run the same
   * body. Returns the first bad index, or −1. A step the caller runs alone (see
   * ThreadChoice) opens no region: it is the one-thread step, with the same bits, after a
   * NAP that sends polling workers to sleep.
   */
  function* region(ways: StepWays): Generator<[word: number, region: number], number, void> {
    const start = performance.now();
    if (!(testing.threads ?? choice.next())) {
      program.nap(ctrl, helpers);
      const bad = ways.alone();
      if (bad < 0) choice.stepped(performance.now() - start);
      return bad;
    }
    ways.share();
    const r = program.open(ctrl, job);
    // Always: a notify that finds nobody waiting costs tens of nanoseconds.
    program.wake(ctrl);
    if (check) {
      program.runShares(ctrl, order, r, 0, 0, (t) => work.scan(cx, shares[t], t, r));
      yield [SCANNED, r];
      const bad = Atomics.load(ctrl, FIRST_BAD);
      if (bad >= 0) {
        program.cancelSteps(ctrl, count, r);
        return bad;
      }
    }
    program.runShares(ctrl, order, r, 0, 1, (t) => work.step(cx, shares[t], t, r));
    yield [STEPPED, r];
    choice.stepped(performance.now() - start);
    return -1;
  }

  /** Blocks until ctrl[word] is `target`: spin, then sleep in bounded slices. */
  const block = (word: number, target: number): void => {
    const since = performance.now();
    for (let v = Atomics.load(ctrl, word); v !== target; v = Atomics.load(ctrl, word)) {
      const why = stuck(word, target, since);
      if (why) throw why;
      if (!program.spin(() => Atomics.load(ctrl, word) !== v || Atomics.load(ctrl, program.FAULT) > 0)) {
        Atomics.wait(ctrl, word, v, poolLimits.stallMs / 4);
      }
    }
  };

  // A browser window's main thread must not block: it runs what it can claim, polls for
  // SPIN_MS, and then awaits Atomics.waitAsync (or a timer where that is missing).
  const settle = async (word: number, target: number): Promise<void> => {
    const since = performance.now();
    for (let v = Atomics.load(ctrl, word); v !== target; v = Atomics.load(ctrl, word)) {
      const why = stuck(word, target, since);
      if (why) throw why;
      if (program.spin(() => Atomics.load(ctrl, word) !== v)) continue;
      const wait = (Atomics as { waitAsync?: (a: Int32Array, i: number, v: number, t: number) => { value: unknown } }).waitAsync;
      if (wait) await wait(ctrl, word, v, poolLimits.stallMs / 4).value;
      else await new Promise((resolve) => setTimeout(resolve, 0));
    }
  };

  /** Records a failure: the pool is stopped (a failed thread poisons it for every optimizer). */
  const failure = (error: unknown): Error => {
    if (!broken) {
      broken =
        error instanceof Error && error.message.startsWith("rmsprop-wasm")
          ? error
          : new Error(`rmsprop-wasm thread 0 (the caller) failed: ${program.describe(error)}${RECOVER}`, { cause: error });
      pool.broken ??= broken;
      pool.stop();
    }
    return broken;
  };

  /** Before a region: this optimizer's failure, the pool's, or a fault published since the last step. */
  const refusal = (): Error | undefined => {
    if (left) return new Error("the thread pool was stopped (the optimizer was disposed)");
    return broken ?? published() ?? pool.broken;
  };

  return {
    threads,
    run(ways) {
      const refused = refusal();
      if (refused) throw failure(refused);
      if (blocking) {
        const g = region(ways);
        try {
          for (let next = g.next(); ; next = g.next()) {
            if (next.done) return next.value;
            block(next.value[0], next.value[1]);
          }
        } catch (error) {
          throw failure(error);
        }
      }
      // The result is always a Promise here, even when the workers finished within the
      // polling: one return type per thread kind, as the optimizer's step() documents. Two
      // optimizers' regions run one after the other.
      const run = pool.queue.then(async () => {
        const again = refusal();
        if (again) throw failure(again);
        const g = region(ways);
        try {
          for (let next = g.next(); ; next = g.next()) {
            if (next.done) return next.value;
            await settle(next.value[0], next.value[1]);
          }
        } catch (error) {
          throw failure(error);
        }
      });
      pool.queue = run.catch(() => undefined);
      return run;
    },
    dispose: leave,
  };
}

/**
 * Whether a step runs on the pool's threads or on the caller alone, decided by what each
 * way has cost per step lately: the pthreadpool idea of a parallel region, with the choice
 * OpenMP leaves to the user made by measurement. Threads lose where their fixed costs
 * exceed the work they take: a wake is a futex system call for the caller, tens of
 * microseconds to a fraction of a millisecond on a virtual machine, and as long again
 * before the worker runs; and on a machine whose other cores are busy (another process),
 * a worker that polls for work takes a core's time slices from the caller, and a worker
 * preempted while it holds a share makes the step wait for it. A step alone is the
 * one-thread step; a NAP before it sends polling workers to sleep at once, so that they
 * stop competing.
 *
 * The choice holds for an episode, and each episode is scored by its mean time per step:
 * EPISODE steps (FIRST_EPISODES for the first two of each way, which only learn what it
 * costs). A threaded step that finds the workers asleep wakes them, and its episode
 * counts that wake with the steps it buys (the back-to-back steps after it), so a wake is
 * judged by all of them, not by the one step it slows. Each way keeps a moving average of its scores, and the
 * faster one is taken. The other is tried again after EXPLORE choices at the least (after
 * 2, 4 and 8 at first, so that a choice made on the first few scores is soon checked; its
 * score then replaces that way's average, which is as old as the last try), so the
 * choice follows the machine's load; a try stops once it has cost half an episode more
 * than the faster way would have, and the next try waits until the steps since have taken
 * 1/TRY_SHARE times what the last one lost, so tries cost about TRY_SHARE of the time.
 */
export class ThreadChoice {
  static readonly EXPLORE = 16;
  static readonly TRY_SHARE = 0.02;
  static readonly EPISODE = 8;
  static readonly FIRST_EPISODES = 2;
  /**
   * A score counts at most this many times the average it joins (a GC pause, a worker
   * preempted in a share), so that one slow episode does not turn the choice; a lasting
   * change still moves the average a quarter of the way per episode.
   */
  static readonly OUTLIER = 2;
  #ms: [alone: number, threads: number] = [-1, -1];
  #samples: [alone: number, threads: number] = [0, 0];
  /**
   * Choices until the slower way may be tried again, and step time (ms) until it may. The
   * first tries come sooner (after 2, 4, 8 choices): a choice made on the few scores of the
   * first steps (a worker's first wake, a cold JIT) is soon checked.
   */
  #untilTry = 2;
  #tryEvery = 2;
  #waitMs = 0;

  /** The choice in force, whether it tries the slower way, and its steps so far (none yet: 0 steps). */
  #episode = { threads: false, trying: false, ms: 0, steps: 0 };

  /**
   * Before a step: true to run it on the threads, false to run it alone. Ends the episode
   * in force when it is due, scores it, and makes the next choice.
   */
  next(): boolean {
    const e = this.#episode;
    if (!this.#due()) return e.threads;
    if (e.steps > 0) this.#score();
    e.threads = this.choose();
    e.trying = this.#samples[0] >= 2 && e.threads !== this.threadsFaster;
    e.ms = 0;
    e.steps = 0;
    return e.threads;
  }

  /** A step under the choice in force took `ms`. */
  stepped(ms: number): void {
    this.#episode.ms += ms;
    this.#episode.steps++;
    this.#waitMs -= ms;
  }

  #due(): boolean {
    const e = this.#episode;
    // The first two episodes of each way, which only learn what it costs, are short.
    const length = this.#samples[e.threads ? 1 : 0] < 2 ? ThreadChoice.FIRST_EPISODES : ThreadChoice.EPISODE;
    if (e.steps === 0 || e.steps >= length) return true;
    if (!e.trying) return false;
    // A try of the slower way stops once it has cost half an episode more than the faster.
    const best = this.#ms[e.threads ? 0 : 1];
    return e.ms - e.steps * best > (ThreadChoice.EPISODE / 2) * best;
  }

  #score(): void {
    const e = this.#episode;
    const ms = e.ms / e.steps;
    // What a try lost sets the wait for the next one; a try that wins sets none.
    if (e.trying) this.#waitMs = Math.max(0, e.ms - e.steps * this.#ms[e.threads ? 0 : 1]) / ThreadChoice.TRY_SHARE;
    // A try replaces the average of its way, which is as old as the last try.
    this.record(e.threads, ms, e.trying);
  }

  /** Whether threads have cost less per step than the caller alone, lately. */
  get threadsFaster(): boolean {
    return this.#ms[1] <= this.#ms[0];
  }

  /** True: threads. Each way is tried first, twice (see `record`). */
  choose(): boolean {
    const [alone, threads] = this.#samples;
    if (threads < 2) return true;
    if (alone < 2) return false;
    const faster = this.threadsFaster;
    if (--this.#untilTry > 0 || this.#waitMs > 0) return faster;
    this.#tryEvery = Math.min(2 * this.#tryEvery, ThreadChoice.EXPLORE);
    this.#untilTry = this.#tryEvery;
    return !faster;
  }

  record(threads: boolean, ms: number, fresh = false): void {
    const i = threads ? 1 : 0;
    const n = ++this.#samples[i];
    // The first score of each way is replaced by the second: it pays for a cold JIT.
    if (n <= 2 || fresh) this.#ms[i] = ms;
    else this.#ms[i] = 0.75 * this.#ms[i] + 0.25 * Math.min(ms, ThreadChoice.OUTLIER * this.#ms[i]);
  }
}
