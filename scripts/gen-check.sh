#!/usr/bin/env bash
# Reruns every generator and fails when generated/ (or a handler skeleton, or .env.example) differs from what is
# committed: changed files AND new files, which a plain `git diff` would miss.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run --silent gen >/dev/null
paths=(generated handlers capabilities .env.example)
changes=$(git status --porcelain --untracked-files=all -- "${paths[@]}")
if [ -n "$changes" ]; then
  echo "gen:check: generated code is out of date with specs/:"
  echo "$changes" | sed 's/^/  /'
  echo "Run 'npm run gen' and commit the result (never edit generated/ by hand)."
  exit 1
fi
echo "gen:check: generated/ matches specs/"
