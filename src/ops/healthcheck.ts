// The container HEALTHCHECK (Dockerfile): exit 0 when this container's process answers /healthz.
// One image runs both roles: the webhook server listens on PORT, a worker on OPS_PORT; whichever
// answers 200 makes the container healthy. No shell, curl or wget needed in the slim image.
const ports = [process.env.OPS_PORT, process.env.PORT || "3000"].filter((p): p is string => Boolean(p));

async function healthy(port: string): Promise<boolean> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2500) });
    return r.ok;
  } catch {
    return false;
  }
}

const results = await Promise.all([...new Set(ports)].map(healthy));
process.exit(results.some(Boolean) ? 0 : 1);
