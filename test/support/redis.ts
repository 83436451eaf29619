// Redis helpers shared by the tests and benchmarks that use a real Redis.
// Deliberately free of nock: the fake-GitHub tests and the benchmarks import it.
import type { Redis } from "ioredis";

export const REDIS_URL = process.env.REDIS_URL || "redis://127.0.0.1:6379";

/** Delete every key under a prefix (cleanup after a test or benchmark). */
export async function deletePrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== "0");
}
