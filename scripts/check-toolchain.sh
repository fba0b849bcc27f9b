#!/usr/bin/env bash
# Checks the toolchains the project builds with and says what is missing.
set -euo pipefail
missing=()
for tool in cargo rustc node npm; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "error: missing toolchains: ${missing[*]} (Rust via rustup, Node.js >= 18 with npm)" >&2
  exit 1
fi
echo "==> toolchains: $(rustc --version), node $(node --version)"
