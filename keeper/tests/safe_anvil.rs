//! The governance tooling against a real Safe 1.4.1 (the npm package's compiled artifacts,
//! deployed as-is) on anvil: our SafeTx digest equals the Safe's own `getTransactionHash`, two
//! of three owners execute, one owner alone cannot.
#![allow(missing_docs)]

use alloy::signers::local::PrivateKeySigner;
use alloy_primitives::{Address, U256};
use alloy_sol_types::{sol, SolCall};
use margin_keeper::{
    chain::Chain,
    deploy::deploy_safe,
    devnet::{anvil_key, Anvil},
    safe::{ISafe, SafeTx},
    KeeperError,
};
use margin_types::signer::KeeperSigner;

sol! {
    function changeThreshold(uint256 _threshold);
}

#[tokio::test]
async fn two_of_three_owners_execute_one_cannot() {
    let anvil = Anvil::start(None).unwrap();
    let deployer: PrivateKeySigner = anvil_key(0).to_string().parse().unwrap();
    let chain = Chain::connect(&anvil.url, deployer, Address::ZERO).unwrap();
    let owners: Vec<KeeperSigner> =
        (1..4).map(|i| KeeperSigner::from_bytes(&anvil_key(i)).unwrap()).collect();
    let safe =
        deploy_safe(&chain, owners.iter().map(KeeperSigner::address).collect(), 2).await.unwrap();

    let tx = SafeTx {
        to: safe,
        data: changeThresholdCall { _threshold: U256::from(1) }.abi_encode().into(),
        nonce: U256::ZERO,
    };
    let digest = tx.digest(31337, safe);
    let onchain = chain
        .provider_call(
            safe,
            ISafe::getTransactionHashCall {
                to: tx.to,
                value: U256::ZERO,
                data: tx.data.clone(),
                operation: 0,
                safeTxGas: U256::ZERO,
                baseGas: U256::ZERO,
                gasPrice: U256::ZERO,
                gasToken: Address::ZERO,
                refundReceiver: Address::ZERO,
                _nonce: U256::ZERO,
            }
            .abi_encode(),
        )
        .await
        .unwrap();
    assert_eq!(onchain.as_ref(), digest.as_slice(), "our SafeTx digest is the Safe's own");

    // One owner alone: the Safe refuses (GS020: signatures data too short).
    let one = vec![(owners[0].address(), owners[0].sign_digest(&digest).unwrap())];
    let refused = chain.send(Some(safe), tx.exec_calldata(one)).await;
    assert!(matches!(refused, Err(KeeperError::Reverted { .. })), "{refused:?}");

    let two = owners[..2].iter().map(|o| (o.address(), o.sign_digest(&digest).unwrap())).collect();
    chain.send(Some(safe), tx.exec_calldata(two)).await.unwrap();
    let threshold =
        chain.provider_call(safe, ISafe::getThresholdCall {}.abi_encode()).await.unwrap();
    assert_eq!(U256::from_be_slice(&threshold), U256::from(1));
}
