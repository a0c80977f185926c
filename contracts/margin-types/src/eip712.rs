//! EIP-712 hashing of the signed types, by hand and allocation-free (the Stylus contract runs
//! this), cross-checked in tests against alloy's generic `SolStruct` implementation.
//!
//! Flow: a signed struct -> [`SignedStruct::struct_hash`] (typehash ‖ encoded fields) ->
//! for a `ReportBatch`, [`signing_digest`] with the engine's [`domain_separator`].

use alloy_primitives::{b256, keccak256, Address, B256, U256};

use crate::abi::{LiquidationStep, MarginReport, PriceReport, ReportBatch};
use crate::merkle::LeafKind;

/// EIP-712 domain name of the engine.
pub const DOMAIN_NAME: &str = "CrossMarginEngine";
/// EIP-712 domain version of the engine.
pub const DOMAIN_VERSION: &str = "1";

/// keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
pub const DOMAIN_TYPEHASH: B256 =
    b256!("8b73c3c69bb8fe3d512ecc4cf759cc79239f7b179b0ffacaa9a75d522b39400f");
/// keccak256("CrossMarginEngine")
pub const DOMAIN_NAME_HASH: B256 =
    b256!("d72e1054d0fd14397d1ff83f8ca3ee6fc2ba6b1273a9ab2c864ac759f0e22dd8");
/// keccak256("1")
pub const DOMAIN_VERSION_HASH: B256 =
    b256!("c89efdaa54c0f20c7adf612882df0950f5a951637e0307cdcb4c672f298b8bc6");

/// Type string of [`ReportBatch`].
pub const REPORT_BATCH_TYPE: &str =
    "ReportBatch(bytes32 root,uint48 observedBlock,uint32 riskEpoch,uint32 count)";
/// Type string of [`PriceReport`].
pub const PRICE_REPORT_TYPE: &str = "PriceReport(address asset,uint128 price,uint48 observedBlock)";
/// Type string of [`MarginReport`].
pub const MARGIN_REPORT_TYPE: &str = "MarginReport(address account,uint48 positionsNonce,uint32 riskEpoch,uint48 observedBlock,int128 portfolioValue,uint128 initialMargin,uint128 maintenanceMargin)";
/// Type string of [`LiquidationStep`].
pub const LIQUIDATION_STEP_TYPE: &str = "LiquidationStep(address account,uint48 positionsNonce,uint32 riskEpoch,uint48 observedBlock,bytes32 instrumentId,int128 size,uint128 markPrice)";

/// keccak256 of [`REPORT_BATCH_TYPE`].
pub const REPORT_BATCH_TYPEHASH: B256 =
    b256!("0167c11e440d95accaa7a646b7d5fa5afd319900a3aa0c6a972e329c55dfa81b");
/// keccak256 of [`PRICE_REPORT_TYPE`].
pub const PRICE_REPORT_TYPEHASH: B256 =
    b256!("11e8832adb36c3fd60b8545195396cd70042724d55a487a069f8e73a3ba94cfe");
/// keccak256 of [`MARGIN_REPORT_TYPE`].
pub const MARGIN_REPORT_TYPEHASH: B256 =
    b256!("9f7ebcbb73733893fa35e2f93864f4e493cfe1de67ebc648e914ef59ed956e6b");
/// keccak256 of [`LIQUIDATION_STEP_TYPE`].
pub const LIQUIDATION_STEP_TYPEHASH: B256 =
    b256!("6fa98e3e39def20a8b4ece7c483e48b2cbe6f884658c27e425ff6743415a0691");

/// The engine's domain separator on `chain_id` at `verifying_contract`.
pub fn domain_separator(chain_id: U256, verifying_contract: Address) -> B256 {
    let mut buf = [0u8; 32 * 5];
    buf[0..32].copy_from_slice(DOMAIN_TYPEHASH.as_slice());
    buf[32..64].copy_from_slice(DOMAIN_NAME_HASH.as_slice());
    buf[64..96].copy_from_slice(DOMAIN_VERSION_HASH.as_slice());
    buf[96..128].copy_from_slice(&chain_id.to_be_bytes::<32>());
    buf[140..160].copy_from_slice(verifying_contract.as_slice());
    keccak256(buf)
}

/// `keccak256("\x19\x01" ‖ domainSeparator ‖ structHash)`: what keepers sign.
pub fn signing_digest(domain_separator: &B256, struct_hash: &B256) -> B256 {
    let mut buf = [0u8; 66];
    buf[0] = 0x19;
    buf[1] = 0x01;
    buf[2..34].copy_from_slice(domain_separator.as_slice());
    buf[34..66].copy_from_slice(struct_hash.as_slice());
    keccak256(buf)
}

/// A struct that is hashed per EIP-712 (and, for report types, placed in a batch as a leaf).
pub trait SignedStruct {
    /// The EIP-712 type string.
    const TYPE: &'static str;
    /// keccak256 of [`Self::TYPE`].
    const TYPEHASH: B256;
    /// `hashStruct(self)`.
    fn struct_hash(&self) -> B256;
}

/// A report type that can be a leaf of a batch.
pub trait BatchLeaf: SignedStruct {
    /// The leaf-kind byte that separates leaf types.
    const KIND: LeafKind;
    /// `keccak256(abi.encodePacked(uint8 kind, hashStruct(self)))`.
    fn leaf_hash(&self) -> B256 {
        crate::merkle::leaf_hash(Self::KIND, &self.struct_hash())
    }
}

/// Writes `words` after the typehash and hashes them: `keccak256(typehash ‖ words...)`.
fn hash_words<const N: usize>(typehash: &B256, words: [[u8; 32]; N]) -> B256 {
    // Largest struct has 7 fields: 8 words.
    let mut buf = [0u8; 32 * 8];
    buf[..32].copy_from_slice(typehash.as_slice());
    for (i, word) in words.iter().enumerate() {
        buf[32 * (i + 1)..32 * (i + 2)].copy_from_slice(word);
    }
    keccak256(&buf[..32 * (N + 1)])
}

fn address_word(address: &Address) -> [u8; 32] {
    let mut word = [0u8; 32];
    word[12..].copy_from_slice(address.as_slice());
    word
}

fn uint_word(value: u128) -> [u8; 32] {
    let mut word = [0u8; 32];
    word[16..].copy_from_slice(&value.to_be_bytes());
    word
}

fn int_word(value: i128) -> [u8; 32] {
    // Two's complement sign extension to 256 bits, as abi.encode does.
    let mut word = if value < 0 { [0xffu8; 32] } else { [0u8; 32] };
    word[16..].copy_from_slice(&value.to_be_bytes());
    word
}

fn u48_word(value: alloy_primitives::aliases::U48) -> [u8; 32] {
    uint_word(u128::from(value.as_limbs()[0]))
}

impl SignedStruct for ReportBatch {
    const TYPE: &'static str = REPORT_BATCH_TYPE;
    const TYPEHASH: B256 = REPORT_BATCH_TYPEHASH;
    fn struct_hash(&self) -> B256 {
        hash_words(
            &Self::TYPEHASH,
            [
                self.root.0,
                u48_word(self.observedBlock),
                uint_word(self.riskEpoch.into()),
                uint_word(self.count.into()),
            ],
        )
    }
}

impl SignedStruct for PriceReport {
    const TYPE: &'static str = PRICE_REPORT_TYPE;
    const TYPEHASH: B256 = PRICE_REPORT_TYPEHASH;
    fn struct_hash(&self) -> B256 {
        hash_words(
            &Self::TYPEHASH,
            [address_word(&self.asset), uint_word(self.price), u48_word(self.observedBlock)],
        )
    }
}

impl SignedStruct for MarginReport {
    const TYPE: &'static str = MARGIN_REPORT_TYPE;
    const TYPEHASH: B256 = MARGIN_REPORT_TYPEHASH;
    fn struct_hash(&self) -> B256 {
        hash_words(
            &Self::TYPEHASH,
            [
                address_word(&self.account),
                u48_word(self.positionsNonce),
                uint_word(self.riskEpoch.into()),
                u48_word(self.observedBlock),
                int_word(self.portfolioValue),
                uint_word(self.initialMargin),
                uint_word(self.maintenanceMargin),
            ],
        )
    }
}

impl SignedStruct for LiquidationStep {
    const TYPE: &'static str = LIQUIDATION_STEP_TYPE;
    const TYPEHASH: B256 = LIQUIDATION_STEP_TYPEHASH;
    fn struct_hash(&self) -> B256 {
        hash_words(
            &Self::TYPEHASH,
            [
                address_word(&self.account),
                u48_word(self.positionsNonce),
                uint_word(self.riskEpoch.into()),
                u48_word(self.observedBlock),
                self.instrumentId.0,
                int_word(self.size),
                uint_word(self.markPrice),
            ],
        )
    }
}

impl BatchLeaf for PriceReport {
    const KIND: LeafKind = LeafKind::Price;
}
impl BatchLeaf for MarginReport {
    const KIND: LeafKind = LeafKind::Margin;
}
impl BatchLeaf for LiquidationStep {
    const KIND: LeafKind = LeafKind::Liquidation;
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::{address, aliases::U48, keccak256};
    use alloy_sol_types::{eip712_domain, SolStruct};

    #[test]
    fn constant_hashes_match_their_strings() {
        assert_eq!(
            DOMAIN_TYPEHASH,
            keccak256(
                "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
            )
        );
        assert_eq!(DOMAIN_NAME_HASH, keccak256(DOMAIN_NAME));
        assert_eq!(DOMAIN_VERSION_HASH, keccak256(DOMAIN_VERSION));
        assert_eq!(REPORT_BATCH_TYPEHASH, keccak256(REPORT_BATCH_TYPE));
        assert_eq!(PRICE_REPORT_TYPEHASH, keccak256(PRICE_REPORT_TYPE));
        assert_eq!(MARGIN_REPORT_TYPEHASH, keccak256(MARGIN_REPORT_TYPE));
        assert_eq!(LIQUIDATION_STEP_TYPEHASH, keccak256(LIQUIDATION_STEP_TYPE));
    }

    #[test]
    fn type_strings_match_the_solidity_structs() {
        // alloy derives these from the struct definitions in IMarginEngine.sol.
        assert_eq!(ReportBatch::eip712_encode_type(), REPORT_BATCH_TYPE);
        assert_eq!(PriceReport::eip712_encode_type(), PRICE_REPORT_TYPE);
        assert_eq!(MarginReport::eip712_encode_type(), MARGIN_REPORT_TYPE);
        assert_eq!(LiquidationStep::eip712_encode_type(), LIQUIDATION_STEP_TYPE);
    }

    #[test]
    fn hand_written_hashes_match_alloy() {
        let engine = address!("00000000000000000000000000000000c0ffee00");
        let domain = eip712_domain! {
            name: DOMAIN_NAME,
            version: DOMAIN_VERSION,
            chain_id: 31337,
            verifying_contract: engine,
        };
        assert_eq!(domain.separator(), domain_separator(U256::from(31337), engine));

        let report = MarginReport {
            account: address!("00000000000000000000000000000000000a11ce"),
            positionsNonce: U48::from(7),
            riskEpoch: 3,
            observedBlock: U48::from(123_456),
            portfolioValue: -1_234_567_890_123_456_789_i128,
            initialMargin: 5_000_000_000_000_000_000,
            maintenanceMargin: 4_000_000_000_000_000_000,
        };
        assert_eq!(report.struct_hash(), report.eip712_hash_struct());
        assert_eq!(
            signing_digest(&domain.separator(), &report.struct_hash()),
            report.eip712_signing_hash(&domain)
        );
        let price = PriceReport {
            asset: address!("0000000000000000000000000000000000007002"),
            price: 3_000_000_000_000_000_000_000,
            observedBlock: U48::from(99),
        };
        assert_eq!(price.struct_hash(), price.eip712_hash_struct());
        let step = LiquidationStep {
            account: report.account,
            positionsNonce: U48::from(8),
            riskEpoch: 3,
            observedBlock: U48::from(123_456),
            instrumentId: keccak256("ETH-PERP"),
            size: -2_500_000_000_000_000_000,
            markPrice: 2_000_000_000_000_000_000_000,
        };
        assert_eq!(step.struct_hash(), step.eip712_hash_struct());
        let batch = ReportBatch {
            root: keccak256("root"),
            observedBlock: U48::from(123_456),
            riskEpoch: 3,
            count: 100,
        };
        assert_eq!(batch.struct_hash(), batch.eip712_hash_struct());
    }
}
