#!/usr/bin/env bash
# Builds Fabric CA v1.5.21 (fabric-ca-server and fabric-ca-client) from the Go
# module proxy and caches the binaries in .cache/bin (git-ignored).
#
# The version is pinned by tools/fabric-ca/go.mod (+ go.sum). A plain
# `go install github.com/hyperledger/fabric-ca/cmd/fabric-ca-server@v1.5.21`
# does not work here: it asks the proxy for the module's version list, which is
# refused. Building through our own small module avoids that request.
# Needs go and a C compiler (cgo: Fabric CA links SQLite).
#
#   scripts/install-fabric-ca.sh           build unless cached for this go.mod/go.sum
#   scripts/install-fabric-ca.sh --force   rebuild
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MODULE="$ROOT/tools/fabric-ca"
BIN_DIR="$ROOT/.cache/bin"
STAMP="$BIN_DIR/fabric-ca.gomod.sha256"
COMMANDS=(fabric-ca-server fabric-ca-client)

force=false
case "${1:-}" in
    "") ;;
    --force) force=true ;;
    *) echo "usage: $0 [--force]" >&2; exit 2 ;;
esac

want="$(cat "$MODULE/go.mod" "$MODULE/go.sum" | sha256sum | cut -d' ' -f1)"
cached=true
for cmd in "${COMMANDS[@]}"; do
    [[ -x "$BIN_DIR/$cmd" ]] || cached=false
done
if ! $force && $cached && [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]]; then
    echo "fabric-ca: cached in $BIN_DIR (${COMMANDS[*]})"
    exit 0
fi

command -v go >/dev/null || { echo "fabric-ca: 'go' is required (Go 1.25 or newer)" >&2; exit 1; }
command -v "${CC:-gcc}" >/dev/null || { echo "fabric-ca: a C compiler is required (cgo, for SQLite)" >&2; exit 1; }

mkdir -p "$BIN_DIR"
total_start=$SECONDS
echo "fabric-ca: building v1.5.21 with $(go version | cut -d' ' -f3) (first build takes a few minutes on 2 cores)"
for cmd in "${COMMANDS[@]}"; do
    start=$SECONDS
    echo "fabric-ca: go build $cmd -> $BIN_DIR/$cmd"
    # -mod=readonly: go.mod and go.sum are the pin; fail rather than change them.
    (cd "$MODULE" && CGO_ENABLED=1 go build -mod=readonly -trimpath \
        -o "$BIN_DIR/$cmd.tmp" "github.com/hyperledger/fabric-ca/cmd/$cmd")
    mv "$BIN_DIR/$cmd.tmp" "$BIN_DIR/$cmd"
    echo "fabric-ca: $cmd built in $((SECONDS - start)) s"
done
echo "$want" >"$STAMP"
"$BIN_DIR/fabric-ca-server" version | sed 's/^/fabric-ca: /'
echo "fabric-ca: done in $((SECONDS - total_start)) s"
