// Per-installation spacing of content-creating GitHub calls, shared by every process through Redis.
// GitHub's secondary limits allow about 80 content-creating requests per minute (and 500 per hour);
// Probot only logs a secondary-limit hit, so a burst of PRs must be spaced by us.
//
// A call reserves a slot: the earliest time at which it keeps every window (e.g. 80 / 60 s) within
// its budget, after the slots already reserved and after any "blocked until" time GitHub asked for
// (retry-after / x-ratelimit-reset). The caller then waits until its slot. Slots are reserved in
// order (FIFO), atomically, in one Lua call.
import type { Redis } from "ioredis";

export interface WriteWindow {
  max: number;
  windowMs: number;
}

export interface WriteLimiterOptions {
  redis: Redis;
  /** Key prefix, e.g. "{memcheck}:memcheck" (keep the hash tag on Redis Cluster). */
  prefix: string;
  /** Default: 80 per minute, 500 per hour, at most 5 in any 5 s (GITHUB_WRITES_PER_MINUTE,
   * GITHUB_WRITES_PER_HOUR, GITHUB_WRITE_BURST). */
  windows?: WriteWindow[];
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface Acquired {
  /** Milliseconds the caller waited (or would wait) for its slot. */
  waitMs: number;
}

const RESERVE = `
local now = tonumber(ARGV[1])
local wait = ARGV[2] == '1'
local uniq = ARGV[3]
local nwin = tonumber(ARGV[4])
local longest = 0
for i = 0, nwin - 1 do
  local w = tonumber(ARGV[6 + 2 * i])
  if w > longest then longest = w end
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - longest)
local slot = now
if wait then
  local blocked = tonumber(redis.call('GET', KEYS[2]) or '0')
  if blocked > slot then slot = blocked end
  local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
  if last[2] and tonumber(last[2]) > slot then slot = tonumber(last[2]) end
  for i = 0, nwin - 1 do
    local max = tonumber(ARGV[5 + 2 * i])
    local w = tonumber(ARGV[6 + 2 * i])
    local kth = redis.call('ZRANGE', KEYS[1], -max, -max, 'WITHSCORES')
    if kth[2] and tonumber(kth[2]) + w > slot then slot = tonumber(kth[2]) + w end
  end
end
redis.call('ZADD', KEYS[1], slot, slot .. '-' .. uniq)
redis.call('PEXPIRE', KEYS[1], math.floor(slot - now + longest + 1000))
return slot - now
`;

const BLOCK = `
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
local untilMs = tonumber(ARGV[1])
local now = tonumber(ARGV[2])
if untilMs > cur and untilMs > now then
  redis.call('SET', KEYS[1], untilMs, 'PX', math.floor(untilMs - now + 1000))
  return 1
end
return 0
`;

export function writeWindowsFromEnv(env: NodeJS.ProcessEnv = process.env): WriteWindow[] {
  const perMin = Number(env.GITHUB_WRITES_PER_MINUTE || 80);
  const perHour = Number(env.GITHUB_WRITES_PER_HOUR || 500);
  const burst = Number(env.GITHUB_WRITE_BURST || 5);
  const out: WriteWindow[] = [];
  if (Number.isInteger(perMin) && perMin > 0) {
    out.push({ max: perMin, windowMs: 60_000 });
    // GitHub asks for about a second between writes when there are many: a job's few writes go at
    // once (up to `burst` in `burst` seconds), a sustained stream averages one a second. This
    // replaces Octokit's own per-process 1 s spacing, which also spaced the 2-4 writes of every review.
    if (Number.isInteger(burst) && burst > 0) out.push({ max: burst, windowMs: burst * 1000 });
  }
  if (Number.isInteger(perHour) && perHour > 0) out.push({ max: perHour, windowMs: 3_600_000 });
  return out;
}

export class WriteLimiter {
  readonly windows: WriteWindow[];
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private seq = 0;

  constructor(o: WriteLimiterOptions) {
    this.redis = o.redis;
    this.prefix = o.prefix;
    this.windows = o.windows ?? writeWindowsFromEnv();
    this.now = o.now ?? Date.now;
    this.sleep = o.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  slotsKey(installation: string | number): string {
    return `${this.prefix}:writes:${installation}`;
  }
  blockedKey(installation: string | number): string {
    return `${this.prefix}:writes-blocked:${installation}`;
  }

  /**
   * Reserve a slot for one content-creating call and (with wait, the default) sleep until it.
   * With wait false the call is only counted, at once (for the webhook handlers, which must
   * answer GitHub within 10 s).
   */
  async acquire(installation: string | number, o: { wait?: boolean } = {}): Promise<Acquired> {
    const wait = o.wait ?? true;
    if (this.windows.length === 0) return { waitMs: 0 };
    const args: (string | number)[] = [
      this.now(),
      wait ? "1" : "0",
      `${process.pid}.${++this.seq}.${Math.random().toString(36).slice(2, 8)}`,
      this.windows.length,
    ];
    for (const w of this.windows) args.push(w.max, w.windowMs);
    const waitMs = Number(await this.redis.eval(RESERVE, 2, this.slotsKey(installation), this.blockedKey(installation), ...args));
    if (wait && waitMs > 0) await this.sleep(waitMs);
    return { waitMs };
  }

  /** GitHub said to wait (retry-after / rate-limit reset): no write for this installation before untilMs. */
  async block(installation: string | number, untilMs: number): Promise<void> {
    await this.redis.eval(BLOCK, 1, this.blockedKey(installation), Math.ceil(untilMs), this.now());
  }
}
