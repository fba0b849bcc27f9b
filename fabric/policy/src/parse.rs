//! The policy string language and its compilation to a `SignaturePolicyEnvelope`.
//!
//! Grammar (whitespace anywhere between tokens):
//!
//! ```text
//! policy    := gate
//! gate      := ("AND"|"And"|"and"|"OR"|"Or"|"or") "(" arg ("," arg)* ")"
//!            | ("OutOf"|"outof"|"OUTOF") "(" threshold ("," arg)+ ")"
//! arg       := principal | gate
//! principal := quoted 'MSPID.role' or "MSPID.role", role ∈ member|admin|client|peer|orderer
//! threshold := integer, or an integer in quotes
//! ```
//!
//! The encoding reproduces Fabric's `policydsl` compiler byte for byte, so a
//! policy compiled here equals one compiled by the peer CLI:
//! - version 0; `AND` is `NOutOf(len)`, `OR` is `NOutOf(1)`;
//! - every principal occurrence gets its own identity entry (Fabric does not
//!   deduplicate), as a `ROLE` `MSPPrincipal` holding an `MSPRole`;
//! - identity indices are assigned gate by gate in post-order: a gate's
//!   nested gates are numbered first (left to right), then its own
//!   principals. `OR('A.member', AND('B.member','C.member'))` has identities
//!   `[B, C, A]`.
//! - `OutOf(t, ..n args)` accepts `0 <= t <= n + 1`, as Fabric does.

use crate::PolicyError;
use fabric_proto::common::signature_policy::{NOutOf, Type};
use fabric_proto::common::{SignaturePolicy, SignaturePolicyEnvelope};
use fabric_proto::msp::msp_principal::Classification;
use fabric_proto::msp::msp_role::MspRoleType;
use fabric_proto::msp::{MspPrincipal, MspRole};
use prost::Message;

/// Parses a signature policy string such as `AND('Org1MSP.peer', OutOf(2, 'A.member', 'B.admin'))`.
pub fn parse(policy: &str) -> Result<SignaturePolicyEnvelope, PolicyError> {
    let tokens = lex(policy)?;
    let mut parser = Parser {
        tokens,
        next: 0,
        end: policy.len(),
    };
    let gate = parser.gate()?;
    if let Some(tok) = parser.peek() {
        return Err(syntax(tok.pos, "unexpected input after the policy"));
    }
    let mut identities = Vec::new();
    let rule = compile(&gate, &mut identities);
    Ok(SignaturePolicyEnvelope {
        version: 0,
        rule: Some(rule),
        identities,
    })
}

fn syntax(pos: usize, msg: impl Into<String>) -> PolicyError {
    PolicyError::Syntax {
        pos,
        msg: msg.into(),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum TokenKind {
    Ident(String),
    Str(String),
    Int(i64),
    LParen,
    RParen,
    Comma,
}

#[derive(Debug, Clone)]
struct Token {
    kind: TokenKind,
    /// Byte offset in the policy string.
    pos: usize,
}

fn lex(src: &str) -> Result<Vec<Token>, PolicyError> {
    let mut tokens = Vec::new();
    let mut chars = src.char_indices().peekable();
    while let Some(&(pos, c)) = chars.peek() {
        let kind = match c {
            c if c.is_whitespace() => {
                chars.next();
                continue;
            }
            '(' | ')' | ',' => {
                chars.next();
                match c {
                    '(' => TokenKind::LParen,
                    ')' => TokenKind::RParen,
                    _ => TokenKind::Comma,
                }
            }
            '\'' | '"' => TokenKind::Str(lex_string(&mut chars, pos)?),
            '-' | '0'..='9' => lex_int(&mut chars, pos)?,
            c if c.is_ascii_alphabetic() => {
                let mut ident = String::new();
                while let Some(&(_, c)) = chars.peek() {
                    if !c.is_ascii_alphanumeric() && c != '_' {
                        break;
                    }
                    ident.push(c);
                    chars.next();
                }
                TokenKind::Ident(ident)
            }
            other => return Err(syntax(pos, format!("unexpected character {other:?}"))),
        };
        tokens.push(Token { kind, pos });
    }
    Ok(tokens)
}

type Chars<'a> = std::iter::Peekable<std::str::CharIndices<'a>>;

/// A quoted string; `\x` stands for `x`.
fn lex_string(chars: &mut Chars<'_>, pos: usize) -> Result<String, PolicyError> {
    let Some((_, quote)) = chars.next() else {
        return Err(syntax(pos, "expected a string"));
    };
    let mut out = String::new();
    loop {
        match chars.next() {
            None => return Err(syntax(pos, "unterminated string")),
            Some((_, c)) if c == quote => return Ok(out),
            Some((_, '\\')) => match chars.next() {
                Some((_, c)) => out.push(c),
                None => return Err(syntax(pos, "unterminated string")),
            },
            Some((_, c)) => out.push(c),
        }
    }
}

fn lex_int(chars: &mut Chars<'_>, pos: usize) -> Result<TokenKind, PolicyError> {
    let mut text = String::new();
    while let Some(&(_, c)) = chars.peek() {
        if !(c.is_ascii_digit() || (c == '-' && text.is_empty())) {
            break;
        }
        text.push(c);
        chars.next();
    }
    text.parse::<i64>()
        .map(TokenKind::Int)
        .map_err(|_| syntax(pos, format!("invalid number {text:?}")))
}

/// A gate of the parsed policy.
#[derive(Debug)]
struct Gate {
    threshold: i32,
    args: Vec<Arg>,
}

#[derive(Debug)]
enum Arg {
    Principal { mspid: String, role: MspRoleType },
    Gate(Gate),
}

#[derive(Clone, Copy)]
enum GateKind {
    And,
    Or,
    OutOf,
}

struct Parser {
    tokens: Vec<Token>,
    next: usize,
    /// Position reported for "unexpected end of policy".
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.next)
    }

    fn bump(&mut self) -> Result<Token, PolicyError> {
        let tok = self
            .tokens
            .get(self.next)
            .cloned()
            .ok_or_else(|| syntax(self.end, "unexpected end of policy"))?;
        self.next += 1;
        Ok(tok)
    }

    fn expect(&mut self, kind: TokenKind, what: &str) -> Result<(), PolicyError> {
        let tok = self.bump()?;
        if tok.kind == kind {
            Ok(())
        } else {
            Err(syntax(tok.pos, format!("expected {what}")))
        }
    }

    fn gate(&mut self) -> Result<Gate, PolicyError> {
        let tok = self.bump()?;
        let TokenKind::Ident(name) = &tok.kind else {
            return Err(syntax(tok.pos, "expected AND, OR or OutOf"));
        };
        let kind = gate_kind(name).ok_or_else(|| {
            syntax(
                tok.pos,
                format!("unknown gate {name:?} (expected AND, OR or OutOf)"),
            )
        })?;
        self.expect(TokenKind::LParen, "'('")?;
        let threshold = match kind {
            GateKind::OutOf => {
                let t = self.threshold()?;
                self.expect(TokenKind::Comma, "',' after the OutOf threshold")?;
                Some(t)
            }
            _ => None,
        };
        let args = self.args()?;
        let n = args.len() as i64;
        let threshold = match threshold {
            None if matches!(kind, GateKind::And) => n,
            None => 1,
            Some((t, pos)) if t < 0 || t > n + 1 => {
                return Err(syntax(
                    pos,
                    format!("invalid t-out-of-n predicate, t {t}, n {n}"),
                ));
            }
            Some((t, _)) => t,
        };
        let threshold =
            i32::try_from(threshold).map_err(|_| syntax(tok.pos, "too many arguments"))?;
        Ok(Gate { threshold, args })
    }

    /// The `t` of OutOf: an integer, bare or quoted (Fabric accepts `'1'`), with its position.
    fn threshold(&mut self) -> Result<(i64, usize), PolicyError> {
        let tok = self.bump()?;
        match &tok.kind {
            TokenKind::Int(t) => Ok((*t, tok.pos)),
            TokenKind::Str(s) => s
                .trim()
                .parse::<i64>()
                .map(|t| (t, tok.pos))
                .map_err(|_| syntax(tok.pos, format!("expected a number, got {s:?}"))),
            _ => Err(syntax(tok.pos, "expected the OutOf threshold (a number)")),
        }
    }

    /// `arg ("," arg)* ")"`.
    fn args(&mut self) -> Result<Vec<Arg>, PolicyError> {
        let mut args = vec![self.arg()?];
        loop {
            let tok = self.bump()?;
            match tok.kind {
                TokenKind::Comma => args.push(self.arg()?),
                TokenKind::RParen => return Ok(args),
                _ => return Err(syntax(tok.pos, "expected ',' or ')'")),
            }
        }
    }

    fn arg(&mut self) -> Result<Arg, PolicyError> {
        let Some(tok) = self.peek().cloned() else {
            return Err(syntax(self.end, "unexpected end of policy"));
        };
        match &tok.kind {
            TokenKind::Str(s) => {
                self.next += 1;
                let (mspid, role) = principal(s).ok_or_else(|| {
                    syntax(
                        tok.pos,
                        format!("invalid principal {s:?} (expected 'MSPID.member|admin|client|peer|orderer')"),
                    )
                })?;
                Ok(Arg::Principal { mspid, role })
            }
            TokenKind::Ident(_) => Ok(Arg::Gate(self.gate()?)),
            _ => Err(syntax(tok.pos, "expected a principal or a gate")),
        }
    }
}

fn gate_kind(name: &str) -> Option<GateKind> {
    match name {
        "AND" | "And" | "and" => Some(GateKind::And),
        "OR" | "Or" | "or" => Some(GateKind::Or),
        "OUTOF" | "OutOf" | "outof" => Some(GateKind::OutOf),
        _ => None,
    }
}

/// `MSPID.role`, MSPID made of ASCII letters, digits, '.' and '-'.
fn principal(s: &str) -> Option<(String, MspRoleType)> {
    let (mspid, role) = s.rsplit_once('.')?;
    let role = match role {
        "member" => MspRoleType::Member,
        "admin" => MspRoleType::Admin,
        "client" => MspRoleType::Client,
        "peer" => MspRoleType::Peer,
        "orderer" => MspRoleType::Orderer,
        _ => return None,
    };
    let valid = !mspid.is_empty()
        && mspid
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    valid.then(|| (mspid.to_owned(), role))
}

/// Compiles a gate, numbering identities as Fabric does (nested gates first, then own principals).
fn compile(gate: &Gate, identities: &mut Vec<MspPrincipal>) -> SignaturePolicy {
    let mut nested: Vec<Option<SignaturePolicy>> = gate
        .args
        .iter()
        .map(|arg| match arg {
            Arg::Gate(g) => Some(compile(g, identities)),
            Arg::Principal { .. } => None,
        })
        .collect();
    let rules = gate
        .args
        .iter()
        .zip(nested.iter_mut())
        .map(|(arg, compiled)| match arg {
            Arg::Principal { mspid, role } => {
                identities.push(role_principal(mspid, *role));
                signed_by(identities.len() - 1)
            }
            Arg::Gate(_) => compiled.take().unwrap_or_default(),
        })
        .collect();
    SignaturePolicy {
        r#type: Some(Type::NOutOf(NOutOf {
            n: gate.threshold,
            rules,
        })),
    }
}

fn signed_by(index: usize) -> SignaturePolicy {
    SignaturePolicy {
        r#type: Some(Type::SignedBy(index as i32)),
    }
}

/// A `ROLE` principal for `mspid` and `role`.
pub(crate) fn role_principal(mspid: &str, role: MspRoleType) -> MspPrincipal {
    MspPrincipal {
        principal_classification: Classification::Role as i32,
        principal: MspRole {
            msp_identifier: mspid.to_owned(),
            role: role as i32,
        }
        .encode_to_vec(),
    }
}
