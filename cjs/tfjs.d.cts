// Types of the CommonJS entry (cjs/tfjs.cjs): the ES module's, which require() returns.
export * from "../dist/tfjs/index.js";
