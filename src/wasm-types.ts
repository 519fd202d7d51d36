// The WebAssembly types the published declarations name. Only lib.dom declares the
// WebAssembly namespace, so a Node project compiled without it ("lib": ["ES2022"],
// "types": ["node"], skipLibCheck off) could not check a .d.ts that names
// WebAssembly.Memory. These aliases are the program's own WebAssembly types where its libs
// declare them, and otherwise the members this package uses.

type Global = typeof globalThis;

/** `WebAssembly.Memory` where the program's libs declare it; else the members used here. */
export type WasmMemory = Global extends { WebAssembly: { Memory: { prototype: infer M } } }
  ? M
  : { readonly buffer: ArrayBuffer | SharedArrayBuffer; grow(delta: number): number };

/** `WebAssembly.Module` where the program's libs declare it; else an opaque object. */
export type WasmModule = Global extends { WebAssembly: { Module: { prototype: infer M } } } ? M : object;
