#!/usr/bin/env bash
# `npm run contract`: builds dist/ and starts the whole stack from it (as the image does) on a fresh data folder (every response
# validated by the services too), a Vault and an upstream API for the tool calls
# (contract-tests/stand-ins.ts), and a Prism validating proxy with --errors in front of each of the
# five services; runs the generated Postman collection (generated/postman/, built from
# contract-tests/postman/) with Newman; fails on any failed assertion and on any violation Prism
# reports; stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
data=$(mktemp -d)
log="$data/stack.log"
collection=generated/postman/agent-store.postman_collection.json
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# The first block of ten free ports from NEWMAN_PORT_BASE (another stack may be running):
# five services, then their five proxies.
base=${NEWMAN_PORT_BASE:-18080}
for _ in $(seq 1 50); do
  all_free=1
  for i in $(seq 0 9); do port_free $((base + i)) || { all_free=0; break; }; done
  [ $all_free = 1 ] && break
  base=$((base + 10))
done
export DATA_DIR="$data" APP_ENV=development VALIDATE_RESPONSES=1 LOG_LEVEL=${NEWMAN_LOG_LEVEL:-warn}
export CP_PORT=$base GATEWAY_PORT=$((base + 1)) CONNECTOR_GATEWAY_PORT=$((base + 2)) RUNNER_PORT=$((base + 3)) PROVISIONER_PORT=$((base + 4))
export ARGOCD_WEBHOOK_TOKEN=${ARGOCD_WEBHOOK_TOKEN:-newman-argocd-webhook-token}
services=(control-plane gateway connector-gateway runner provisioner)
ports=($CP_PORT $GATEWAY_PORT $CONNECTOR_GATEWAY_PORT $RUNNER_PORT $PROVISIONER_PORT)
for port in "${ports[@]}"; do
  port_free $port || { echo "newman: port $port is already in use" >&2; exit 1; }
done

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$data"
}
trap cleanup EXIT

# node itself (not an npx/tsx wrapper) so that stopping the pid stops the process.
node --import tsx contract-tests/stand-ins.ts >"$data/stand-ins.json" 2>"$data/stand-ins.log" &
pids+=($!)
for _ in $(seq 1 100); do [ -s "$data/stand-ins.json" ] && break; sleep 0.1; done
stand_ins=$(head -1 "$data/stand-ins.json")
field() { node -e "process.stdout.write(JSON.parse(process.argv[1])[process.argv[2]])" "$stand_ins" "$1"; }
export VAULT_ADDR=$(field vaultAddr) VAULT_TOKEN=$(field vaultToken)

# The built code (what the image runs), started by node itself so that stopping the pid stops it.
npm run --silent build >/dev/null
node dist/start.js >"$log" 2>&1 &
stack_pid=$!
pids+=($stack_pid)
for port in "${ports[@]}"; do
  for _ in $(seq 1 120); do
    curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    kill -0 "$stack_pid" 2>/dev/null || { cat "$log"; echo "newman: the stack did not start" >&2; exit 1; }
    sleep 0.5
  done
done

for i in "${!services[@]}"; do
  node node_modules/@stoplight/prism-cli/dist/index.js proxy "generated/openapi/${services[$i]}.openapi.yaml" "http://127.0.0.1:${ports[$i]}" \
    --errors --host 127.0.0.1 --port $((base + 5 + i)) >"$data/prism-${services[$i]}.log" 2>&1 &
  pids+=($!)
done
for i in "${!services[@]}"; do
  for _ in $(seq 1 120); do
    grep -q "Prism is listening" "$data/prism-${services[$i]}.log" && break
    sleep 0.5
  done
  grep -q "Prism is listening" "$data/prism-${services[$i]}.log" || { cat "$data/prism-${services[$i]}.log"; echo "newman: prism for ${services[$i]} did not start" >&2; exit 1; }
done

token() { node --import tsx scripts/token.ts "$@"; }
set +e
newman_out="$data/newman.txt"
node node_modules/newman/bin/newman.js run "$collection" \
  --env-var "CP_BASE=http://127.0.0.1:$((base + 5))" --env-var "CP_DIRECT=http://127.0.0.1:$CP_PORT" \
  --env-var "API_BASE=http://127.0.0.1:$((base + 6))" --env-var "API_DIRECT=http://127.0.0.1:$GATEWAY_PORT" \
  --env-var "CONN_BASE=http://127.0.0.1:$((base + 7))" --env-var "CONN_DIRECT=http://127.0.0.1:$CONNECTOR_GATEWAY_PORT" \
  --env-var "RUNNER_BASE=http://127.0.0.1:$((base + 8))" --env-var "RUNNER_DIRECT=http://127.0.0.1:$RUNNER_PORT" \
  --env-var "PROVISIONER_BASE=http://127.0.0.1:$((base + 9))" --env-var "PROVISIONER_DIRECT=http://127.0.0.1:$PROVISIONER_PORT" \
  --env-var "USER_JWT=$(token --user newman@example.com)" \
  --env-var "OTHER_USER_JWT=$(token --user intruder@example.com)" \
  --env-var "MEMBER_JWT=$(token --user member@example.com)" \
  --env-var "SERVICE_JWT=$(token --service gateway)" \
  --env-var "RUNNER_JWT=$(token --service runner)" \
  --env-var "PROVISIONER_JWT=$(token --service provisioner)" \
  --env-var "OPERATOR_JWT=$(token --user ops@example.com --roles platform-operator)" \
  --env-var "USER_OPERATOR_JWT=$(token --user newman@example.com --roles platform-operator)" \
  --env-var "PUBLISHER_JWT=$(token --user publisher@example.com --roles publisher-admin)" \
  --env-var "VAULT_ADDR=$VAULT_ADDR" --env-var "VAULT_TOKEN=$VAULT_TOKEN" --env-var "VAULT_UNSEAL_KEY=$(field vaultUnsealKey)" \
  --env-var "UPSTREAM=$(field upstream)" \
  --reporters cli --color off | tee "$newman_out"
newman_rc=${PIPESTATUS[0]}
set -e

# Prism logs every request/response that breaks the spec as a violation (with --errors a response
# violation also turns into a 500, which fails the exact status assertion); none may appear.
violations=$(grep -h -i "violation" "$data"/prism-*.log || true)
proxied=$(cat "$data"/prism-*.log | grep -c "Forwarding" || true)
echo "newman: Prism proxied $proxied requests; $(printf '%s' "$violations" | grep -c . || true) violations"
if [ -n "$violations" ]; then
  echo "$violations" | sed 's/^/  /'
  echo "newman: the validating proxy reported violations" >&2
  exit 1
fi
if [ "$newman_rc" != 0 ]; then
  echo "--- stack log"
  tail -50 "$log"
  exit "$newman_rc"
fi
