//! Round trips for every signed type (hash -> sign -> recover) and the keeper-side checks of the
//! shared vectors in `tests/vectors/`.
#![allow(missing_docs)]

use std::{fs, path::PathBuf};

use alloy_primitives::{aliases::U48, keccak256, Address, Bytes, B256, U256};
use alloy_sol_types::{SolCall, SolError, SolStruct};
use margin_types::{
    abi::{
        constructorArgsCall, IMarginEngine, IMarginEngineErrors as E, LiquidationStep,
        MarginReport, PriceReport, ReportBatch,
    },
    eip712::{domain_separator, signing_digest, SignedStruct},
    merkle,
    quorum::{verify_quorum, Ecrecover, RawSignature},
    signer::{K256Recover, KeeperSigner},
    ProtocolError,
};
use serde_json::Value;

fn vectors(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/vectors").join(name);
    serde_json::from_str(&fs::read_to_string(&path).expect("vector file present (make vectors)"))
        .expect("vector file is JSON")
}

fn round_trip<T: SignedStruct + SolStruct>(item: &T, signer: &KeeperSigner) {
    let domain = domain_separator(U256::from(31337), Address::repeat_byte(0xee));
    let digest = signing_digest(&domain, &item.struct_hash());
    let signature = signer.sign_digest(&digest).unwrap();
    let raw = RawSignature::from_slice(&signature);
    margin_types::quorum::check_shape(0, &raw).expect("keepers sign low-s with v in {27, 28}");
    assert_eq!(K256Recover.ecrecover(&digest, &raw), Some(signer.address()));
    // The same digest through alloy's generic EIP-712 code.
    let alloy_domain = alloy_sol_types::eip712_domain! {
        name: "CrossMarginEngine",
        version: "1",
        chain_id: 31337,
        verifying_contract: Address::repeat_byte(0xee),
    };
    assert_eq!(item.eip712_signing_hash(&alloy_domain), digest);
    // A flipped bit in the digest recovers someone else.
    let mut other = digest;
    other.0[0] ^= 1;
    assert_ne!(K256Recover.ecrecover(&other, &raw), Some(signer.address()));
}

#[test]
fn every_signed_type_round_trips() {
    let signer = KeeperSigner::from_bytes(&keccak256("round trip TEST-ONLY key")).unwrap();
    round_trip(
        &MarginReport {
            account: Address::repeat_byte(1),
            positionsNonce: U48::from(3),
            riskEpoch: 2,
            observedBlock: U48::from(77),
            portfolioValue: -5,
            initialMargin: 10,
            maintenanceMargin: 8,
        },
        &signer,
    );
    round_trip(
        &PriceReport { asset: Address::repeat_byte(2), price: 1, observedBlock: U48::from(77) },
        &signer,
    );
    round_trip(
        &LiquidationStep {
            account: Address::repeat_byte(1),
            positionsNonce: U48::from(3),
            riskEpoch: 2,
            observedBlock: U48::from(77),
            instrumentId: keccak256("BTC-PERP"),
            size: 9,
            markPrice: 4,
        },
        &signer,
    );
    round_trip(
        &ReportBatch {
            root: B256::repeat_byte(9),
            observedBlock: U48::from(77),
            riskEpoch: 2,
            count: 3,
        },
        &signer,
    );
}

#[test]
fn invalid_private_keys_are_rejected() {
    assert_eq!(
        KeeperSigner::from_bytes(&B256::ZERO).unwrap_err(),
        ProtocolError::InvalidPrivateKey
    );
}

#[test]
fn eip712_vectors_match_this_code() {
    let file = vectors("eip712.json");
    let key: B256 = file["keys"][0]["privateKey"].as_str().unwrap().parse().unwrap();
    let signer = KeeperSigner::from_bytes(&key).unwrap();
    for item in file["items"].as_array().unwrap() {
        let digest: B256 = item["digest"].as_str().unwrap().parse().unwrap();
        let signature: Bytes = item["signature"].as_str().unwrap().parse().unwrap();
        assert_eq!(signer.sign_digest(&digest).unwrap().as_slice(), signature.as_ref());
        assert_eq!(item["signer"].as_str().unwrap().parse::<Address>().unwrap(), signer.address());
    }
}

/// The keeper's own verifier (the one cosigners use) agrees with every signature case.
#[test]
fn keeper_verifier_agrees_with_the_quorum_vectors() {
    let file = vectors("quorum-batches.json");
    let chain_id = U256::from(file["chainId"].as_u64().unwrap());
    let engine: Address = file["engine"].as_str().unwrap().parse().unwrap();
    let domain = domain_separator(chain_id, engine);
    let mut checked = 0;
    for case in file["cases"].as_array().unwrap() {
        let args: Bytes = case["deploy"]["constructorArgs"].as_str().unwrap().parse().unwrap();
        let selector = constructorArgsCall::SELECTOR;
        let ctor = constructorArgsCall::abi_decode(&[selector.as_slice(), &args].concat())
            .expect("constructor args decode");
        for step in case["steps"].as_array().unwrap() {
            let calldata: Bytes = step["calldata"].as_str().unwrap().parse().unwrap();
            let (header, signatures, leaves) = match &calldata[..4] {
                s if s == IMarginEngine::postBatchCall::SELECTOR => {
                    let call = IMarginEngine::postBatchCall::abi_decode(&calldata).unwrap();
                    let leaves: Vec<B256> = call
                        .prices
                        .iter()
                        .map(margin_types::eip712::BatchLeaf::leaf_hash)
                        .chain(call.reports.iter().map(margin_types::eip712::BatchLeaf::leaf_hash))
                        .chain(call.otherLeaves.iter().copied())
                        .collect();
                    (call.batch, call.signatures, Some(leaves))
                }
                s if s == IMarginEngine::attestRootCall::SELECTOR => {
                    let call = IMarginEngine::attestRootCall::abi_decode(&calldata).unwrap();
                    (call.batch, call.signatures, None)
                }
                _ => continue,
            };
            let digest = signing_digest(&domain, &header.struct_hash());
            let verdict = verify_quorum(
                &mut K256Recover,
                &digest,
                &signatures,
                |a| ctor.keepers.contains(&a),
                ctor.quorum as usize,
            );
            let expected: Bytes = step["returnData"].as_str().unwrap().parse().unwrap();
            let signature_error = signature_error_bytes(&verdict);
            let root_matches = leaves
                .as_ref()
                .is_none_or(|l| l.len() != header.count as usize || merkle::root(l) == header.root);
            if step["success"].as_bool().unwrap() {
                assert!(verdict.is_ok(), "{}: {verdict:?}", case["name"]);
                assert!(root_matches, "{}: root", case["name"]);
            } else if is_signature_error(&expected) || signature_error.is_some() {
                // A signature fault: the verifier must name exactly the vector's error.
                assert_eq!(signature_error, Some(expected.to_vec()), "{}", case["name"]);
            }
            checked += 1;
        }
    }
    assert!(checked >= 40, "expected the full vector set, checked {checked}");
}

fn is_signature_error(revert: &[u8]) -> bool {
    [
        E::MalformedSignatures::SELECTOR,
        E::InvalidSignatureV::SELECTOR,
        E::SignatureSHigh::SELECTOR,
        E::InvalidSignature::SELECTOR,
        E::SignersNotAscending::SELECTOR,
        E::UnknownKeeper::SELECTOR,
        E::QuorumNotMet::SELECTOR,
    ]
    .iter()
    .any(|selector| revert.starts_with(selector))
}

fn signature_error_bytes(verdict: &Result<usize, ProtocolError>) -> Option<Vec<u8>> {
    Some(match verdict.as_ref().err()? {
        ProtocolError::MalformedSignatures { length } => {
            E::MalformedSignatures { length: U256::from(*length) }.abi_encode()
        }
        ProtocolError::InvalidSignatureV { index, v } => {
            E::InvalidSignatureV { index: U256::from(*index), v: *v }.abi_encode()
        }
        ProtocolError::SignatureSHigh { index, s } => {
            E::SignatureSHigh { index: U256::from(*index), s: *s }.abi_encode()
        }
        ProtocolError::InvalidSignature { index } => {
            E::InvalidSignature { index: U256::from(*index) }.abi_encode()
        }
        ProtocolError::SignersNotAscending { previous, signer } => {
            E::SignersNotAscending { previous: *previous, signer: *signer }.abi_encode()
        }
        ProtocolError::UnknownKeeper { signer } => {
            E::UnknownKeeper { signer: *signer }.abi_encode()
        }
        ProtocolError::QuorumNotMet { signers, quorum } => {
            E::QuorumNotMet { signers: U256::from(*signers), quorum: U256::from(*quorum) }
                .abi_encode()
        }
        _ => return None,
    })
}
