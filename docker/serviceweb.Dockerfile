# syntax=docker/dockerfile:1
# koa-consul-gateway: serviceweb, the demo backend (dist/service-web/main.js).
# Build from the repository root:  docker build -f docker/serviceweb.Dockerfile .
#
# In compose, the registrar registers each container in Consul from its exposed
# port and SERVICE_3000_* variables; CONSUL_HTTP_ADDR stays unset so that the
# service does not also register itself.
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
LABEL org.opencontainers.image.title="koa-consul-gateway serviceweb" \
      org.opencontainers.image.description="Demo backend for koa-consul-gateway: GET /getRemoteIp, GET /health" \
      org.opencontainers.image.licenses="MIT"
ENV NODE_ENV=production \
    SERVICE_WEB_HOST=0.0.0.0 \
    SERVICE_WEB_PORT=3000
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
# The registrar (-internal) registers the exposed port: keep EXPOSE in step with SERVICE_WEB_PORT.
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["node", "/app/healthcheck.mjs", "SERVICE_WEB_PORT", "/health"]
# Exec form: node itself receives SIGTERM from `docker stop`, closes its server
# and exits (compose adds `init: true` so that tini forwards signals and reaps).
STOPSIGNAL SIGTERM
CMD ["node", "dist/service-web/main.js"]
