//! `healthblock chaincode deploy`: chaincode-as-a-service, end to end.
//!
//! Issues the chaincode server a TLS certificate from the first hospital's TLS
//! CA, packages a `connection.json` as a CCaaS package (package id =
//! label:sha256), starts the server with that package id, then runs the
//! lifecycle through `_lifecycle` on the peers with each org's admin: install
//! everywhere, approve per org, commit. A redeploy bumps the sequence. On real
//! Fabric it then waits until every peer's gateway can plan an endorsement
//! across the orgs (gossip spreads the new chaincode in a few seconds).

use crate::context::{sibling_binary, Context};
use crate::output;
use anyhow::{anyhow, bail, Context as _, Result};
use fabric_client::admin::package::{build_ccaas_package, CcaasConnection, ChaincodePackage};
use healthblock_network::consortium::Backend;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[derive(clap::Subcommand, Debug)]
pub(crate) enum ChaincodeCmd {
    /// Package, start and define a chaincode on the channel (a redeploy bumps the sequence).
    Deploy(DeployArgs),
}

#[derive(clap::Args, Debug)]
pub(crate) struct DeployArgs {
    /// Chaincode name on the channel.
    #[arg(long, default_value = "kv")]
    pub name: String,
    /// Chaincode server binary (default: the stand-in `healthblock-kvcc` next to this CLI).
    #[arg(long)]
    pub binary: Option<PathBuf>,
    /// Version label of the definition.
    #[arg(long, default_value = "1.0")]
    pub version: String,
    /// Endorsement policy (default: the channel's /Channel/Application/Endorsement):
    /// a signature policy such as `OR('Hospital1MSP.peer')`, or `every-org`
    /// (a peer of every hospital; the EHR contract needs it).
    #[arg(long)]
    pub policy: Option<String>,
    #[arg(long)]
    pub json: bool,
}

pub(crate) async fn run(ctx: &Context, cmd: ChaincodeCmd) -> Result<()> {
    match cmd {
        ChaincodeCmd::Deploy(a) => deploy(ctx, a).await,
    }
}

/// Where one chaincode's server files live.
struct ServerFiles {
    dir: PathBuf,
}

impl ServerFiles {
    fn new(ctx: &Context, name: &str) -> Self {
        Self {
            dir: ctx.layout.chaincode_dir().join(name),
        }
    }
    fn pid(&self) -> PathBuf {
        self.dir.join("server.pid")
    }
    fn log(&self) -> PathBuf {
        self.dir.join("server.log")
    }
    fn cert(&self) -> PathBuf {
        self.dir.join("tls/server.crt")
    }
    fn key(&self) -> PathBuf {
        self.dir.join("tls/server.key")
    }
    fn package(&self) -> PathBuf {
        self.dir.join("package.tgz")
    }
    /// How the server was last started, so `network up` can start it again.
    fn record(&self) -> PathBuf {
        self.dir.join("server.json")
    }
}

/// What `network up` needs to start a deployed chaincode server again.
#[derive(serde::Serialize, serde::Deserialize)]
struct ServerRecord {
    binary: PathBuf,
    address: String,
    package_id: String,
}

/// Starts again every deployed chaincode server that is not running (after
/// `network down`, a reboot or a crash): the peers dial it at the address
/// their package names. Returns (chaincode, pid) of each one started.
pub(crate) fn restart_servers(ctx: &Context) -> Result<Vec<(String, u32)>> {
    let Ok(entries) = std::fs::read_dir(ctx.layout.chaincode_dir()) else {
        return Ok(Vec::new());
    };
    let mut started = Vec::new();
    for entry in entries.flatten() {
        let files = ServerFiles { dir: entry.path() };
        let Ok(text) = std::fs::read_to_string(files.record()) else {
            continue;
        };
        if read_pid(&files.pid()).is_some_and(alive) {
            continue;
        }
        let record: ServerRecord = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a server record", files.record().display()))?;
        let pid = start_server(&files, &record.binary, &record.address, &record.package_id)?;
        started.push((entry.file_name().to_string_lossy().into_owned(), pid));
    }
    Ok(started)
}

/// The port the chaincode server of `name` listens on: the one it had before (a redeploy keeps
/// it), else the first port after the orderers' that no other chaincode of this network uses.
fn server_port(ctx: &Context, files: &ServerFiles) -> Result<u16> {
    let recorded = files.dir.join("port");
    if let Some(port) = std::fs::read_to_string(&recorded)
        .ok()
        .and_then(|p| p.trim().parse().ok())
    {
        return Ok(port);
    }
    let taken: Vec<u16> = std::fs::read_dir(ctx.layout.chaincode_dir())
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path().join("port")).ok())
        .filter_map(|p| p.trim().parse().ok())
        .collect();
    let base = ctx.consortium.orderer_org.solo().ports.listen + 40;
    let port = (base..base + 10)
        .find(|p| !taken.contains(p))
        .ok_or_else(|| anyhow!("no free chaincode server port in {base}..{}", base + 10))?;
    std::fs::write(&recorded, port.to_string())?;
    Ok(port)
}

/// Issues the chaincode server's TLS certificate from Hospital1's TLS CA (once).
fn ensure_tls(ctx: &Context, files: &ServerFiles, name: &str) -> Result<Vec<u8>> {
    let org = ctx
        .consortium
        .orgs
        .first()
        .ok_or_else(|| anyhow!("the consortium has no orgs"))?;
    let tlsca_dir = ctx.layout.org_dir(org).join("tlsca");
    let ca_cert = find_file(&tlsca_dir, |n| n.ends_with("-cert.pem"))?;
    let ca_cert_pem = std::fs::read_to_string(&ca_cert)?;
    if files.cert().exists() && files.key().exists() {
        return Ok(ca_cert_pem.into_bytes());
    }
    let ca_key_pem = std::fs::read_to_string(find_file(&tlsca_dir, |n| n.ends_with("_sk"))?)?;
    let issuer =
        rcgen::Issuer::from_ca_cert_pem(&ca_cert_pem, rcgen::KeyPair::from_pem(&ca_key_pem)?)?;
    let host = format!("{name}.chaincode.{}", org.domain);
    let mut params =
        rcgen::CertificateParams::new(vec![host.clone(), "localhost".into(), "127.0.0.1".into()])?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, host);
    params.extended_key_usages = vec![
        rcgen::ExtendedKeyUsagePurpose::ServerAuth,
        rcgen::ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let cert = params.signed_by(&key, &issuer)?;
    std::fs::create_dir_all(files.dir.join("tls"))?;
    std::fs::write(files.cert(), cert.pem())?;
    // A key left behind without its certificate is stale: the pair is issued afresh.
    match std::fs::remove_file(files.key()) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
        _ => {}
    }
    healthblock_sdk::keys::write_private(&files.key(), key.serialize_pem().as_bytes())?;
    Ok(ca_cert_pem.into_bytes())
}

fn find_file(dir: &Path, pred: impl Fn(&str) -> bool) -> Result<PathBuf> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let path = entry?.path();
        if path.file_name().and_then(|n| n.to_str()).is_some_and(&pred) {
            return Ok(path);
        }
    }
    bail!("expected file not found in {}", dir.display())
}

fn read_pid(path: &Path) -> Option<i32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn alive(pid: i32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| !s.contains(") Z "))
            .unwrap_or(false)
}

fn kill(pid: i32, signal: &str) {
    let _ = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status();
}

/// Stops a running chaincode server by its pid file.
fn stop_server(files: &ServerFiles) {
    if let Some(pid) = read_pid(&files.pid()) {
        if alive(pid) {
            kill(pid, "-TERM");
            let deadline = Instant::now() + Duration::from_secs(5);
            while alive(pid) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            if alive(pid) {
                kill(pid, "-KILL");
            }
        }
        let _ = std::fs::remove_file(files.pid());
    }
}

/// Stops every chaincode server started by `deploy` (used by `network down`).
pub(crate) fn stop_servers(ctx: &Context) -> Result<()> {
    let dir = ctx.layout.chaincode_dir();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        stop_server(&ServerFiles { dir: entry.path() });
    }
    Ok(())
}

/// Starts the chaincode server in the background and waits until it accepts connections.
fn start_server(
    files: &ServerFiles,
    binary: &Path,
    address: &str,
    package_id: &str,
) -> Result<u32> {
    stop_server(files);
    if std::net::TcpStream::connect(address).is_ok() {
        bail!("cannot start the chaincode server: {address} is already in use by another process");
    }
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(files.log())?;
    let child = Command::new(binary)
        .env("CHAINCODE_SERVER_ADDRESS", address)
        .env("CHAINCODE_ID", package_id)
        .env("CHAINCODE_TLS_CERT", files.cert())
        .env("CHAINCODE_TLS_KEY", files.key())
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .process_group(0)
        .spawn()
        .with_context(|| format!("cannot start {}", binary.display()))?;
    let pid = child.id();
    std::fs::write(files.pid(), pid.to_string())?;
    let deadline = Instant::now() + Duration::from_secs(15);
    while std::net::TcpStream::connect(address).is_err() {
        if Instant::now() > deadline || !alive(pid as i32) {
            stop_server(files);
            bail!(
                "the chaincode server did not start listening on {address}; see {}",
                files.log().display()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    if !alive(pid as i32) {
        bail!(
            "the chaincode server exited right after starting; see {}",
            files.log().display()
        );
    }
    Ok(pid)
}

use std::os::unix::process::CommandExt;

async fn deploy(ctx: &Context, a: DeployArgs) -> Result<()> {
    let started = Instant::now();
    let files = ServerFiles::new(ctx, &a.name);
    std::fs::create_dir_all(&files.dir)?;
    let tls_ca = ensure_tls(ctx, &files, &a.name)?;
    let address = format!("{}:{}", ctx.consortium.host, server_port(ctx, &files)?);
    let label = format!("{}_{}", a.name, a.version);
    let connection = CcaasConnection {
        tls_required: true,
        root_cert: Some(String::from_utf8(tls_ca)?),
        // The certificate names 127.0.0.1 and localhost; the peer checks it against the host it dials.
        domain: None,
        ..CcaasConnection::plaintext(address.clone())
    };
    let ChaincodePackage {
        bytes, package_id, ..
    } = build_ccaas_package(&label, &connection)?;
    std::fs::write(files.package(), &bytes)?;
    let binary = match &a.binary {
        Some(b) => b.clone(),
        None => sibling_binary("healthblock-kvcc")?,
    };
    let pid = start_server(&files, &binary, &address, &package_id)?;
    let record = ServerRecord {
        binary: binary.clone(),
        address: address.clone(),
        package_id: package_id.clone(),
    };
    std::fs::write(files.record(), serde_json::to_vec_pretty(&record)?)?;
    if !a.json {
        output::step(format!(
            "chaincode server {} (pid {pid}) on {address}, package {package_id}",
            binary.display()
        ));
    }
    let sequence = crate::cmd::lifecycle::define(
        ctx,
        &a.name,
        &a.version,
        &bytes,
        &package_id,
        a.policy.as_deref(),
        a.json,
    )
    .await?;
    if ctx.consortium.backend == Backend::Fabric {
        let waited = crate::cmd::lifecycle::wait_endorsable(ctx, &a.name).await?;
        if !a.json {
            output::step(format!(
                "every peer's gateway reaches an endorser of {} in every org (after {waited:.1?})",
                a.name
            ));
        }
    }
    if a.json {
        output::json(&serde_json::json!({
            "name": a.name, "version": a.version, "sequence": sequence, "package_id": package_id,
            "server": address, "pid": pid, "seconds": started.elapsed().as_secs_f64(),
        }))
    } else {
        println!(
            "chaincode {} deployed: sequence {sequence}, package {package_id}, in {:.1?}",
            a.name,
            started.elapsed()
        );
        Ok(())
    }
}
