// The CommonJS entry of rmsprop-wasm/tfjs, in an ES-module package (the "require" condition of
// package.json "exports"). Node 20.19+, 22.12+ and 24 require() ES modules, so this hands
// back the ES module itself: the same instance `import` gives, with one kernel cache and
// one thread pool, never a second copy. Where Node cannot (older 20.x and 22.x, or
// --no-experimental-require-module), it says what to do instead of Node's generic error.
"use strict";
try {
  module.exports = require("../dist/tfjs/index.js");
} catch (error) {
  if (!error || error.code !== "ERR_REQUIRE_ESM") throw error;
  throw new Error(
    `rmsprop-wasm/tfjs is an ES module, and Node.js ${process.version} cannot require() ES modules here ` +
      "(Node 20.19+, 22.12+ and 24 can, unless started with --no-experimental-require-module). " +
      'From CommonJS, load it with: const { tfjsRmsprop } = await import("rmsprop-wasm/tfjs");',
    { cause: error },
  );
}
