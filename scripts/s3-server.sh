#!/usr/bin/env bash
# Real S3-compatible server for the object-store tests: MinIO and its admin
# client mc, built from the Go module proxy (versions pinned in
# tools/minio/go.mod) and cached in .cache/bin. Listens on 127.0.0.1 only,
# with a fresh data dir and fresh random credentials on every start.
#
# Besides the shared test bucket (root credential, .cache/s3/env), `start`
# sets up per-hospital object-store authorisation: one bucket per hospital,
# `healthblock-<mspid in lower case>`, and one MinIO user per hospital whose
# policy lets it write and delete only in its own bucket and read (GetObject,
# ListBucket) the other hospitals' buckets. Each hospital's configuration is
# written to .cache/s3/env.<MSPID> (mode 0600).
#
#   scripts/s3-server.sh install   build (cached) the minio and mc binaries
#   scripts/s3-server.sh start     install if needed, start, create the buckets,
#                                  users and policies, write .cache/s3/env and
#                                  .cache/s3/env.<MSPID> (read by the S3 tests)
#   scripts/s3-server.sh stop      stop the server started by `start`
#   scripts/s3-server.sh env       print the env file path
#
# HEALTHBLOCK_S3_HOSPITALS names the hospitals' MSP ids (default
# "Hospital1MSP Hospital2MSP Hospital3MSP").
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN_DIR="$ROOT/.cache/bin"
MINIO="$BIN_DIR/minio"
MC="$BIN_DIR/mc"
STATE="$ROOT/.cache/s3"
ENV_FILE="$STATE/env"
PID_FILE="$STATE/minio.pid"
PORT="${HEALTHBLOCK_S3_PORT:-19000}"
CONSOLE_PORT="${HEALTHBLOCK_S3_CONSOLE_PORT:-19001}"
BUCKET="healthblock-test"
HOME_PREFIX="healthblock"
HOSPITALS="${HEALTHBLOCK_S3_HOSPITALS:-Hospital1MSP Hospital2MSP Hospital3MSP}"

install() {
    local stamp="$BIN_DIR/minio.gomod.sha256"
    local want
    want="$(sha256sum "$ROOT/tools/minio/go.mod" "$ROOT/tools/minio/go.sum" | sha256sum | cut -d' ' -f1)"
    if [[ -x "$MINIO" && -x "$MC" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
        echo "minio: cached at $MINIO (admin client $MC)"
        return
    fi
    command -v go >/dev/null || { echo "s3-server: 'go' is required to build MinIO" >&2; exit 1; }
    mkdir -p "$BIN_DIR"
    echo "minio: building minio and mc from the Go module proxy (first time takes several minutes)..."
    local start=$SECONDS
    (cd "$ROOT/tools/minio" \
        && go build -trimpath -o "$MINIO.tmp" github.com/minio/minio \
        && go build -trimpath -o "$MC.tmp" github.com/minio/mc)
    mv "$MINIO.tmp" "$MINIO"
    mv "$MC.tmp" "$MC"
    echo "$want" >"$stamp"
    echo "minio: built in $((SECONDS - start)) s -> $MINIO, $MC"
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
    rm -f "$PID_FILE" "$ENV_FILE" "$STATE"/env.*
}

# mc as root against the server started here: the alias `hb` comes from
# MC_HOST_hb (the root secret is never on a command line); mc keeps its own
# state under .cache/s3 and its output in .cache/s3/mc.log.
admin() {
    if ! MC_CONFIG_DIR="$STATE/mc" MC_HOST_hb="$ROOT_URL" "$MC" --quiet --no-color "$@" \
        >>"$STATE/mc.log" 2>&1; then
        echo "s3-server: mc $1 $2 failed, see $STATE/mc.log" >&2
        exit 1
    fi
}

# The bucket of a home hospital's blobs: healthblock-<mspid in lower case>,
# as healthblock_store::home_bucket names it.
home_bucket() {
    echo "$HOME_PREFIX-$(echo "$1" | tr '[:upper:]' '[:lower:]')"
}

# One bucket and one MinIO user per hospital. A user may write and delete
# only in its own bucket; it may read every hospital's bucket (a grantee
# fetches another home's ciphertext: AEAD and the ledger's hash protect it,
# the home's custodian releases the key).
setup_hospitals() {
    local endpoint="$1" msp bucket user secret reads="" policy
    for msp in $HOSPITALS; do
        bucket="$(home_bucket "$msp")"
        admin mb --ignore-existing "hb/$bucket"
        reads="$reads${reads:+, }\"arn:aws:s3:::$bucket\", \"arn:aws:s3:::$bucket/*\""
    done
    for msp in $HOSPITALS; do
        bucket="$(home_bucket "$msp")"
        user="hb$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
        secret="$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
        policy="$STATE/policy.$msp.json"
        cat >"$policy" <<EOF
{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "OnlyTheHomeHospitalWritesOrDeletesItsBlobs",
      "Effect": "Allow",
      "Action": ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload",
                 "s3:ListMultipartUploadParts", "s3:ListBucketMultipartUploads"],
      "Resource": ["arn:aws:s3:::$bucket", "arn:aws:s3:::$bucket/*"]
    },
    {
      "Sid": "EveryHospitalReadsTheCiphertext",
      "Effect": "Allow",
      "Action": ["s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation"],
      "Resource": [$reads]
    }
  ]
}
EOF
        # A user's secret is an argument of `mc admin user add`: a local test
        # server, fresh random credentials on every start.
        admin admin user add hb "$user" "$secret"
        admin admin policy create hb "healthblock-$msp" "$policy"
        admin admin policy attach hb "healthblock-$msp" --user "$user"
        cat >"$STATE/env.$msp" <<EOF
HEALTHBLOCK_S3_ENDPOINT=$endpoint
HEALTHBLOCK_S3_ACCESS_KEY=$user
HEALTHBLOCK_S3_SECRET_KEY=$secret
HEALTHBLOCK_S3_BUCKET_PREFIX=$HOME_PREFIX
HEALTHBLOCK_S3_REGION=us-east-1
EOF
    done
}

start() {
    install
    stop
    rm -rf "$STATE"
    mkdir -p "$STATE/data"
    chmod 700 "$STATE"
    umask 077
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
    ROOT_URL="http://$key:$secret@127.0.0.1:$PORT"
    admin mb --ignore-existing "hb/$BUCKET"
    setup_hospitals "$endpoint"
    cat >"$ENV_FILE" <<EOF
HEALTHBLOCK_S3_ENDPOINT=$endpoint
HEALTHBLOCK_S3_ACCESS_KEY=$key
HEALTHBLOCK_S3_SECRET_KEY=$secret
HEALTHBLOCK_S3_BUCKET=$BUCKET
HEALTHBLOCK_S3_REGION=us-east-1
EOF
    echo "minio: running on $endpoint (pid $(cat "$PID_FILE")), env in $ENV_FILE;" \
        "per-hospital buckets and users for $HOSPITALS, env in $STATE/env.<MSPID>"
}

case "${1:-}" in
    install) install ;;
    start) start ;;
    stop) stop ;;
    env) echo "$ENV_FILE" ;;
    *) echo "usage: $0 {install|start|stop|env}" >&2; exit 2 ;;
esac
