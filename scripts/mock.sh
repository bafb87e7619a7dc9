#!/usr/bin/env bash
# `npm run mock -- <service> [port]`: serves the bundled spec with Prism (realistic examples,
# request validation). Services: control-plane, gateway, connector-gateway, runner.
set -euo pipefail
cd "$(dirname "$0")/.."
svc="${1:-}"
port="${2:-4010}"
spec="generated/openapi/${svc}.openapi.yaml"
if [ -z "$svc" ] || [ ! -f "$spec" ]; then
  echo "usage: npm run mock -- <service> [port]   services: $(ls generated/openapi | sed 's/.openapi.yaml//' | tr '\n' ' ')" >&2
  exit 2
fi
exec npx prism mock --host 127.0.0.1 --port "$port" "$spec"
