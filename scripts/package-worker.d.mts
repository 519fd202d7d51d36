// Types of scripts/package-worker.mjs, for the test that checks its output is fresh.
export declare const WORKER_ENTRY: string;
export declare const WORKER_MODULE: string;
/** The worker bundled into one script. */
export declare function bundleWorker(): Promise<string>;
/** The generated module's source for the bundled worker text. */
export declare function workerModule(text: string): string;
