// The guard: the words the layout reserves at the start of every optimizer's block
// (CONTROL_WORDS, before the StepArgs blocks) hold a fixed pattern, checked before each
// step. The classic mistake, `new Float32Array(opt.params.buffer).set(weights)` instead of
// `opt.params.set(weights)`, writes from byte 0 of the memory: over this header first,
// then over params at the wrong indices. The guard turns that silent misplacement into an
// error at the next step. It costs a few loads per step.
import { CLAIM_WORDS, CONTROL_WORDS } from "./pool-shape.ts";

/** The pattern of word i: no float a program writes by accident, and different per word. */
function pattern(i: number): number {
  return (0x524d5350 ^ Math.imul(i + 1, 0x9e3779b9)) >>> 0;
}

/** Words checked before each step: the first two (any write from byte 0 hits them) and every 8th (never a claim word). */
const CHECKED = Uint16Array.from({ length: CONTROL_WORDS }, (_, i) => i).filter((i) => i < 2 || i % 8 === 0);
/**
 * Their patterns, made once: the check runs before every step, cold in a training loop
 * (every call there costs), so it makes no call per word.
 */
const EXPECTED = Uint32Array.from(CHECKED, pattern);

/** Whether word i holds the optimizer's claim on a shared memory (src/placements.ts), not the guard. */
const isClaim = (i: number) => i >= CLAIM_WORDS[0] && i < CLAIM_WORDS[1];

/** Writes the guard at byte `at` (the block's start) of `buffer`, around the placement's claim. */
export function armGuard(buffer: ArrayBufferLike, at: number): void {
  const words = new Uint32Array(buffer, at, CONTROL_WORDS);
  for (let i = 0; i < CONTROL_WORDS; i++) if (!isClaim(i)) words[i] = pattern(i);
}


/**
 * Throws when the guard at byte `at` of the memory `u32` views was overwritten. The guard
 * is not rewritten: every later step throws too, since params may hold misplaced values.
 */
export function checkGuard(u32: Uint32Array, at: number): void {
  const w = at >>> 2;
  for (let k = 0; k < CHECKED.length; k++) {
    const i = CHECKED[k];
    if (u32[w + i] !== EXPECTED[k]) {
      throw new Error(
        `bytes ${at}–${at + 4 * CONTROL_WORDS - 1} of opt.params.buffer, which belong to the optimizer, were ` +
          `overwritten (byte ${at + 4 * i} first): write parameters through opt.params (opt.params.set(weights)), ` +
          "not through opt.params.buffer, where params start at opt.params.byteOffset. params may now hold values at " +
          "the wrong indices, so this optimizer refuses to step: restore a checkpoint into a new optimizer " +
          "(restoreRmsprop(bytes)) or create a new one",
      );
    }
  }
}
