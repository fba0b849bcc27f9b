//! Owns: the test certificate authorities every crate's tests build identities with
//! (rcgen, ECDSA P-256, Fabric's NodeOU and Fabric CA attribute conventions).
//!
//! Tests turn the PEMs into their own types (an MSP, a signing identity, a TLS config);
//! this crate stays free of the workspace's crates so any of them can use it.

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, CustomExtension, DnType, IsCa, KeyPair,
    PKCS_ECDSA_P256_SHA256,
};

/// The X.509 extension in which Fabric CA puts enrolment attributes (`{"attrs":{...}}`).
pub const FABRIC_CA_ATTRS_OID: [u64; 9] = [1, 2, 3, 4, 5, 6, 7, 8, 1];

/// Default validity of test certificates: from 2020 until 2045 (covers every test clock).
const DEFAULT_YEARS: (i32, i32) = (2020, 2045);

/// A certificate and its PKCS#8 private key, both PEM.
#[derive(Clone, Debug)]
pub struct Leaf {
    pub cert_pem: String,
    pub key_pem: String,
}

/// A certificate authority (root or intermediate) that issues test certificates.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl TestCa {
    /// A self-signed root CA with common name `cn` and, if given, organisation `org`,
    /// valid from 2020 to 2045.
    pub fn root(cn: &str, org: Option<&str>) -> Self {
        Self::root_valid_years(cn, org, DEFAULT_YEARS)
    }

    /// A self-signed root CA valid from 1 January of `years.0` to 1 January of `years.1`.
    pub fn root_valid_years(cn: &str, org: Option<&str>, years: (i32, i32)) -> Self {
        let issuer = CertifiedIssuer::self_signed(ca_params(cn, org, years), new_key())
            .unwrap_or_else(|e| panic!("test CA {cn}: {e}"));
        Self { issuer }
    }

    /// An intermediate CA signed by `self`, valid from 2020 to 2045.
    pub fn intermediate(&self, cn: &str, org: Option<&str>) -> Self {
        self.intermediate_valid_years(cn, org, DEFAULT_YEARS)
    }

    /// An intermediate CA signed by `self` with the given validity years.
    pub fn intermediate_valid_years(&self, cn: &str, org: Option<&str>, years: (i32, i32)) -> Self {
        let issuer = CertifiedIssuer::signed_by(ca_params(cn, org, years), new_key(), &self.issuer)
            .unwrap_or_else(|e| panic!("test intermediate CA {cn}: {e}"));
        Self { issuer }
    }

    /// The CA's own certificate (PEM).
    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// Starts a leaf certificate issued by this CA.
    pub fn leaf(&self, cn: &str) -> LeafBuilder<'_> {
        LeafBuilder::new(cn, Some(self))
    }
}

/// A leaf certificate being described; [`LeafBuilder::issue`] signs it.
pub struct LeafBuilder<'ca> {
    ca: Option<&'ca TestCa>,
    cn: Option<String>,
    ous: Vec<String>,
    sans: Vec<String>,
    years: (i32, i32),
    attrs: Option<Vec<u8>>,
}

impl<'ca> LeafBuilder<'ca> {
    fn new(cn: &str, ca: Option<&'ca TestCa>) -> Self {
        Self {
            ca,
            cn: Some(cn.to_owned()),
            ous: Vec::new(),
            sans: Vec::new(),
            years: DEFAULT_YEARS,
            attrs: None,
        }
    }

    /// A self-signed leaf (no CA), as a caller's certificate in contract unit tests.
    pub fn self_signed(cn: &str) -> Self {
        Self::new(cn, None)
    }

    /// Leaves the subject without a common name.
    pub fn without_cn(mut self) -> Self {
        self.cn = None;
        self
    }

    /// Adds an organisational unit (Fabric's NodeOUs: client, peer, admin, orderer).
    pub fn ou(mut self, ou: &str) -> Self {
        self.ous.push(ou.to_owned());
        self
    }

    /// Adds subject alternative names (DNS names or IP addresses).
    pub fn sans(mut self, names: &[&str]) -> Self {
        self.sans.extend(names.iter().map(|n| (*n).to_owned()));
        self
    }

    /// Valid from 1 January of `from` to 1 January of `to`.
    pub fn valid_years(mut self, from: i32, to: i32) -> Self {
        self.years = (from, to);
        self
    }

    /// Fabric CA attributes: the raw extension value (normally `{"attrs":{...}}` JSON).
    pub fn fabric_ca_extension(mut self, raw: Vec<u8>) -> Self {
        self.attrs = Some(raw);
        self
    }

    /// Signs the certificate (by the CA, or by its own key when self-signed).
    pub fn issue(self) -> Leaf {
        let mut params = CertificateParams::new(self.sans.clone())
            .unwrap_or_else(|e| panic!("test leaf names {:?}: {e}", self.sans));
        // rcgen keeps one value per attribute type, so further OUs go under the same OID
        // spelled as a custom type (it encodes identically).
        for (i, ou) in self.ous.iter().enumerate() {
            let ty = match i {
                0 => DnType::OrganizationalUnitName,
                _ => DnType::CustomDnType(vec![2, 5, 4, 11]),
            };
            params.distinguished_name.push(ty, ou.as_str());
        }
        if let Some(cn) = &self.cn {
            params
                .distinguished_name
                .push(DnType::CommonName, cn.as_str());
        }
        params.not_before = rcgen::date_time_ymd(self.years.0, 1, 1);
        params.not_after = rcgen::date_time_ymd(self.years.1, 1, 1);
        if let Some(raw) = self.attrs {
            params
                .custom_extensions
                .push(CustomExtension::from_oid_content(&FABRIC_CA_ATTRS_OID, raw));
        }
        let key = new_key();
        let cert = match self.ca {
            Some(ca) => params.signed_by(&key, &ca.issuer),
            None => params.self_signed(&key),
        }
        .unwrap_or_else(|e| panic!("test leaf {:?}: {e}", self.cn));
        Leaf {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }
}

fn new_key() -> KeyPair {
    KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)
        .unwrap_or_else(|e| panic!("P-256 key generation: {e}"))
}

fn ca_params(cn: &str, org: Option<&str>, years: (i32, i32)) -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new())
        .unwrap_or_else(|e| panic!("test CA params: {e}"));
    if let Some(org) = org {
        params
            .distinguished_name
            .push(DnType::OrganizationName, org);
    }
    params.distinguished_name.push(DnType::CommonName, cn);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.not_before = rcgen::date_time_ymd(years.0, 1, 1);
    params.not_after = rcgen::date_time_ymd(years.1, 1, 1);
    params
}
