// The engine matrix in Firefox ESR (SpiderMonkey), headless, with no driver (see firefox.ts).
import { firefoxMatrix } from "./firefox.ts";
import { describeBrowserMatrix } from "./matrix.ts";

describeBrowserMatrix("Firefox", firefoxMatrix);
