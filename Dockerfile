# memcheck: one image for the webhook server (default) and the workers:
#   docker build -t memcheck .
#   docker run --env-file .env -p 3000:3000 memcheck                      # server (+ in-process worker)
#   docker run --env-file .env memcheck node dist/worker/index.js         # workers only
# Compiled JavaScript (npm run build) on Node 22 LTS; tsx and TypeScript stay in the build stage.

# Build: full install (TypeScript), compile to dist/.
FROM node:22-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# Dependency install scripts are not needed (the Go grammar ships as wasm in grammars/).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.mjs ./scripts/
COPY src ./src
COPY worker ./worker
RUN node scripts/build.mjs

# Production dependencies only.
FROM node:22-bookworm-slim AS deps
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM node:22-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    OPS_PORT=9464 \
    LOG_FORMAT=json \
    LOG_LEVEL=info
# The code is root-owned and read-only for the app; /app itself belongs to the `node` user because
# Probot's first-run setup flow writes /app/.env there.
WORKDIR /app
RUN chown node:node /app
COPY --from=deps /src/node_modules ./node_modules
COPY package.json package-lock.json app.yml ./
COPY --from=build /src/dist ./dist
COPY grammars ./grammars
COPY src/analysis/stdlib-table.json src/analysis/stdlib-go*.json ./src/analysis/
COPY bin ./bin
USER node
EXPOSE 3000 9464
STOPSIGNAL SIGTERM
# /healthz of the server (PORT) or of a worker (OPS_PORT), whichever this container runs.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 CMD ["node", "dist/src/ops/healthcheck.js"]
CMD ["node", "dist/src/main.js"]
