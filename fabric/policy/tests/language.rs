//! The policy language: parsing, Fabric-exact encoding, syntax errors, rendering.

use fabric_policy::{parse, to_string, PolicyError};
use fabric_proto::common::signature_policy::{NOutOf, Type};
use fabric_proto::common::SignaturePolicy;
use fabric_proto::msp::MspRole;
use prost::Message;

fn signed_by(i: i32) -> SignaturePolicy {
    SignaturePolicy {
        r#type: Some(Type::SignedBy(i)),
    }
}

fn n_out_of(n: i32, rules: Vec<SignaturePolicy>) -> SignaturePolicy {
    SignaturePolicy {
        r#type: Some(Type::NOutOf(NOutOf { n, rules })),
    }
}

/// (mspid, role) of each identity of the envelope.
fn identities(policy: &str) -> Vec<(String, i32)> {
    parse(policy)
        .unwrap()
        .identities
        .iter()
        .map(|p| {
            assert_eq!(p.principal_classification, 0, "ROLE");
            let r = MspRole::decode(p.principal.as_slice()).unwrap();
            (r.msp_identifier, r.role)
        })
        .collect()
}

fn ids(list: &[(&str, i32)]) -> Vec<(String, i32)> {
    list.iter().map(|(m, r)| (m.to_string(), *r)).collect()
}

#[test]
fn or_of_one_peer_matches_fabric_bytes() {
    let env = parse("OR('Org2MSP.peer')").unwrap();
    assert_eq!(
        hex::encode(env.encode_to_vec()),
        "120812060801120208001a0d120b0a074f7267324d53501003"
    );
}

#[test]
fn gates_encode_as_n_out_of() {
    let and = parse("AND('A.member', 'B.member')").unwrap();
    assert_eq!(and.version, 0);
    assert_eq!(
        and.rule,
        Some(n_out_of(2, vec![signed_by(0), signed_by(1)]))
    );
    let or = parse("OR('A.member', 'B.member')").unwrap();
    assert_eq!(or.rule, Some(n_out_of(1, vec![signed_by(0), signed_by(1)])));
    let out_of = parse("OutOf(2, 'A.member', 'B.member', 'C.member')").unwrap();
    assert_eq!(
        out_of.rule,
        Some(n_out_of(2, vec![signed_by(0), signed_by(1), signed_by(2)]))
    );
    assert_eq!(
        identities("OR('A.peer', 'B.admin', 'C.orderer', 'D.client', 'E.member')"),
        ids(&[("A", 3), ("B", 1), ("C", 4), ("D", 2), ("E", 0)])
    );
}

#[test]
fn nested_gates_are_numbered_before_a_gates_own_principals() {
    // As Fabric's compiler: OR('A', AND('B','C')) has identities [B, C, A].
    let env = parse("OR('A.member', AND('B.member', 'C.member'))").unwrap();
    assert_eq!(
        identities("OR('A.member', AND('B.member', 'C.member'))"),
        ids(&[("B", 0), ("C", 0), ("A", 0)])
    );
    assert_eq!(
        env.rule,
        Some(n_out_of(
            1,
            vec![signed_by(2), n_out_of(2, vec![signed_by(0), signed_by(1)])]
        ))
    );
    assert_eq!(
        identities("OR(AND('A.member', 'B.member'), OR('C.admin', 'D.member'))"),
        ids(&[("A", 0), ("B", 0), ("C", 1), ("D", 0)])
    );
}

#[test]
fn repeated_principals_get_their_own_identity_as_in_fabric() {
    assert_eq!(
        identities("AND('A.member', 'A.member')"),
        ids(&[("A", 0), ("A", 0)])
    );
}

#[test]
fn spellings_quotes_and_special_msp_ids() {
    let canonical = parse("OutOf(1, 'A.member', 'B.member')").unwrap();
    for s in [
        "outof(1, 'A.member', 'B.member')",
        "OUTOF(1,'A.member','B.member')",
        "OutOf('1', \"A.member\", \"B.member\")",
        "  OutOf ( 1 ,\n 'A.member' ,\t'B.member' )  ",
        "or('A.member', 'B.member')",
        "Or('A.member', 'B.member')",
    ] {
        assert_eq!(parse(s).unwrap(), canonical, "{s}");
    }
    assert_eq!(
        identities("OR('MSP.member', 'MSP.WITH.DOTS.member', 'MSP-WITH-DASHES.member')"),
        ids(&[("MSP", 0), ("MSP.WITH.DOTS", 0), ("MSP-WITH-DASHES", 0)])
    );
    // Fabric's boundaries for t: 0 ..= n + 1.
    assert!(parse("OutOf(0, 'A.member', 'B.member')").is_ok());
    assert!(parse("OutOf(3, 'A.member', 'B.member')").is_ok());
}

fn syntax_pos(policy: &str) -> usize {
    match parse(policy) {
        Err(PolicyError::Syntax { pos, .. }) => pos,
        other => panic!("{policy:?}: expected a syntax error, got {other:?}"),
    }
}

#[test]
fn malformed_policies_report_positions() {
    assert_eq!(syntax_pos(""), 0);
    assert_eq!(syntax_pos("AND("), 4);
    assert_eq!(syntax_pos("AND()"), 4);
    assert_eq!(syntax_pos("XOR('A.member')"), 0);
    assert_eq!(syntax_pos("AND('A.member' 'B.member')"), 15);
    assert_eq!(syntax_pos("AND('A.member'))"), 15);
    assert_eq!(syntax_pos("AND('A.superuser')"), 4);
    assert_eq!(syntax_pos("AND('Amember')"), 4);
    assert_eq!(syntax_pos("AND('.member')"), 4);
    assert_eq!(syntax_pos("AND('A B.member')"), 4);
    assert_eq!(syntax_pos("AND('A.member"), 4);
    assert_eq!(syntax_pos("'A.member'"), 0);
    assert_eq!(syntax_pos("OR('A.member', Bmember)"), 15);
    assert_eq!(syntax_pos("OutOf(1)"), 7);
    assert_eq!(syntax_pos("OutOf(-1, 'A.member', 'B.member')"), 6);
    assert_eq!(syntax_pos("OutOf(4, 'A.member', 'B.member')"), 6);
    assert_eq!(syntax_pos("OutOf('x', 'A.member')"), 6);
    assert_eq!(syntax_pos("OutOf(1, 2)"), 9);
    assert_eq!(syntax_pos("AND('A.member') # comment"), 16);
    let err = parse("AND('A.member' 'B.member')").unwrap_err().to_string();
    assert!(err.contains("at 15"), "{err}");
}

#[test]
fn rendering_round_trips() {
    for s in [
        "OR('Org1MSP.peer')",
        "AND('Org1MSP.peer', 'Org2MSP.peer')",
        "OutOf(2, 'A.peer', 'B.peer', 'C.admin')",
        "OR('A.member', AND('B.client', 'C.orderer'))",
        "AND(OR('A.peer', 'B.peer'), OutOf(2, 'C.peer', 'D.peer', 'E.peer'))",
    ] {
        let env = parse(s).unwrap();
        let rendered = to_string(&env);
        assert_eq!(rendered, s);
        assert_eq!(parse(&rendered).unwrap(), env);
    }
    // AND of one is the same envelope as OR of one; it renders as OR.
    assert_eq!(to_string(&parse("AND('A.peer')").unwrap()), "OR('A.peer')");
}
