// The matrix from a CommonJS file: a CommonJS user reaches this ESM-only package through
// import(), which must also start the worker threads.
(async () => {
  const { createRmsprop } = await import("rmsprop-wasm");
  const { runScenarios } = await import("./scenarios.mjs");
  console.log(JSON.stringify(await runScenarios(createRmsprop)));
})().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
