// Types for scenarios.mjs, which stays plain JavaScript so that every engine runs it as is.
import type { createRmsprop as Create } from "rmsprop-wasm";

export const variants: Record<string, Record<string, unknown>>;
export const lengths: number[];
export function sizeOf(variant: string, n: number): number;
export const runs: [backend: "simd" | "scalar" | "js", threads: number][];
export function caseKey(backend: string, threads: number, variant: string, n: number): string;
export function describeRuntime(): { runtime: string; version: string; engine: string; scope: string; crossOriginIsolated?: boolean };
export function runScenarios(createRmsprop: typeof Create): Promise<unknown>;
