//! Governance through a Safe (1.4.1) multisig: build the engine call, hash it as a `SafeTx`
//! (EIP-712), collect each owner's signature separately, and execute with `execTransaction`.
//! The same transaction exports as Safe Transaction Builder JSON for owners who sign in the
//! Safe web app.

use alloy_primitives::{keccak256, Address, Bytes, B256, U256};
use alloy_sol_types::{sol, SolCall, SolValue};
use serde_json::{json, Value};

use crate::error::Result;

sol! {
    /// The parts of the Safe 1.4.1 ABI this tool uses.
    #[sol(all_derives)]
    interface ISafe {
        function setup(address[] owners, uint256 threshold, address to, bytes data, address fallbackHandler, address paymentToken, uint256 payment, address paymentReceiver);
        function execTransaction(address to, uint256 value, bytes data, uint8 operation, uint256 safeTxGas, uint256 baseGas, uint256 gasPrice, address gasToken, address refundReceiver, bytes signatures) returns (bool success);
        function nonce() view returns (uint256);
        function getThreshold() view returns (uint256);
        function getOwners() view returns (address[]);
        function getTransactionHash(address to, uint256 value, bytes data, uint8 operation, uint256 safeTxGas, uint256 baseGas, uint256 gasPrice, address gasToken, address refundReceiver, uint256 _nonce) view returns (bytes32);
    }

    /// The Safe proxy factory (1.4.1).
    #[sol(all_derives)]
    interface ISafeProxyFactory {
        event ProxyCreation(address indexed proxy, address singleton);
        function createProxyWithNonce(address _singleton, bytes initializer, uint256 saltNonce) returns (address proxy);
    }
}

/// keccak256("EIP712Domain(uint256 chainId,address verifyingContract)")
pub const SAFE_DOMAIN_TYPEHASH: B256 =
    alloy_primitives::b256!("47e79534a245952e8b16893a336b85a3d9ea9fa8c573f3d803afb92a79469218");
/// keccak256("SafeTx(address to,uint256 value,bytes data,uint8 operation,uint256 safeTxGas,uint256 baseGas,uint256 gasPrice,address gasToken,address refundReceiver,uint256 nonce)")
pub const SAFE_TX_TYPEHASH: B256 =
    alloy_primitives::b256!("bb8310d486368db6bd6f849402fdd73ad53d316b5a4b2644ad6efe0f941286d8");

/// A plain call from the Safe (operation 0, no refunds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SafeTx {
    /// Target contract.
    pub to: Address,
    /// Calldata.
    pub data: Bytes,
    /// The Safe's nonce this transaction uses.
    pub nonce: U256,
}

impl SafeTx {
    /// The EIP-712 digest owners sign for the Safe at `safe` on `chain_id`.
    pub fn digest(&self, chain_id: u64, safe: Address) -> B256 {
        let domain = keccak256((SAFE_DOMAIN_TYPEHASH, U256::from(chain_id), safe).abi_encode());
        let struct_hash = keccak256(
            (
                SAFE_TX_TYPEHASH,
                self.to,
                U256::ZERO,
                keccak256(&self.data),
                U256::ZERO, // operation 0 (CALL): a uint8 encodes as the same word
                U256::ZERO,
                U256::ZERO,
                U256::ZERO,
                Address::ZERO,
                Address::ZERO,
                self.nonce,
            )
                .abi_encode(),
        );
        let mut preimage = Vec::with_capacity(66);
        preimage.extend_from_slice(&[0x19, 0x01]);
        preimage.extend_from_slice(domain.as_slice());
        preimage.extend_from_slice(struct_hash.as_slice());
        keccak256(preimage)
    }

    /// `execTransaction` calldata with the owners' signatures (sorted by owner, as Safe wants).
    pub fn exec_calldata(&self, signatures: Vec<(Address, [u8; 65])>) -> Vec<u8> {
        let signatures = margin_types::quorum::encode_signatures(signatures);
        ISafe::execTransactionCall {
            to: self.to,
            value: U256::ZERO,
            data: self.data.clone(),
            operation: 0,
            safeTxGas: U256::ZERO,
            baseGas: U256::ZERO,
            gasPrice: U256::ZERO,
            gasToken: Address::ZERO,
            refundReceiver: Address::ZERO,
            signatures: signatures.into(),
        }
        .abi_encode()
    }

    /// Safe Transaction Builder JSON (version 1.0) for the web app.
    pub fn transaction_builder_json(
        &self,
        chain_id: u64,
        safe: Address,
        name: &str,
        description: &str,
        created_at_ms: u64,
    ) -> Result<Value> {
        Ok(json!({
            "version": "1.0",
            "chainId": chain_id.to_string(),
            "createdAt": created_at_ms,
            "meta": {
                "name": name,
                "description": description,
                "txBuilderVersion": "1.16.5",
                "createdFromSafeAddress": safe.to_checksum(None),
                "createdFromOwnerAddress": "",
            },
            "transactions": [{
                "to": self.to.to_checksum(None),
                "value": "0",
                "data": format!("0x{}", alloy_primitives::hex::encode(&self.data)),
                "contractMethod": null,
                "contractInputsValues": null,
            }],
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typehashes_match_their_strings() {
        assert_eq!(
            SAFE_DOMAIN_TYPEHASH,
            keccak256("EIP712Domain(uint256 chainId,address verifyingContract)")
        );
        assert_eq!(
            SAFE_TX_TYPEHASH,
            keccak256("SafeTx(address to,uint256 value,bytes data,uint8 operation,uint256 safeTxGas,uint256 baseGas,uint256 gasPrice,address gasToken,address refundReceiver,uint256 nonce)")
        );
    }

    #[test]
    fn builder_json_carries_the_call() {
        let tx = SafeTx {
            to: Address::repeat_byte(1),
            data: Bytes::from(vec![1, 2]),
            nonce: U256::ZERO,
        };
        let v = tx.transaction_builder_json(31337, Address::repeat_byte(2), "n", "d", 0).unwrap();
        assert_eq!(v["transactions"][0]["data"], "0x0102");
        assert_eq!(v["chainId"], "31337");
    }
}
