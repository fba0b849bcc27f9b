//! `healthblock-ccaas-builder`: the chaincode-as-a-service external builder of the
//! native Fabric backend. `network up` links it as `<builder>/bin/{detect,build,release}`;
//! the peer runs those, and the name it is called by selects the phase.

use fabric_package::ccaas_template::CONFIG_ENV;
use healthblock_network::fabric_process::ccaas_builder::{self, Outcome, Phase};
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args_os();
    let argv0 = args
        .next()
        .map(|a| a.to_string_lossy().into_owned())
        .unwrap_or_default();
    let Some(phase) = Phase::from_program(&argv0) else {
        eprintln!(
            "healthblock-ccaas-builder: called as {argv0:?}; run it through a link named detect, build or release"
        );
        return ExitCode::FAILURE;
    };
    let dirs: Vec<PathBuf> = args.map(PathBuf::from).collect();
    // The peer passes its builder configuration through (propagateEnvironment).
    let config = match std::env::var(CONFIG_ENV) {
        Ok(text) => text,
        Err(std::env::VarError::NotPresent) => String::new(),
        Err(e) => {
            eprintln!(
                "healthblock-ccaas-builder {}: {CONFIG_ENV}: {e}",
                phase.file_name()
            );
            return ExitCode::FAILURE;
        }
    };
    match ccaas_builder::run(phase, &dirs, &config) {
        Ok(Outcome::Done) => ExitCode::SUCCESS,
        // Not an error: the peer tries its next builder.
        Ok(Outcome::NotCcaas) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("healthblock-ccaas-builder {}: {e}", phase.file_name());
            ExitCode::FAILURE
        }
    }
}
