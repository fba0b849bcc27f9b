#!/usr/bin/env bash
# Real S3-compatible server for the object-store tests: MinIO, built from the
# Go module proxy (version pinned in tools/minio/go.mod) and cached in
# .cache/bin. Listens on 127.0.0.1 only, with a fresh data dir and fresh
# random credentials on every start.
#
#   scripts/s3-server.sh install   build (cached) the minio binary
#   scripts/s3-server.sh start     install if needed, start, create the bucket,
#                                  write .cache/s3/env (read by the S3 tests)
#   scripts/s3-server.sh stop      stop the server started by `start`
#   scripts/s3-server.sh env       print the env file path
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN_DIR="$ROOT/.cache/bin"
MINIO="$BIN_DIR/minio"
STATE="$ROOT/.cache/s3"
ENV_FILE="$STATE/env"
PID_FILE="$STATE/minio.pid"
PORT="${HEALTHBLOCK_S3_PORT:-19000}"
CONSOLE_PORT="${HEALTHBLOCK_S3_CONSOLE_PORT:-19001}"
BUCKET="healthblock-test"

install() {
    local stamp="$BIN_DIR/minio.gomod.sha256"
    local want
    want="$(sha256sum "$ROOT/tools/minio/go.mod" "$ROOT/tools/minio/go.sum" | sha256sum | cut -d' ' -f1)"
    if [[ -x "$MINIO" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
        echo "minio: cached at $MINIO"
        return
    fi
    command -v go >/dev/null || { echo "s3-server: 'go' is required to build MinIO" >&2; exit 1; }
    mkdir -p "$BIN_DIR"
    echo "minio: building from the Go module proxy (first time takes several minutes)..."
    local start=$SECONDS
    (cd "$ROOT/tools/minio" && go build -trimpath -o "$MINIO.tmp" github.com/minio/minio)
    mv "$MINIO.tmp" "$MINIO"
    echo "$want" >"$stamp"
    echo "minio: built in $((SECONDS - start)) s -> $MINIO"
}

running() {
    [[ -f "$PID_FILE" ]] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null
}

stop() {
    if running; then
        kill "$(cat "$PID_FILE")"
        for _ in $(seq 50); do running || break; sleep 0.1; done
        echo "minio: stopped"
    fi
    rm -f "$PID_FILE" "$ENV_FILE"
}

# Sign and send `PUT /<bucket>` with SigV4 so the bucket exists before tests
# run; python3's standard library is enough, no extra client needed.
create_bucket() {
    python3 - "$1" "$2" "$3" "$4" <<'PY'
import datetime, hashlib, hmac, sys, urllib.request
endpoint, key, secret, bucket = sys.argv[1:5]
host = endpoint.split("://", 1)[1]
now = datetime.datetime.now(datetime.timezone.utc)
amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
region, payload = "us-east-1", hashlib.sha256(b"").hexdigest()
canonical = "\n".join(["PUT", "/" + bucket, "", f"host:{host}",
                       f"x-amz-content-sha256:{payload}", f"x-amz-date:{amz_date}", "",
                       "host;x-amz-content-sha256;x-amz-date", payload])
scope = f"{day}/{region}/s3/aws4_request"
to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                     hashlib.sha256(canonical.encode()).hexdigest()])
k = ("AWS4" + secret).encode()
for part in (day, region, "s3", "aws4_request"):
    k = hmac.new(k, part.encode(), hashlib.sha256).digest()
sig = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
req = urllib.request.Request(f"{endpoint}/{bucket}", method="PUT", headers={
    "x-amz-date": amz_date, "x-amz-content-sha256": payload,
    "Authorization": f"AWS4-HMAC-SHA256 Credential={key}/{scope}, "
                     f"SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature={sig}"})
urllib.request.urlopen(req, timeout=10)
PY
}

start() {
    install
    stop
    rm -rf "$STATE"
    mkdir -p "$STATE/data"
    chmod 700 "$STATE"
    local key secret endpoint="http://127.0.0.1:$PORT"
    key="hb$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
    secret="$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
    MINIO_ROOT_USER="$key" MINIO_ROOT_PASSWORD="$secret" MINIO_BROWSER=off \
        nohup "$MINIO" server --quiet --address "127.0.0.1:$PORT" \
        --console-address "127.0.0.1:$CONSOLE_PORT" "$STATE/data" \
        >"$STATE/minio.log" 2>&1 &
    echo $! >"$PID_FILE"
    for _ in $(seq 100); do
        if curl -fsS "$endpoint/minio/health/ready" >/dev/null 2>&1; then break; fi
        running || { echo "minio: failed to start, see $STATE/minio.log" >&2; cat "$STATE/minio.log" >&2; exit 1; }
        sleep 0.2
    done
    create_bucket "$endpoint" "$key" "$secret" "$BUCKET"
    umask 077
    cat >"$ENV_FILE" <<EOF
HEALTHBLOCK_S3_ENDPOINT=$endpoint
HEALTHBLOCK_S3_ACCESS_KEY=$key
HEALTHBLOCK_S3_SECRET_KEY=$secret
HEALTHBLOCK_S3_BUCKET=$BUCKET
HEALTHBLOCK_S3_REGION=us-east-1
EOF
    echo "minio: running on $endpoint (pid $(cat "$PID_FILE")), env in $ENV_FILE"
}

case "${1:-}" in
    install) install ;;
    start) start ;;
    stop) stop ;;
    env) echo "$ENV_FILE" ;;
    *) echo "usage: $0 {install|start|stop|env}" >&2; exit 2 ;;
esac
