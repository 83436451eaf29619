# memcheck: one image for the webhook server (default) and the workers:
#   docker run ... memcheck                      # npm start: server + in-process worker
#   docker run ... memcheck npm run worker       # workers only
# The project runs TypeScript directly with tsx; there is no build step.

FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only; dependency install scripts are not needed (the Go grammar is wasm).
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    LOG_FORMAT=json \
    LOG_LEVEL=info
WORKDIR /app
COPY --from=deps --chown=node:node /app/node_modules ./node_modules
COPY --chown=node:node package.json package-lock.json app.yml ./
COPY --chown=node:node src ./src
COPY --chown=node:node worker ./worker
COPY --chown=node:node grammars ./grammars
COPY --chown=node:node bin ./bin
USER node
EXPOSE 3000
STOPSIGNAL SIGTERM
CMD ["node", "--import", "tsx", "src/main.ts"]
