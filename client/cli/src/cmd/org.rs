//! `healthblock org init`: a new hospital's identity material, made on the
//! hospital's own host (CA and TLS CA keys, its peers, its admin and a user, in
//! cryptogen's layout; private keys 0600 and never leaving this machine), and
//! the public MSP directory it hands to the consortium for `channel update
//! propose org-add`. Needs no network and no consortium description.

use crate::output;
use anyhow::{anyhow, Result};
use healthblock_network::cryptogen::{self, spec};
use serde::Serialize;
use std::path::PathBuf;

#[derive(clap::Subcommand, Debug)]
pub(crate) enum OrgCmd {
    /// Generate a new hospital's keys and certificates here, and name the public part to hand over.
    Init(InitArgs),
}

#[derive(clap::Args, Debug)]
pub(crate) struct InitArgs {
    /// The organisation's name, e.g. Hospital4 (its MSP id is NAME + "MSP").
    pub name: String,
    /// Its domain (default: the lower-cased name + ".healthblock.test").
    #[arg(long)]
    pub domain: Option<String>,
    /// How many peers to make identities for.
    #[arg(long, default_value_t = 1)]
    pub peers: u32,
    /// Where to write the material (cryptogen's layout below it).
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct InitOut {
    mspid: String,
    domain: String,
    /// Certificates only: what the consortium needs for `org-add`.
    public_msp_dir: PathBuf,
    /// The admin's signing MSP (its private key stays on this host).
    admin_msp_dir: PathBuf,
    created: usize,
}

pub(crate) fn run(cmd: OrgCmd) -> Result<()> {
    match cmd {
        OrgCmd::Init(a) => init(a),
    }
}

fn init(a: InitArgs) -> Result<()> {
    if a.name.is_empty() || !a.name.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(anyhow!(
            "organisation name {:?}: letters and digits only",
            a.name
        ));
    }
    let domain = a
        .domain
        .clone()
        .unwrap_or_else(|| format!("{}.healthblock.test", a.name.to_lowercase()));
    let config = spec::CryptoConfig {
        peer_orgs: vec![spec::OrgSpec {
            name: a.name.clone(),
            domain: domain.clone(),
            enable_node_ous: true,
            template: spec::NodeTemplate {
                count: a.peers,
                sans: vec!["127.0.0.1".into(), "localhost".into()],
                ..Default::default()
            },
            users: spec::UsersSpec {
                count: 1,
                ..Default::default()
            },
            ..Default::default()
        }],
        ..Default::default()
    };
    let report = cryptogen::generate(&config, &a.out, false)
        .map_err(|e| anyhow!("generating {}'s material: {e}", a.name))?;
    let org_dir = a.out.join("peerOrganizations").join(&domain);
    let out = InitOut {
        mspid: format!("{}MSP", a.name),
        public_msp_dir: org_dir.join("msp"),
        admin_msp_dir: org_dir
            .join("users")
            .join(format!("Admin@{domain}"))
            .join("msp"),
        domain,
        created: report.created.len(),
    };
    if a.json {
        return output::json(&out);
    }
    println!(
        "{} ({}): material under {}",
        a.name,
        out.mspid,
        org_dir.display()
    );
    println!(
        "  hand over (certificates only): {}",
        out.public_msp_dir.display()
    );
    println!(
        "  your admin signs with: healthblock channel update sign FILE --msp-dir {} --mspid {}",
        out.admin_msp_dir.display(),
        out.mspid
    );
    Ok(())
}
