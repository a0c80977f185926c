//! Deploying the system on a devnet (anvil) for the demo and the end-to-end tests: test ERC-20s,
//! a real Safe 1.4.1 (the npm package's artifacts, deployed as they are) as the engine's admin,
//! the Solidity engine compiled by forge, instruments, deposits and venue trades.
//!
//! Key layout (anvil's public TEST-ONLY dev keys): 0 deployer, venue, risk council and pause
//! guardian; 1..=3 keepers; 4 market maker; 5 and 6 traders; 7 liquidator; 8 and 9 Safe owners
//! with the deployer's key 0 as the third owner.

use alloy::signers::local::PrivateKeySigner;
use alloy_primitives::{keccak256, Address, Bytes, B256, U256};
use alloy_sol_types::{sol, SolCall};
use margin_types::{
    abi::{encode_constructor_args, IMarginEngine, ParamChange, RiskParams, TradeLeg},
    signer::KeeperSigner,
};

use crate::{
    chain::Chain,
    devnet::{anvil_key, forge_bytecode, safe_bytecode},
    error::{KeeperError, Result},
    safe::{ISafe, ISafeProxyFactory, SafeTx},
};

sol! {
    /// The test token (contracts/evm/test/mocks/MockTokens.sol).
    #[sol(all_derives)]
    interface IMockERC20 {
        function mint(address to, uint256 amount);
        function approve(address spender, uint256 amount) returns (bool);
        function balanceOf(address) view returns (uint256);
    }
}

/// Index of the liquidator's dev key.
pub const LIQUIDATOR_KEY: usize = 7;
/// Indices of the Safe owners' dev keys.
pub const SAFE_OWNER_KEYS: [usize; 3] = [0, 8, 9];

/// What to deploy.
#[derive(Debug, Clone)]
pub struct DeployOptions {
    /// Registered keepers (dev keys 1..=n).
    pub keepers: usize,
    /// Signatures per batch.
    pub quorum: u8,
    /// Scalar risk parameters.
    pub params: RiskParams,
    /// USDC and WETH weights, bps.
    pub weights_bps: (u16, u16),
}

impl Default for DeployOptions {
    fn default() -> Self {
        Self {
            keepers: 3,
            quorum: 2,
            params: RiskParams {
                liquidationThresholdBps: 10_000,
                liquidationPenaltyBps: 100,
                maxReportAgeBlocks: 50,
                maxPriceAgeBlocks: 50,
                timelockDelay: 3_600,
                liquidationNotionalCapPerBlock: 10_000 * 10u128.pow(18),
            },
            weights_bps: (9_800, 9_000),
        }
    }
}

/// A deployed system.
#[derive(Debug, Clone)]
pub struct Deployment {
    /// RPC endpoint.
    pub rpc_url: String,
    /// The engine.
    pub engine: Address,
    /// Test USDC (6 decimals).
    pub usdc: Address,
    /// Test WETH (18 decimals).
    pub weth: Address,
    /// The governance Safe (the engine's admin), 2 of 3.
    pub safe: Address,
    /// Keeper keys, in dev-key order.
    pub keeper_keys: Vec<B256>,
    /// Block of the engine's deployment.
    pub deploy_block: u64,
}

/// `keccak256(name)`: the demo's instrument ids.
pub fn instrument_id(name: &str) -> B256 {
    keccak256(name)
}

/// A chain connection sending from dev key `index`.
pub fn dev_chain(rpc_url: &str, index: usize, engine: Address) -> Result<Chain> {
    let signer: PrivateKeySigner = anvil_key(index)
        .to_string()
        .parse()
        .map_err(|e| KeeperError::Config { field: "key", reason: format!("{e}") })?;
    Chain::connect(rpc_url, signer, engine)
}

async fn deploy_safe(chain: &Chain, owners: Vec<Address>, threshold: u64) -> Result<Address> {
    let singleton = chain.deploy(safe_bytecode("Safe.sol", "Safe")?.to_vec()).await?;
    let factory = chain
        .deploy(safe_bytecode("proxies/SafeProxyFactory.sol", "SafeProxyFactory")?.to_vec())
        .await?;
    let setup = ISafe::setupCall {
        owners,
        threshold: U256::from(threshold),
        to: Address::ZERO,
        data: Bytes::new(),
        fallbackHandler: Address::ZERO,
        paymentToken: Address::ZERO,
        payment: U256::ZERO,
        paymentReceiver: Address::ZERO,
    }
    .abi_encode();
    let create = ISafeProxyFactory::createProxyWithNonceCall {
        _singleton: singleton,
        initializer: setup.into(),
        saltNonce: U256::from(1),
    };
    let out = chain.provider_call(factory, create.abi_encode()).await?;
    let proxy = ISafeProxyFactory::createProxyWithNonceCall::abi_decode_returns(&out)
        .map_err(|e| KeeperError::Rpc(e.to_string()))?;
    chain.send(Some(factory), create.abi_encode()).await?;
    Ok(proxy)
}

/// Deploys tokens, the Safe and the engine on the devnet at `rpc_url`.
pub async fn deploy(rpc_url: &str, options: &DeployOptions) -> Result<Deployment> {
    let deployer = dev_chain(rpc_url, 0, Address::ZERO)?;
    let me = deployer.from;
    let token = |name: &str, decimals: u8| {
        let mut code = forge_bytecode("MockTokens.sol", "MockERC20").map(|b| b.to_vec());
        if let Ok(code) = code.as_mut() {
            use alloy_sol_types::SolValue;
            code.extend((name.to_owned(), U256::from(decimals)).abi_encode_params());
        }
        code
    };
    let usdc = deployer.deploy(token("USDC", 6)?).await?;
    let weth = deployer.deploy(token("WETH", 18)?).await?;
    let owners: Vec<Address> =
        SAFE_OWNER_KEYS.iter().map(|i| signer(*i).map(|s| s.address())).collect::<Result<_>>()?;
    let safe = deploy_safe(&deployer, owners, 2).await?;
    let keeper_keys: Vec<B256> = (1..=options.keepers).map(anvil_key).collect();
    let keepers = keeper_keys
        .iter()
        .map(|k| KeeperSigner::from_bytes(k).map(|s| s.address()))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let mut code = forge_bytecode("MarginEngine.sol", "MarginEngine")?.to_vec();
    code.extend(encode_constructor_args(
        safe,
        me,
        me,
        keepers,
        options.quorum,
        &options.params,
        vec![usdc, weth],
        vec![6, 18],
        vec![options.weights_bps.0, options.weights_bps.1],
        vec![me],
    ));
    let engine = deployer.deploy(code).await?;
    let deploy_block = deployer.head().await?;
    Ok(Deployment {
        rpc_url: rpc_url.to_owned(),
        engine,
        usdc,
        weth,
        safe,
        keeper_keys,
        deploy_block,
    })
}

/// Dev key `index` as a keeper-style signer.
pub fn signer(index: usize) -> Result<KeeperSigner> {
    Ok(KeeperSigner::from_bytes(&anvil_key(index))?)
}

impl Deployment {
    /// A connection to the engine sending from dev key `index`.
    pub fn chain(&self, index: usize) -> Result<Chain> {
        dev_chain(&self.rpc_url, index, self.engine)
    }

    /// Has the Safe call `to` with `data`, signed by the owners with dev keys `owner_keys`.
    pub async fn safe_exec(&self, owner_keys: &[usize], to: Address, data: Vec<u8>) -> Result<()> {
        let chain = self.chain(0)?;
        let nonce = chain.provider_call(self.safe, ISafe::nonceCall {}.abi_encode()).await?;
        let tx = SafeTx { to, data: data.into(), nonce: U256::from_be_slice(&nonce) };
        let chain_id = chain.chain_id().await?;
        let digest = tx.digest(chain_id, self.safe);
        let signatures = owner_keys
            .iter()
            .map(|i| {
                let s = signer(*i)?;
                Ok((s.address(), s.sign_digest(&digest)?))
            })
            .collect::<Result<Vec<_>>>()?;
        chain.send(Some(self.safe), tx.exec_calldata(signatures)).await?;
        Ok(())
    }

    /// Lists an instrument through the Safe (owners 0 and 1).
    pub async fn list_instrument(&self, name: &str, spec: &str) -> Result<B256> {
        let id = instrument_id(name);
        let data = IMarginEngine::listInstrumentCall {
            instrumentId: id,
            spec: Bytes::copy_from_slice(spec.as_bytes()),
        }
        .abi_encode();
        self.safe_exec(&SAFE_OWNER_KEYS[..2], self.engine, data).await?;
        Ok(id)
    }

    /// Mints `amount` of `token` to dev account `index` and deposits it into the engine.
    pub async fn fund(&self, index: usize, token: Address, amount: U256) -> Result<()> {
        let chain = self.chain(index)?;
        chain
            .send(Some(token), IMockERC20::mintCall { to: chain.from, amount }.abi_encode())
            .await?;
        chain
            .send(
                Some(token),
                IMockERC20::approveCall { spender: self.engine, amount }.abi_encode(),
            )
            .await?;
        chain.send(None, IMarginEngine::depositCall { asset: token, amount }.abi_encode()).await?;
        Ok(())
    }

    /// Settles a venue trade: `buyer` gets `size` of `instrument` from `seller` at `price` (USD per
    /// unit); sizes and prices in 18 decimals.
    pub async fn trade(
        &self,
        instrument: B256,
        buyer: Address,
        seller: Address,
        size: i128,
        price: u128,
    ) -> Result<()> {
        let cash = (U256::from(size.unsigned_abs()) * U256::from(price)
            / U256::from(10u128.pow(18)))
        .to::<i128>();
        let mut legs = vec![
            TradeLeg {
                account: buyer,
                instrumentId: instrument,
                sizeDelta: size,
                cashDelta: -cash,
            },
            TradeLeg {
                account: seller,
                instrumentId: instrument,
                sizeDelta: -size,
                cashDelta: cash,
            },
        ];
        legs.sort_by_key(|l| l.account);
        self.chain(0)?.send(None, IMarginEngine::settleTradeCall { legs }.abi_encode()).await?;
        Ok(())
    }

    /// `proposeChange` calldata.
    pub fn propose_calldata(kind: u8, target: Address, value: U256) -> Vec<u8> {
        IMarginEngine::proposeChangeCall { change: ParamChange { kind, target, value } }
            .abi_encode()
    }
}

/// Dev account `index`'s address.
pub fn dev_address(index: usize) -> Address {
    signer(index).map(|s| s.address()).unwrap_or_default()
}
