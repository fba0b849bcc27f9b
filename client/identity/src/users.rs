//! Registering and enrolling a hospital's users at its CA.
//!
//! Owns: the HealthBlock rules for users — every user is a Fabric CA `client`
//! at the root affiliation (so its certificate has exactly the NodeOU
//! `client`), its role in `hb.role` and a patient's pseudonym in
//! `hb.pseudonym`, both `ecert` attributes requested at enrollment so they
//! land in the certificate; the registrar (the CA's bootstrap admin, enrolled
//! into the wallet on first use); and checking that an enrolled certificate
//! is a valid member of the hospital's MSP before it is stored.

use crate::client::{Attribute, AttributeRequest, CaClient, CaEndpoint, Registration};
use crate::csr::new_key_and_csr;
use crate::error::{IdentityError, Result};
use crate::role::{Role, PSEUDONYM_ATTR, ROLE_ATTR};
use crate::wallet::{validate_name, Wallet, WalletId};
use fabric_msp::{Identity, Msp, SigningIdentity};
use healthblock_consortium::ca;
use healthblock_consortium::consortium::{Consortium, PeerOrg};
use healthblock_consortium::layout::Layout;
use serde::Serialize;

/// Fabric CA identity type of every HealthBlock user: NodeOU `client`.
const USER_TYPE: &str = "client";
/// Fabric CA's name for the root affiliation (no affiliation OUs in the certificate).
const ROOT_AFFILIATION: &str = ".";
const MAX_PSEUDONYM_LEN: usize = 128;

/// Where an operation runs: the consortium, its files and one hospital.
#[derive(Debug, Clone, Copy)]
pub struct Hospital<'a> {
    pub consortium: &'a Consortium,
    pub layout: &'a Layout,
    pub org: &'a PeerOrg,
}

impl<'a> Hospital<'a> {
    /// The hospital named `org` (its name, case-insensitive, or its MSP id).
    pub fn find(consortium: &'a Consortium, layout: &'a Layout, org: &str) -> Result<Self> {
        let found = consortium
            .orgs
            .iter()
            .find(|o| o.mspid == org || o.name.eq_ignore_ascii_case(org));
        let Some(org) = found else {
            let known: Vec<&str> = consortium.orgs.iter().map(|o| o.name.as_str()).collect();
            return Err(IdentityError::UnknownOrg {
                name: org.to_owned(),
                known: known.join(", "),
            });
        };
        Ok(Self {
            consortium,
            layout,
            org,
        })
    }

    /// The wallet under the home directory.
    pub fn wallet(&self) -> Wallet {
        Wallet::new(self.layout.wallet_dir())
    }

    /// The hospital's CA server, trusted through the org's TLS root.
    pub fn endpoint(&self) -> Result<CaEndpoint> {
        let root_path = ca::tls_root_cert(self.layout, self.org);
        let tls_root_pem =
            std::fs::read(&root_path).map_err(|e| IdentityError::io(&root_path, e))?;
        Ok(CaEndpoint {
            org: self.org.name.clone(),
            url: ca::url(self.consortium, self.org),
            ca_name: ca::ca_name(self.org),
            tls_root_pem,
        })
    }

    pub fn client(&self) -> Result<CaClient> {
        CaClient::new(self.endpoint()?)
    }
}

/// A user to register.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub name: String,
    pub role: Role,
    /// Required for patients, refused for everyone else.
    pub pseudonym: Option<String>,
    /// The enrollment secret; `None` lets the CA generate one.
    pub secret: Option<String>,
}

/// The outcome of a registration.
#[derive(Clone, Serialize)]
pub struct Registered {
    pub name: String,
    pub org: String,
    pub role: Role,
    /// What the user enrolls with (shown once; the CA keeps only a hash).
    pub secret: String,
}

impl std::fmt::Debug for Registered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registered")
            .field("name", &self.name)
            .field("org", &self.org)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// Registers `user` at the hospital's CA, signed by the hospital's registrar.
pub async fn register(h: &Hospital<'_>, user: &NewUser) -> Result<Registered> {
    validate_name("user name", &user.name)?;
    let attributes = attributes(user)?;
    let registrar = registrar(h).await?;
    let client = h.client()?;
    let secret = client
        .register(
            &registrar,
            &Registration {
                name: user.name.clone(),
                kind: USER_TYPE.to_owned(),
                secret: user.secret.clone().unwrap_or_default(),
                affiliation: ROOT_AFFILIATION.to_owned(),
                attributes,
                ca_name: client.endpoint().ca_name.clone(),
            },
        )
        .await?;
    Ok(Registered {
        name: user.name.clone(),
        org: h.org.name.clone(),
        role: user.role,
        secret,
    })
}

/// `hb.role` (and `hb.pseudonym` for a patient), all in enrollment certificates.
fn attributes(user: &NewUser) -> Result<Vec<Attribute>> {
    let attr = |name: &str, value: &str| Attribute {
        name: name.to_owned(),
        value: value.to_owned(),
        ecert: true,
    };
    let mut attrs = vec![attr(ROLE_ATTR, user.role.as_str())];
    match (user.role, &user.pseudonym) {
        (Role::Patient, Some(p)) => {
            validate_pseudonym(p)?;
            attrs.push(attr(PSEUDONYM_ATTR, p));
        }
        (Role::Patient, None) => {
            return Err(IdentityError::invalid(
                "pseudonym",
                "a patient needs --pseudonym (the patient's pseudonymous id)",
            ))
        }
        (_, Some(_)) => {
            return Err(IdentityError::invalid(
                "pseudonym",
                format!("only patients have a pseudonym, not a {}", user.role),
            ))
        }
        (_, None) => {}
    }
    Ok(attrs)
}

fn validate_pseudonym(p: &str) -> Result<()> {
    let ok = !p.is_empty()
        && p.len() <= MAX_PSEUDONYM_LEN
        && p.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
    if ok {
        Ok(())
    } else {
        Err(IdentityError::invalid(
            "pseudonym",
            format!(
                "{p:?} must be 1-{MAX_PSEUDONYM_LEN} ASCII letters, digits, '-', '_', '.' or ':'"
            ),
        ))
    }
}

/// Enrolls `name` with `secret`: a fresh key, the certificate with `hb.role`
/// and `hb.pseudonym`, checked against the hospital's MSP, stored in the wallet.
pub async fn enroll(h: &Hospital<'_>, name: &str, secret: &str) -> Result<WalletId> {
    let attr_reqs = [
        AttributeRequest {
            name: ROLE_ATTR.to_owned(),
            optional: false,
        },
        AttributeRequest {
            name: PSEUDONYM_ATTR.to_owned(),
            optional: true,
        },
    ];
    enroll_into_wallet(h, name, secret, &attr_reqs).await
}

async fn enroll_into_wallet(
    h: &Hospital<'_>,
    name: &str,
    secret: &str,
    attr_reqs: &[AttributeRequest],
) -> Result<WalletId> {
    validate_name("user name", name)?;
    if secret.is_empty() {
        return Err(IdentityError::invalid(
            "secret",
            "the enrollment secret is empty",
        ));
    }
    let client = h.client()?;
    let key = new_key_and_csr(name)?;
    let enrolled = client.enroll(name, secret, &key.csr_pem, attr_reqs).await?;
    let identity = check_membership(h, &enrolled.cert_pem)?;
    // Fails if the CA certified some other key than ours.
    SigningIdentity::from_pem(&h.org.mspid, &enrolled.cert_pem, key.key_pem.as_bytes())?;
    let id = WalletId {
        name: name.to_owned(),
        org: h.org.name.clone(),
        mspid: h.org.mspid.clone(),
        kind: "X.509".to_owned(),
        role: identity.attr(ROLE_ATTR).and_then(Role::parse),
        pseudonym: identity.attr(PSEUDONYM_ATTR).map(str::to_owned),
        ca_url: client.endpoint().url.clone(),
        enrolled_at: now_rfc3339(),
    };
    h.wallet().put(
        &id,
        &enrolled.cert_pem,
        key.key_pem.as_bytes(),
        &enrolled.ca_chain_pem,
    )?;
    Ok(id)
}

/// The certificate must be a valid member of the hospital's MSP (chain, window, one NodeOU).
fn check_membership(h: &Hospital<'_>, cert_pem: &[u8]) -> Result<Identity> {
    let msp = Msp::from_dir(&h.org.mspid, &h.layout.org_msp_dir(h.org))?;
    let identity = Identity::from_pem(&h.org.mspid, cert_pem)?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    msp.validate(&identity, now).map_err(|e| {
        IdentityError::Crypto(format!(
            "the {} CA issued a certificate that is not a valid member of {}: {e}",
            h.org.name, h.org.mspid
        ))
    })?;
    Ok(identity)
}

/// The hospital's registrar as a signing identity, enrolled into the wallet on first use.
pub async fn registrar(h: &Hospital<'_>) -> Result<SigningIdentity> {
    let wallet = h.wallet();
    if wallet.contains(ca::REGISTRAR_NAME, &h.org.name) {
        let signer = wallet.signing_identity(ca::REGISTRAR_NAME, &h.org.name)?;
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        if signer.identity.is_valid_at(now)
            && check_membership(h, &signer.identity.cert_pem).is_ok()
        {
            return Ok(signer);
        }
        // Expired, or issued by an earlier root (the material was regenerated): enroll again.
    }
    let creds = ca::registrar(h.layout, h.org)?;
    enroll_into_wallet(h, &creds.name, &creds.secret, &[]).await?;
    wallet.signing_identity(ca::REGISTRAR_NAME, &h.org.name)
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
