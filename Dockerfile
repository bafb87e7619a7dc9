# syntax=docker/dockerfile:1
# The Agent Store platform image: all five services from one image. Kubernetes runs one service
# per Deployment by passing its name as the argument (`args: [control-plane]`); without
# arguments the container runs all five (as `npm start` does).
#
#   docker build -t agentstore/platform .
#   docker run --rm -e APP_ENV=development -p 8080-8084:8080-8084 agentstore/platform
#
# The build stage runs the same `npm run build` CI runs without Docker (.ci/run), and
# scripts/build.test.ts starts the built dist/ from the files this final stage copies, exactly
# as the image's entrypoint does. Node's major version is the one package.json's engines states.
ARG NODE_IMAGE=node:20-bookworm-slim

# 1. Build: dev dependencies, TypeScript → dist/ (esbuild), plus `build:widget` when present.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

# 2. Runtime dependencies only.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# 3. Runtime: non-root, read-only root filesystem friendly (writes go to DATA_DIR and /tmp only,
#    both volumes), git for GitOps commits, health check on /readyz.
FROM ${NODE_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends git openssh-client ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 agentstore \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /tmp --shell /usr/sbin/nologin agentstore \
 && mkdir -p /var/lib/agentstore && chown 10001:10001 /var/lib/agentstore
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    DATA_DIR=/var/lib/agentstore \
    HOME=/tmp
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY generated/openapi ./generated/openapi
COPY specs/capability-registry.yaml specs/capability-registry.schema.json ./specs/
COPY gitops ./gitops
# Who may do what (Cedar policies and the role ladder), read at start-up.
COPY policy ./policy
COPY demo/flows ./demo/flows
COPY web/dist ./web/dist
COPY src/provisioner/saleor-app/order-fully-paid.graphql ./src/provisioner/saleor-app/
USER 10001:10001
VOLUME ["/var/lib/agentstore", "/tmp"]
EXPOSE 8080 8081 8082 8083 8084
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 CMD ["node", "dist/healthcheck.js"]
ENTRYPOINT ["node", "dist/start.js"]
