//! Fabric CA's token authentication (`authorization` header of register etc.).
//!
//! Owns: building the token an enrolled identity proves itself with. Fabric CA
//! v1.4+ (`util.GenECDSAToken`) signs
//! `METHOD "." b64(request URI) "." b64(body) "." b64(cert PEM)` with ECDSA
//! over SHA-256 (DER, low-S) and sends `b64(cert PEM) "." b64(signature)`,
//! standard base64 with padding. The URI is the request's path and query as
//! the server sees it (`/api/v1/register`).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use fabric_msp::SigningIdentity;

/// The `authorization` header value for a request by `signer`.
pub fn auth_token(signer: &SigningIdentity, method: &str, uri: &str, body: &[u8]) -> String {
    let b64_cert = STANDARD.encode(&signer.identity.cert_pem);
    let payload = format!(
        "{method}.{}.{}.{b64_cert}",
        STANDARD.encode(uri.as_bytes()),
        STANDARD.encode(body)
    );
    // SigningIdentity::sign hashes with SHA-256 and normalises to low-S, as BCCSP requires.
    let signature = signer.sign(payload.as_bytes());
    format!("{b64_cert}.{}", STANDARD.encode(signature))
}

#[cfg(test)]
mod tests {
    use super::*;
    use fabric_msp::Identity;

    fn signer() -> SigningIdentity {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let params = rcgen::CertificateParams::new(vec!["registrar".into()]).unwrap();
        let cert = params.self_signed(&key).unwrap();
        SigningIdentity::from_pem(
            "Org1MSP",
            cert.pem().as_bytes(),
            key.serialize_pem().as_bytes(),
        )
        .unwrap()
    }

    #[test]
    fn token_carries_the_cert_and_a_signature_over_method_uri_body_and_cert() {
        let s = signer();
        let body = br#"{"id":"alice"}"#;
        let token = auth_token(&s, "POST", "/api/v1/register", body);
        let (cert_b64, sig_b64) = token.split_once('.').unwrap();
        assert_eq!(STANDARD.decode(cert_b64).unwrap(), s.identity.cert_pem);
        let sig = STANDARD.decode(sig_b64).unwrap();
        let signed = format!(
            "POST.{}.{}.{cert_b64}",
            STANDARD.encode("/api/v1/register"),
            STANDARD.encode(body)
        );
        let id = Identity::from_pem("Org1MSP", &s.identity.cert_pem).unwrap();
        id.verify(signed.as_bytes(), &sig)
            .expect("signature verifies over the Fabric CA payload");
        // A different body or URI must not verify.
        let other = signed.replace(&STANDARD.encode(body), &STANDARD.encode(b"{}"));
        assert!(id.verify(other.as_bytes(), &sig).is_err());
    }
}
