// Starting one pool worker, wherever the package runs.
//
//   Node, Deno, Bun   node:worker_threads with the worker's bundled text (eval): nothing to
//                     resolve on disk, so it works from a bundle, a test runner or a single
//                     executable alike. Its code range is kept small: a new isolate reserves
//                     address space, and under a limit (ulimit -v) V8 aborts the process
//                     when it cannot, where a failed allocation is a RangeError.
//   browsers          a module worker from the package's own file, the form Vite, webpack 5,
//                     Parcel and esbuild users rely on, which a strict Content-Security-Policy
//                     (worker-src 'self') allows; where that file is not there (a bundler
//                     that does not copy it, such as esbuild), the bundled text from a Blob
//                     URL, which such a policy refuses.
//
// A worker that cannot start says why: the error of each way tried, with the CSP directive
// that refused it when the page reports one.
import { isNode } from "../features.ts";

/** The parts of a Node Worker or a Web Worker the pool uses. */
export interface AnyWorker {
  postMessage(message: unknown): void;
  terminate(): unknown;
}

/** The slice of node:worker_threads used here (typed locally: the browser build has no Node types). */
interface NodeWorker extends AnyWorker {
  unref(): void;
  on(event: "error" | "exit", listener: (value: unknown) => void): void;
}
type NodeWorkerModule = {
  Worker: new (source: string, options: { eval: true; resourceLimits?: { codeRangeSizeMb?: number } }) => NodeWorker;
};

/** A way to start a worker: its name in error messages, how, and what to say when it failed to load. */
export interface WorkerWay {
  readonly name: string;
  start(): Promise<AnyWorker>;
  /** Why the worker did not load, where the way can find out more than the error event says. */
  explain?(): Promise<string | undefined>;
}

/** Megabytes of code range a worker isolate reserves: its code is a few kilobytes of JS and one wasm module. */
const WORKER_CODE_RANGE_MB = 8;

/** The worker's bundled source (scripts/package-worker.mjs), loaded only where a way needs it. */
async function bundledSource(): Promise<string> {
  return (await import("../generated/pool-worker.ts")).poolWorkerSource;
}

const nodeWay: WorkerWay = {
  name: "a node:worker_threads worker",
  async start() {
    // A variable specifier keeps bundlers from resolving a Node built-in for the browser.
    const specifier = "node:worker_threads";
    const { Worker } = (await import(/* webpackIgnore: true */ /* @vite-ignore */ specifier)) as NodeWorkerModule;
    const worker = new Worker(await bundledSource(), { eval: true, resourceLimits: { codeRangeSizeMb: WORKER_CODE_RANGE_MB } });
    // Idle pool threads must not keep the process alive.
    worker.unref();
    return worker;
  },
};

const moduleWay: WorkerWay = {
  name: "the module worker",
  async start() {
    // The literal pattern bundlers look for: they emit the worker and rewrite the URL.
    return new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
  },
  async explain() {
    const url = new URL("./worker.js", import.meta.url);
    try {
      const response = await fetch(url, { method: "HEAD" });
      if (!response.ok) return `was not found at ${url.href} (HTTP ${response.status}): serve the package's dist/pool/worker.js there, or use a bundler that copies it (Vite, webpack 5, Parcel)`;
    } catch {
      // the fetch was refused too: the error event is all there is
    }
    return undefined;
  },
};

const blobWay: WorkerWay = {
  name: "the inline worker (a blob: URL)",
  async start() {
    const url = URL.createObjectURL(new Blob([await bundledSource()], { type: "text/javascript" }));
    try {
      return new Worker(url);
    } finally {
      URL.revokeObjectURL(url);
    }
  },
};

/** The ways to start a worker here, in the order to try them. */
export function workerWays(): readonly WorkerWay[] {
  return isNode ? [nodeWay] : [moduleWay, blobWay];
}

/**
 * Calls `lost` once if the worker fails to load or dies: an error event (a script that did
 * not load, a CSP refusal, an uncaught exception) or, in Node, its exit.
 */
export function watchWorker(worker: AnyWorker, lost: (why: string) => void): void {
  if (isNode) {
    const w = worker as NodeWorker;
    w.on("error", (e) => lost(`failed: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`));
    w.on("exit", (code) => lost(`exited with code ${String(code)}`));
    return;
  }
  (worker as Worker).addEventListener("error", (e) => {
    // A worker whose script did not load gets an event without a message.
    lost(e.message ? `failed: ${e.message}` : "failed to load (no details: a missing file, a network error or a Content-Security-Policy)");
  });
}

/**
 * Records the page's CSP violations while `run` goes on, so a refused worker can name the
 * directive that refused it (browsers report violations as events; elsewhere there are none).
 */
export async function withViolations<T>(run: (violations: () => string[]) => Promise<T>): Promise<T> {
  const seen: string[] = [];
  const target = globalThis as unknown as {
    addEventListener?: (type: string, l: (e: Event) => void) => void;
    removeEventListener?: (type: string, l: (e: Event) => void) => void;
  };
  const listener = (e: Event) => {
    const v = e as Event & { violatedDirective?: string; effectiveDirective?: string; blockedURI?: string; originalPolicy?: string };
    const directive = v.effectiveDirective ?? v.violatedDirective ?? "worker-src";
    seen.push(`the page's Content-Security-Policy (${directive}) does not allow ${v.blockedURI || "it"}: add blob: to ${directive}, or serve the package's dist/pool/worker.js from the page's origin`);
  };
  target.addEventListener?.("securitypolicyviolation", listener);
  try {
    return await run(() => seen);
  } finally {
    target.removeEventListener?.("securitypolicyviolation", listener);
  }
}
