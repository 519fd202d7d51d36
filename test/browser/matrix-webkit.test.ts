// The engine matrix in WebKitGTK (JavaScriptCore, Safari's engine), driven over W3C WebDriver,
// twice: as Debian ships it, with SharedArrayBuffer turned off (a shared WebAssembly.Memory
// can be made but not sent to a worker, so threads: 2 is refused with that reason), and with
// it on, as Safari has it on isolated pages, where 2 threads run and give the same bits.
import { awaitMatrix, describeBrowserMatrix, type MatrixBrowser, type PageRun } from "./matrix.ts";
import { launchWebKit } from "./webkit.ts";

async function webkit(sharedArrayBuffer: boolean): Promise<MatrixBrowser> {
  const session = await launchWebKit({ sharedArrayBuffer });
  return {
    version: `WebKitGTK ${session.version}`,
    async runMatrixPage(url) {
      await session.navigate(url);
      return session.evaluate<PageRun>(`return await ${awaitMatrix};`);
    },
    close: () => session.close(),
  };
}

describeBrowserMatrix("WebKit", () => webkit(false), { sharedMemory: false });
describeBrowserMatrix("WebKit, SharedArrayBuffer on", () => webkit(true));
