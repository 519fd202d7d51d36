// npm run demo: serves the demo page and the built package on localhost, with the
// cross-origin isolation headers (COOP/COEP) that SharedArrayBuffer, and so threads, need.
//   node scripts/serve-demo.mjs [--port N] [--no-isolation]
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(fileURLToPath(new URL("..", import.meta.url)));
// Only what the page needs is served: the demo, the built package, the bench results.
const served = ["examples/demo/", "dist/", "bench/results/"];
const types = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".json": "application/json",
  ".wasm": "application/wasm",
  ".map": "application/json",
};

/**
 * Starts the server; resolves to { url, close }. Port 0 picks a free port. `mounts` maps
 * more URL prefixes ("bundle/") to folders: the tests serve their pages and builds this way.
 * `csp` is a Content-Security-Policy sent with every file; `hidden` lists paths answered
 * with 404 (a bundler that left a file behind).
 */
export function serveDemo({ port = 8080, isolation = true, mounts = {}, csp = undefined, hidden = [] } = {}) {
  const folders = [...served.map((prefix) => [prefix, join(root, prefix)]), ...Object.entries(mounts)];
  const server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? "/", "http://localhost").pathname)).replace(/^\/+/, "");
    if (path === "" || path === ".") {
      // The page's relative imports (demo.js, ../../dist/) resolve from its own folder.
      res.writeHead(302, { location: "/examples/demo/" }).end();
      return;
    }
    // Browsers ask every origin for /favicon.ico: answer with the demo's icon, never a 404.
    const file = path === "favicon.ico" ? "examples/demo/favicon.svg" : path.endsWith("/") ? `${path}index.html` : path;
    const folder = folders.find(([prefix]) => file.startsWith(prefix));
    if (file.includes("..") || !folder || hidden.includes(file)) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found");
      return;
    }
    try {
      const body = await readFile(join(folder[1], file.slice(folder[0].length)));
      const headers = { "content-type": types[extname(file)] ?? "application/octet-stream", "cache-control": "no-store" };
      if (csp) headers["content-security-policy"] = csp;
      if (isolation) {
        headers["cross-origin-opener-policy"] = "same-origin";
        headers["cross-origin-embedder-policy"] = "require-corp";
        headers["cross-origin-resource-policy"] = "same-origin";
      }
      res.writeHead(200, headers).end(body);
    } catch {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found");
    }
  });
  return new Promise((ready) => {
    server.listen(port, "127.0.0.1", () => {
      const { port: actual } = server.address();
      ready({ url: `http://127.0.0.1:${actual}/`, close: () => new Promise((done) => server.close(done)) });
    });
  });
}

const isMain = process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const arg = (name) => process.argv.indexOf(name);
  const port = arg("--port") > 0 ? Number(process.argv[arg("--port") + 1]) : Number(process.env.PORT ?? 8080);
  const isolation = arg("--no-isolation") < 0;
  const { url } = await serveDemo({ port, isolation });
  console.log(`rmsprop-wasm demo: ${url}${isolation ? " (cross-origin isolated: threads available)" : " (not isolated)"}`);
  console.log("Ctrl-C stops it.");
}
