// Worker threads do not inherit the tsx loader that the CLI registers in-process: register it here.
import { register } from "tsx/esm/api";

register();
await import("./analysis-thread-worker.ts");
