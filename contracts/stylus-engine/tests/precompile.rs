//! Recovery through the ecrecover precompile (static call to 0x01), with the TestVM's static-call
//! mock. Its mock answers any call with the last mocked bytes, so every case installs exactly one
//! mock and clears mocks before the next: a rejection cannot pass by accident.

use alloy_primitives::{keccak256, Address, B256};
use margin_engine_stylus::keepers::{PrecompileRecover, ECRECOVER};
use margin_types::quorum::{Ecrecover, RawSignature};
use margin_types::signer::{K256Recover, KeeperSigner};
use stylus_sdk::testing::TestVM;

fn signed() -> (B256, RawSignature, Address) {
    let signer = KeeperSigner::from_bytes(&keccak256("precompile test key")).unwrap();
    let digest = keccak256("digest");
    let bytes = signer.sign_digest(&digest).unwrap();
    (digest, RawSignature::from_slice(&bytes), signer.address())
}

fn recover_with(vm: &TestVM, returned: Result<Vec<u8>, Vec<u8>>) -> Option<Address> {
    let (digest, signature, _) = signed();
    vm.clear_mocks();
    vm.mock_static_call(ECRECOVER, signature.ecrecover_input(&digest).to_vec(), returned);
    let recovered = PrecompileRecover(vm).ecrecover(&digest, &signature);
    vm.clear_mocks();
    recovered
}

fn word_of(address: Address) -> Vec<u8> {
    let mut w = vec![0u8; 32];
    w[12..].copy_from_slice(address.as_slice());
    w
}

#[test]
fn a_full_word_is_the_signer() {
    let vm = TestVM::new();
    let (digest, signature, signer) = signed();
    assert_eq!(K256Recover.ecrecover(&digest, &signature), Some(signer));
    assert_eq!(recover_with(&vm, Ok(word_of(signer))), Some(signer));
}

#[test]
fn empty_short_dirty_or_reverted_returns_are_no_signer() {
    let vm = TestVM::new();
    let (_, _, signer) = signed();
    assert_eq!(recover_with(&vm, Ok(Vec::new())), None, "empty: invalid signature");
    assert_eq!(recover_with(&vm, Ok(word_of(signer)[..31].to_vec())), None, "short word");
    let mut dirty = word_of(signer);
    dirty[0] = 1;
    assert_eq!(recover_with(&vm, Ok(dirty)), None, "high bytes set");
    assert_eq!(recover_with(&vm, Err(Vec::new())), None, "reverted");
    // The zero address comes back as Some(0): verify_quorum rejects it as InvalidSignature.
    assert_eq!(recover_with(&vm, Ok(vec![0u8; 32])), Some(Address::ZERO));
}
