// Loads the hazard rules only when they are asked for, so layout-only runs never pay for them.
import type { HazardCollector } from "./analysis/parse.ts";

let collector: Promise<HazardCollector> | undefined;

export function hazardCollector(): Promise<HazardCollector> {
  collector ??= import("./analysis/rules/index.ts").then((m) => m.collectFileHazards as HazardCollector);
  return collector;
}
