//! Building and signing blocks as an orderer, with identities generated here.

use fabric_block::{new_block, sign_block, verify_block_signature, verify_chain};
use fabric_msp::{Msp, MspManager, NodeOus, SigningIdentity};
use fabric_proto::common::{Metadata, OrdererBlockMetadata, SignatureHeader};
use healthblock_test_support::TestCa;
use prost::Message;

struct Org {
    ca: TestCa,
    mspid: &'static str,
}

impl Org {
    fn new(mspid: &'static str) -> Self {
        Self {
            ca: TestCa::root(&format!("ca.{mspid}"), None),
            mspid,
        }
    }

    fn member(&self, cn: &str, ou: &str) -> SigningIdentity {
        let leaf = self.ca.leaf(cn).ou(ou).issue();
        SigningIdentity::from_pem(
            self.mspid,
            leaf.cert_pem.as_bytes(),
            leaf.key_pem.as_bytes(),
        )
        .unwrap()
    }

    fn msp(&self) -> Msp {
        Msp::from_ca_pems(
            self.mspid,
            &[self.ca.pem().into_bytes()],
            &[],
            &[],
            NodeOus::fabric_default(),
        )
        .unwrap()
    }
}

fn chain(orderer: &SigningIdentity, len: u64) -> Vec<fabric_proto::common::Block> {
    let mut blocks = Vec::new();
    let mut prev = Vec::new();
    for n in 0..len {
        let mut b = new_block(n, &prev, vec![format!("tx-{n}").into_bytes()]);
        if n > 0 {
            sign_block(&mut b, orderer, 0);
        }
        prev = fabric_block::header_hash(b.header.as_ref().unwrap()).to_vec();
        blocks.push(b);
    }
    blocks
}

#[test]
fn signed_chain_verifies() {
    let org = Org::new("OrdererMSP");
    let orderer = org.member("orderer0", "orderer");
    let mgr = MspManager::new([org.msp()]);
    let blocks = chain(&orderer, 4);
    assert_eq!(blocks[0].metadata.as_ref().unwrap().metadata.len(), 5);
    let report = verify_chain(&blocks, &mgr);
    assert_eq!(report.first_broken, None);
    assert_eq!(report.height, 4);
    assert_eq!(
        report.tip_hash,
        fabric_block::header_hash(blocks[3].header.as_ref().unwrap())
    );
}

#[test]
fn signature_metadata_has_fabric_shape() {
    let org = Org::new("OrdererMSP");
    let orderer = org.member("orderer0", "orderer");
    let mut b = new_block(3, &[1; 32], vec![b"x".to_vec()]);
    sign_block(&mut b, &orderer, 2);
    let md = Metadata::decode(b.metadata.as_ref().unwrap().metadata[0].as_slice()).unwrap();
    let obm = OrdererBlockMetadata::decode(md.value.as_slice()).unwrap();
    assert_eq!(obm.last_config.unwrap().index, 2);
    assert_eq!(md.signatures.len(), 1);
    let sh = SignatureHeader::decode(md.signatures[0].signature_header.as_slice()).unwrap();
    assert_eq!(sh.creator, orderer.serialize());
    assert_eq!(sh.nonce.len(), 24);
    assert!(md.signatures[0].identifier_header.is_empty());
    // Fresh nonce every time.
    let mut again = b.clone();
    sign_block(&mut again, &orderer, 2);
    assert_ne!(b.metadata, again.metadata);
}

#[test]
fn non_orderer_or_untrusted_signer_is_rejected() {
    let org = Org::new("OrdererMSP");
    let peer = org.member("peer0", "peer");
    let mgr = MspManager::new([org.msp()]);
    let mut b = new_block(1, &[0; 32], vec![]);
    sign_block(&mut b, &peer, 0);
    let err = verify_block_signature(&b, &mgr).unwrap_err().to_string();
    assert!(err.contains("not an orderer"), "{err}");

    let rogue = Org::new("OrdererMSP").member("orderer0", "orderer");
    sign_block(&mut b, &rogue, 0);
    let err = verify_block_signature(&b, &mgr).unwrap_err().to_string();
    assert!(err.contains("does not chain"), "{err}");
}
