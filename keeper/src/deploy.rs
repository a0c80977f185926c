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
    devnet::{anvil_key, forge_bytecode, forge_runtime, safe_bytecode, ANVIL_KEYS},
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

/// Arbitrum's ArbSys precompile (`arbBlockNumber()` is the L2 block number).
pub const ARB_SYS: Address = alloy_primitives::address!("0000000000000000000000000000000000000064");

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
    /// anvil only: put `contracts/evm/test/mocks/MockArbSys.sol` at 0x64 (`anvil_setCode`) before
    /// the engine, so the twin deploys with the Arbitrum clock and counts L2 blocks 1e8 ahead of
    /// `block.number`, as on Arbitrum One.
    pub mock_arb_sys: bool,
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
            mock_arb_sys: false,
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

/// Deploys Safe 1.4.1 (the npm package's artifacts as they are: singleton, proxy factory, then a
/// proxy set up with `owners` and `threshold`) and returns the proxy's address.
pub async fn deploy_safe(chain: &Chain, owners: Vec<Address>, threshold: u64) -> Result<Address> {
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

/// Deploys tokens, the Safe and the Solidity engine on the devnet at `rpc_url`.
pub async fn deploy(rpc_url: &str, options: &DeployOptions) -> Result<Deployment> {
    deploy_with(rpc_url, options, &EngineKind::Solidity).await
}

/// Which engine implementation to deploy.
#[derive(Debug, Clone)]
pub enum EngineKind {
    /// The Solidity twin (forge's `out/`), deployed by dev key 0.
    Solidity,
    /// The Stylus engine, built and deployed with `cargo stylus` (the steps of
    /// `scripts/nitro/deploy.sh`, with the demo's constructor arguments).
    Stylus(StylusDeploy),
}

/// The engine's constructor arguments (both implementations take the same).
#[derive(Debug, Clone)]
pub struct EngineArgs {
    /// Admin (the Safe).
    pub admin: Address,
    /// Risk council.
    pub council: Address,
    /// Pause guardian.
    pub guardian: Address,
    /// Registered keepers.
    pub keepers: Vec<Address>,
    /// Signatures per batch.
    pub quorum: u8,
    /// Scalar risk parameters.
    pub params: RiskParams,
    /// Listed collateral.
    pub assets: Vec<Address>,
    /// Their decimals.
    pub decimals: Vec<u8>,
    /// Their weights, bps.
    pub weights: Vec<u16>,
    /// Authorised venues.
    pub venues: Vec<Address>,
}

/// Deploys tokens, the Safe and the engine `kind` on the chain at `rpc_url`. Dev keys 0..=9 must
/// hold gas (see [`fund_dev_accounts`] for a chain other than anvil).
pub async fn deploy_with(
    rpc_url: &str,
    options: &DeployOptions,
    kind: &EngineKind,
) -> Result<Deployment> {
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
    let args = EngineArgs {
        admin: safe,
        council: me,
        guardian: me,
        keepers,
        quorum: options.quorum,
        params: options.params.clone(),
        assets: vec![usdc, weth],
        decimals: vec![6, 18],
        weights: vec![options.weights_bps.0, options.weights_bps.1],
        venues: vec![me],
    };
    if options.mock_arb_sys {
        use alloy::providers::Provider as _;
        let code = forge_runtime("MockArbSys.sol", "MockArbSys")?;
        deployer
            .provider()
            .raw_request::<_, serde_json::Value>(
                "anvil_setCode".into(),
                (ARB_SYS, alloy_primitives::hex::encode_prefixed(&code)),
            )
            .await
            .map_err(|e| KeeperError::Rpc(format!("anvil_setCode at ArbSys: {e}")))?;
    }
    let engine = match kind {
        EngineKind::Solidity => {
            let mut code = forge_bytecode("MarginEngine.sol", "MarginEngine")?.to_vec();
            code.extend(encode_constructor_args(
                args.admin,
                args.council,
                args.guardian,
                args.keepers,
                args.quorum,
                &args.params,
                args.assets,
                args.decimals,
                args.weights,
                args.venues,
            ));
            deployer.deploy(code).await?
        }
        EngineKind::Stylus(stylus) => {
            let stylus = stylus.clone();
            tokio::task::spawn_blocking(move || stylus.run(&args))
                .await
                .map_err(|e| KeeperError::Rpc(format!("cargo stylus task: {e}")))??
        }
    };
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

/// Sends `top_up` wei from `funder_key` to each of dev accounts 0..=9 whose balance is below
/// `min`: on a chain other than anvil only the deployer's account is funded. Returns how many were
/// topped up.
pub async fn fund_dev_accounts(
    rpc_url: &str,
    funder_key: B256,
    min: U256,
    top_up: U256,
) -> Result<usize> {
    use alloy::{network::TransactionBuilder, providers::Provider, rpc::types::TransactionRequest};
    let funder: PrivateKeySigner = PrivateKeySigner::from_bytes(&funder_key)
        .map_err(|e| KeeperError::Config { field: "DEPLOYER_KEY", reason: e.to_string() })?;
    let chain = Chain::connect(rpc_url, funder, Address::ZERO)?;
    let provider = chain.provider();
    let mut funded = 0;
    for index in 0..ANVIL_KEYS.len() {
        let to = dev_address(index);
        let balance =
            provider.get_balance(to).await.map_err(|e| KeeperError::Rpc(e.to_string()))?;
        if to == chain.from || balance >= min {
            continue;
        }
        let tx = TransactionRequest::default().with_from(chain.from).with_to(to).with_value(top_up);
        let receipt = provider
            .send_transaction(tx)
            .await
            .map_err(|e| KeeperError::Rpc(format!("funding dev account {index}: {e}")))?
            .with_timeout(Some(std::time::Duration::from_secs(60)))
            .get_receipt()
            .await
            .map_err(|e| KeeperError::Rpc(format!("funding dev account {index}: {e}")))?;
        if !receipt.status() {
            return Err(KeeperError::Reverted { revert: format!("funding dev account {index}") });
        }
        funded += 1;
    }
    Ok(funded)
}

/// nitro-devnode's chain id.
pub const NITRO_CHAIN_ID: u64 = 412_346;
/// nitro-devnode's prefunded dev key (public, TEST-ONLY; the one `scripts/nitro/deploy.sh` uses).
pub const NITRO_DEV_KEY: &str =
    "0xb6b15c8cb491557369f3c7d2c287b053eb229daa9c22138887752191c9520659";
/// Its address.
pub const NITRO_DEV_ADDRESS: &str = "0x3f1Eae7D46d88F08fc2F8ed27FCb2AB183EB2d0E";
/// The cargo-stylus version `scripts/nitro/deploy.sh` pins.
pub const CARGO_STYLUS_VERSION: &str = "0.10.10";
/// The engine's constructor as `cargo stylus deploy --constructor-signature` takes it.
pub const STYLUS_CONSTRUCTOR_SIGNATURE: &str = "constructor(address,address,address,address[],uint8,(uint16,uint16,uint32,uint32,uint32,uint128),address[],uint8[],uint16[],address[])";

/// One command to run: program, arguments, extra environment, working directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cmd {
    /// Program.
    pub program: String,
    /// Arguments.
    pub args: Vec<String>,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
    /// Working directory.
    pub dir: std::path::PathBuf,
}

impl Cmd {
    /// Runs the command (stdout and stderr shown, as the script's `tee /dev/stderr` does) and
    /// returns its combined output; an error if it fails.
    // The deployment's progress is the user's to see, as the script shows it (`tee /dev/stderr`).
    #[allow(clippy::print_stderr)]
    pub fn run(&self) -> Result<String> {
        eprintln!("+ {} {}", self.program, self.args.join(" "));
        let out = std::process::Command::new(&self.program)
            .args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .current_dir(&self.dir)
            .output()
            .map_err(|e| KeeperError::Config {
                field: "cargo stylus",
                reason: format!("cannot run {}: {e}", self.program),
            })?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        eprint!("{text}");
        if !out.status.success() {
            return Err(KeeperError::Config {
                field: "cargo stylus",
                reason: format!(
                    "`{} {}` failed ({})",
                    self.program,
                    self.args.join(" "),
                    out.status
                ),
            });
        }
        Ok(text)
    }
}

/// Deploying the Stylus engine with `cargo stylus`, as `scripts/nitro/deploy.sh` does: build,
/// check and deploy the verifier, admin and settlement modules, rebuild the engine with their addresses, check
/// it and deploy it with its constructor (run in the deploy transaction through the
/// StylusDeployer). Only the constructor arguments differ from the script: the demo's Safe,
/// keepers, tokens, venue and parameters instead of its placeholders.
#[derive(Debug, Clone)]
pub struct StylusDeploy {
    /// The Nitro node's RPC.
    pub rpc_url: String,
    /// The funded deployer's key, 0x-hex.
    pub private_key: String,
    /// The repository root (`scripts/build-wasm.sh`).
    pub repo_root: std::path::PathBuf,
    /// `CARGO_TARGET_DIR` (artifacts in `stylus/`).
    pub target_dir: std::path::PathBuf,
}

fn hex_address(a: &Address) -> String {
    format!("{a:#x}")
}

fn list<T>(items: &[T], f: impl Fn(&T) -> String) -> String {
    format!("[{}]", items.iter().map(f).collect::<Vec<_>>().join(","))
}

impl StylusDeploy {
    fn cmd(&self, program: &str, args: &[&str], env: &[(&str, &str)]) -> Cmd {
        Cmd {
            program: program.to_owned(),
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            env: std::iter::once(("CARGO_TARGET_DIR", self.target_dir.to_string_lossy().as_ref()))
                .chain(env.iter().copied())
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            dir: self.repo_root.clone(),
        }
    }

    fn wasm(&self, name: &str) -> String {
        self.target_dir.join("stylus").join(format!("{name}.wasm")).to_string_lossy().into_owned()
    }

    /// `scripts/build-wasm.sh`, with the modules' addresses once known.
    /// `modules`: verifier, admin, settlement.
    pub fn build_command(&self, modules: Option<[Address; 3]>) -> Cmd {
        match modules {
            None => self.cmd("scripts/build-wasm.sh", &[], &[]),
            Some([verifier, admin, settlement]) => self.cmd(
                "scripts/build-wasm.sh",
                &[],
                &[
                    ("MARGIN_ENGINE_VERIFIER_MODULE", &hex_address(&verifier)),
                    ("MARGIN_ENGINE_ADMIN_MODULE", &hex_address(&admin)),
                    ("MARGIN_ENGINE_SETTLEMENT_MODULE", &hex_address(&settlement)),
                ],
            ),
        }
    }

    /// `cargo stylus check` of artifact `name` (`verifier`, `admin` or `engine`).
    pub fn check_command(&self, name: &str) -> Cmd {
        let wasm = self.wasm(name);
        self.cmd(
            "cargo",
            &["stylus", "check", "--endpoint", &self.rpc_url, "--wasm-file", &wasm],
            &[],
        )
    }

    /// `cargo stylus deploy` of artifact `name`, with the constructor arguments for the engine.
    pub fn deploy_command(&self, name: &str, constructor: Option<&EngineArgs>) -> Cmd {
        let wasm = self.wasm(name);
        let mut args = vec![
            "stylus",
            "deploy",
            "--no-verify",
            "--endpoint",
            &self.rpc_url,
            "--private-key",
            &self.private_key,
            "--wasm-file",
            &wasm,
        ];
        let values = constructor.map(Self::constructor_args).unwrap_or_default();
        if constructor.is_some() {
            args.extend(["--constructor-signature", STYLUS_CONSTRUCTOR_SIGNATURE]);
            args.push("--constructor-args");
            args.extend(values.iter().map(String::as_str));
        }
        self.cmd("cargo", &args, &[])
    }

    /// The constructor's arguments as `cargo stylus deploy --constructor-args` takes them (the
    /// script's formats: `[a,b]` arrays, a `(..)` tuple, lower-case hex addresses).
    pub fn constructor_args(a: &EngineArgs) -> Vec<String> {
        let p = &a.params;
        vec![
            hex_address(&a.admin),
            hex_address(&a.council),
            hex_address(&a.guardian),
            list(&a.keepers, hex_address),
            a.quorum.to_string(),
            format!(
                "({},{},{},{},{},{})",
                p.liquidationThresholdBps,
                p.liquidationPenaltyBps,
                p.maxReportAgeBlocks,
                p.maxPriceAgeBlocks,
                p.timelockDelay,
                p.liquidationNotionalCapPerBlock
            ),
            list(&a.assets, hex_address),
            list(&a.decimals, u8::to_string),
            list(&a.weights, u16::to_string),
            list(&a.venues, hex_address),
        ]
    }

    fn deploy_artifact(&self, name: &str, constructor: Option<&EngineArgs>) -> Result<Address> {
        self.check_command(name).run()?;
        let out = self.deploy_command(name, constructor).run()?;
        parse_deployed_address(&out).ok_or_else(|| KeeperError::Config {
            field: "cargo stylus",
            reason: format!("no {name} address in cargo stylus output"),
        })
    }

    /// Runs the whole sequence; returns the engine's address.
    pub fn run(&self, args: &EngineArgs) -> Result<Address> {
        let version = self.cmd("cargo", &["stylus", "--version"], &[]).run().map_err(|_| {
            KeeperError::Config {
                field: "cargo stylus",
                reason: format!(
                    "cargo-stylus is missing: cargo install --locked cargo-stylus --version {CARGO_STYLUS_VERSION}"
                ),
            }
        })?;
        if !version.contains(CARGO_STYLUS_VERSION) {
            tracing::warn!(%version, "scripts/nitro/deploy.sh pins cargo-stylus {CARGO_STYLUS_VERSION}");
        }
        self.build_command(None).run()?;
        let verifier = self.deploy_artifact("verifier", None)?;
        let admin = self.deploy_artifact("admin", None)?;
        let settlement = self.deploy_artifact("settlement", None)?;
        self.build_command(Some([verifier, admin, settlement])).run()?;
        self.deploy_artifact("engine", Some(args))
    }
}

fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters final-letter.
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The last `deployed code at address 0x…` in cargo stylus's output (the script's
/// `grep -oiE 'deployed code at address:? *0x[0-9a-f]{40}' | tail -1`).
pub fn parse_deployed_address(output: &str) -> Option<Address> {
    let lower = strip_ansi(output).to_ascii_lowercase();
    let key = "deployed code at address";
    lower
        .match_indices(key)
        .filter_map(|(i, _)| {
            let rest = lower[i + key.len()..].strip_prefix(':').unwrap_or(&lower[i + key.len()..]);
            let rest = rest.trim_start_matches(' ').strip_prefix("0x")?;
            let hex = rest.get(..40)?;
            hex.bytes().all(|b| b.is_ascii_hexdigit()).then(|| hex.parse().ok()).flatten()
        })
        .last()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn script() -> String {
        std::fs::read_to_string(crate::devnet::repo_root().join("scripts/nitro/deploy.sh")).unwrap()
    }

    fn stylus() -> StylusDeploy {
        StylusDeploy {
            rpc_url: "http://localhost:8547".into(),
            private_key: NITRO_DEV_KEY.into(),
            repo_root: "/repo".into(),
            target_dir: "/t".into(),
        }
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn constants_match_the_nitro_script() {
        let script = script();
        assert!(script.contains(&format!("PRIVATE_KEY:-{NITRO_DEV_KEY}")));
        assert!(script.contains(&format!("DEV_ADDRESS={NITRO_DEV_ADDRESS}")));
        assert!(script.contains(&format!("CHAIN_ID={NITRO_CHAIN_ID}")));
        assert!(script.contains(&format!("CARGO_STYLUS_VERSION={CARGO_STYLUS_VERSION}")));
        assert!(script.contains(&format!("SIGNATURE=\"{STYLUS_CONSTRUCTOR_SIGNATURE}\"")));
        let key: B256 = NITRO_DEV_KEY.parse().unwrap();
        let address = PrivateKeySigner::from_bytes(&key).unwrap().address();
        assert_eq!(address, NITRO_DEV_ADDRESS.parse::<Address>().unwrap());
    }

    #[test]
    fn commands_are_the_scripts() {
        let s = stylus();
        let target = ("CARGO_TARGET_DIR".to_owned(), "/t".to_owned());
        let build = s.build_command(None);
        assert_eq!((build.program.as_str(), build.args.len()), ("scripts/build-wasm.sh", 0));
        assert_eq!((build.env.clone(), build.dir.clone()), (vec![target.clone()], "/repo".into()));
        let v: Address = "0x00000000000000000000000000000000000000a1".parse().unwrap();
        let a: Address = "0x00000000000000000000000000000000000000a2".parse().unwrap();
        let l: Address = "0x00000000000000000000000000000000000000a3".parse().unwrap();
        assert_eq!(
            s.build_command(Some([v, a, l])).env,
            vec![
                target.clone(),
                ("MARGIN_ENGINE_VERIFIER_MODULE".into(), format!("{v:#x}")),
                ("MARGIN_ENGINE_ADMIN_MODULE".into(), format!("{a:#x}")),
                ("MARGIN_ENGINE_SETTLEMENT_MODULE".into(), format!("{l:#x}")),
            ]
        );
        let check = s.check_command("admin");
        assert_eq!(check.program, "cargo");
        assert_eq!(
            check.args,
            strings(&[
                "stylus",
                "check",
                "--endpoint",
                "http://localhost:8547",
                "--wasm-file",
                "/t/stylus/admin.wasm"
            ])
        );
        let module = s.deploy_command("verifier", None);
        assert_eq!(
            module.args,
            strings(&[
                "stylus",
                "deploy",
                "--no-verify",
                "--endpoint",
                "http://localhost:8547",
                "--private-key",
                NITRO_DEV_KEY,
                "--wasm-file",
                "/t/stylus/verifier.wasm"
            ])
        );
        // Every command line of the script's deploy steps has these flags.
        let script = script();
        for flag in ["--no-verify", "--endpoint", "--private-key", "--wasm-file"] {
            assert!(script.contains(flag), "{flag}");
        }
    }

    #[test]
    fn constructor_args_in_the_scripts_format() {
        // The script's own values must come out as the script writes them.
        let script = script();
        let value = |name: &str| {
            let line = script.lines().find(|l| l.starts_with(&format!("{name}="))).unwrap();
            line.split_once('=').unwrap().1.trim_matches('"').to_owned()
        };
        let dev: Address = NITRO_DEV_ADDRESS.parse().unwrap();
        let parse_list = |s: String| -> Vec<Address> {
            s.trim_matches(['[', ']'])
                .split(',')
                .filter(|x| !x.is_empty())
                .map(|x| x.parse().unwrap())
                .collect()
        };
        let args = EngineArgs {
            admin: dev,
            council: dev,
            guardian: dev,
            keepers: parse_list(value("KEEPERS")),
            quorum: 2,
            params: RiskParams {
                liquidationThresholdBps: 10_000,
                liquidationPenaltyBps: 500,
                maxReportAgeBlocks: 100,
                maxPriceAgeBlocks: 100,
                timelockDelay: 3_600,
                liquidationNotionalCapPerBlock: 1_000_000 * 10u128.pow(18),
            },
            assets: parse_list(value("ASSETS")),
            decimals: vec![6],
            weights: vec![9_800],
            venues: vec![],
        };
        let got = StylusDeploy::constructor_args(&args);
        let dev_lower = format!("{dev:#x}");
        assert_eq!(got[..3], [dev_lower.clone(), dev_lower.clone(), dev_lower]);
        assert_eq!(got[3], value("KEEPERS"));
        assert_eq!(got[4], value("QUORUM"));
        assert_eq!(got[5], value("PARAMS"));
        assert_eq!(got[6], value("ASSETS"));
        assert_eq!(got[7], value("DECIMALS"));
        assert_eq!(got[8], value("WEIGHTS"));
        assert_eq!(got[9], value("VENUES"));
        let engine = stylus().deploy_command("engine", Some(&args));
        let at = engine.args.iter().position(|a| a == "--constructor-signature").unwrap();
        assert_eq!(engine.args[at + 1], STYLUS_CONSTRUCTOR_SIGNATURE);
        assert_eq!(engine.args[at + 2], "--constructor-args");
        assert_eq!(engine.args[at + 3..], got[..]);
        assert!(engine.args.contains(&"/t/stylus/engine.wasm".to_owned()));
    }

    #[test]
    fn deployed_address_is_read_back() {
        let a = "0x00000000000000000000000000000000000000a1";
        let b = "0x00000000000000000000000000000000000000B2";
        let out = format!(
            "deployed code at address: {a}\nactivated\n\u{1b}[1;32mdeployed code at address:\u{1b}[0m \u{1b}[36m{b}\u{1b}[0m\n"
        );
        assert_eq!(parse_deployed_address(&out), Some(b.parse().unwrap()));
        assert_eq!(
            parse_deployed_address(&format!("Deployed code at address {a}")),
            Some(a.parse().unwrap())
        );
        assert_eq!(parse_deployed_address("deployed code at address: 0x12"), None);
        assert_eq!(parse_deployed_address("nothing"), None);
    }
}
