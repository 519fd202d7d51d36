// WebKitGTK, the engine of Safari, through Debian's WebKitWebDriver: plain W3C WebDriver
// over HTTP, so a few fetch calls drive it. The driver starts MiniBrowser, a GTK window that
// needs an X display; an Xvfb of our own gives it one. scripts/install-test-deps.sh
// installs both (webkit2gtk-driver, xvfb).
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import type { Readable } from "node:stream";
import { systemBinary } from "./system-binary.ts";

/** Starts Xvfb on the first free display; resolves to the display number. */
function startXvfb(): Promise<{ display: string; process: ChildProcess }> {
  const xvfb = spawn("Xvfb", ["-displayfd", "3", "-screen", "0", "1280x1024x24", "-nolisten", "tcp"], {
    stdio: ["ignore", "ignore", "pipe", "pipe"],
  });
  let stderr = "";
  xvfb.stderr!.on("data", (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    (xvfb.stdio[3] as Readable).once("data", (chunk) => resolve({ display: `:${String(chunk).trim()}`, process: xvfb }));
    xvfb.once("exit", (code) => reject(new Error(`Xvfb exited (${code}) before it gave a display: ${stderr}`)));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.once("error", reject);
  });
}

export interface WebKitSession {
  /** MiniBrowser's WebKitGTK version, as the driver reports it. */
  readonly version: string;
  navigate(url: string): Promise<void>;
  /** Runs `body` as an async function in the page and returns its (JSON) value. */
  evaluate<T>(body: string): Promise<T>;
  close(): Promise<void>;
}

/**
 * Starts Xvfb, WebKitWebDriver and a MiniBrowser session. WebKitGTK ships with
 * SharedArrayBuffer turned off; `sharedArrayBuffer: true` turns it on through
 * JavaScriptCore's option (JSC_useSharedArrayBuffer), as Safari has it on isolated pages.
 */
export async function launchWebKit({ sharedArrayBuffer = false } = {}): Promise<WebKitSession> {
  const driverBinary = systemBinary(["WebKitWebDriver"], "webkit2gtk-driver package");
  systemBinary(["Xvfb"], "xvfb package");
  const xvfb = await startXvfb();
  const port = await freePort();
  const driver = spawn(driverBinary, [`--port=${port}`], {
    env: { ...process.env, DISPLAY: xvfb.display, JSC_useSharedArrayBuffer: sharedArrayBuffer ? "1" : "0" },
    stdio: "ignore",
  });
  const stop = () => {
    driver.kill();
    xvfb.process.kill();
  };
  const base = `http://127.0.0.1:${port}`;
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const response = await fetch(base + path, {
      method,
      headers: { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const { value } = (await response.json()) as { value: T & { error?: string; message?: string } };
    if (!response.ok) throw new Error(`WebDriver ${method} ${path}: ${value.error}: ${value.message}`);
    return value;
  };
  try {
    for (let tries = 0; ; tries++) {
      try {
        await call("GET", "/status");
        break;
      } catch (error) {
        if (tries > 100) throw new Error(`WebKitWebDriver did not answer on port ${port}`, { cause: error });
        await new Promise((wait) => setTimeout(wait, 100));
      }
    }
    const session = await call<{ sessionId: string; capabilities: { browserVersion: string } }>("POST", "/session", {
      capabilities: { alwaysMatch: { "webkitgtk:browserOptions": { args: ["--automation"] } } },
    });
    const at = `/session/${session.sessionId}`;
    await call("POST", `${at}/timeouts`, { script: 240_000, pageLoad: 60_000 });
    return {
      version: session.capabilities.browserVersion,
      async navigate(url) {
        await call("POST", `${at}/url`, { url });
      },
      evaluate<T>(body: string) {
        // An async script reports through the callback WebDriver appends to its arguments.
        const script = `const done = arguments[arguments.length - 1];
          (async () => { ${body} })().then((v) => done(JSON.stringify(v)), (e) => done(JSON.stringify({ failure: String(e) })));`;
        return call<string>("POST", `${at}/execute/async`, { script, args: [] }).then((json) => JSON.parse(json) as T);
      },
      async close() {
        try {
          await call("DELETE", at);
        } finally {
          stop();
        }
      },
    };
  } catch (error) {
    stop();
    throw error;
  }
}
