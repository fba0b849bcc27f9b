//! Human and JSON output.

use serde::Serialize;

/// Prints `value` as pretty JSON on stdout.
pub fn json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// A progress line for humans, on stderr so stdout stays clean for data.
pub fn step(msg: impl std::fmt::Display) {
    eprintln!("==> {msg}");
}
