#!/usr/bin/env bash
# `npm run mock -- <service> [port]`: Prism with the bundled spec's examples, behind a proxy that
# answers CORS from the spec's x-cors exactly as the real service does (scripts/mock.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
exec node --import tsx scripts/mock.ts "$@"
