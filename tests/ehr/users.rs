//! The suite's users, registered and enrolled at their hospitals' Fabric CAs
//! through the CLI (`healthblock user register|enroll`), exactly as an
//! administrator would, so their roles are certificate attributes.

use anyhow::{anyhow, Context, Result};
use healthblock_tests::TestNet;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The key the suite's pseudonyms are computed with (a test key, not a secret).
const PSEUDONYM_KEY: &[u8] = b"healthblock ehr e2e pseudonym key";

/// A patient's pseudonymous id: HMAC-SHA256(test key, name) as 64 hex digits.
pub(crate) fn pseudonym(name: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(PSEUDONYM_KEY).expect("HMAC takes keys of any length");
    mac.update(name.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// One enrolled user.
#[derive(Debug, Clone, Copy)]
pub struct User {
    pub name: &'static str,
    pub org: &'static str,
    pub mspid: &'static str,
    pub role: &'static str,
}

impl User {
    const fn new(
        name: &'static str,
        org: &'static str,
        mspid: &'static str,
        role: &'static str,
    ) -> Self {
        User {
            name,
            org,
            mspid,
            role,
        }
    }

    /// The contract's user id: `CN@MSP`.
    pub fn principal(&self) -> String {
        format!("{}@{}", self.name, self.mspid)
    }
}

/// Everyone the trials act as.
#[derive(Debug, Clone)]
pub struct Users {
    pub doctor1: User,
    pub nurse1: User,
    pub patient1: User,
    /// The pseudonym of `patient1` (also the `hb.pseudonym` attribute of their certificate).
    pub patient1_pid: String,
    pub doctor2: User,
    pub auditor: User,
    pub nurse3: User,
    pub doctor3: User,
    /// A patient identity enrolled at Hospital2's CA carrying `patient1`'s
    /// pseudonym (finding 2 of the trust model): the contract must not take
    /// it for `patient1`.
    pub impostor: User,
}

impl Users {
    /// Registers and enrolls every user of the suite.
    pub fn enroll_all(net: &TestNet) -> Result<Self> {
        let users = Users {
            doctor1: User::new("doctor1", "Hospital1", "Hospital1MSP", "doctor"),
            nurse1: User::new("nurse1", "Hospital1", "Hospital1MSP", "nurse"),
            patient1: User::new("patient1", "Hospital1", "Hospital1MSP", "patient"),
            patient1_pid: pseudonym("patient one"),
            doctor2: User::new("doctor2", "Hospital2", "Hospital2MSP", "doctor"),
            auditor: User::new("auditor2", "Hospital2", "Hospital2MSP", "auditor"),
            nurse3: User::new("nurse3", "Hospital3", "Hospital3MSP", "nurse"),
            doctor3: User::new("doctor3", "Hospital3", "Hospital3MSP", "doctor"),
            impostor: User::new("impostor2", "Hospital2", "Hospital2MSP", "patient"),
        };
        for user in [
            users.doctor1,
            users.nurse1,
            users.doctor2,
            users.auditor,
            users.nurse3,
            users.doctor3,
        ] {
            register_and_enroll(net, &user, None)?;
        }
        // The patient publishes their key once registered (`publish_patient_key`).
        enroll(net, &users.patient1, Some(&users.patient1_pid))?;
        // The impostor's key publication would be refused (it is no patient).
        enroll(net, &users.impostor, Some(&users.patient1_pid))?;
        // Each hospital's administrator publishes the hospital's key, which
        // every record of its patients is wrapped to.
        for org in &net.consortium.orgs {
            net.cli_ok(&[
                "keydir",
                "publish",
                "--as",
                &format!("Admin@{}", org.name),
                "--hospital",
            ])?;
        }
        Ok(users)
    }
}

impl Users {
    /// `patient1` publishes their patient key (the contract needs them registered first).
    pub fn publish_patient_key(&self, net: &TestNet) -> Result<()> {
        let who = format!("{}@{}", self.patient1.name, self.patient1.org);
        net.cli_ok(&["keydir", "publish", "--as", &who])?;
        Ok(())
    }
}

/// Registers and enrolls `user` at their hospital's CA, then the user
/// publishes their own encryption key in the key directory, as every new
/// user does before anything can be shared with them.
pub(crate) fn register_and_enroll(
    net: &TestNet,
    user: &User,
    pseudonym: Option<&str>,
) -> Result<()> {
    enroll(net, user, pseudonym)?;
    net.cli_ok(&[
        "keydir",
        "publish",
        "--as",
        &format!("{}@{}", user.name, user.org),
    ])?;
    Ok(())
}

/// Registers and enrolls `user` at their hospital's CA through the CLI.
fn enroll(net: &TestNet, user: &User, pseudonym: Option<&str>) -> Result<()> {
    let mut args = vec![
        "user", "register", "--org", user.org, "--name", user.name, "--role", user.role, "--json",
    ];
    if let Some(p) = pseudonym {
        args.extend(["--pseudonym", p]);
    }
    let out = net.cli_ok(&args)?;
    let registered: serde_json::Value = serde_json::from_str(&out)
        .with_context(|| format!("`user register --json` printed no JSON: {out}"))?;
    let secret = registered["secret"]
        .as_str()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| anyhow!("`user register` gave no secret for {}", user.name))?;
    net.cli_ok(&[
        "user", "enroll", "--org", user.org, "--name", user.name, "--secret", secret,
    ])?;
    Ok(())
}
