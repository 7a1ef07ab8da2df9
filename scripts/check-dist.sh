#!/usr/bin/env bash
# Rebuilds dist/ and fails, showing the difference, when it differs from what is committed: the
# action runs the committed bundle, so a source change without a rebuild would ship stale code.
set -euo pipefail
cd "$(dirname "$0")/.."
node scripts/build.mjs
if ! git diff --quiet --exit-code -- dist || [ -n "$(git ls-files --others --exclude-standard -- dist)" ]; then
  echo "dist/ is stale: run 'npm run build' and commit dist/." >&2
  git --no-pager diff --stat -- dist >&2
  git ls-files --others --exclude-standard -- dist >&2
  git --no-pager diff -- dist | head -200 >&2
  exit 1
fi
echo "dist/ is fresh."
