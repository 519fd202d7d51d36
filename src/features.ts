// Feature detection the wasm-feature-detect way: a tiny hand-assembled module handed to
// WebAssembly.validate. Nothing is compiled or run.

// (module (func (result v128) i32.const 0 i8x16.splat))
const simdProbe = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, //       type section: () -> v128
  0x03, 0x02, 0x01, 0x00, //                         function section: one func of type 0
  0x0a, 0x08, 0x01, 0x06, 0x00, 0x41, 0x00, 0xfd, 0x0f, 0x0b, // code: i32.const 0; i8x16.splat; end
]);

let simd: boolean | undefined;

/** True where the engine validates 128-bit SIMD. */
export function hasSimd(): boolean {
  simd ??= typeof WebAssembly === "object" && WebAssembly.validate(simdProbe);
  return simd;
}
