# syntax=docker/dockerfile:1
# koa-consul-gateway: the API gateway (dist/main.js), and its registrar
# (`docker run <image> registrar ...`).
# Build from the repository root:  docker build -f docker/gateway.Dockerfile .
#
# Base: Node 24 LTS on Debian bookworm-slim (glibc, Node's tier-1 platform, the
# same Debian release as the machines that build and test the project). Node 20
# reached its end of life on 2026-04-30; 24 is the LTS line with security fixes.

ARG NODE_VERSION=24

# ---- build: compile TypeScript with the dev dependencies -------------------
FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# ---- deps: production dependencies only ------------------------------------
FROM node:${NODE_VERSION}-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force

# ---- runtime ---------------------------------------------------------------
FROM node:${NODE_VERSION}-bookworm-slim AS runtime
LABEL org.opencontainers.image.title="koa-consul-gateway" \
      org.opencontainers.image.description="API gateway on Koa that discovers its backends in Consul" \
      org.opencontainers.image.licenses="MIT"
ENV NODE_ENV=production \
    GATEWAY_HOST=0.0.0.0 \
    GATEWAY_PORT=3000
WORKDIR /app
# Files stay owned by root: the process (user node) can read but not rewrite them.
# package.json comes along for "type": "module", which makes dist/*.js ESM.
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY docker/healthcheck.mjs ./healthcheck.mjs
# 1000:1000 is the base image's "node" user, given by number so that a runtime
# (Kubernetes runAsNonRoot, docker --user checks) can tell it is not root.
USER 1000:1000
EXPOSE 3000
# Any HTTP answer below 500 is healthy: GET / answers 404 JSON while the gateway runs.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "/app/healthcheck.mjs", "GATEWAY_PORT", "/"]
# Exec form: node itself receives SIGTERM from `docker stop`, closes its server
# and exits (compose adds `init: true` so that tini forwards signals and reaps).
# The entry point is the program, the command its subcommand: no command starts
# the gateway; `registrar ...` the registrar, `routes ...` the route table CLI.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "dist/main.js"]
CMD []
