//! The orderer's batch parameters in a channel config: `/Channel/Orderer/BatchSize`
//! (`orderer.BatchSize`) and `/Channel/Orderer/BatchTimeout` (`orderer.BatchTimeout`,
//! a Go duration string such as `2s` or `250ms`), and Fabric's checks on them.

use crate::ConfigError;
use fabric_proto::common::{Config, ConfigGroup, ConfigValue};
use fabric_proto::orderer::{BatchSize, BatchTimeout};
use prost::Message;
use std::time::Duration;

const ORDERER: &str = "Orderer";
const BATCH_SIZE: &str = "BatchSize";
const BATCH_TIMEOUT: &str = "BatchTimeout";

/// A channel's batch parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchParams {
    pub max_message_count: u32,
    pub absolute_max_bytes: u32,
    pub preferred_max_bytes: u32,
    pub timeout: Duration,
}

/// Which batch parameters to change (None keeps the current one).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchUpdate {
    pub max_message_count: Option<u32>,
    pub absolute_max_bytes: Option<u32>,
    pub preferred_max_bytes: Option<u32>,
    pub timeout: Option<Duration>,
}

impl BatchParams {
    /// The parameters with `update` applied.
    pub fn with(self, update: &BatchUpdate) -> Self {
        Self {
            max_message_count: update.max_message_count.unwrap_or(self.max_message_count),
            absolute_max_bytes: update.absolute_max_bytes.unwrap_or(self.absolute_max_bytes),
            preferred_max_bytes: update
                .preferred_max_bytes
                .unwrap_or(self.preferred_max_bytes),
            timeout: update.timeout.unwrap_or(self.timeout),
        }
    }

    /// Fabric's checks when a config with these parameters is built (its texts).
    pub fn check(&self) -> Result<(), ConfigError> {
        let err = |m: String| Err(ConfigError::Batch(m));
        if self.max_message_count == 0 {
            return err(
                "Attempted to set the batch size max message count to an invalid value: 0".into(),
            );
        }
        if self.absolute_max_bytes == 0 {
            return err(
                "Attempted to set the batch size absolute max bytes to an invalid value: 0".into(),
            );
        }
        if self.preferred_max_bytes == 0 {
            return err(
                "Attempted to set the batch size preferred max bytes to an invalid value: 0".into(),
            );
        }
        if self.preferred_max_bytes > self.absolute_max_bytes {
            return err(format!(
                "Attempted to set the batch size preferred max bytes ({}) greater than the absolute max bytes ({}).",
                self.preferred_max_bytes, self.absolute_max_bytes
            ));
        }
        if self.timeout.is_zero() {
            return err(format!(
                "Attempted to set the batch timeout to a non-positive value: {}",
                go_duration(self.timeout)
            ));
        }
        Ok(())
    }
}

fn orderer_group(config: &Config) -> Result<&ConfigGroup, ConfigError> {
    config
        .channel_group
        .as_ref()
        .and_then(|g| g.groups.get(ORDERER))
        .ok_or_else(|| ConfigError::Missing("Orderer group".into()))
}

fn value<'a>(group: &'a ConfigGroup, name: &str) -> Result<&'a ConfigValue, ConfigError> {
    group
        .values
        .get(name)
        .ok_or_else(|| ConfigError::Missing(format!("/Channel/Orderer/{name}")))
}

/// The batch parameters of `config`.
pub fn batch_params(config: &Config) -> Result<BatchParams, ConfigError> {
    let group = orderer_group(config)?;
    let malformed = |what: &str, msg: String| ConfigError::Malformed {
        what: what.to_owned(),
        msg,
    };
    let size = BatchSize::decode(value(group, BATCH_SIZE)?.value.as_slice())
        .map_err(|e| malformed(BATCH_SIZE, e.to_string()))?;
    let timeout = BatchTimeout::decode(value(group, BATCH_TIMEOUT)?.value.as_slice())
        .map_err(|e| malformed(BATCH_TIMEOUT, e.to_string()))?;
    Ok(BatchParams {
        max_message_count: size.max_message_count,
        absolute_max_bytes: size.absolute_max_bytes,
        preferred_max_bytes: size.preferred_max_bytes,
        timeout: parse_go_duration(&timeout.timeout).map_err(|e| malformed(BATCH_TIMEOUT, e))?,
    })
}

/// `config` with its batch values replaced by `params` (versions and mod_policies
/// kept: [`crate::compute_update`] decides the new versions). Values that do not
/// change keep their exact bytes, so they do not appear in the update.
pub fn with_batch_params(config: &Config, params: &BatchParams) -> Result<Config, ConfigError> {
    let current = batch_params(config)?;
    let mut out = config.clone();
    let group = out
        .channel_group
        .as_mut()
        .and_then(|g| g.groups.get_mut(ORDERER))
        .ok_or_else(|| ConfigError::Missing("Orderer group".into()))?;
    let size_changed = (
        current.max_message_count,
        current.absolute_max_bytes,
        current.preferred_max_bytes,
    ) != (
        params.max_message_count,
        params.absolute_max_bytes,
        params.preferred_max_bytes,
    );
    if size_changed {
        let v = group
            .values
            .get_mut(BATCH_SIZE)
            .ok_or_else(|| ConfigError::Missing("/Channel/Orderer/BatchSize".into()))?;
        v.value = BatchSize {
            max_message_count: params.max_message_count,
            absolute_max_bytes: params.absolute_max_bytes,
            preferred_max_bytes: params.preferred_max_bytes,
        }
        .encode_to_vec();
    }
    if current.timeout != params.timeout {
        let v = group
            .values
            .get_mut(BATCH_TIMEOUT)
            .ok_or_else(|| ConfigError::Missing("/Channel/Orderer/BatchTimeout".into()))?;
        v.value = BatchTimeout {
            timeout: go_duration(params.timeout),
        }
        .encode_to_vec();
    }
    Ok(out)
}

/// A duration as Go's `time.ParseDuration` reads it back (`2s`, `250ms`, `1500us`).
pub fn go_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        "0s".into()
    } else if nanos.is_multiple_of(1_000_000_000) {
        format!("{}s", nanos / 1_000_000_000)
    } else if nanos.is_multiple_of(1_000_000) {
        format!("{}ms", nanos / 1_000_000)
    } else if nanos.is_multiple_of(1_000) {
        format!("{}us", nanos / 1_000)
    } else {
        format!("{nanos}ns")
    }
}

/// Parses a Go duration string (`1h2m3.5s`, `250ms`, `10us`, `0`); negative durations are refused.
pub fn parse_go_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration {s:?}");
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() || s.starts_with('-') {
        return Err(bad());
    }
    let s_body = s.strip_prefix('+').unwrap_or(s);
    let mut total: f64 = 0.0;
    let mut rest = s_body;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        if num_len == 0 {
            return Err(bad());
        }
        let number: f64 = rest[..num_len].parse().map_err(|_| bad())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += number * scale;
        rest = &rest[unit_len..];
    }
    Duration::try_from_secs_f64(total).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations_round_trip() {
        for (text, d) in [
            ("2s", Duration::from_secs(2)),
            ("250ms", Duration::from_millis(250)),
            ("1500us", Duration::from_micros(1500)),
        ] {
            assert_eq!(go_duration(d), text);
            assert_eq!(parse_go_duration(text), Ok(d));
        }
        assert_eq!(parse_go_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_go_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert!(parse_go_duration("-1s").is_err());
        assert!(parse_go_duration("5").is_err());
        assert!(parse_go_duration("5x").is_err());
    }

    #[test]
    fn fabric_refuses_inconsistent_batch_sizes() {
        let ok = BatchParams {
            max_message_count: 10,
            absolute_max_bytes: 100,
            preferred_max_bytes: 50,
            timeout: Duration::from_secs(2),
        };
        assert!(ok.check().is_ok());
        let bad = ok.with(&BatchUpdate {
            preferred_max_bytes: Some(200),
            ..Default::default()
        });
        assert_eq!(
            bad.check().unwrap_err().to_string(),
            "invalid batch parameters: Attempted to set the batch size preferred max bytes (200) greater than the absolute max bytes (100)."
        );
        let zero = ok.with(&BatchUpdate {
            max_message_count: Some(0),
            ..Default::default()
        });
        assert!(zero.check().is_err());
    }
}
