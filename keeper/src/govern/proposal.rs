//! The proposed-transaction file owners pass around: the SafeTx, what it does, its impact as
//! printed when it was built, and the owners' signatures, each added by `govern sign` on the
//! owner's own machine. The SafeTx hash is recomputed from the fields whenever the file is read,
//! so an edited call cannot carry old signatures.

use std::path::Path;

use alloy_primitives::{Address, Bytes, B256, U256};
use margin_types::{
    quorum::{Ecrecover, RawSignature},
    signer::{K256Recover, KeeperSigner},
};
use serde::{Deserialize, Serialize};

use crate::{
    error::{KeeperError, Result},
    govern::change::Change,
    safe::SafeTx,
};

/// File format version.
pub const VERSION: u32 = 1;

/// What the Safe's call does to the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// `proposeChange`: applies a tightening at once, queues anything else.
    Propose,
    /// `executeChange` of a queued change after its eta.
    Execute,
    /// `cancelChange` of a queued change.
    Cancel,
}

/// One owner's EIP-712 SafeTx signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnerSignature {
    /// The owner (the signature recovers to it).
    pub owner: Address,
    /// `r ‖ s ‖ v`, v in {27, 28}.
    pub signature: Bytes,
}

/// A proposed Safe transaction with its signatures so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProposalFile {
    /// [`VERSION`].
    pub version: u32,
    /// Chain id of the Safe.
    pub chain_id: u64,
    /// The Safe.
    pub safe: Address,
    /// The engine (the call's target).
    pub to: Address,
    /// Calldata of the engine call.
    pub data: Bytes,
    /// The Safe nonce the transaction uses.
    pub nonce: U256,
    /// EIP-712 SafeTx hash owners sign (recomputed on every read).
    pub safe_tx_hash: B256,
    /// `proposeChange`, `executeChange` or `cancelChange`.
    pub action: Action,
    /// The change.
    pub change: Change,
    /// The change's eta (execute and cancel).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eta: Option<u64>,
    /// The change's id (execute and cancel).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_id: Option<B256>,
    /// What it does, one line.
    pub description: String,
    /// The impact printed when it was built.
    pub impact: Vec<String>,
    /// Owners' signatures.
    pub signatures: Vec<OwnerSignature>,
}

fn tx_flag(path: &Path, reason: impl Into<String>) -> KeeperError {
    KeeperError::Flag { flag: "--tx", value: path.display().to_string(), reason: reason.into() }
}

impl ProposalFile {
    /// The Safe transaction.
    pub fn safe_tx(&self) -> SafeTx {
        SafeTx { to: self.to, data: self.data.clone(), nonce: self.nonce }
    }

    /// The SafeTx hash from the fields.
    pub fn digest(&self) -> B256 {
        self.safe_tx().digest(self.chain_id, self.safe)
    }

    /// Reads `path` and checks its version and hash.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            tx_flag(
                path,
                format!("cannot read it ({e}); pass the file `govern propose --out` wrote"),
            )
        })?;
        let file: Self = serde_json::from_str(&text)
            .map_err(|e| tx_flag(path, format!("not a govern proposal file: {e}")))?;
        if file.version != VERSION {
            return Err(tx_flag(
                path,
                format!("version {} (this govern reads {VERSION})", file.version),
            ));
        }
        let digest = file.digest();
        if digest != file.safe_tx_hash {
            return Err(tx_flag(
                path,
                format!(
                    "safeTxHash {} does not match the transaction's fields (hash {digest}): the file was edited; rebuild it",
                    file.safe_tx_hash
                ),
            ));
        }
        Ok(file)
    }

    /// Writes to `path` (through a temporary file, so a crash never leaves half a file).
    pub fn save(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| KeeperError::Io(std::io::Error::other(e)))?;
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, text + "\n")?;
        std::fs::rename(&tmp, path)?;
        Ok(())
    }

    /// Adds (or replaces) `signer`'s signature; returns true if it replaced one.
    pub fn sign(&mut self, signer: &KeeperSigner) -> Result<bool> {
        let signature = signer.sign_digest(&self.digest())?;
        let entry =
            OwnerSignature { owner: signer.address(), signature: signature.to_vec().into() };
        match self.signatures.iter_mut().find(|s| s.owner == entry.owner) {
            Some(old) => {
                *old = entry;
                Ok(true)
            }
            None => {
                self.signatures.push(entry);
                Ok(false)
            }
        }
    }

    /// The signatures, each checked to recover to its owner.
    pub fn verified_signatures(&self) -> Result<Vec<(Address, [u8; 65])>> {
        let digest = self.digest();
        self.signatures
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let bytes: [u8; 65] = s.signature.as_ref().try_into().map_err(|_| KeeperError::Flag {
                    flag: "--tx",
                    value: format!("signatures[{i}]"),
                    reason: format!("{} bytes, not 65; have the owner sign again", s.signature.len()),
                })?;
                let recovered = K256Recover.ecrecover(&digest, &RawSignature::from_slice(&bytes));
                if recovered != Some(s.owner) {
                    return Err(KeeperError::Flag {
                        flag: "--tx",
                        value: format!("signatures[{i}]"),
                        reason: format!(
                            "does not recover to its owner {} for safeTxHash {digest}; have the owner sign again",
                            s.owner
                        ),
                    });
                }
                Ok((s.owner, bytes))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devnet::anvil_key;

    fn file() -> ProposalFile {
        let mut f = ProposalFile {
            version: VERSION,
            chain_id: 31337,
            safe: Address::repeat_byte(5),
            to: Address::repeat_byte(6),
            data: Bytes::from(vec![1, 2, 3]),
            nonce: U256::from(4),
            safe_tx_hash: B256::ZERO,
            action: Action::Propose,
            change: Change::Quorum { quorum: 3 },
            eta: None,
            change_id: None,
            description: "d".into(),
            impact: vec![],
            signatures: vec![],
        };
        f.safe_tx_hash = f.digest();
        f
    }

    #[test]
    fn owners_sign_separately_and_edits_are_caught() {
        let dir = std::env::temp_dir().join(format!("govern-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("tx.json");
        file().save(&path).unwrap();
        for key in [0, 8, 8] {
            let mut f = ProposalFile::load(&path).unwrap();
            f.sign(&KeeperSigner::from_bytes(&anvil_key(key)).unwrap()).unwrap();
            f.save(&path).unwrap();
        }
        let f = ProposalFile::load(&path).unwrap();
        assert_eq!(f.verified_signatures().unwrap().len(), 2, "re-signing replaces");
        let mut edited = f.clone();
        edited.nonce = U256::from(5);
        edited.save(&path).unwrap();
        let e = ProposalFile::load(&path).unwrap_err().to_string();
        assert!(e.starts_with("--tx ") && e.contains("does not match"), "{e}");
        let mut forged = f;
        forged.signatures[0].owner = Address::repeat_byte(1);
        assert!(forged.verified_signatures().is_err());
        let _ = std::fs::remove_dir_all(dir);
    }
}
