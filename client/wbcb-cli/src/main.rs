//! `healthblock-wbcb`: the WBCB subcommands as a standalone binary (for
//! testing; the `healthblock` CLI mounts the same commands).

use std::process::ExitCode;

use clap::Parser;
use healthblock_wbcb_cli::{run, WbcbCommand};

#[derive(Parser)]
#[command(
    name = "healthblock-wbcb",
    version,
    about = "WBCB client-side encryption of health records"
)]
struct Cli {
    #[command(subcommand)]
    command: WbcbCommand,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
