//! Evaluation truth tables with identities generated here: Fabric's
//! at-most-one-principal rule, greedy matching, duplicates, roles, unknown
//! MSPs, and implicit-meta endorsement policies.

use fabric_msp::{Identity, Msp, MspManager, NodeOus};
use fabric_policy::{evaluate, parse, EndorsementPolicy, MetaRule, PolicyError};
use healthblock_test_support::TestCa;

struct Org {
    mspid: &'static str,
    ca: TestCa,
}

impl Org {
    fn new(mspid: &'static str) -> Self {
        Self {
            mspid,
            ca: TestCa::root(&format!("ca.{mspid}"), None),
        }
    }

    fn id(&self, cn: &str, ou: &str) -> Identity {
        let leaf = self.ca.leaf(cn).ou(ou).issue();
        Identity::from_pem(self.mspid, leaf.cert_pem.as_bytes()).unwrap()
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

struct World {
    msps: MspManager,
    a_peer: Identity,
    a_peer2: Identity,
    a_client: Identity,
    a_admin: Identity,
    b_peer: Identity,
    c_peer: Identity,
    /// Of an MSP that the manager does not know.
    x_peer: Identity,
}

fn world() -> World {
    let (a, b, c, x) = (Org::new("A"), Org::new("B"), Org::new("C"), Org::new("X"));
    World {
        msps: MspManager::new([a.msp(), b.msp(), c.msp()]),
        a_peer: a.id("peer0.a", "peer"),
        a_peer2: a.id("peer1.a", "peer"),
        a_client: a.id("user.a", "client"),
        a_admin: a.id("admin.a", "admin"),
        b_peer: b.id("peer0.b", "peer"),
        c_peer: c.id("peer0.c", "peer"),
        x_peer: x.id("peer0.x", "peer"),
    }
}

fn eval(w: &World, policy: &str, signers: &[&Identity]) -> bool {
    let signers: Vec<Identity> = signers.iter().map(|i| (*i).clone()).collect();
    evaluate(&parse(policy).unwrap(), &signers, &w.msps)
}

#[test]
fn roles_and_members() {
    let w = world();
    assert!(eval(&w, "OR('A.member')", &[&w.a_client]));
    assert!(eval(&w, "OR('A.member')", &[&w.a_peer]));
    assert!(!eval(&w, "OR('A.member')", &[&w.b_peer]));
    assert!(eval(&w, "OR('A.peer')", &[&w.a_peer]));
    assert!(!eval(&w, "OR('A.peer')", &[&w.a_client]));
    assert!(eval(&w, "OR('A.client')", &[&w.a_client]));
    assert!(eval(&w, "OR('A.admin')", &[&w.a_admin]));
    assert!(!eval(&w, "OR('A.admin')", &[&w.a_peer]));
    assert!(!eval(
        &w,
        "OR('A.orderer')",
        &[&w.a_peer, &w.a_client, &w.a_admin]
    ));
    assert!(!eval(&w, "OR('A.member')", &[]));
}

#[test]
fn unknown_msp_never_matches() {
    let w = world();
    assert!(!eval(&w, "OR('X.member')", &[&w.x_peer]));
    assert!(!eval(&w, "OR('X.peer')", &[&w.x_peer]));
    // An identity claiming A's MSP id is matched by MSP id and role only: it
    // must have been validated against A's MSP before evaluation.
    assert!(!eval(&w, "OR('A.peer')", &[&w.x_peer]));
}

#[test]
fn each_identity_satisfies_at_most_one_principal() {
    let w = world();
    assert!(!eval(&w, "AND('A.member', 'A.member')", &[&w.a_peer]));
    assert!(eval(
        &w,
        "AND('A.member', 'A.member')",
        &[&w.a_peer, &w.a_client]
    ));
    assert!(!eval(&w, "AND('A.peer', 'A.member')", &[&w.a_peer]));
    assert!(eval(
        &w,
        "AND('A.peer', 'A.peer')",
        &[&w.a_peer, &w.a_peer2]
    ));
    assert!(!eval(
        &w,
        "OutOf(2, 'A.peer', 'A.member', 'A.client')",
        &[&w.a_peer]
    ));
}

#[test]
fn duplicate_identities_count_once() {
    let w = world();
    assert!(!eval(
        &w,
        "AND('A.member', 'A.member')",
        &[&w.a_peer, &w.a_peer]
    ));
    assert!(!eval(
        &w,
        "OutOf(2, 'A.peer', 'B.peer', 'A.peer')",
        &[&w.a_peer, &w.a_peer]
    ));
}

#[test]
fn matching_is_greedy_like_fabric() {
    let w = world();
    // 'A.member' grabs the first unused A identity; when that is the only
    // peer, 'A.peer' is left without one (Fabric does not backtrack).
    assert!(!eval(
        &w,
        "AND('A.member', 'A.peer')",
        &[&w.a_peer, &w.a_client]
    ));
    assert!(eval(
        &w,
        "AND('A.member', 'A.peer')",
        &[&w.a_client, &w.a_peer]
    ));
    assert!(eval(
        &w,
        "AND('A.peer', 'A.member')",
        &[&w.a_peer, &w.a_client]
    ));
}

#[test]
fn failed_sub_rules_do_not_consume_identities() {
    let w = world();
    // AND fails (no B peer) but had tentatively used A's peer; the OR still gets it.
    assert!(eval(
        &w,
        "OR(AND('A.peer', 'B.peer'), 'A.peer')",
        &[&w.a_peer]
    ));
    // A satisfied sub-rule keeps its identities: the second 'A.peer' gets none.
    assert!(!eval(&w, "AND(OR('A.peer'), 'A.peer')", &[&w.a_peer]));
}

#[test]
fn thresholds() {
    let w = world();
    let two_of_three = "OutOf(2, 'A.peer', 'B.peer', 'C.peer')";
    assert!(eval(&w, two_of_three, &[&w.a_peer, &w.c_peer]));
    assert!(eval(&w, two_of_three, &[&w.a_peer, &w.b_peer, &w.c_peer]));
    assert!(!eval(&w, two_of_three, &[&w.a_peer, &w.a_peer2]));
    assert!(!eval(&w, two_of_three, &[&w.b_peer]));
    assert!(eval(&w, "AND('A.peer', 'B.peer')", &[&w.b_peer, &w.a_peer]));
    assert!(!eval(
        &w,
        "AND('A.peer', 'B.peer')",
        &[&w.a_client, &w.b_peer]
    ));
    assert!(eval(&w, "OutOf(0, 'A.peer')", &[]));
    assert!(!eval(&w, "OutOf(2, 'A.peer')", &[&w.a_peer, &w.a_peer2]));
    // NOutOf does not stop at n: the OR evaluates both branches and keeps both
    // identities, so the OutOf is left with C alone (Fabric behaves the same).
    let nested = "AND(OR('A.peer', 'B.peer'), OutOf(2, 'A.peer', 'B.peer', 'C.peer'))";
    assert!(!eval(&w, nested, &[&w.a_peer, &w.b_peer, &w.c_peer]));
    assert!(eval(
        &w,
        nested,
        &[&w.a_peer, &w.b_peer, &w.c_peer, &w.a_peer2]
    ));
    assert!(!eval(&w, nested, &[&w.a_peer, &w.b_peer]));
}

#[test]
fn malformed_envelopes_never_pass() {
    let w = world();
    let signers = vec![w.a_peer.clone()];
    let mut env = parse("OR('A.peer')").unwrap();
    assert!(evaluate(&env, &signers, &w.msps));
    env.version = 1;
    assert!(!evaluate(&env, &signers, &w.msps));
    let mut env = parse("OutOf(0, 'A.peer')").unwrap();
    env.identities.clear(); // SignedBy(0) now points nowhere
    assert!(!evaluate(&env, &signers, &w.msps));
    let mut env = parse("OR('A.peer')").unwrap();
    env.rule = None;
    assert!(!evaluate(&env, &signers, &w.msps));
    let mut env = parse("OR('A.peer')").unwrap();
    env.identities[0].principal = vec![0xff, 0xff];
    assert!(!evaluate(&env, &signers, &w.msps));
}

fn org_policies() -> Vec<fabric_proto::common::SignaturePolicyEnvelope> {
    ["OR('A.peer')", "OR('B.peer')", "OR('C.peer')"]
        .map(|s| parse(s).unwrap())
        .to_vec()
}

#[test]
fn implicit_meta_rules() {
    let w = world();
    let orgs = org_policies();
    let policy = |s: &str| EndorsementPolicy::from_str_with_orgs(s, &orgs).unwrap();
    let signers = |ids: &[&Identity]| ids.iter().map(|i| (*i).clone()).collect::<Vec<_>>();

    let majority = policy("MAJORITY Endorsement");
    assert!(majority.evaluate(&signers(&[&w.a_peer, &w.b_peer]), &w.msps));
    assert!(!majority.evaluate(&signers(&[&w.a_peer, &w.a_peer2]), &w.msps));
    assert!(!majority.evaluate(&signers(&[&w.c_peer, &w.a_client]), &w.msps));

    let any = policy("ANY Endorsement");
    assert!(any.evaluate(&signers(&[&w.c_peer]), &w.msps));
    assert!(!any.evaluate(&signers(&[&w.x_peer, &w.a_admin]), &w.msps));

    let all = policy("ALL Endorsement");
    assert!(!all.evaluate(&signers(&[&w.a_peer, &w.b_peer]), &w.msps));
    assert!(all.evaluate(&signers(&[&w.a_peer, &w.b_peer, &w.c_peer]), &w.msps));

    assert!(matches!(
        majority,
        EndorsementPolicy::ImplicitMeta {
            rule: MetaRule::Majority,
            ..
        }
    ));
    assert_eq!(majority.to_string(), "MAJORITY Endorsement");
    assert_eq!(any.to_string(), "ANY Endorsement");
    assert_eq!(majority.orgs(), vec!["A", "B", "C"]);
    assert_eq!(MetaRule::Majority.threshold(4), 3);
    assert_eq!(MetaRule::Majority.threshold(3), 2);
}

#[test]
fn signature_endorsement_policies() {
    let w = world();
    let orgs = org_policies();
    let p = EndorsementPolicy::from_str_with_orgs("AND('B.peer', OR('C.peer', 'A.admin'))", &orgs)
        .unwrap();
    assert_eq!(p.to_string(), "AND('B.peer', OR('C.peer', 'A.admin'))");
    // Nested principals are numbered first (C, A), then B.
    assert_eq!(p.orgs(), vec!["C", "A", "B"]);
    assert!(p.evaluate(&[w.b_peer.clone(), w.a_admin.clone()], &w.msps));
    assert!(!p.evaluate(&[w.b_peer.clone(), w.a_peer.clone()], &w.msps));
    assert!(matches!(
        EndorsementPolicy::from_str_with_orgs("MAJORITY Readers", &orgs),
        Err(PolicyError::Invalid(_))
    ));
    assert!(matches!(
        EndorsementPolicy::from_str_with_orgs("majority Endorsement", &orgs),
        Err(PolicyError::Syntax { .. })
    ));
}
