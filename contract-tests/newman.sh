#!/usr/bin/env bash
# Builds dist/ and starts the whole stack from it on a fresh data folder (the embedded defaults, every
# response validated against its spec), runs the Postman collection with Newman, stops the stack.
set -euo pipefail
cd "$(dirname "$0")/.."
data=$(mktemp -d)
log="$data/stack.log"
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# The first block of five free ports from NEWMAN_PORT_BASE (another stack may be running).
base=${NEWMAN_PORT_BASE:-18080}
for _ in $(seq 1 50); do
  if port_free $base && port_free $((base + 1)) && port_free $((base + 2)) && port_free $((base + 3)) && port_free $((base + 4)); then break; fi
  base=$((base + 10))
done
export DATA_DIR="$data" APP_ENV=development VALIDATE_RESPONSES=1 LOG_LEVEL=${NEWMAN_LOG_LEVEL:-warn}
export CP_PORT=$base GATEWAY_PORT=$((base + 1)) CONNECTOR_GATEWAY_PORT=$((base + 2)) RUNNER_PORT=$((base + 3)) PROVISIONER_PORT=$((base + 4))
export ARGOCD_WEBHOOK_TOKEN=${ARGOCD_WEBHOOK_TOKEN:-newman-argocd-webhook-token}
for port in $CP_PORT $GATEWAY_PORT $CONNECTOR_GATEWAY_PORT $RUNNER_PORT $PROVISIONER_PORT; do
  port_free $port || { echo "newman: port $port is already in use" >&2; exit 1; }
done
# The built code (what the image runs), started by node itself (not an npm wrapper) so that
# stopping $pid stops the stack.
npm run --silent build >/dev/null
node dist/start.js >"$log" 2>&1 &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$data"; }
trap cleanup EXIT
for port in $CP_PORT $GATEWAY_PORT $CONNECTOR_GATEWAY_PORT $RUNNER_PORT $PROVISIONER_PORT; do
  for _ in $(seq 1 120); do
    curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || { cat "$log"; echo "newman: the stack did not start" >&2; exit 1; }
    sleep 0.5
  done
done
user_jwt=$(node --import tsx scripts/token.ts --user newman@example.com)
other_jwt=$(node --import tsx scripts/token.ts --user intruder@example.com)
gateway_jwt=$(node --import tsx scripts/token.ts --service gateway)
provisioner_jwt=$(node --import tsx scripts/token.ts --service provisioner)
operator_jwt=$(node --import tsx scripts/token.ts --user ops@example.com --roles platform-operator)
npx newman run specs/postman/agent-store.postman_collection.json \
  --env-var "CP_BASE=http://127.0.0.1:$CP_PORT" \
  --env-var "API_BASE=http://127.0.0.1:$GATEWAY_PORT" \
  --env-var "CONN_BASE=http://127.0.0.1:$CONNECTOR_GATEWAY_PORT" \
  --env-var "RUNNER_BASE=http://127.0.0.1:$RUNNER_PORT" \
  --env-var "USER_JWT=$user_jwt" \
  --env-var "OTHER_USER_JWT=$other_jwt" \
  --env-var "SERVICE_JWT=$gateway_jwt" \
  --env-var "PROVISIONER_JWT=$provisioner_jwt" \
  --env-var "OPERATOR_JWT=$operator_jwt" \
  --env-var "PROVISIONER_BASE=http://127.0.0.1:$PROVISIONER_PORT" \
  --env-var "ARGOCD_WEBHOOK_TOKEN=$ARGOCD_WEBHOOK_TOKEN" \
  --reporters cli --color off || { echo "--- stack log"; tail -50 "$log"; exit 1; }
