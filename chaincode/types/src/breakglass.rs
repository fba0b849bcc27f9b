//! Owns: the break-glass rules the contract enforces and clients help their
//! users meet: the closed set of emergency codes ([`EmergencyCode`]), the
//! reason format `<CODE>: <text>` with at least [`MIN_REASON_TEXT_CHARS`]
//! characters of text ([`BreakGlassReason`]), and the per-doctor rate limit
//! (at most [`BreakGlassLimit::per_doctor`] openings in a sliding
//! [`LIMIT_WINDOW_SECONDS`] window; [`DEFAULT_LIMIT`] unless an
//! administrator set another value between 1 and [`MAX_LIMIT`]).
//!
//! The contract keeps the arity `break_glass(pid, reason)`: the code travels
//! in the reason string, so one parser ([`BreakGlassReason::from_str`])
//! decides on both sides.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::model::{Principal, Timestamp};

/// Fewest characters of free text after the code (counted after trimming).
pub const MIN_REASON_TEXT_CHARS: usize = 20;
/// Longest reason accepted (bytes, code included). The reason should state
/// the emergency, not clinical details.
pub const MAX_REASON_LEN: usize = 500;
/// Openings per doctor in the window unless an administrator set the limit.
pub const DEFAULT_LIMIT: u32 = 3;
/// Highest limit an administrator may set: the control cannot be switched off.
pub const MAX_LIMIT: u32 = 10;
/// The rate limit's sliding window (24 h).
pub const LIMIT_WINDOW_SECONDS: i64 = 86_400;

/// Why the glass is broken: a closed set, so reviews and statistics can
/// group openings; the free text says what happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EmergencyCode {
    /// The patient is unconscious and cannot consent or say where records are.
    Unconscious,
    /// An immediate threat to life or limb: no time to obtain consent.
    LifeThreatening,
    /// Treatment that cannot wait while consent is sought (the patient or
    /// their representative cannot be reached in time).
    UrgentTreatment,
    /// The patient is conscious but lacks capacity to consent (confusion,
    /// intoxication, psychosis) and no representative is available.
    Incapacitated,
    /// None of the above; the text must say why the emergency justifies it.
    Other,
}

impl EmergencyCode {
    /// Every code, in the order help texts list them.
    pub const ALL: [EmergencyCode; 5] = [
        EmergencyCode::Unconscious,
        EmergencyCode::LifeThreatening,
        EmergencyCode::UrgentTreatment,
        EmergencyCode::Incapacitated,
        EmergencyCode::Other,
    ];

    /// The code as it is written in a reason.
    pub const fn as_str(self) -> &'static str {
        match self {
            EmergencyCode::Unconscious => "UNCONSCIOUS",
            EmergencyCode::LifeThreatening => "LIFE_THREATENING",
            EmergencyCode::UrgentTreatment => "URGENT_TREATMENT",
            EmergencyCode::Incapacitated => "INCAPACITATED",
            EmergencyCode::Other => "OTHER",
        }
    }

    /// One line for help texts.
    pub const fn description(self) -> &'static str {
        match self {
            EmergencyCode::Unconscious => "the patient is unconscious and cannot consent",
            EmergencyCode::LifeThreatening => "immediate threat to life or limb",
            EmergencyCode::UrgentTreatment => "treatment cannot wait until consent is obtained",
            EmergencyCode::Incapacitated => {
                "the patient lacks capacity to consent and no representative is available"
            }
            EmergencyCode::Other => "another emergency; the text must explain it",
        }
    }

    /// The accepted codes, comma separated.
    pub fn list() -> String {
        EmergencyCode::ALL
            .iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl fmt::Display for EmergencyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EmergencyCode {
    type Err = ReasonError;

    /// Exactly one of the codes as written ([`EmergencyCode::as_str`]).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EmergencyCode::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or(ReasonError::UnknownCode)
    }
}

/// Why a reason is not accepted. The texts never repeat what was typed: a
/// refusal's audit entry holds them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum ReasonError {
    /// Nothing but white space.
    #[error("break-glass needs a reason")]
    Empty,
    /// No `CODE:` in front.
    #[error("a break-glass reason starts with a code and a colon")]
    NoCode,
    /// A code outside the closed set.
    #[error("unknown break-glass reason code")]
    UnknownCode,
    /// Too little text after the code (the number of characters given).
    #[error(
        "the text of a break-glass reason has {0} characters, fewer than {MIN_REASON_TEXT_CHARS}"
    )]
    TooShort(usize),
    /// Too long, or control characters.
    #[error(
        "a break-glass reason is at most {MAX_REASON_LEN} bytes of text without control characters"
    )]
    Malformed,
}

impl ReasonError {
    /// The refusal text: what is wrong, then the rule (the accepted codes
    /// and the minimum length).
    pub fn explained(self) -> String {
        format!("{self}; {}", reason_rule())
    }
}

/// The reason rule in one sentence, naming the codes and the minimum length.
pub fn reason_rule() -> String {
    format!(
        "a reason is `<CODE>: <text>` with CODE one of {} and a text of at least \
         {MIN_REASON_TEXT_CHARS} characters",
        EmergencyCode::list()
    )
}

/// A break-glass reason: a code and the free text, written
/// `CODE: text` (the form the contract stores).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakGlassReason {
    /// The emergency code.
    pub code: EmergencyCode,
    /// The free text (trimmed).
    pub text: String,
}

impl BreakGlassReason {
    /// A reason from its parts, checked as the contract checks it.
    pub fn new(code: EmergencyCode, text: &str) -> Result<Self, ReasonError> {
        let text = text.trim();
        let chars = text.chars().count();
        if chars < MIN_REASON_TEXT_CHARS {
            return Err(ReasonError::TooShort(chars));
        }
        let reason = BreakGlassReason {
            code,
            text: text.to_owned(),
        };
        if reason.to_string().len() > MAX_REASON_LEN || text.chars().any(char::is_control) {
            return Err(ReasonError::Malformed);
        }
        Ok(reason)
    }
}

impl FromStr for BreakGlassReason {
    type Err = ReasonError;

    /// `CODE: text`; white space around the code and the text is ignored.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.is_empty() {
            return Err(ReasonError::Empty);
        }
        if s.len() > MAX_REASON_LEN || s.chars().any(char::is_control) {
            return Err(ReasonError::Malformed);
        }
        let (code, text) = s.split_once(':').ok_or(ReasonError::NoCode)?;
        BreakGlassReason::new(code.trim().parse()?, text)
    }
}

impl fmt::Display for BreakGlassReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.text)
    }
}

/// The per-doctor rate limit in force: `set_break_glass_limit` stores it,
/// `get_break_glass_limit` answers it (the default, without `set_*`, when
/// no administrator ever set one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakGlassLimit {
    /// Most openings per doctor in the window.
    pub per_doctor: u32,
    /// The sliding window, in seconds.
    pub window_seconds: i64,
    /// The administrator who set it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_by: Option<Principal>,
    /// When.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_at: Option<Timestamp>,
    /// The setting transaction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx_id: Option<String>,
}

impl Default for BreakGlassLimit {
    fn default() -> Self {
        BreakGlassLimit {
            per_doctor: DEFAULT_LIMIT,
            window_seconds: LIMIT_WINDOW_SECONDS,
            set_by: None,
            set_at: None,
            tx_id: None,
        }
    }
}

/// Parses a limit an administrator asks for: 1 to [`MAX_LIMIT`].
pub fn parse_limit(s: &str) -> Result<u32, String> {
    s.trim()
        .parse::<u32>()
        .ok()
        .filter(|n| (1..=MAX_LIMIT).contains(n))
        .ok_or_else(|| {
            format!("the break-glass limit is a whole number from 1 to {MAX_LIMIT}, got {s:?}")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_is_a_code_and_enough_text() {
        let r: BreakGlassReason = "  UNCONSCIOUS :  found unresponsive in the ER  "
            .parse()
            .unwrap();
        assert_eq!(r.code, EmergencyCode::Unconscious);
        assert_eq!(r.to_string(), "UNCONSCIOUS: found unresponsive in the ER");
        assert_eq!(r.to_string().parse::<BreakGlassReason>().unwrap(), r);
        for code in EmergencyCode::ALL {
            assert_eq!(code.as_str().parse::<EmergencyCode>().unwrap(), code);
            let json = serde_json::to_value(code).unwrap();
            assert_eq!(json, code.as_str());
        }
    }

    #[test]
    fn refusals_name_the_problem_not_the_text() {
        assert_eq!("  ".parse::<BreakGlassReason>(), Err(ReasonError::Empty));
        assert_eq!(
            "patient collapsed in the waiting room".parse::<BreakGlassReason>(),
            Err(ReasonError::NoCode)
        );
        assert_eq!(
            "SNOOPING: patient collapsed in the waiting room".parse::<BreakGlassReason>(),
            Err(ReasonError::UnknownCode)
        );
        assert_eq!(
            "unconscious: patient collapsed in the waiting room".parse::<BreakGlassReason>(),
            Err(ReasonError::UnknownCode),
            "codes are written in capitals"
        );
        assert_eq!(
            "OTHER:  too short     ".parse::<BreakGlassReason>(),
            Err(ReasonError::TooShort(9))
        );
        assert!("OTHER: exactly twenty chars"
            .parse::<BreakGlassReason>()
            .is_ok());
        assert_eq!(
            format!("OTHER: {}", "x".repeat(500)).parse::<BreakGlassReason>(),
            Err(ReasonError::Malformed)
        );
        assert_eq!(
            "OTHER: twenty characters\nand more".parse::<BreakGlassReason>(),
            Err(ReasonError::Malformed)
        );
        let text = ReasonError::UnknownCode.explained();
        assert!(
            text.contains("UNCONSCIOUS, LIFE_THREATENING, URGENT_TREATMENT, INCAPACITATED, OTHER")
        );
        assert!(text.contains("at least 20 characters"));
    }

    #[test]
    fn limits_are_bounded() {
        assert_eq!(parse_limit("3"), Ok(3));
        assert_eq!(parse_limit(" 10 "), Ok(10));
        for bad in ["0", "11", "-1", "x", ""] {
            assert!(parse_limit(bad).is_err(), "{bad}");
        }
        assert_eq!(BreakGlassLimit::default().per_doctor, DEFAULT_LIMIT);
    }
}
