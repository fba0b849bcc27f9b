//! The chaincode-as-a-service external builder the peers run.
//!
//! Owns: Fabric's external builder contract for CCaaS packages, as three
//! commands of one executable chosen by the name it is called by:
//! - `detect SRC META`: succeeds when `META/metadata.json` has type `ccaas`;
//! - `build SRC META OUT`: renders `SRC/connection.json`'s templates (such
//!   as `{{.peername}}`) with the peer's `CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG`
//!   and writes the result, as Fabric's own CCaaS builder rewrites it, to
//!   `OUT` after checking it (and copies `SRC/META-INF`, if any);
//! - `release OUT RELEASE`: copies `OUT/connection.json` to
//!   `RELEASE/chaincode/server/connection.json` (and `OUT/META-INF/statedb` to
//!   `RELEASE/statedb`), which tells the peer where to dial the chaincode.
//!
//! Also owns installing the builder: `<builder>/bin/{detect,build,release}`
//! as symlinks to the executable.

use fabric_package::ccaas_template::{self, BuilderConfig, TemplateError};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Errors of the builder, printed on stderr by the executable (exit status 1).
#[derive(Debug, thiserror::Error)]
pub enum BuilderError {
    #[error("usage: {0}")]
    Usage(String),
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Template {
        path: PathBuf,
        source: TemplateError,
    },
    #[error(transparent)]
    Config(TemplateError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BuilderError + '_ {
    move |source| BuilderError::Io {
        path: path.to_owned(),
        source,
    }
}

/// What the builder was asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Detect,
    Build,
    Release,
}

impl Phase {
    pub const ALL: [Phase; 3] = [Phase::Detect, Phase::Build, Phase::Release];

    /// The file name the peer calls: `bin/detect`, `bin/build`, `bin/release`.
    pub fn file_name(self) -> &'static str {
        match self {
            Phase::Detect => "detect",
            Phase::Build => "build",
            Phase::Release => "release",
        }
    }

    /// The phase named by `argv[0]`'s file name.
    pub fn from_program(argv0: &str) -> Option<Self> {
        let name = Path::new(argv0).file_name()?.to_str()?;
        Self::ALL.into_iter().find(|p| p.file_name() == name)
    }

    fn arity(self) -> usize {
        match self {
            Phase::Detect | Phase::Release => 2,
            Phase::Build => 3,
        }
    }

    fn usage(self) -> &'static str {
        match self {
            Phase::Detect => "detect SOURCE_DIR METADATA_DIR",
            Phase::Build => "build SOURCE_DIR METADATA_DIR OUTPUT_DIR",
            Phase::Release => "release BUILD_OUTPUT_DIR RELEASE_DIR",
        }
    }
}

/// Outcome of a phase: `detect` may decline a package (exit status 1, no error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Done,
    NotCcaas,
}

/// Runs `phase` with its directory arguments; `config` is the text of
/// `CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG` (empty when unset), which the build
/// phase renders templates with.
pub fn run(phase: Phase, args: &[PathBuf], config: &str) -> Result<Outcome, BuilderError> {
    if args.len() != phase.arity() {
        return Err(BuilderError::Usage(phase.usage().to_owned()));
    }
    match phase {
        Phase::Detect => detect(&args[1]),
        Phase::Build => {
            let config = ccaas_template::parse_config(config).map_err(BuilderError::Config)?;
            build(&args[0], &args[2], &config).map(|()| Outcome::Done)
        }
        Phase::Release => release(&args[0], &args[1]).map(|()| Outcome::Done),
    }
}

#[derive(Deserialize)]
struct Metadata {
    #[serde(rename = "type")]
    kind: String,
}

fn detect(metadata_dir: &Path) -> Result<Outcome, BuilderError> {
    let path = metadata_dir.join("metadata.json");
    let bytes = std::fs::read(&path).map_err(io(&path))?;
    let meta: Metadata = serde_json::from_slice(&bytes).map_err(|e| BuilderError::File {
        path: path.clone(),
        message: format!("not valid package metadata: {e}"),
    })?;
    Ok(if meta.kind.eq_ignore_ascii_case("ccaas") {
        Outcome::Done
    } else {
        Outcome::NotCcaas
    })
}

/// The fields of connection.json the peer needs to dial the chaincode.
#[derive(Deserialize)]
struct Connection {
    #[serde(default)]
    address: String,
    #[serde(default)]
    tls_required: bool,
    #[serde(default)]
    root_cert: String,
}

fn check_connection(path: &Path) -> Result<(), BuilderError> {
    let bytes = std::fs::read(path).map_err(io(path))?;
    check_connection_bytes(path, &bytes)
}

fn check_connection_bytes(path: &Path, bytes: &[u8]) -> Result<(), BuilderError> {
    let bad = |message: String| BuilderError::File {
        path: path.to_owned(),
        message,
    };
    let conn: Connection =
        serde_json::from_slice(bytes).map_err(|e| bad(format!("not valid JSON: {e}")))?;
    if conn.address.trim().is_empty() {
        return Err(bad("\"address\" is missing or empty".into()));
    }
    if conn.tls_required && conn.root_cert.trim().is_empty() {
        return Err(bad(
            "\"tls_required\" is set but \"root_cert\" is empty".into()
        ));
    }
    Ok(())
}

fn build(source_dir: &Path, output_dir: &Path, config: &BuilderConfig) -> Result<(), BuilderError> {
    let source = source_dir.join("connection.json");
    let bytes = std::fs::read(&source).map_err(io(&source))?;
    // Checked as written first, so a bad file is reported as such, not as a template error.
    check_connection_bytes(&source, &bytes)?;
    let rendered = ccaas_template::render_connection(&bytes, config).map_err(|source_err| {
        BuilderError::Template {
            path: source.clone(),
            source: source_err,
        }
    })?;
    check_connection_bytes(&source, &rendered)?;
    std::fs::create_dir_all(output_dir).map_err(io(output_dir))?;
    let target = output_dir.join("connection.json");
    std::fs::write(&target, &rendered).map_err(io(&target))?;
    // Fabric's builder keeps the source file's mode.
    let mode = std::fs::metadata(&source)
        .map_err(io(&source))?
        .permissions();
    std::fs::set_permissions(&target, mode).map_err(io(&target))?;
    let meta_inf = source_dir.join("META-INF");
    if meta_inf.is_dir() {
        copy_tree(&meta_inf, &output_dir.join("META-INF"))?;
    }
    Ok(())
}

fn release(output_dir: &Path, release_dir: &Path) -> Result<(), BuilderError> {
    let source = output_dir.join("connection.json");
    check_connection(&source)?;
    let server = release_dir.join("chaincode").join("server");
    std::fs::create_dir_all(&server).map_err(io(&server))?;
    copy_file(&source, &server.join("connection.json"))?;
    let statedb = output_dir.join("META-INF").join("statedb");
    if statedb.is_dir() {
        copy_tree(&statedb, &release_dir.join("statedb"))?;
    }
    Ok(())
}

fn copy_file(from: &Path, to: &Path) -> Result<(), BuilderError> {
    std::fs::copy(from, to).map(|_| ()).map_err(io(from))
}

/// Copies a directory tree of regular files (symlinks are not followed: packages hold none).
fn copy_tree(from: &Path, to: &Path) -> Result<(), BuilderError> {
    std::fs::create_dir_all(to).map_err(io(to))?;
    for entry in std::fs::read_dir(from).map_err(io(from))? {
        let entry = entry.map_err(io(from))?;
        let path = entry.path();
        let kind = entry.file_type().map_err(io(&path))?;
        let target = to.join(entry.file_name());
        if kind.is_dir() {
            copy_tree(&path, &target)?;
        } else if kind.is_file() {
            copy_file(&path, &target)?;
        }
    }
    Ok(())
}

/// Creates `<dir>/bin/{detect,build,release}` as symlinks to `executable` (replacing old ones).
pub fn install(dir: &Path, executable: &Path) -> Result<(), BuilderError> {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).map_err(io(&bin))?;
    for phase in Phase::ALL {
        let link = bin.join(phase.file_name());
        match std::fs::remove_file(&link) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(&link)(e)),
            _ => {}
        }
        std::os::unix::fs::symlink(executable, &link).map_err(io(&link))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONN: &str = r#"{"address":"127.0.0.1:9999","dial_timeout":"10s","tls_required":true,"root_cert":"-----BEGIN CERTIFICATE-----\n"}"#;

    fn dirs() -> (tempfile::TempDir, PathBuf, PathBuf, PathBuf, PathBuf) {
        let t = tempfile::tempdir().unwrap();
        let [src, meta, out, rel] = ["src", "meta", "out", "release"].map(|n| t.path().join(n));
        std::fs::create_dir_all(&src).unwrap();
        std::fs::create_dir_all(&meta).unwrap();
        (t, src, meta, out, rel)
    }

    #[test]
    fn phase_from_argv0() {
        assert_eq!(
            Phase::from_program("/x/builders/ccaas/bin/detect"),
            Some(Phase::Detect)
        );
        assert_eq!(Phase::from_program("release"), Some(Phase::Release));
        assert_eq!(
            Phase::from_program("/usr/bin/healthblock-ccaas-builder"),
            None
        );
    }

    #[test]
    fn detect_accepts_only_ccaas() {
        let (_t, src, meta, _, _) = dirs();
        std::fs::write(
            meta.join("metadata.json"),
            r#"{"type":"ccaas","label":"kv_1"}"#,
        )
        .unwrap();
        let args = [src.clone(), meta.clone()];
        assert_eq!(run(Phase::Detect, &args, "").unwrap(), Outcome::Done);
        std::fs::write(
            meta.join("metadata.json"),
            r#"{"type":"golang","label":"kv"}"#,
        )
        .unwrap();
        assert_eq!(run(Phase::Detect, &args, "").unwrap(), Outcome::NotCcaas);
        std::fs::write(meta.join("metadata.json"), "not json").unwrap();
        let err = run(Phase::Detect, &args, "").unwrap_err().to_string();
        assert!(
            err.contains("metadata.json") && err.contains("not valid"),
            "{err}"
        );
    }

    fn json(path: &Path) -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    }

    #[test]
    fn build_then_release_place_connection_json() {
        let (_t, src, meta, out, rel) = dirs();
        std::fs::write(src.join("connection.json"), CONN).unwrap();
        std::fs::create_dir_all(src.join("META-INF/statedb/couchdb/indexes")).unwrap();
        std::fs::write(src.join("META-INF/statedb/couchdb/indexes/i.json"), "{}").unwrap();
        run(Phase::Build, &[src, meta, out.clone()], "").unwrap();
        // Rewritten as Fabric's builder writes it: every field it knows, nothing else.
        let want = serde_json::json!({
            "address": "127.0.0.1:9999",
            "dial_timeout": "10s",
            "tls_required": true,
            "client_auth_required": false,
            "root_cert": "-----BEGIN CERTIFICATE-----\n",
            "client_key": "",
            "client_cert": "",
        });
        assert_eq!(json(&out.join("connection.json")), want);
        run(Phase::Release, &[out, rel.clone()], "").unwrap();
        assert_eq!(json(&rel.join("chaincode/server/connection.json")), want);
        assert!(rel.join("statedb/couchdb/indexes/i.json").is_file());
    }

    #[test]
    fn build_renders_templates_with_the_peer_config() {
        let (_t, src, meta, out, _) = dirs();
        std::fs::write(
            src.join("connection.json"),
            r#"{"address":"{{.peername}}.kv:9999","dial_timeout":"{{.timeout}}","tls_required":false}"#,
        )
        .unwrap();
        let args = [src.clone(), meta.clone(), out.clone()];
        run(
            Phase::Build,
            &args,
            r#"{"peername":"peer1hospital2","timeout":"5s"}"#,
        )
        .unwrap();
        let rendered = json(&out.join("connection.json"));
        assert_eq!(rendered["address"], "peer1hospital2.kv:9999");
        assert_eq!(rendered["dial_timeout"], "5s");
        // A key the config lacks fails the build, naming the field (Fabric: missingkey=error).
        let err = run(Phase::Build, &args, r#"{"peername":"p"}"#).unwrap_err();
        assert!(
            err.to_string().contains("dial_timeout field template")
                && err.to_string().contains("\"timeout\""),
            "{err}"
        );
        let err = run(Phase::Build, &args, "not json").unwrap_err();
        assert!(matches!(err, BuilderError::Config(_)), "{err}");
        // An address that renders empty is refused like a missing one.
        std::fs::write(
            src.join("connection.json"),
            r#"{"address":"{{.empty}}","tls_required":false}"#,
        )
        .unwrap();
        let err = run(Phase::Build, &args, r#"{"empty":""}"#).unwrap_err();
        assert!(err.to_string().contains("\"address\""), "{err}");
    }

    #[test]
    fn bad_input_is_a_clear_error() {
        let (_t, src, meta, out, rel) = dirs();
        let err = run(Phase::Build, &[src.clone(), meta.clone(), out.clone()], "").unwrap_err();
        assert!(err.to_string().contains("connection.json"), "{err}");
        std::fs::write(src.join("connection.json"), r#"{"tls_required":false}"#).unwrap();
        let err = run(Phase::Build, &[src.clone(), meta.clone(), out.clone()], "").unwrap_err();
        assert!(err.to_string().contains("\"address\""), "{err}");
        std::fs::write(
            src.join("connection.json"),
            r#"{"address":"a:1","tls_required":true}"#,
        )
        .unwrap();
        let err = run(Phase::Build, &[src, meta, out.clone()], "").unwrap_err();
        assert!(err.to_string().contains("root_cert"), "{err}");
        let err = run(Phase::Release, &[out], "").unwrap_err();
        assert!(matches!(err, BuilderError::Usage(_)), "{err}");
        assert!(run(Phase::Release, &[rel.clone(), rel], "").is_err());
    }

    #[test]
    fn install_links_the_three_phases() {
        let t = tempfile::tempdir().unwrap();
        let exe = t.path().join("healthblock-ccaas-builder");
        std::fs::write(&exe, b"").unwrap();
        let dir = t.path().join("builders/ccaas");
        install(&dir, &exe).unwrap();
        install(&dir, &exe).unwrap();
        for name in ["detect", "build", "release"] {
            assert_eq!(std::fs::read_link(dir.join("bin").join(name)).unwrap(), exe);
        }
    }
}
