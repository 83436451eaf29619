// Redis helpers shared by the tests and benchmarks that use a real Redis.
import { before, after } from "node:test";
import { Redis as IORedis, type Redis } from "ioredis";
import nock from "nock";

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

/**
 * A Redis connection for one test file, opened before its tests and closed after them, with every
 * key under `prefix` deleted; with `nock`, the network is closed except to 127.0.0.1 meanwhile.
 */
export function redisForFile(prefix: string, o: { nock?: boolean } = {}): { redis: Redis } {
  const ctx = {} as { redis: Redis };
  before(() => {
    ctx.redis = new IORedis(REDIS_URL, { maxRetriesPerRequest: null });
    if (o.nock) {
      nock.disableNetConnect();
      nock.enableNetConnect("127.0.0.1");
    }
  });
  after(async () => {
    if (o.nock) nock.cleanAll();
    await deletePrefix(ctx.redis, prefix);
    ctx.redis.disconnect();
  });
  return ctx;
}
