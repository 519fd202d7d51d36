// Loaded only by an optimizer placed on an options.memory (src/create.ts imports it then).
//
// Which byte ranges of an `options.memory` the live optimizers occupy, so that a second
// optimizer placed over a first one is refused at creation instead of zeroing the first
// one's params (and, with threads, its StepArgs blocks) without a word.
//
// Two registries. This thread's optimizers are in a WeakMap per memory. A shared memory may
// also be used by other threads (workers it was posted to), which no object of this thread
// can see; there each optimizer also records a claim in the memory itself, in words of the
// header its layout reserves (CLAIM_WORDS, which the guard does not use):
//
//   word 2  MAGIC          word 4  size, in 64-byte units
//   word 3  token (≠ 0)    word 5  check: a hash of start, size and token
//   word 6  PENDING or COMMITTED
//
// A placement scans for claims that overlap its range, announces its own with
// compare-exchanges from the words it read (so it writes nothing anyone changed since),
// scans again, and commits only if it still sees no other claim. Atomics are sequentially
// consistent, so of two placements that overlap, at least one sees the other's claim in
// its second scan and refuses (in a true race, both may): two live optimizers never
// overlap. A refused placement puts back the words it wrote, unless someone wrote them
// since. Claims start on 64-byte boundaries, as offsets do; the scan reads one word per 64
// bytes of the range, and backwards from it up to the nearest committed claim (live
// claims are disjoint, so none before that one can reach the range).

import { isSharedBuffer } from "./features.ts";
import { CLAIM_WORDS } from "./pool-shape.ts";

const placed = new WeakMap<WebAssembly.Memory, Set<readonly [start: number, end: number]>>();

const MAGIC = 0x4d4c4352; // "RCLM"
const PENDING = 1;
const COMMITTED = 2;

/** A claim found in memory: its range and whether it is committed. */
interface Claim {
  start: number;
  end: number;
  token: number;
  committed: boolean;
}

const checkOf = (start: number, units: number, token: number) =>
  (Math.imul(start ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(units + token, 0xc2b2ae35) ^ 0x52534d50) | 0;

/** The claim that the five words `words` (magic, token, size, check, state) at byte `at` make, if any. */
function claimOf(at: number, [magic, token, units, check, state]: readonly number[]): Claim | undefined {
  if (magic !== MAGIC || token === 0 || units <= 0 || check !== checkOf(at, units, token)) return undefined;
  if (state !== PENDING && state !== COMMITTED) return undefined;
  return { start: at, end: at + 64 * units, token, committed: state === COMMITTED };
}

/** The claim at byte `at` (a multiple of 64) of the memory `i32` views, if one is there. */
function claimAt(i32: Int32Array, at: number): Claim | undefined {
  const w = at >>> 2;
  // The magic word first: a claim's other words are written before it.
  if (Atomics.load(i32, w + 2) !== MAGIC) return undefined;
  return claimOf(at, [MAGIC, Atomics.load(i32, w + 3), Atomics.load(i32, w + 4), Atomics.load(i32, w + 5), Atomics.load(i32, w + 6)]);
}

/** The first claim other than `own` that overlaps [start, end), or undefined. */
function overlapping(i32: Int32Array, start: number, end: number, own: number): Claim | undefined {
  const limit = Math.min(end, i32.length * 4 - 28);
  for (let at = start; at < limit; at += 64) {
    const c = claimAt(i32, at);
    if (c && c.token !== own) return c;
  }
  for (let at = start - 64; at >= 0; at -= 64) {
    const c = claimAt(i32, at);
    if (!c || c.token === own) continue;
    if (c.end > start) return c;
    if (c.committed) break;
  }
  return undefined;
}

function overlapError(start: number, end: number, s: number, e: number, elsewhere: boolean): RangeError {
  return new RangeError(
    `options.offset ${start}: this optimizer needs bytes ${start}–${end - 1} of options.memory, but another live ` +
      `optimizer holds bytes ${s}–${e - 1}${elsewhere ? " (one placed by another thread on this shared memory)" : ""}; ` +
      `place it at options.offset ${Math.ceil(e / 64) * 64} or later, or dispose() the other one first` +
      (elsewhere ? `. A claim left by a thread that ended without dispose() lives in bytes ${s + 8}–${s + 27}: zero them to free the range` : ""),
  );
}

/** Writes `want` over `had` at words `w + 2…`, each by compare-exchange; false (all put back) if any word changed. */
function exchange(i32: Int32Array, w: number, had: readonly number[], want: readonly number[]): boolean {
  // The MAGIC word last: a claim is visible only once its other words are there.
  const order = [1, 2, 3, 4, 0];
  for (let k = 0; k < order.length; k++) {
    const i = order[k];
    if (Atomics.compareExchange(i32, w + 2 + i, had[i], want[i]) !== had[i]) {
      for (let j = k - 1; j >= 0; j--) Atomics.compareExchange(i32, w + 2 + order[j], want[order[j]], had[order[j]]);
      return false;
    }
  }
  return true;
}

/** Claims [start, end) of a shared memory across threads, or throws; returns the release. */
function claimShared(memory: WebAssembly.Memory, start: number, end: number): () => void {
  const i32 = new Int32Array(memory.buffer);
  const found = overlapping(i32, start, end, 0);
  if (found) throw overlapError(start, end, found.start, found.end, true);
  const w = start >>> 2;
  const token = (Math.floor(Math.random() * 0xfffffffe) + 1) | 0;
  const units = Math.ceil((end - start) / 64);
  const had = Array.from({ length: 5 }, (_, i) => Atomics.load(i32, w + 2 + i));
  // A claim made here since the scan: the exchange below would replace it unseen.
  const there = claimOf(start, had);
  if (there) throw overlapError(start, end, there.start, there.end, true);
  const mine = [MAGIC, token, units, checkOf(start, units, token), PENDING];
  if (!exchange(i32, w, had, mine)) {
    throw new RangeError(`options.offset ${start}: bytes ${start + 8}–${start + 27} of options.memory changed while this optimizer claimed them (another thread writes there); nothing was placed`);
  }
  const racing = overlapping(i32, start, end, token);
  if (racing || Atomics.compareExchange(i32, w + 6, PENDING, COMMITTED) !== PENDING) {
    // Put back what was there, unless someone wrote it since.
    for (let i = 4; i >= 0; i--) Atomics.compareExchange(i32, w + 2 + i, mine[i], had[i]);
    if (racing) throw overlapError(start, end, racing.start, racing.end, true);
    throw new RangeError(`options.offset ${start}: another thread wrote this optimizer's claim while it was placed; nothing was placed`);
  }
  return () => {
    const words = new Int32Array(memory.buffer);
    if (Atomics.load(words, w + 3) !== token) return; // overwritten since: not ours to clear
    Atomics.compareExchange(words, w + 2, MAGIC, 0);
    for (let i = 3; i < 7; i++) Atomics.store(words, w + i, 0);
  };
}

/**
 * Reserves bytes [start, end) of `memory`, or throws a RangeError naming the optimizer
 * already there (placed by this thread or, on a shared memory, by any). Returns the
 * release, which dispose() calls.
 */
export function reservePlacement(memory: WebAssembly.Memory, start: number, end: number): () => void {
  let ranges = placed.get(memory);
  if (!ranges) placed.set(memory, (ranges = new Set()));
  for (const [s, e] of ranges) {
    if (start < e && s < end) throw overlapError(start, end, s, e, false);
  }
  const releaseClaim = isSharedBuffer(memory.buffer) ? claimShared(memory, start, end) : undefined;
  const range = [start, end] as const;
  ranges.add(range);
  return () => {
    ranges.delete(range);
    releaseClaim?.();
  };
}

/** Zeroes the `bytes` of an optimizer's header at byte `at`, all but its claim (someone else's memory may hold anything). */
export function clearHeader(buffer: ArrayBufferLike, at: number, bytes: number): void {
  new Uint8Array(buffer, at, 4 * CLAIM_WORDS[0]).fill(0);
  new Uint8Array(buffer, at + 4 * CLAIM_WORDS[1], bytes - 4 * CLAIM_WORDS[1]).fill(0);
}
