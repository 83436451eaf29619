// SIGTERM / SIGINT: stop taking work, let running jobs finish for at most MEMCHECK_DRAIN_SECONDS
// (default 30), then exit whatever state Redis or GitHub are in. A job cut off by the limit is not
// lost: its lock expires and BullMQ runs it again on another worker (it continues from its
// recorded writes).

export function drainSecondsFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.MEMCHECK_DRAIN_SECONDS;
  if (raw === undefined || raw === "") return 30;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`MEMCHECK_DRAIN_SECONDS must be a number >= 0, got ${JSON.stringify(raw)}`);
  return n;
}

export interface DrainLog {
  info(o: object, msg: string): void;
  warn(o: object, msg: string): void;
}

/**
 * Install the signal handlers. `stop` closes servers, workers and connections in order; the process
 * exits 0 when it returns within the limit, 1 when the limit cut it short. A second signal exits at once.
 */
export function exitOnSignals(o: {
  log: DrainLog;
  role: string;
  stop: () => Promise<void>;
  drainSeconds?: number;
  exit?: (code: number) => void;
}): void {
  const drainSeconds = o.drainSeconds ?? drainSecondsFromEnv();
  const exit = o.exit ?? ((code: number) => process.exit(code));
  // Give the (asynchronous) log stream a moment to flush before exiting.
  const exitSoon = (code: number) => setTimeout(() => exit(code), 150);
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      o.log.warn({ role: o.role, signal }, "memcheck: second signal, exiting now");
      exit(1);
      return;
    }
    stopping = true;
    o.log.info({ role: o.role, signal, drainSeconds }, `memcheck: ${signal}, draining for at most ${drainSeconds} s`);
    const limit = setTimeout(() => {
      o.log.warn({ role: o.role, drainSeconds }, "memcheck: drain limit reached, exiting; unfinished jobs run again elsewhere");
      exitSoon(1);
    }, drainSeconds * 1000);
    o.stop().then(
      () => {
        clearTimeout(limit);
        o.log.info({ role: o.role }, "memcheck: drained, exiting");
        exitSoon(0);
      },
      (e) => {
        clearTimeout(limit);
        o.log.warn({ role: o.role, err: String((e as Error)?.message ?? e).slice(0, 300) }, "memcheck: error while draining, exiting");
        exitSoon(1);
      },
    );
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
}
