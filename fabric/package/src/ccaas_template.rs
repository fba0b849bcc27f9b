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
//! guessed at, and so is a missing key. Values print as Go prints what
//! `encoding/json` decodes into `interface{}` (numbers are float64, so
//! `1000000` prints `1e+06`; objects print `map[k:v ...]`, lists `[a b]`).

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
    #[error("executing {{{{{action}}}}}: {key:?} is not a JSON object, it has no fields")]
    NoFields { action: String, key: String },
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
    let mut value = &Value::Null;
    for (i, key) in keys.iter().enumerate() {
        let v = map.get(*key).ok_or_else(|| TemplateError::MissingKey {
            action: action.to_owned(),
            key: (*key).to_owned(),
        })?;
        if i + 1 < keys.len() {
            map = v.as_object().ok_or_else(|| TemplateError::NoFields {
                action: action.to_owned(),
                key: (*key).to_owned(),
            })?;
        }
        value = v;
    }
    Ok(match value {
        // text/template prints a nil result as "<no value>" (fmt's "<nil>"
        // is only for a nil inside a map or a list).
        Value::Null => "<no value>".to_owned(),
        value => go_value(value),
    })
}

/// Go's `%v` of a value `encoding/json` decoded into `interface{}`: strings
/// as they are, float64 numbers, maps with their keys sorted, lists, and
/// `<nil>` for a null inside them.
fn go_value(value: &Value) -> String {
    let joined = |items: Vec<String>| items.join(" ");
    match value {
        Value::Null => "<nil>".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => go_float(n.as_f64().unwrap_or(f64::NAN)),
        Value::String(s) => s.clone(),
        Value::Array(items) => format!("[{}]", joined(items.iter().map(go_value).collect())),
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let entries = entries
                .into_iter()
                .map(|(k, v)| format!("{k}:{}", go_value(v)))
                .collect();
            format!("map[{}]", joined(entries))
        }
    }
}

/// Go's `%v` of a float64 (`strconv`'s shortest `%g`): the shortest digits,
/// in exponent form when the decimal exponent is below -4 or 6 and above
/// (`1e+06`, `1.234567e+06`, `1e-05`), with at least two exponent digits.
fn go_float(f: f64) -> String {
    if f == 0.0 || !f.is_finite() {
        return format!("{f}");
    }
    // Rust's `{:e}` gives the same shortest digits: "1.234567e6", "-2.5e-7".
    let text = format!("{f:e}");
    let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
    let decimal_exponent: i32 = exponent.parse().unwrap_or(0);
    if (-4..6).contains(&decimal_exponent) {
        return format!("{f}");
    }
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
        // Each expectation is what Go 1.26 text/template printed for the same
        // JSON decoded by encoding/json into map[string]interface{}.
        let c = config(
            r#"{"f":1.5,"big":1e21,"tiny":0.00001,"whole":7051.0,"t":true,"n":null,
                "port":9999,"c":123456,"j":100000,"m":1000000,"d":1234567,"i":-2500000,
                "k":12345678901,"small":0.0001,
                "o":{"z":null,"b":[1,"two",true,{"q":2e6}],"a":"x y","B":0,"é":1},
                "e":[],"empty":{}}"#,
        );
        let r = |t: &str| render(t, &c).unwrap();
        assert_eq!(r("{{.f}}"), "1.5");
        assert_eq!(r("{{.big}}"), "1e+21");
        assert_eq!(r("{{.tiny}}"), "1e-05");
        assert_eq!(r("{{.small}}"), "0.0001");
        assert_eq!(r("{{.whole}}"), "7051");
        assert_eq!(r("{{.port}}"), "9999");
        assert_eq!(r("{{.c}}"), "123456");
        assert_eq!(r("{{.j}}"), "100000");
        assert_eq!(r("{{.m}}"), "1e+06");
        assert_eq!(r("{{.d}}"), "1.234567e+06");
        assert_eq!(r("{{.i}}"), "-2.5e+06");
        assert_eq!(r("{{.k}}"), "1.2345678901e+10");
        assert_eq!(r("{{.t}}"), "true");
        assert_eq!(r("{{.n}}"), "<no value>");
        assert_eq!(r("{{.o.z}}"), "<no value>");
        assert_eq!(
            r("{{.o}}"),
            "map[B:0 a:x y b:[1 two true map[q:2e+06]] z:<nil> é:1]"
        );
        assert_eq!(r("{{.e}}"), "[]");
        assert_eq!(r("{{.empty}}"), "map[]");
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
        // Go: "can't evaluate field a in type interface {}".
        assert_eq!(
            render("{{.peername.a}}", &c).unwrap_err(),
            TemplateError::NoFields {
                action: ".peername.a".into(),
                key: "peername".into()
            }
        );
        assert!(matches!(
            render("{{.list.a}}", &c),
            Err(TemplateError::NoFields { .. })
        ));
        assert!(matches!(
            render("{{.obj.b}}", &c),
            Err(TemplateError::MissingKey { .. })
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
