//! `healthblock`: the consortium's command-line tool.
//!
//! Admin commands run the network (devnet or real Fabric), deploy chaincode
//! and check the ledger; `tx` submits and evaluates transactions through the
//! Fabric Gateway; `bench` is the load generator. Every command has `--help`,
//! exits non-zero with a clear message on failure, and `--json` where scripts
//! read the output.

mod bench;
mod cmd;
mod context;
mod output;
mod stats;
mod tune;

use clap::{Parser, Subcommand};
use context::GlobalOpts;

#[derive(Parser)]
#[command(
    name = "healthblock",
    version,
    about = "HealthBlock: encrypted health records shared over Hyperledger Fabric"
)]
struct Cli {
    #[command(flatten)]
    global: GlobalOpts,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start, stop and inspect the consortium's network.
    #[command(subcommand)]
    Network(cmd::network::NetworkCmd),
    /// Package, install, approve and commit chaincode (chaincode-as-a-service).
    #[command(subcommand)]
    Chaincode(cmd::chaincode::ChaincodeCmd),
    /// Check the ledger's hash chain and orderer signatures.
    #[command(subcommand)]
    Ledger(cmd::ledger::LedgerCmd),
    /// The channel: the channels nodes serve, chain info, configuration, config updates
    /// (directly, or proposed, signed offline by several admins and submitted).
    #[command(subcommand)]
    Channel(cmd::channel::ChannelCmd),
    /// Each hospital's key custodian: audited release of data keys.
    #[command(subcommand)]
    Custodian(cmd::custodian::CustodianCmd),
    /// A new hospital's identity material, made on its own host (works offline).
    #[command(subcommand)]
    Org(cmd::org::OrgCmd),
    /// Submit or evaluate a transaction through a peer's Fabric Gateway.
    #[command(subcommand)]
    Tx(cmd::tx::TxCmd),
    /// Load generator: closed loop at several concurrencies, or open loop at fixed rates.
    Bench(cmd::bench::BenchArgs),
    /// Hyperledger Caliper: its network configuration, generated from the running network.
    #[command(subcommand)]
    Caliper(cmd::caliper::CaliperCmd),
    /// Tune the live channel's batch parameters for a stated objective (whale optimisation).
    Tune(cmd::tune::TuneArgs),
    /// Offline encryption (WBCB): keys, encrypt, decrypt, store.
    #[command(flatten)]
    Wbcb(healthblock_wbcb_cli::WbcbCommand),
    /// Register and enroll hospital users at their Fabric CA (roles as certificate attributes).
    #[command(subcommand)]
    User(healthblock_identity::cli::UserCmd),
    /// Register patients under a random id; find them in your hospital's index.
    #[command(subcommand)]
    Patient(cmd::clinical::patient::PatientCmd),
    /// The key directory: publish, show and revoke encryption public keys on the ledger.
    #[command(subcommand)]
    Keydir(cmd::clinical::keydir::KeydirCmd),
    /// Encrypted health records: put, get, list, history, verify.
    #[command(subcommand)]
    Record(cmd::clinical::record::RecordCmd),
    /// Patients' consents: grant, revoke, list.
    #[command(subcommand)]
    Consent(cmd::clinical::consent::ConsentCmd),
    /// Audited access requests.
    #[command(subcommand)]
    Access(cmd::clinical::access::AccessCmd),
    /// Emergency access by a doctor (audited, flagged for review).
    Breakglass(cmd::clinical::breakglass::BreakglassArgs),
    /// The audit trail of a patient or a record.
    Audit(cmd::clinical::audit::AuditArgs),
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("HEALTHBLOCK_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        // Plain text in log files (the background services write to one).
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let result = runtime.block_on(run(cli));
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    // Encryption commands work offline, without a consortium description.
    if let Command::Wbcb(c) = cli.command {
        return healthblock_wbcb_cli::run_async(c).await;
    }
    if let Command::Org(c) = cli.command {
        return cmd::org::run(c);
    }
    let command = cli.command;
    let ctx = context::Context::new(&cli.global)?;
    match command {
        Command::Wbcb(c) => healthblock_wbcb_cli::run_async(c).await,
        Command::Network(c) => cmd::network::run(&ctx, c).await,
        Command::Chaincode(c) => cmd::chaincode::run(&ctx, c).await,
        Command::Ledger(c) => cmd::ledger::run(&ctx, c).await,
        Command::Channel(c) => cmd::channel::run(&ctx, c).await,
        Command::Org(c) => cmd::org::run(c),
        Command::Custodian(c) => cmd::custodian::run(&ctx, c).await,
        Command::Tx(c) => cmd::tx::run(&ctx, c).await,
        Command::Bench(a) => cmd::bench::run(&ctx, a).await,
        Command::Caliper(c) => cmd::caliper::run(&ctx, c).await,
        Command::Tune(a) => cmd::tune::run(&ctx, a).await,
        Command::Patient(c) => cmd::clinical::patient::run(&ctx, c).await,
        Command::Keydir(c) => cmd::clinical::keydir::run(&ctx, c).await,
        Command::Record(c) => cmd::clinical::record::run(&ctx, c).await,
        Command::Consent(c) => cmd::clinical::consent::run(&ctx, c).await,
        Command::Access(c) => cmd::clinical::access::run(&ctx, c).await,
        Command::Breakglass(a) => cmd::clinical::breakglass::run(&ctx, a).await,
        Command::Audit(a) => cmd::clinical::audit::run(&ctx, a).await,
        Command::User(c) => {
            let user_ctx = healthblock_identity::cli::UserContext {
                consortium: &ctx.consortium,
                layout: &ctx.layout,
            };
            healthblock_identity::cli::run(&user_ctx, c)
                .await
                .map_err(Into::into)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn every_command_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn tx_parses_identity_and_arguments() {
        let cli = Cli::try_parse_from([
            "healthblock",
            "tx",
            "submit",
            "--as",
            "User1@Hospital2",
            "kv",
            "put",
            "k",
            "v",
        ])
        .expect("parses");
        let Command::Tx(cmd::tx::TxCmd::Submit(a)) = cli.command else {
            panic!("wrong command")
        };
        assert_eq!(
            (a.who.as_str(), a.chaincode.as_str(), a.function.as_str()),
            ("User1@Hospital2", "kv", "put")
        );
        assert_eq!(a.args, ["k", "v"]);
    }

    #[test]
    fn bad_backend_is_refused() {
        assert!(
            Cli::try_parse_from(["healthblock", "--backend", "docker", "network", "up"]).is_err()
        );
    }
}
