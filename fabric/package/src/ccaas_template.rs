//! Fabric's chaincode-as-a-service builder templating of `connection.json`.
//!
//! Owns: rendering the templated fields of a CCaaS `connection.json` with a
//! peer's builder configuration, as Fabric's `ccaas_builder` build phase does
//! with `CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG` (a JSON object, set per peer):
//! `address` and `dial_timeout` always, `root_cert`, `client_key` and
//! `client_cert` when `tls_required` is set; so one package can name a
//! different chaincode server per peer (`"address": "{{.peername}}_kv:9999"`).
//! Used by the devnet's peers (through [`crate::CcaasConnection::rendered`])
//! and by our external builder for Fabric's.
//!
//! Fabric runs Go's `text/template` with `missingkey=error`; the subset here
//! is what a connection.json needs: `{{.key}}` (and `.a.b` into nested
//! objects), spaces and `{{-`/`-}}` trim markers inside the braces, and
//! comments. Anything else in an action is an error rather than being
//! guessed at, and so is a missing key.

use serde_json::{Map, Value};

/// The environment variable Fabric's CCaaS builder reads its configuration from.
pub const CONFIG_ENV: &str = "CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG";

/// A peer's builder configuration: the values templates may name.
pub type BuilderConfig = Map<String, Value>;

/// Why a template or the configuration could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("{CONFIG_ENV} is not a JSON object: {0}")]
    Config(String),
    #[error("unclosed action (no \"}}}}\") in {0:?}")]
    Unclosed(String),
    #[error("unsupported template action {{{{{0}}}}}: only {{{{.key}}}} is supported")]
    Unsupported(String),
    #[error("executing {{{{{action}}}}}: map has no entry for key {key:?}")]
    MissingKey { action: String, key: String },
    #[error("executing {{{{{action}}}}}: {key:?} is a JSON {kind}, not a value to print")]
    NotPrintable {
        action: String,
        key: String,
        kind: &'static str,
    },
    #[error("the {field} field template: {source}")]
    Field {
        field: &'static str,
        #[source]
        source: Box<TemplateError>,
    },
    #[error("connection.json: {0}")]
    Connection(String),
}

/// Parses the configuration text (`CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG`);
/// empty text is no configuration, as in Fabric.
pub fn parse_config(text: &str) -> Result<BuilderConfig, TemplateError> {
    if text.is_empty() {
        return Ok(BuilderConfig::new());
    }
    serde_json::from_str(text).map_err(|e| TemplateError::Config(e.to_string()))
}

/// Renders one template string.
pub fn render(template: &str, config: &BuilderConfig) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        let after = &rest[open + 2..];
        let close = after
            .find("}}")
            .ok_or_else(|| TemplateError::Unclosed(template.to_owned()))?;
        let mut action = &after[..close];
        let mut text = &rest[..open];
        // Go's trim markers: "{{- " and " -}}" eat the whitespace beside the action.
        if let Some(a) = action.strip_prefix("- ") {
            action = a;
            text = text.trim_end();
        }
        out.push_str(text);
        let mut next = &after[close + 2..];
        if let Some(a) = action.strip_suffix(" -") {
            action = a;
            next = next.trim_start();
        }
        out.push_str(&execute(action.trim(), config)?);
        rest = next;
    }
    out.push_str(rest);
    Ok(out)
}

/// One action: a comment, or a field chain such as `.peername` or `.a.b`.
fn execute(action: &str, config: &BuilderConfig) -> Result<String, TemplateError> {
    if action.starts_with("/*") && action.ends_with("*/") {
        return Ok(String::new());
    }
    let unsupported = || TemplateError::Unsupported(action.to_owned());
    let chain = action.strip_prefix('.').ok_or_else(unsupported)?;
    let keys: Vec<&str> = chain.split('.').collect();
    let identifier = |k: &&str| {
        k.chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_')
            && k.chars().all(|c| c.is_alphanumeric() || c == '_')
    };
    if !keys.iter().all(identifier) {
        return Err(unsupported());
    }
    let mut map = config;
    let mut value = None;
    for (i, key) in keys.iter().enumerate() {
        let v = map.get(*key).ok_or_else(|| TemplateError::MissingKey {
            action: action.to_owned(),
            key: (*key).to_owned(),
        })?;
        if i + 1 < keys.len() {
            map = v.as_object().ok_or_else(|| TemplateError::NotPrintable {
                action: action.to_owned(),
                key: (*key).to_owned(),
                kind: "value without fields",
            })?;
        }
        value = Some(v);
    }
    let key = keys.last().copied().unwrap_or_default().to_owned();
    match value {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Bool(b)) => Ok(b.to_string()),
        Some(Value::Number(n)) => Ok(go_float(n.as_f64().unwrap_or(f64::NAN))),
        // Go prints a nil interface value as "<no value>".
        Some(Value::Null) => Ok("<no value>".to_owned()),
        Some(Value::Array(_)) => Err(TemplateError::NotPrintable {
            action: action.to_owned(),
            key,
            kind: "array",
        }),
        Some(Value::Object(_)) | None => Err(TemplateError::NotPrintable {
            action: action.to_owned(),
            key,
            kind: "object",
        }),
    }
}

/// Go's `%v` of a float64 (JSON numbers decode to float64 in Go): the
/// shortest representation, in exponent form below 1e-4 or from 1e21 on.
fn go_float(f: f64) -> String {
    let magnitude = f.abs();
    if f == 0.0 || (1e-4..1e21).contains(&magnitude) {
        return format!("{f}");
    }
    let text = format!("{f:e}");
    let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
    let (sign, digits) = match exponent.strip_prefix('-') {
        Some(d) => ('-', d),
        None => ('+', exponent),
    };
    format!("{mantissa}e{sign}{digits:0>2}")
}

/// Rewrites a `connection.json` as Fabric's CCaaS builder does: the templated
/// fields rendered, the client TLS fields kept only when `tls_required` is
/// set, and only the fields Fabric knows written back.
pub fn render_connection(json: &[u8], config: &BuilderConfig) -> Result<Vec<u8>, TemplateError> {
    let source: Value =
        serde_json::from_slice(json).map_err(|e| TemplateError::Connection(e.to_string()))?;
    let source = source
        .as_object()
        .ok_or_else(|| TemplateError::Connection("not a JSON object".into()))?;
    let text = |field: &'static str| -> Result<String, TemplateError> {
        match source.get(field) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(s)) => render(s, config).map_err(|e| TemplateError::Field {
                field,
                source: Box::new(e),
            }),
            Some(_) => Err(TemplateError::Connection(format!(
                "\"{field}\" is not a string"
            ))),
        }
    };
    let flag = |field: &str| -> Result<bool, TemplateError> {
        match source.get(field) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(TemplateError::Connection(format!(
                "\"{field}\" is not a boolean"
            ))),
        }
    };
    let tls = flag("tls_required")?;
    let mut out = Map::new();
    out.insert("address".into(), text("address")?.into());
    out.insert("dial_timeout".into(), text("dial_timeout")?.into());
    out.insert("tls_required".into(), tls.into());
    let client_auth = tls && flag("client_auth_required")?;
    out.insert("client_auth_required".into(), client_auth.into());
    for field in ["root_cert", "client_key", "client_cert"] {
        let value = if tls { text(field)? } else { String::new() };
        out.insert(field.into(), value.into());
    }
    serde_json::to_vec(&Value::Object(out)).map_err(|e| TemplateError::Connection(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> BuilderConfig {
        parse_config(text).unwrap()
    }

    #[test]
    fn fields_are_substituted() {
        let c = config(r#"{"peername":"peer0hospital1","port":9999,"tls":{"dir":"/etc/cc"}}"#);
        assert_eq!(
            render("{{.peername}}_kv:{{ .port }}", &c).unwrap(),
            "peer0hospital1_kv:9999"
        );
        assert_eq!(render("{{.tls.dir}}/ca.pem", &c).unwrap(), "/etc/cc/ca.pem");
        assert_eq!(render("no template here", &c).unwrap(), "no template here");
        assert_eq!(render("a  {{- .port -}}  b", &c).unwrap(), "a9999b");
        assert_eq!(render("x{{/* a comment */}}y", &c).unwrap(), "xy");
    }

    #[test]
    fn values_print_as_go_prints_them() {
        let c = config(r#"{"f":1.5,"big":1e21,"tiny":0.00001,"whole":7051.0,"t":true,"n":null}"#);
        let r = |t: &str| render(t, &c).unwrap();
        assert_eq!(r("{{.f}}"), "1.5");
        assert_eq!(r("{{.big}}"), "1e+21");
        assert_eq!(r("{{.tiny}}"), "1e-05");
        assert_eq!(r("{{.whole}}"), "7051");
        assert_eq!(r("{{.t}}"), "true");
        assert_eq!(r("{{.n}}"), "<no value>");
    }

    #[test]
    fn missing_keys_and_other_actions_are_errors() {
        let c = config(r#"{"peername":"p","obj":{"a":1},"list":[1]}"#);
        assert_eq!(
            render("{{.other}}:1", &c).unwrap_err(),
            TemplateError::MissingKey {
                action: ".other".into(),
                key: "other".into()
            }
        );
        // No configuration at all (Fabric: the variable unset) is the same error.
        assert!(matches!(
            render("{{.peername}}", &BuilderConfig::new()),
            Err(TemplateError::MissingKey { .. })
        ));
        for bad in [
            "{{peername}}",
            "{{.peer-name}}",
            "{{if .peername}}x{{end}}",
            "{{.}}",
        ] {
            assert!(
                matches!(render(bad, &c), Err(TemplateError::Unsupported(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            render("{{.peername", &c),
            Err(TemplateError::Unclosed(_))
        ));
        assert!(matches!(
            render("{{.obj}}", &c),
            Err(TemplateError::NotPrintable { .. })
        ));
        assert!(matches!(
            render("{{.list}}", &c),
            Err(TemplateError::NotPrintable { .. })
        ));
        assert!(matches!(parse_config("[1]"), Err(TemplateError::Config(_))));
        assert!(parse_config("").unwrap().is_empty());
    }

    #[test]
    fn connection_json_is_rewritten_like_fabric() {
        let c = config(r#"{"peername":"peer1hospital2"}"#);
        let source = br#"{"address":"{{.peername}}.kv:9999","dial_timeout":"10s",
            "tls_required":true,"client_auth_required":true,
            "root_cert":"-----BEGIN CERTIFICATE-----\n{{.peername}}","client_key":"k","client_cert":"c",
            "domain":"ignored.example.com"}"#;
        let out: Value = serde_json::from_slice(&render_connection(source, &c).unwrap()).unwrap();
        assert_eq!(
            out,
            serde_json::json!({
                "address": "peer1hospital2.kv:9999",
                "dial_timeout": "10s",
                "tls_required": true,
                "client_auth_required": true,
                "root_cert": "-----BEGIN CERTIFICATE-----\npeer1hospital2",
                "client_key": "k",
                "client_cert": "c",
            })
        );
        // Without TLS the TLS fields are neither rendered nor kept.
        let plain =
            br#"{"address":"{{.peername}}:1","tls_required":false,"root_cert":"{{.missing}}"}"#;
        let out: Value = serde_json::from_slice(&render_connection(plain, &c).unwrap()).unwrap();
        assert_eq!(out["address"], "peer1hospital2:1");
        assert_eq!(out["root_cert"], "");
        assert_eq!(out["client_auth_required"], false);
        // A bad template names its field.
        let bad = br#"{"address":"{{.nope}}:1"}"#;
        let err = render_connection(bad, &c).unwrap_err().to_string();
        assert!(err.starts_with("the address field template: "), "{err}");
        assert!(render_connection(b"[]", &c).is_err());
        assert!(render_connection(br#"{"address":7}"#, &c).is_err());
    }
}
