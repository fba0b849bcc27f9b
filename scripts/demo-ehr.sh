#!/usr/bin/env bash
# The HealthBlock story (issue 8, item 6) on a running network:
# Hospital1 registers a patient and stores encrypted records; the patient
# grants a Hospital2 doctor; the doctor finds, reads and decrypts them; a
# Hospital3 nurse is denied; a Hospital3 doctor breaks the glass and decrypts;
# every key comes from Hospital1's key custodian, only for a committed,
# audited decision, once; the patient revokes Hospital2, which takes effect
# at once; the auditor reviews the break-glass, which closes it, and prints
# the trail; a tampered blob is caught by `record verify`.
#
# Assumes `healthblock network up` has run (same HEALTHBLOCK_HOME /
# HEALTHBLOCK_PORT_OFFSET as here); deploys the `ehr` chaincode itself.
# Users get fresh names each run, so the script can run more than once.
set -euo pipefail
cd "$(dirname "$0")/.."
hb=${HB:-target/debug/healthblock}
home=${HEALTHBLOCK_HOME:-$PWD}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
run=$(date +%s)

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# expect_fail TEXT CMD...: CMD must fail, and its error must contain TEXT
# (a failure for another reason, e.g. a bad flag or a lost network, stops the story).
expect_fail() {
    local want=$1
    shift
    if "$@" 2>"$work/err"; then
        echo "UNEXPECTED: the command succeeded: $*" >&2
        exit 1
    fi
    if ! grep -qF -- "$want" "$work/err"; then
        printf 'UNEXPECTED: the command failed, but not with "%s": %s\n' "$want" "$*" >&2
        cat "$work/err" >&2
        exit 1
    fi
    printf '   (failed as expected) %s\n' "$(grep -F -- "$want" "$work/err" | tail -1)"
}
# same ORIGINAL DECRYPTED WHAT: stops the story unless the two files are byte-identical.
# (Not `cmp a b && echo`: under `set -e` a failing command before `&&` does not stop a script.)
same() {
    if ! cmp "$1" "$2" >&2; then
        echo "MISMATCH: $3: $2 differs from $1" >&2
        exit 1
    fi
    echo "   $3: plaintext identical to the original"
}
user() { # user ORG NAME ROLE [PSEUDONYM]
    local extra=()
    [ -n "${4:-}" ] && extra=(--pseudonym "$4")
    local secret="pw-$2-$run"
    "$hb" user register --org "$1" --name "$2" --role "$3" --secret "$secret" "${extra[@]}" >/dev/null
    "$hb" user enroll --org "$1" --name "$2" --secret "$secret" >/dev/null
    "$hb" keydir publish --as "$2@$1" --json >/dev/null
    echo "   $2@$1 ($3) enrolled into the wallet and published their own encryption key on the ledger"
}

doc1="house-$run"; doc2="bob-$run"; nurse3="nora-$run"; doc3="erin-$run"; aud="audrey-$run"; pat="jane-$run"

say "1. Deploy the EHR contract (chaincode as a service, endorsed by every hospital); each hospital's admin publishes the hospital key"
"$hb" chaincode deploy --name ehr --policy every-org --binary "$(dirname "$hb")/healthblock-ehrcc"
for h in Hospital1 Hospital2 Hospital3; do
    "$hb" keydir publish --as "Admin@$h" --hospital --json >/dev/null
    echo "   $h published its hospital key"
done

say "2. Register and enroll hospital users at their hospitals' Fabric CAs (roles become certificate attributes)"
user Hospital1 "$doc1" doctor
user Hospital2 "$doc2" doctor
user Hospital3 "$nurse3" nurse
user Hospital3 "$doc3" doctor
user Hospital1 "$aud" auditor

say "3. Hospital1 registers patient \"Jane Doe $run\" under a random id: the name stays in Hospital1's own encrypted master patient index"
P=$("$hb" patient register --as "$doc1@Hospital1" --name "Jane Doe $run" --birth-date 1980-02-29 --mrn "H1-$run")
echo "   patient id: $P"
"$hb" patient find --as "$doc1@Hospital1" --name "jane doe $run"
user Hospital1 "$pat" patient "$P"

say "4. Hospital1 stores a FHIR Observation and a 64 MiB imaging file, encrypted (WBCB) before they leave the machine"
cat >"$work/observation.json" <<EOF
{"resourceType":"Observation","status":"final",
 "code":{"coding":[{"system":"http://loinc.org","code":"8867-4","display":"Heart rate"}]},
 "subject":{"reference":"Patient/$P"},"valueQuantity":{"value":72,"unit":"beats/minute"}}
EOF
head -c 64M /dev/urandom >"$work/scan.dcm"
OBS=$("$hb" record put --as "$doc1@Hospital1" --patient "$P" --type Observation --record-id "obs-$run" "$work/observation.json")
IMG=$("$hb" record put --as "$doc1@Hospital1" --patient "$P" --type ImagingStudy --record-id "img-$run" "$work/scan.dcm")
echo "   records: $OBS, $IMG"

say "5. The patient grants the Hospital2 doctor access (a ledger transaction: no key is wrapped for the doctor)"
"$hb" consent grant --as "$pat@Hospital1" --patient "$P" --to-user "$doc2@Hospital2"
"$hb" consent list --as "$pat@Hospital1" --patient "$P"

say "6. The Hospital2 doctor finds the records through the blind index (tokens, no names) and decrypts them: each read commits an audited access request, then Hospital1's key custodian checks that transaction on its own peer and releases the key"
"$hb" record list --as "$doc2@Hospital2" --patient "$P"
"$hb" record list --as "$doc2@Hospital2" --type Observation
"$hb" record get --as "$doc2@Hospital2" --record "$OBS" --out "$work/obs.out"
"$hb" record get --as "$doc2@Hospital2" --record "$IMG" --out "$work/scan.out"
same "$work/observation.json" "$work/obs.out" "the Hospital2 doctor's Observation"
same "$work/scan.dcm" "$work/scan.out" "the Hospital2 doctor's imaging file"

say "7. A Hospital3 nurse has no consent: denied (and the denial is audited)"
expect_fail "access denied" "$hb" record get --as "$nurse3@Hospital3" --record "$OBS" --out "$work/denied.out"

say "8. A Hospital3 emergency doctor breaks the glass (coded reason required, at most 3 a day, time-limited, flagged for review)"
BG=$("$hb" breakglass --as "$doc3@Hospital3" --patient "$P" --code UNCONSCIOUS --reason "unconscious patient in the emergency room")
echo "   break-glass id: $BG"
"$hb" access request --as "$doc3@Hospital3" --record "$OBS" --out "$work/er.out" --json >"$work/er.json"
same "$work/observation.json" "$work/er.out" "the emergency doctor's decryption"
TX=$(sed -n 's/.*"tx_id": "\([0-9a-f]*\)".*/\1/p' "$work/er.json")
say "8b. The same decision cannot release a key twice, nor to anyone else: Hospital1's custodian refuses the replay and the Hospital3 nurse"
expect_fail "redeemed before" "$hb" custodian release --as "$doc3@Hospital3" --tx "$TX" --of Hospital1
expect_fail "another identity" "$hb" custodian release --as "$nurse3@Hospital3" --tx "$TX" --of Hospital1

say "9. The patient revokes Hospital2: in force at once (the doctor holds no wrap to keep); the next version has a new data key anyway"
"$hb" consent revoke --as "$pat@Hospital1" --patient "$P" --to-user "$doc2@Hospital2"
sed 's/"value":72/"value":75/' "$work/observation.json" >"$work/observation-v2.json"
"$hb" record put --as "$doc1@Hospital1" --patient "$P" --type Observation --record-id "$OBS" "$work/observation-v2.json" >/dev/null
expect_fail "was revoked" "$hb" record get --as "$doc2@Hospital2" --record "$OBS" --out "$work/revoked.out"
# Distinct versions among the head key's changes (a wrap update rewrites the head too).
versions=$("$hb" record history --as "$doc1@Hospital1" --record "$OBS" --json | grep -o '"version": [0-9]*' | sort -u | wc -l)
[ "$((versions))" -eq 2 ] || { echo "MISMATCH: record history lists $versions versions of $OBS, not 2" >&2; exit 1; }
echo "   history: 2 versions of $OBS"
"$hb" record get --as "$doc1@Hospital1" --record "$OBS" --out "$work/obs-v2.out"
same "$work/observation-v2.json" "$work/obs-v2.out" "Hospital1's read of version 2"

say "10. The auditor reviews the break-glass, which closes it: no further decision grants the doctor, so no further key"
"$hb" breakglass review --as "$aud@Hospital1" --patient "$P" --id "$BG" --note "justified: unconscious patient, no other source"
expect_fail "was reviewed and is closed" "$hb" access request --as "$doc3@Hospital3" --record "$OBS"

say "10b. The auditor prints the trail: every access, granted or denied, break-glass steps flagged"
"$hb" audit --as "$aud@Hospital1" --patient "$P"

say "11. Integrity (Hospital1's IT: blocks are for peers and admins): the imaging blob verifies against the write set of the transaction that recorded it, then a byte is flipped in storage and verify must catch it"
"$hb" record verify --as "Admin@Hospital1" --record "$IMG"
hash=$("$hb" record verify --as "Admin@Hospital1" --record "$IMG" --json | sed -n 's/.*"ledger_sha256": "\([0-9a-f]*\)".*/\1/p')
[ -n "$hash" ] || { echo "cannot find the hash of $IMG" >&2; exit 1; }
if [ "${HEALTHBLOCK_STORE:-}" = s3 ]; then
    # Per-hospital MinIO buckets (scripts/s3-server.sh): the storage provider
    # (MinIO's root credential; no hospital's credential may write there but
    # Hospital1's) flips the byte in Hospital1's bucket.
    s3_dir=${HEALTHBLOCK_S3_ENV_DIR:-.cache/s3}
    s3_get() { sed -n "s/^$1=//p" "$s3_dir/env"; }
    endpoint=$(s3_get HEALTHBLOCK_S3_ENDPOINT)
    bucket="$(sed -n 's/^HEALTHBLOCK_S3_BUCKET_PREFIX=//p' "$s3_dir/env.Hospital1MSP")-hospital1msp"
    mc() {
        MC_CONFIG_DIR="$work/mc" \
            MC_HOST_provider="${endpoint%%://*}://$(s3_get HEALTHBLOCK_S3_ACCESS_KEY):$(s3_get HEALTHBLOCK_S3_SECRET_KEY)@${endpoint#*://}" \
            "${MC:-.cache/bin/mc}" --quiet --no-color "$@" >/dev/null
    }
    mc cp "provider/$bucket/blobs/$hash" "$work/blob"
    printf 'X' | dd of="$work/blob" bs=1 seek=1000 conv=notrunc status=none
    mc cp "$work/blob" "provider/$bucket/blobs/$hash"
else
    blob="$home/store/blobs/$hash"
    [ -f "$blob" ] || { echo "cannot find the blob of $IMG" >&2; exit 1; }
    printf 'X' | dd of="$blob" bs=1 seek=1000 conv=notrunc status=none
fi
expect_fail "TAMPERED: the stored blob of $IMG" "$hb" record verify --as "Admin@Hospital1" --record "$IMG"

say "Done: the story ran end to end."
