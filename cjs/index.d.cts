// Types of the CommonJS entry (cjs/index.cjs): the ES module's, which require() returns.
export * from "../dist/index.js";
