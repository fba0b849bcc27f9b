//! The `healthblock-wbcb` binary end to end: keys, encrypt, decrypt, store,
//! and clean failures (exit code 1, one `error:` line, no panic).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

fn wbcb(dir: &Path, args: &[&str]) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = Command::new(env!("CARGO_BIN_EXE_healthblock-wbcb"))
        .current_dir(dir)
        .env_remove("HEALTHBLOCK_STORE")
        .args(args)
        .output()
        .expect("run healthblock-wbcb");
    let run = Run {
        ok: status.success(),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    };
    assert!(!run.stderr.contains("panicked"), "panic: {}", run.stderr);
    assert!(
        !run.stderr.contains("RUST_BACKTRACE"),
        "backtrace hint: {}",
        run.stderr
    );
    run
}

fn ok(dir: &Path, args: &[&str]) -> Run {
    let run = wbcb(dir, args);
    assert!(run.ok, "{args:?} failed: {}", run.stderr);
    run
}

fn fails(dir: &Path, args: &[&str], needle: &str) {
    let run = wbcb(dir, args);
    assert!(!run.ok, "{args:?} should fail");
    assert!(run.stderr.starts_with("error: "), "{}", run.stderr);
    assert!(
        run.stderr.contains(needle),
        "expected {needle:?} in: {}",
        run.stderr
    );
}

fn setup() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().to_path_buf();
    for who in ["alice", "bob", "eve"] {
        ok(&dir, &["keys", "gen", "--out-dir", "keys", "--name", who]);
    }
    let record: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(dir.join("scan.bin"), &record).expect("write record");
    ok(
        &dir,
        &[
            "encrypt",
            "--to",
            "keys/alice.pub.pem",
            "--to",
            "keys/bob.pub.pem",
            "--record-id",
            "rec-1",
            "--version",
            "2",
            "--patient",
            "pseu-1",
            "--out",
            "scan.wbcb",
            "scan.bin",
        ],
    );
    (tmp, dir)
}

#[test]
fn keys_gen_writes_private_key_0600_and_fingerprint() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let run = ok(dir, &["keys", "gen", "--out-dir", "k", "--name", "me"]);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.join("k/me.key.pem"))
        .expect("key")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let fp = ok(dir, &["keys", "fingerprint", "k/me.pub.pem"])
        .stdout
        .trim()
        .to_string();
    assert_eq!(fp.len(), 64);
    assert!(run.stdout.contains(&fp));
    assert_eq!(
        ok(dir, &["keys", "fingerprint", "k/me.key.pem"])
            .stdout
            .trim(),
        fp
    );
    assert!(!run.stdout.contains("PRIVATE"), "private key printed");
    fails(
        dir,
        &["keys", "gen", "--out-dir", "k", "--name", "me"],
        "already exists",
    );
}

#[test]
fn every_recipient_decrypts_and_others_cannot() {
    let (_tmp, dir) = setup();
    let original = std::fs::read(dir.join("scan.bin")).expect("read");
    for who in ["alice", "bob"] {
        let key = format!("keys/{who}.key.pem");
        let out = format!("{who}.out");
        ok(
            &dir,
            &[
                "decrypt",
                "--key",
                &key,
                "--record-id",
                "rec-1",
                "--version",
                "2",
                "--out",
                &out,
                "scan.wbcb",
            ],
        );
        assert_eq!(std::fs::read(dir.join(&out)).expect("out"), original);
    }
    fails(
        &dir,
        &[
            "decrypt",
            "--key",
            "keys/eve.key.pem",
            "--out",
            "eve.out",
            "scan.wbcb",
        ],
        "not a recipient",
    );
    // Eve borrowing Alice's wrap is told it is not addressed to her key.
    let alice_fp = ok(&dir, &["keys", "fingerprint", "keys/alice.pub.pem"])
        .stdout
        .trim()
        .to_string();
    let wrap = format!("scan.wbcb.wraps/{alice_fp}");
    fails(
        &dir,
        &[
            "decrypt",
            "--key",
            "keys/eve.key.pem",
            "--wrap",
            &wrap,
            "--out",
            "eve.out",
            "scan.wbcb",
        ],
        "not to this key",
    );
    assert!(!dir.join("eve.out").exists());
    fails(
        &dir,
        &[
            "decrypt",
            "--key",
            "keys/alice.key.pem",
            "--record-id",
            "rec-9",
            "--out",
            "x",
            "scan.wbcb",
        ],
        "not record",
    );
}

#[test]
fn tampered_blob_fails_and_leaves_no_output() {
    let (_tmp, dir) = setup();
    let mut blob = std::fs::read(dir.join("scan.wbcb")).expect("blob");
    let at = blob.len() / 2;
    blob[at] ^= 1;
    std::fs::write(dir.join("bad.wbcb"), &blob).expect("write");
    std::fs::create_dir_all(dir.join("bad.wbcb.wraps")).expect("dir");
    for entry in std::fs::read_dir(dir.join("scan.wbcb.wraps")).expect("wraps") {
        let entry = entry.expect("entry");
        std::fs::copy(
            entry.path(),
            dir.join("bad.wbcb.wraps").join(entry.file_name()),
        )
        .expect("copy");
    }
    fails(
        &dir,
        &[
            "decrypt",
            "--key",
            "keys/alice.key.pem",
            "--out",
            "bad.out",
            "bad.wbcb",
        ],
        "failed authentication",
    );
    assert!(!dir.join("bad.out").exists());
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .expect("dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".wbcb-partial"))
        .collect();
    assert!(leftovers.is_empty(), "temporary plaintext left behind");
    blob.truncate(blob.len() - 100);
    std::fs::write(dir.join("bad.wbcb"), &blob).expect("write");
    fails(
        &dir,
        &[
            "decrypt",
            "--key",
            "keys/alice.key.pem",
            "--out",
            "bad.out",
            "bad.wbcb",
        ],
        "decrypting bad.wbcb",
    );
}

#[test]
fn store_put_get_rm_and_erasure() {
    let (_tmp, dir) = setup();
    let put = ok(
        &dir,
        &["store", "put", "--store", "file:objects", "scan.wbcb"],
    );
    let hash = put.stdout.trim().to_string();
    assert_eq!(hash.len(), 64);
    assert!(put.stderr.contains("2 wrap(s)"), "{}", put.stderr);
    ok(
        &dir,
        &[
            "store",
            "get",
            "--store",
            "objects",
            &hash,
            "--out",
            "fetched.wbcb",
        ],
    );
    ok(
        &dir,
        &[
            "decrypt",
            "--key",
            "keys/bob.key.pem",
            "--out",
            "bob.out",
            "fetched.wbcb",
        ],
    );
    assert_eq!(
        std::fs::read(dir.join("bob.out")).expect("out"),
        std::fs::read(dir.join("scan.bin")).expect("in")
    );

    // Revoke Bob's stored wrap: a fresh download no longer opens for him.
    let bob_fp = ok(&dir, &["keys", "fingerprint", "keys/bob.pub.pem"])
        .stdout
        .trim()
        .to_string();
    ok(
        &dir,
        &[
            "store", "rm", "--store", "objects", &hash, "--wrap", &bob_fp,
        ],
    );
    ok(
        &dir,
        &[
            "store",
            "get",
            "--store",
            "objects",
            &hash,
            "--out",
            "again.wbcb",
        ],
    );
    fails(
        &dir,
        &[
            "decrypt",
            "--key",
            "keys/bob.key.pem",
            "--out",
            "bob2.out",
            "again.wbcb",
        ],
        "not a recipient",
    );

    // Erase the record: nothing left to fetch.
    ok(&dir, &["store", "rm", "--store", "objects", &hash]);
    fails(
        &dir,
        &[
            "store",
            "get",
            "--store",
            "objects",
            &hash,
            "--out",
            "gone.wbcb",
        ],
        "not found",
    );
    fails(
        &dir,
        &["store", "rm", "--store", "objects", &hash],
        "not found",
    );
}

#[test]
fn bad_inputs_fail_cleanly() {
    let (_tmp, dir) = setup();
    std::fs::write(dir.join("junk.pem"), "hello").expect("write");
    std::fs::write(dir.join("junk.wbcb"), b"WBCB\x01\x01\xff\xff garbage").expect("write");
    fails(
        &dir,
        &[
            "encrypt",
            "--to",
            "junk.pem",
            "--record-id",
            "r",
            "--patient",
            "p",
            "scan.bin",
        ],
        "SPKI PEM",
    );
    fails(
        &dir,
        &[
            "encrypt",
            "--to",
            "keys/alice.pub.pem",
            "--record-id",
            "r",
            "--patient",
            "p",
            "missing.bin",
        ],
        "cannot open",
    );
    fails(
        &dir,
        &[
            "encrypt",
            "--to",
            "keys/alice.pub.pem",
            "--record-id",
            "",
            "--patient",
            "p",
            "scan.bin",
        ],
        "record id is empty",
    );
    fails(
        &dir,
        &["decrypt", "--key", "junk.pem", "--out", "o", "scan.wbcb"],
        "PKCS#8",
    );
    fails(
        &dir,
        &[
            "decrypt",
            "--key",
            "keys/alice.key.pem",
            "--out",
            "o",
            "junk.wbcb",
        ],
        "malformed WBCB header",
    );
    fails(
        &dir,
        &[
            "decrypt",
            "--key",
            "keys/alice.key.pem",
            "--out",
            "o",
            "scan.bin",
        ],
        "not a WBCB record",
    );
    fails(
        &dir,
        &["store", "get", "--store", "objects", "nothex", "--out", "o"],
        "64 hex digits",
    );
    fails(
        &dir,
        &["store", "put", "--store", "https://example", "scan.wbcb"],
        "--store must be",
    );
}
