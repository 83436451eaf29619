// The bull-board queue dashboard at /admin/queues, behind HTTP basic auth. Disabled entirely (the
// route does not exist: 404) unless ADMIN_USER and ADMIN_PASSWORD are both set; read-only unless
// ADMIN_WRITE=true (bull-board's readOnlyMode refuses retries, removals, pauses, ...).
import { createHash, timingSafeEqual } from "node:crypto";
import type http from "node:http";
import type { Queue } from "bullmq";
import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { ExpressAdapter } from "@bull-board/express";
import type { Route } from "./server.ts";

export const DASHBOARD_PATH = "/admin/queues";

export interface DashboardOptions {
  queues: Queue[];
  user?: string;
  password?: string;
  /** Allow actions (retry, remove, pause, clean, ...). Default false. */
  write?: boolean;
  basePath?: string;
}

export function dashboardOptionsFromEnv(queues: Queue[], env: NodeJS.ProcessEnv = process.env): DashboardOptions {
  return { queues, user: env.ADMIN_USER, password: env.ADMIN_PASSWORD, write: env.ADMIN_WRITE === "true" };
}

/** Compare in constant time (hash both sides first so the lengths match). */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash("sha256").update(a, "utf8").digest();
  const hb = createHash("sha256").update(b, "utf8").digest();
  return timingSafeEqual(ha, hb);
}

/** True when the request carries the right basic-auth credentials. */
export function checkBasicAuth(header: string | undefined, user: string, password: string): boolean {
  const m = /^Basic\s+([A-Za-z0-9+/=._~-]+)\s*$/i.exec(header ?? "");
  if (!m) return false;
  const decoded = Buffer.from(m[1], "base64").toString("utf8");
  const i = decoded.indexOf(":");
  if (i < 0) return false;
  // Evaluate both comparisons (no short circuit), so timing does not tell which one failed.
  const okUser = safeEqual(decoded.slice(0, i), user);
  const okPass = safeEqual(decoded.slice(i + 1), password);
  return okUser && okPass;
}

/** The dashboard route, or undefined when it is disabled (no credentials configured). */
export function dashboardRoute(o: DashboardOptions): Route | undefined {
  if (!o.user || !o.password) return undefined;
  const user = o.user;
  const password = o.password;
  const basePath = o.basePath ?? DASHBOARD_PATH;
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(basePath);
  createBullBoard({
    queues: o.queues.map((q) => new BullMQAdapter(q, { readOnlyMode: !o.write })),
    serverAdapter,
    options: { uiConfig: { boardTitle: "memcheck" } },
  });
  // bull-board's adapter is an express app whose routes are relative to the base path.
  const app = serverAdapter.getRouter() as (req: http.IncomingMessage, res: http.ServerResponse, next: () => void) => void;

  return (req: http.IncomingMessage, res: http.ServerResponse) => {
    const path = (req.url ?? "").split("?")[0];
    if (path !== basePath && !path.startsWith(basePath + "/")) return false;
    if (!checkBasicAuth(req.headers.authorization, user, password)) {
      res
        .writeHead(401, {
          "www-authenticate": 'Basic realm="memcheck admin", charset="UTF-8"',
          "content-type": "text/plain",
          "cache-control": "no-store",
        })
        .end("authentication required\n");
      return true;
    }
    req.url = (req.url ?? "").slice(basePath.length) || "/";
    if (!req.url.startsWith("/")) req.url = "/" + req.url;
    return new Promise<boolean>((resolve) => {
      res.on("finish", () => resolve(true));
      res.on("close", () => resolve(true));
      app(req, res, () => {
        if (!res.headersSent) res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
        resolve(true);
      });
    });
  };
}
