// The engine matrix in Chromium (V8), driven by playwright-core.
import { chromiumMatrix } from "./chromium.ts";
import { describeBrowserMatrix } from "./matrix.ts";

describeBrowserMatrix("Chromium", chromiumMatrix);
