//! The margin-report protocol, written once and shared by every part of the system.
//!
//! What flows through this crate:
//! 1. [`abi`] binds `solidity-interfaces/IMarginEngine.sol` with `sol!`, so the structs, errors,
//!    events and calls that keepers build are exactly the ones the engines decode.
//! 2. [`eip712`] turns a signed struct into its EIP-712 struct hash and a batch into the digest
//!    keepers sign (domain: name `CrossMarginEngine`, version `1`, chain id, engine address).
//! 3. [`merkle`] turns a block's reports into domain-separated leaves, a root, proofs, and
//!    rebuilds the root of a whole batch without proofs.
//! 4. [`quorum`] encodes the keepers' signatures (ordered by signer address) and verifies a quorum
//!    behind a small [`quorum::Ecrecover`] trait: the Stylus contract plugs in the precompile,
//!    native code and tests plug in k256.
//! 5. `signer` (feature `signer`, host only) signs digests with k256 as a keeper does.
//!
//! The crate is `no_std` (with `alloc`) so the Stylus contract can use it on `wasm32`.
#![no_std]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod abi;
pub mod eip712;
pub mod error;
pub mod merkle;
pub mod quorum;
#[cfg(feature = "signer")]
pub mod signer;

pub use error::ProtocolError;
