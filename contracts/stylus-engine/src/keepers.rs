//! The registered keeper set and its quorum, and signature recovery through the ecrecover
//! precompile. Quorum verification itself (order of checks, ascending signers) is
//! `margin_types::quorum::verify_quorum`, shared with the keepers.

use alloc::vec::Vec;

use margin_types::abi::IMarginEngineErrors as E;
use margin_types::quorum::{verify_quorum, Ecrecover, RawSignature};
use stylus_sdk::alloy_primitives::{address, Address, B256, U256};
use stylus_sdk::call::static_call;
use stylus_sdk::host::VM;
use stylus_sdk::prelude::*;

use crate::errors::EngineResult;
use crate::store::{self, slot, tag};

/// Most keepers the set may hold (a bitmap of them fits a word).
pub const MAX_KEEPERS: usize = 32;

/// The ecrecover precompile.
pub const ECRECOVER: Address = address!("0000000000000000000000000000000000000001");

/// Registered keepers (slots `0x1000 + i`, count in slot 6 `[31]`), the quorum (slot 6 `[30]`)
/// and the registry (map [`tag::KEEPER`], `[31]` non-zero if registered).
pub struct KeeperSet<'a>(pub &'a VM);

const COUNT: u64 = 6;
const LIST: u64 = 0x1000;

impl KeeperSet<'_> {
    fn at(&self, i: usize) -> Address {
        store::address(&store::load(self.0, slot(LIST + i as u64)))
    }

    fn registry_slot(keeper: Address) -> U256 {
        store::map_slot(tag::KEEPER, &store::address_word(keeper), &[0; 32])
    }

    /// Keepers in registration order.
    pub fn keepers(&self) -> Vec<Address> {
        (0..self.len()).map(|i| self.at(i)).collect()
    }

    /// Number of registered keepers.
    pub fn len(&self) -> usize {
        store::field(self.0, slot(COUNT), 31, 1) as usize // a 1-byte field
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `keeper` is registered.
    pub fn is_keeper(&self, keeper: Address) -> bool {
        store::field(self.0, Self::registry_slot(keeper), 31, 1) != 0
    }

    /// Signatures needed per batch.
    pub fn quorum(&self) -> u8 {
        store::field(self.0, slot(COUNT), 30, 1) as u8 // a 1-byte field
    }

    /// Rules of adding `keeper`: ZeroAddress, KeeperAlreadyRegistered, TooManyKeepers.
    pub fn check_add(&self, keeper: Address) -> EngineResult<()> {
        if keeper.is_zero() {
            return Err(E::ZeroAddress {}.into());
        }
        if self.is_keeper(keeper) {
            return Err(E::KeeperAlreadyRegistered { keeper }.into());
        }
        if self.len() >= MAX_KEEPERS {
            return Err(E::TooManyKeepers { max: U256::from(MAX_KEEPERS) }.into());
        }
        Ok(())
    }

    /// Rules of removing `keeper`: ZeroAddress, KeeperNotRegistered, QuorumOutOfRange (the set
    /// must keep at least `quorum` keepers).
    pub fn check_remove(&self, keeper: Address) -> EngineResult<()> {
        if keeper.is_zero() {
            return Err(E::ZeroAddress {}.into());
        }
        if !self.is_keeper(keeper) {
            return Err(E::KeeperNotRegistered { keeper }.into());
        }
        let remaining = self.len() - 1; // registered, so len >= 1
        _check_quorum(usize::from(self.quorum()), remaining)
    }

    /// Rule of setting the quorum: 1 <= quorum <= keepers (QuorumOutOfRange).
    pub fn check_quorum(&self, quorum: U256) -> EngineResult<()> {
        let keepers = U256::from(self.len());
        if quorum.is_zero() || quorum > keepers {
            return Err(E::QuorumOutOfRange { quorum, keepers }.into());
        }
        Ok(())
    }

    /// Registers `keeper` (rules checked by the caller: fewer than 32 keepers).
    pub fn add(&mut self, keeper: Address) {
        let len = self.len();
        store::save(self.0, slot(LIST + len as u64), store::address_word(keeper));
        store::set_field(self.0, slot(COUNT), 31, 1, len as u128 + 1);
        store::set_field(self.0, Self::registry_slot(keeper), 31, 1, 1);
    }

    /// Unregisters `keeper`, keeping the others in registration order.
    pub fn remove(&mut self, keeper: Address) {
        store::save(self.0, Self::registry_slot(keeper), [0; 32]);
        let len = self.len();
        let mut found = false;
        for i in 0..len {
            let current = self.at(i);
            if found {
                store::save(self.0, slot(LIST + i as u64 - 1), store::address_word(current));
            } else if current == keeper {
                found = true;
            }
        }
        if found {
            store::save(self.0, slot(LIST + len as u64 - 1), [0; 32]); // found, so len >= 1
            store::set_field(self.0, slot(COUNT), 31, 1, len as u128 - 1);
        }
    }

    /// Sets the quorum (rules checked by the caller; it is at most 32, so it fits a byte).
    pub fn set_quorum(&mut self, quorum: usize) {
        store::set_field(self.0, slot(COUNT), 30, 1, quorum as u128);
    }

    /// Verifies a quorum of registered keepers over `digest` (see the interface's signature
    /// rules); returns the number of signers.
    pub fn verify<R: Ecrecover>(
        &self,
        recover: &mut R,
        digest: &B256,
        signatures: &[u8],
    ) -> EngineResult<usize> {
        let quorum = usize::from(self.quorum());
        Ok(verify_quorum(recover, digest, signatures, |a| self.is_keeper(a), quorum)?)
    }
}

fn _check_quorum(quorum: usize, keepers: usize) -> EngineResult<()> {
    if quorum == 0 || quorum > keepers {
        return Err(E::QuorumOutOfRange {
            quorum: U256::from(quorum),
            keepers: U256::from(keepers),
        }
        .into());
    }
    Ok(())
}

/// Recovery through the ecrecover precompile at `0x01`, by static call.
pub struct PrecompileRecover<'a, H: Host + ?Sized>(pub &'a H);

impl<H: Host + ?Sized> Ecrecover for PrecompileRecover<'_, H> {
    fn ecrecover(&mut self, digest: &B256, signature: &RawSignature) -> Option<Address> {
        let input = signature.ecrecover_input(digest);
        let output = static_call(self.0, Call::new(), ECRECOVER, &input).ok()?;
        // The precompile returns nothing for an invalid signature; a 32-byte word otherwise.
        // Only a full word whose top 12 bytes are zero is an address.
        let word: &[u8; 32] = output.get(..32)?.try_into().ok()?;
        if word[..12].iter().any(|&b| b != 0) {
            return None;
        }
        Some(Address::from_slice(&word[12..]))
    }
}
