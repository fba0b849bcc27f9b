#!/usr/bin/env bash
# Runs the WBCB cargo-fuzz target for a bounded time (default 60 s).
# Needs a nightly toolchain; installs cargo-fuzz from crates.io into
# .cache/cargo-fuzz (pinned, cached). Without nightly it says so and exits 1:
# the bounded proptest in `cargo test -p wbcb` (tests/malformed.rs) still
# covers the parsers then.
#
#   scripts/fuzz-wbcb.sh [SECONDS]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECONDS_BUDGET="${1:-60}"
CARGO_FUZZ_VERSION="0.13.2"
# Outside the clone, so CI runs on the same machine reuse the build.
TOOLS="${HEALTHBLOCK_TOOLS_CACHE:-$HOME/.cache/healthblock}/cargo-fuzz"

if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    echo "fuzz-wbcb: no nightly toolchain (rustup toolchain install nightly); rely on the proptest in tests/malformed.rs" >&2
    exit 1
fi
if [[ ! -x "$TOOLS/bin/cargo-fuzz" ]]; then
    echo "fuzz-wbcb: installing cargo-fuzz $CARGO_FUZZ_VERSION into $TOOLS"
    cargo install --locked cargo-fuzz --version "$CARGO_FUZZ_VERSION" --root "$TOOLS"
fi
export PATH="$TOOLS/bin:$PATH"
cd "$ROOT/client/wbcb"
# Separate target dir: the fuzz build uses sanitizer flags.
cargo +nightly fuzz run decrypt --fuzz-dir fuzz -- -max_total_time="$SECONDS_BUDGET" -max_len=4096
