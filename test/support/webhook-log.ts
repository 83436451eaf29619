// GitHub's side of webhook delivery, for tests against a running server: sends signed deliveries,
// keeps the app's delivery log (one entry per attempt, as GET /app/hook/deliveries lists it) and
// serves that log and "redeliver" (POST /app/hook/deliveries/{id}/attempts) on a FakeGitHub. A
// redelivery is sent again with the same X-GitHub-Delivery GUID, as GitHub does.
import type { FakeGitHub } from "./fake-github.ts";
import { postWebhook } from "./pr-fixture.ts";

export interface DeliveryAttempt {
  id: number;
  guid: string;
  delivered_at: string;
  redelivery: boolean;
  status_code: number;
  status: string;
  event: string;
  action: string | null;
}

export class WebhookLog {
  readonly attempts: DeliveryAttempt[] = [];
  readonly redeliveryRequests: string[] = [];
  private readonly payloads = new Map<string, { event: string; payload: any }>();
  private nextId = 1;
  private pending: Promise<unknown>[] = [];

  constructor(
    private readonly serverUrl: () => string,
    gh: FakeGitHub,
  ) {
    gh.extraRoutes.push((r) => {
      if (r.method === "GET" && r.path === "/app/hook/deliveries") {
        // Newest first; one page is enough for these tests.
        const list = [...this.attempts].reverse().map(({ id, guid, delivered_at, redelivery, status_code, status, event, action }) => ({
          id,
          guid,
          delivered_at,
          redelivery,
          status_code,
          status,
          event,
          action,
        }));
        return [200, list.slice(0, Number(r.query.get("per_page")) || 30)];
      }
      const m = /^\/app\/hook\/deliveries\/(\d+)\/attempts$/.exec(r.path);
      if (r.method === "POST" && m) {
        const a = this.attempts.find((x) => x.id === Number(m[1]));
        if (!a) return [404, { message: "Not Found" }];
        this.redeliveryRequests.push(a.guid);
        this.pending.push(this.send(a.event, this.payloads.get(a.guid)!.payload, a.guid, true).catch(() => {}));
        return [202, {}];
      }
      return undefined;
    });
  }

  /** Deliver (or redeliver) one webhook and log the attempt with the status the server answered (0: no answer). */
  async send(event: string, payload: any, guid: string, redelivery = false): Promise<number> {
    this.payloads.set(guid, { event, payload });
    let status = 0;
    try {
      status = (await postWebhook(this.serverUrl(), event, payload, guid)).status;
    } catch {
      status = 0;
    }
    this.attempts.push({
      id: this.nextId++,
      guid,
      delivered_at: new Date().toISOString(),
      redelivery,
      status_code: status,
      status: status >= 200 && status < 300 ? "OK" : `failed ${status}`,
      event,
      action: payload?.action ?? null,
    });
    return status;
  }

  /** GUIDs whose every attempt so far failed. */
  failedGuids(): string[] {
    const ok = new Set(this.attempts.filter((a) => a.status_code >= 200 && a.status_code < 300).map((a) => a.guid));
    return [...new Set(this.attempts.map((a) => a.guid))].filter((g) => !ok.has(g));
  }

  async settle(): Promise<void> {
    while (this.pending.length) await Promise.all(this.pending.splice(0));
  }
}
