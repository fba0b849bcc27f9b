//! Test fixtures: a consortium's identity material generated with rcgen
//! (Fabric's cryptogen layout, NodeOUs enabled), a devnet started on
//! 127.0.0.1 ephemeral ports, and TLS gRPC clients to its nodes.

#![allow(dead_code)]

pub(crate) mod tx;

use devnet::{
    AdminListener, BatchSettings, Devnet, DevnetConfig, OrdererConfig, OrgConfig, PeerConfig,
    TlsFiles,
};
use fabric_msp::SigningIdentity;
use healthblock_test_support::{TestCa, NODE_OUS_CONFIG_YAML};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};

/// An org's two CAs (identities and TLS).
pub(crate) struct OrgCas {
    pub mspid: String,
    ca: TestCa,
    tlsca: TestCa,
}

fn ca(org: &str, cn: &str) -> TestCa {
    TestCa::root_valid_years(cn, Some(org), (2025, 2045))
}

impl OrgCas {
    pub(crate) fn new(mspid: &str, domain: &str) -> Self {
        Self {
            mspid: mspid.to_owned(),
            ca: ca(domain, &format!("ca.{domain}")),
            tlsca: ca(domain, &format!("tlsca.{domain}")),
        }
    }

    /// A leaf (PEM cert, PEM PKCS#8 key) issued by the identity CA with OU `ou`.
    fn leaf(&self, cn: &str, ou: &str) -> (String, String) {
        let leaf = self.ca.leaf(cn).ou(ou).valid_years(2025, 2040).issue();
        (leaf.cert_pem, leaf.key_pem)
    }

    /// A signing identity of this org with NodeOU `ou`.
    pub(crate) fn user(&self, cn: &str, ou: &str) -> SigningIdentity {
        let (cert, key) = self.leaf(cn, ou);
        SigningIdentity::from_pem(&self.mspid, cert.as_bytes(), key.as_bytes()).unwrap()
    }

    /// A TLS client certificate and key (PEM) from the org's TLS CA.
    pub(crate) fn tls_client(&self, cn: &str) -> (String, String) {
        let leaf = self.tlsca.leaf(cn).valid_years(2025, 2040).issue();
        (leaf.cert_pem, leaf.key_pem)
    }

    /// The org's verifying MSP directory.
    fn write_org_msp(&self, dir: &Path) {
        write(&dir.join("cacerts/ca.pem"), self.ca.pem().as_bytes());
        write(
            &dir.join("tlscacerts/tlsca.pem"),
            self.tlsca.pem().as_bytes(),
        );
        write(&dir.join("config.yaml"), NODE_OUS_CONFIG_YAML.as_bytes());
    }

    /// A node's signing MSP directory and TLS files.
    fn write_node(&self, dir: &Path, cn: &str, ou: &str) -> (PathBuf, TlsFiles) {
        let msp = dir.join("msp");
        self.write_org_msp(&msp);
        let (cert, key) = self.leaf(cn, ou);
        write(&msp.join("signcerts/cert.pem"), cert.as_bytes());
        write(&msp.join("keystore/priv_sk"), key.as_bytes());
        let tls_leaf = self
            .tlsca
            .leaf(cn)
            .sans(&["localhost", "127.0.0.1", cn])
            .valid_years(2025, 2040)
            .issue();
        let tls = dir.join("tls");
        write(&tls.join("server.crt"), tls_leaf.cert_pem.as_bytes());
        write(&tls.join("server.key"), tls_leaf.key_pem.as_bytes());
        write(&tls.join("ca.crt"), self.tlsca.pem().as_bytes());
        (
            msp,
            TlsFiles {
                cert: tls.join("server.crt"),
                key: tls.join("server.key"),
                ca: tls.join("ca.crt"),
            },
        )
    }
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// A consortium on disk plus the config that runs it.
pub(crate) struct Fixture {
    pub dir: tempfile::TempDir,
    pub config: DevnetConfig,
    pub orgs: Vec<OrgCas>,
    pub orderer_org: OrgCas,
}

impl Fixture {
    /// `orgs` application orgs with one peer each, MAJORITY endorsement.
    pub(crate) fn new(orgs: usize, batch_timeout: Duration, max_message_count: u32) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let orderer_org = OrgCas::new("OrdererMSP", "example.com");
        orderer_org.write_org_msp(&root.join("ordererOrganizations/example.com/msp"));
        let (orderer_msp, orderer_tls) = orderer_org.write_node(
            &root.join("ordererOrganizations/example.com/orderer"),
            "orderer.example.com",
            "orderer",
        );
        let mut org_cas = Vec::new();
        let mut org_configs = Vec::new();
        let mut peers = Vec::new();
        for i in 1..=orgs {
            let domain = format!("org{i}.example.com");
            let mspid = format!("Org{i}MSP");
            let cas = OrgCas::new(&mspid, &domain);
            let org_dir = root.join("peerOrganizations").join(&domain);
            cas.write_org_msp(&org_dir.join("msp"));
            let name = format!("peer0.{domain}");
            let (msp, tls) = cas.write_node(&org_dir.join("peers").join(&name), &name, "peer");
            org_configs.push(OrgConfig {
                mspid: mspid.clone(),
                msp_dir: org_dir.join("msp"),
                endorsement_policy: format!("OR('{mspid}.peer')"),
            });
            peers.push(PeerConfig {
                name,
                mspid,
                listen: "127.0.0.1:0".into(),
                msp_dir: msp,
                tls,
                ccaas_builder_config: Default::default(),
            });
            org_cas.push(cas);
        }
        let config = DevnetConfig {
            channel: "ehr".into(),
            data_dir: root.join("data"),
            batch: BatchSettings {
                timeout: batch_timeout,
                max_message_count,
                absolute_max_bytes: 10 * 1024 * 1024,
                preferred_max_bytes: 2 * 1024 * 1024,
            },
            endorsement_policy: "MAJORITY Endorsement".into(),
            lifecycle_policy: "MAJORITY Endorsement".into(),
            // Fabric's default ACLs (Application Readers); the consortium's own are tested end to end.
            acls: Default::default(),
            orgs: org_configs,
            peers,
            orderer: OrdererConfig {
                name: "orderer.example.com".into(),
                mspid: "OrdererMSP".into(),
                org_msp_dir: root.join("ordererOrganizations/example.com/msp"),
                msp_dir: orderer_msp,
                listen: "127.0.0.1:0".into(),
                admin: Some(AdminListener {
                    listen: "127.0.0.1:0".into(),
                    client_ca: orderer_tls.ca.clone(),
                }),
                tls: orderer_tls,
            },
            control_socket: None,
        };
        Self {
            dir,
            config,
            orgs: org_cas,
            orderer_org,
        }
    }

    pub(crate) async fn start(&self) -> Devnet {
        Devnet::start(self.config.clone())
            .await
            .expect("devnet starts")
    }

    /// A client (OU client) of org `i` (0-based).
    pub(crate) fn client(&self, i: usize) -> SigningIdentity {
        self.orgs[i].user(&format!("User1@org{}.example.com", i + 1), "client")
    }

    /// An admin (OU admin) of org `i`.
    pub(crate) fn admin(&self, i: usize) -> SigningIdentity {
        self.orgs[i].user(&format!("Admin@org{}.example.com", i + 1), "admin")
    }

    /// A TLS channel to `addr`, trusting `ca`.
    pub(crate) async fn channel(&self, addr: std::net::SocketAddr, ca: &Path) -> Channel {
        let pem = std::fs::read(ca).unwrap();
        let tls = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(pem))
            .domain_name("localhost");
        Endpoint::from_shared(format!("https://{addr}"))
            .unwrap()
            .tls_config(tls)
            .unwrap()
            .connect()
            .await
            .expect("TLS connection to the devnet")
    }

    pub(crate) async fn orderer_channel(&self, devnet: &Devnet) -> Channel {
        self.channel(devnet.orderer_address(), &self.config.orderer.tls.ca)
            .await
    }

    /// A channel to the peer of org `i`.
    pub(crate) async fn peer_channel(&self, devnet: &Devnet, i: usize) -> Channel {
        let p = &self.config.peers[i];
        self.channel(devnet.peer_address(&p.name).unwrap(), &p.tls.ca)
            .await
    }
}
