//! `make demo`: the whole system on a local anvil in a couple of minutes, with a readable timeline
//! and a summary (Markdown + SVG chart of margin ratios) in `demo-output/run-<unix time>/`.
//!
//! With `RPC=<url>` it runs on that node instead of starting anvil (`CHAIN=evm`, the default:
//! the Solidity twin; `CHAIN=nitro`: the Stylus engine through `cargo stylus`, as
//! `scripts/nitro/deploy.sh` does). `DEPLOYER_KEY` (default: nitro-devnode's dev key for
//! `CHAIN=nitro`, anvil's first key otherwise) funds the demo's dev accounts. See docs/DEMO.md.
#![allow(clippy::print_stdout)]

use std::{collections::BTreeMap, path::PathBuf};

use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::{SolCall, SolEvent};
use margin_keeper::{
    bot::LiquidationBot,
    cluster::{Clock, Cluster, ClusterOptions, Endpoint},
    deploy::{
        deploy_with, dev_address, dev_chain, fund_dev_accounts, DeployOptions, Deployment,
        EngineKind, StylusDeploy, LIQUIDATOR_KEY, NITRO_CHAIN_ID, NITRO_DEV_KEY, SAFE_OWNER_KEYS,
    },
    devnet::{anvil_key, repo_root},
    govern::{
        change::{Change, EngineState},
        impact::{accounts_from_events, impact},
    },
    market::Shock,
    KeeperError,
};
use margin_types::abi::{
    AccountHealth, IMarginEngine, IMarginEngineEvents, ParamChange, SettlementState,
};
use plotters::prelude::*;

const E18: u128 = 1_000_000_000_000_000_000;
const MM: usize = 4;
const HEDGED: usize = 5;
const UNHEDGED: usize = 6;

type Series = BTreeMap<&'static str, Vec<(u64, f64)>>;

struct Story {
    cluster: Cluster,
    lines: Vec<String>,
    series: Series,
}

impl Story {
    fn say(&mut self, block: u64, text: String) {
        let line = format!("block {block:>4} | {text}");
        println!("{line}");
        self.lines.push(line);
    }

    async fn health(&self, account: Address) -> Result<AccountHealth, KeeperError> {
        let out = self
            .cluster
            .deployment
            .chain(0)?
            .call(IMarginEngine::accountHealthCall { account }.abi_encode())
            .await?;
        IMarginEngine::accountHealthCall::abi_decode_returns(&out)
            .map_err(|e| KeeperError::Rpc(e.to_string()))
    }

    async fn head(&self) -> Result<u64, KeeperError> {
        self.cluster.deployment.chain(0)?.head().await
    }

    /// One block of keeper work; records the margin ratios.
    async fn block(&mut self) -> Result<(), KeeperError> {
        self.cluster.mine().await?;
        let (mut posted, errors) = self.cluster.round().await;
        for (i, e) in errors {
            self.say(self.head().await?, format!("keeper-{i}: round failed: {e}"));
        }
        let head = self.head().await?;
        if let Some(batch) = posted.pop() {
            self.say(
            head,
            format!(
                "batch for block {} posted: {} prices, {} margin reports, {} liquidation steps (quorum 2 of 3)",
                batch.observed_block,
                batch.prices.len(),
                batch.reports.len(),
                batch.steps.len()
            ),
        );
        }
        for (name, key) in [("hedged", HEDGED), ("unhedged", UNHEDGED)] {
            let h = self.health(dev_address(key)).await?;
            let ratio = if h.maintenanceMargin.is_zero() {
                f64::NAN
            } else {
                h.marginRatioBps.to::<u128>() as f64 / 10_000.0
            };
            if ratio.is_finite() {
                self.series.entry(name).or_default().push((head, ratio));
            }
        }
        Ok(())
    }
}

/// When the liquidation bot's steps may stop.
#[derive(Clone, Copy)]
enum Until {
    /// The account is back above maintenance.
    Healthy(Address),
    /// The account holds no position.
    Closed(Address),
}

impl Story {
    /// Schedules an ETH shock for the next block (`name` heads the timeline line) and mines it.
    async fn shock(
        &mut self,
        name: &str,
        spot_factor: f64,
        vol_factor: f64,
    ) -> Result<(), KeeperError> {
        let h = self.head().await?;
        self.cluster.market.push_shock(Shock {
            at_block: h + 1,
            underlying: "ETH".into(),
            spot_factor,
            vol_factor,
        });
        self.say(h, shock_line(name, spot_factor, vol_factor));
        self.block().await
    }

    /// Up to `blocks` blocks of the bot's liquidation steps, each on the timeline (`note` after
    /// it), until `until` holds.
    async fn liquidate(
        &mut self,
        bot: &LiquidationBot,
        blocks: usize,
        until: Until,
        note: &str,
    ) -> Result<(), KeeperError> {
        for _ in 0..blocks {
            for e in bot.run_once().await? {
                let size = e.size.unsigned_abs() as f64 / 1e18;
                self.say(
                    e.block,
                    format!(
                        "liquidation step: {size:.4} ETH-PERP of {} taken over at {:.2}{note}",
                        e.account,
                        e.mark_price as f64 / 1e18
                    ),
                );
            }
            self.block().await?;
            let done = match until {
                Until::Healthy(account) => !self.health(account).await?.liquidatable,
                Until::Closed(account) => {
                    let open = IMarginEngine::openPositionsCall { account };
                    view(&self.cluster.deployment, open).await?.is_zero()
                }
            };
            if done {
                return Ok(());
            }
        }
        Ok(())
    }
}

/// The timeline's line for a shock: "CRASH scheduled for the next block: ETH spot -40%".
fn shock_line(name: &str, spot_factor: f64, vol_factor: f64) -> String {
    let percent = |factor: f64| format!("{:+.0}%", (factor - 1.0) * 100.0);
    // A vol move that rounds to 0% is left out.
    let vol = match percent(vol_factor) {
        p if p == "+0%" => String::new(),
        p => format!(", implied vol {p}"),
    };
    format!("{name} scheduled for the next block: ETH spot {}{vol}", percent(spot_factor))
}

/// A view call on the engine.
async fn view<C: SolCall>(d: &Deployment, call: C) -> Result<C::Return, KeeperError> {
    let out = d.chain(0)?.call(call.abi_encode()).await?;
    C::abi_decode_returns(&out).map_err(|e| KeeperError::Rpc(e.to_string()))
}

/// 10^12: USDC units (6 decimals) per cash unit (18 decimals).
fn usdc_scale() -> U256 {
    U256::from(1_000_000_000_000u64)
}

/// Issue 12's crash: ETH -40% puts the unhedged account under water; its USDC is seized at par to
/// repay its debt, its position is taken over step by step, the debt left is bad debt (insurance fund
/// first, the rest socialised over positive cash), and the market maker's profit is paid from the
/// reserve the seizure filled.
async fn crash(
    s: &mut Story,
    d: &Deployment,
    bot: &LiquidationBot,
    unhedged: Address,
    mm: Address,
) -> Result<(), KeeperError> {
    s.shock("CRASH", 0.6, 1.0).await?;
    let u = s.health(unhedged).await?;
    s.say(
        s.head().await?,
        format!(
            "after the crash: unhedged equity {} vs maintenance {} (liquidatable: {})",
            usdi(u.equity),
            usd(u.maintenanceMargin),
            u.liquidatable
        ),
    );
    let usdc =
        view(d, IMarginEngine::collateralBalanceCall { account: unhedged, asset: d.usdc }).await?;
    if u.liquidatable && u.cash.is_negative() && !usdc.is_zero() {
        let amount = usdc.min(u.cash.unsigned_abs() / usdc_scale());
        let seize = IMarginEngine::seizeCollateralCall { account: unhedged, asset: d.usdc, amount };
        match d.chain(LIQUIDATOR_KEY)?.send(None, seize.abi_encode()).await {
            Ok(_) => s.say(
                s.head().await?,
                format!(
                    "collateral seized: the liquidator applies the account's {} USDC to its debt at par (settlement asset first), cash reserve now {}",
                    usd(amount * usdc_scale()),
                    usd(settlement_state(d).await?.cashReserve)
                ),
            ),
            Err(e) => s.say(s.head().await?, format!("seizure refused: {e}")),
        }
    }
    s.liquidate(bot, 12, Until::Closed(unhedged), "").await?;
    let open = view(d, IMarginEngine::openPositionsCall { account: unhedged }).await?;
    let u = s.health(unhedged).await?;
    if open.is_zero() && u.cash.is_negative() {
        let before = settlement_state(d).await?;
        d.chain(0)?
            .send(None, IMarginEngine::resolveBadDebtCall { account: unhedged }.abi_encode())
            .await?;
        let after = settlement_state(d).await?;
        s.say(
            s.head().await?,
            format!(
                "bad debt resolved: the account owed {}; insurance fund covers {}, {} socialised pro rata over positive cash",
                owed(u.cash),
                usd(before.insuranceFund - after.insuranceFund),
                usd(after.socialisedLoss - before.socialisedLoss)
            ),
        );
    } else {
        s.say(
            s.head().await?,
            format!(
                "unhedged account after the crash: {open} open positions, cash {}",
                usdi(u.cash)
            ),
        );
    }
    let profit = s.health(mm).await?.cash;
    let settlement = settlement_state(d).await?;
    let available = settlement.cashReserve.saturating_sub(settlement.insuranceFund);
    let amount = profit.unsigned_abs().min(available) / usdc_scale();
    if profit.is_positive() && !amount.is_zero() {
        d.chain(MM)?.send(None, IMarginEngine::withdrawCashCall { amount }.abi_encode()).await?;
        s.say(
            s.head().await?,
            format!(
                "market maker withdraws {} of its realised profit in USDC from the cash reserve (was {})",
                usd(amount * usdc_scale()),
                usd(settlement.cashReserve)
            ),
        );
    }
    Ok(())
}

/// The engine's settlement state (cash reserve, insurance fund, socialised losses).
async fn settlement_state(d: &Deployment) -> Result<SettlementState, KeeperError> {
    let out = d.chain(0)?.call(IMarginEngine::settlementStateCall {}.abi_encode()).await?;
    IMarginEngine::settlementStateCall::abi_decode_returns(&out)
        .map_err(|e| KeeperError::Rpc(e.to_string()))
}

fn usdi(x: alloy_primitives::I256) -> String {
    format!("{:.0}", i128::try_from(x).unwrap_or_default() as f64 / 1e18)
}

/// What an account owes: its negative cash as a positive amount (0 if its cash is not negative).
fn owed(cash: alloy_primitives::I256) -> String {
    usd(if cash.is_negative() { cash.unsigned_abs() } else { U256::ZERO })
}

fn usd(x: U256) -> String {
    format!("{:.0}", x.to::<u128>() as f64 / 1e18)
}

/// Which engine the demo deploys on an external node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChainKind {
    /// The Solidity twin.
    Evm,
    /// The Stylus engine (cargo stylus), on a Nitro node.
    Nitro,
}

/// Where the demo runs: its own anvil (`rpc` None) or an external node.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    rpc: Option<String>,
    chain: ChainKind,
    deployer_key: B256,
    /// `DEMO_CLOCK=real`: skip the `evm_*` detection and advance as on a real node (to try the
    /// fallback on anvil).
    real_clock: bool,
    /// `DEMO_ARB_SYS=1` (own anvil only): a mock ArbSys at 0x64 before the engine, so the twin
    /// counts L2 blocks 1e8 ahead of `block.number` as on Arbitrum One, and every keeper, cosigner
    /// and the bot must sign and step on the engine's clock.
    arb_sys: bool,
}

/// scripts/nitro/deploy.sh's default RPC (nitro-devnode).
const NITRO_DEFAULT_RPC: &str = "http://localhost:8547";
/// The timelock the demo deploys with on an external node: the engine's lower bound (60 s,
/// `TimelockDelay` in [60, 2_592_000]), so that it can be waited out in real time.
const EXTERNAL_TIMELOCK: u32 = 60;

impl Target {
    /// From `CHAIN`, `RPC` and `DEPLOYER_KEY` (empty = unset).
    fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Self, KeeperError> {
        let get = |k: &str| get(k).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let chain = match get("CHAIN").as_deref() {
            None | Some("evm") => ChainKind::Evm,
            Some("nitro") => ChainKind::Nitro,
            Some(other) => {
                return Err(KeeperError::Config {
                    field: "CHAIN",
                    reason: format!("{other:?}: expected evm or nitro"),
                })
            }
        };
        let rpc = match (get("RPC"), chain) {
            (None, ChainKind::Nitro) => Some(NITRO_DEFAULT_RPC.to_owned()),
            (rpc, _) => rpc,
        };
        let deployer_key = match get("DEPLOYER_KEY") {
            Some(k) => k.parse().map_err(|e| KeeperError::Config {
                field: "DEPLOYER_KEY",
                reason: format!("not a 32-byte hex key: {e}"),
            })?,
            None if chain == ChainKind::Nitro => {
                NITRO_DEV_KEY.parse().expect("constant key is valid hex")
            }
            None => anvil_key(0),
        };
        let real_clock = get("DEMO_CLOCK").as_deref() == Some("real");
        let arb_sys = get("DEMO_ARB_SYS").as_deref() == Some("1");
        Ok(Self { rpc, chain, deployer_key, real_clock, arb_sys })
    }
}

async fn start(target: &Target) -> Result<(Cluster, String), KeeperError> {
    let Some(rpc) = &target.rpc else {
        let mut options = ClusterOptions { seconds_per_block: 12, ..ClusterOptions::default() };
        options.deploy.mock_arb_sys = target.arb_sys;
        let up =
            if target.arb_sys { "anvil up, mock ArbSys at 0x64 (L2 clock)" } else { "anvil up" };
        return Ok((Cluster::start(options).await?, up.into()));
    };
    let chain_id = dev_chain(rpc, 0, Address::ZERO)?.chain_id().await?;
    if target.chain == ChainKind::Nitro && chain_id != NITRO_CHAIN_ID {
        return Err(KeeperError::Config {
            field: "RPC",
            reason: format!("{rpc} is chain {chain_id}, expected {NITRO_CHAIN_ID} (nitro-devnode)"),
        });
    }
    println!("external chain {rpc} (chain id {chain_id}): no anvil started");
    let eth = U256::from(E18);
    let funded = fund_dev_accounts(rpc, target.deployer_key, eth, eth * U256::from(2)).await?;
    println!("deployer funded {funded} dev accounts with 2 ETH each");
    let clock = if target.real_clock { Clock::Real } else { Cluster::detect_clock(rpc).await? };
    println!("block/time control: {clock:?}");
    let mut deploy = DeployOptions::default();
    deploy.params.timelockDelay = EXTERNAL_TIMELOCK;
    let kind = match target.chain {
        ChainKind::Evm => EngineKind::Solidity,
        ChainKind::Nitro => EngineKind::Stylus(stylus_deploy(rpc, target.deployer_key)),
    };
    let deployment = deploy_with(rpc, &deploy, &kind).await?;
    let options = ClusterOptions { seconds_per_block: 12, deploy, ..ClusterOptions::default() };
    let cluster = Cluster::attach(Endpoint::external(rpc), clock, deployment, options).await?;
    Ok((cluster, format!("{rpc} (chain id {chain_id}) up")))
}

fn stylus_deploy(rpc: &str, key: B256) -> StylusDeploy {
    StylusDeploy {
        rpc_url: rpc.to_owned(),
        private_key: alloy_primitives::hex::encode_prefixed(key),
        repo_root: repo_root(),
        target_dir: std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo_root().join("target")),
    }
}

async fn run(target: &Target) -> Result<PathBuf, KeeperError> {
    let started = std::time::Instant::now();
    let (cluster, up) = start(target).await?;
    let engine_kind = match (&target.rpc, target.chain) {
        (Some(_), ChainKind::Nitro) => "Stylus",
        _ => "Solidity twin",
    };
    let delay = if target.rpc.is_some() {
        u64::from(EXTERNAL_TIMELOCK)
    } else {
        u64::from(DeployOptions::default().params.timelockDelay)
    };
    let mut s = Story { cluster, lines: Vec::new(), series: Series::new() };
    let d: Deployment = s.cluster.deployment.clone();
    let h0 = s.head().await?;
    s.say(
        h0,
        format!(
            "{up}; engine {} ({engine_kind}), admin = Safe 1.4.1 {} (2 of 3)",
            d.engine, d.safe
        ),
    );
    s.say(
        h0,
        format!(
            "3 keepers registered, quorum 2; ETH-PERP listed through the Safe; USDC {} WETH {}",
            d.usdc, d.weth
        ),
    );
    let spot = d.list_instrument("ETH-SPOT", r#"{"type":"spot","underlying":"ETH"}"#).await?;

    d.fund(MM, d.usdc, U256::from(5_000_000u64 * 1_000_000)).await?;
    d.fund(HEDGED, d.weth, U256::from(4u64) * U256::from(E18)).await?;
    d.fund(UNHEDGED, d.usdc, U256::from(8_000u64 * 1_000_000)).await?;
    d.fund(LIQUIDATOR_KEY, d.usdc, U256::from(500_000u64 * 1_000_000)).await?;
    let h = s.head().await?;
    s.say(h, "funded: market maker 5M USDC, hedged trader 4 WETH, unhedged trader 8,000 USDC, liquidator 500k USDC".into());
    s.block().await?;
    let (mm, hedged, unhedged) = (dev_address(MM), dev_address(HEDGED), dev_address(UNHEDGED));
    d.trade(spot, hedged, mm, 10 * E18 as i128, 2_500 * E18).await?;
    s.block().await?;
    d.trade(s.cluster.perp, unhedged, mm, 10 * E18 as i128, 2_500 * E18).await?;
    s.block().await?;
    d.trade(s.cluster.perp, mm, hedged, 10 * E18 as i128, 2_500 * E18).await?;
    let h = s.head().await?;
    s.say(h, "trades: hedged = long 10 ETH spot + short 10 ETH-PERP; unhedged = long 10 ETH-PERP (cash paid at 2,500)".into());
    for _ in 0..3 {
        s.block().await?;
    }
    s.shock("MARKET SHOCK", 0.75, 1.5).await?;
    let u = s.health(unhedged).await?;
    let hh = s.health(hedged).await?;
    s.say(s.head().await?, format!(
        "after the shock: unhedged equity {} vs maintenance {} (liquidatable: {}); hedged equity {} vs maintenance {}",
        usdi(u.equity), usd(u.maintenanceMargin), u.liquidatable, usdi(hh.equity), usd(hh.maintenanceMargin)
    ));

    let bot = LiquidationBot::new(d.chain(LIQUIDATOR_KEY)?, s.cluster.urls.clone());
    let note = " (one step per block, cap 10,000 USD)";
    s.liquidate(&bot, 15, Until::Healthy(unhedged), note).await?;
    let u = s.health(unhedged).await?;
    s.say(
        s.head().await?,
        format!(
            "unhedged account restored: ratio {:.2}x maintenance, liquidatable {}",
            u.marginRatioBps.to::<u128>() as f64 / 1e4,
            u.liquidatable
        ),
    );

    // Settlement (issue 12): a profit is realised in cash, the loser's debt is repaid in USDC and the
    // winner withdraws the profit in USDC.
    d.trade(spot, mm, hedged, 10 * E18 as i128, 1_875 * E18).await?;
    let m = s.health(mm).await?;
    s.say(
        s.head().await?,
        format!(
            "market maker buys back its 10 ETH spot short at 1,875: profit realised, cash now {}",
            usdi(m.cash)
        ),
    );
    // The profit is a claim on the cash reserve, which holds only collected debt: nothing yet.
    let settlement = settlement_state(&d).await?;
    s.say(
        s.head().await?,
        format!(
            "its withdrawal waits: the cash reserve holds only collected debt ({}); the unhedged account owes {}",
            usd(settlement.cashReserve),
            owed(s.health(unhedged).await?.cash)
        ),
    );

    // Governance: impact first (the governance CLI's computation), then sign.
    let chain = d.chain(0)?;
    let state = EngineState::read(&chain).await?;
    let change = Change::Weight { asset: d.weth, weight_bps: 8_000 };
    let accounts = accounts_from_events(&chain, d.deploy_block).await?;
    let report = impact(&chain, &change, &state, &accounts).await?;
    let head = s.head().await?;
    s.say(
        head,
        format!(
            "governance proposal: {} (tightening, applies at once); impact before signing:",
            change.describe(&state)
        ),
    );
    for line in report.render() {
        s.say(head, line);
    }
    d.safe_exec(
        &SAFE_OWNER_KEYS[..2],
        d.engine,
        Deployment::propose_calldata(0, d.weth, U256::from(8_000)),
    )
    .await?;
    s.say(
        s.head().await?,
        "Safe owners 1+2 signed (EIP-712 SafeTx) and executed: WETH weight now 80%".into(),
    );
    s.block().await?;
    d.safe_exec(
        &SAFE_OWNER_KEYS[1..],
        d.engine,
        Deployment::propose_calldata(0, d.weth, U256::from(8_500)),
    )
    .await?;
    let logs = d.chain(0)?.engine_logs(d.deploy_block, s.head().await?).await?;
    let eta = logs
        .iter()
        .rev()
        .find_map(|l| IMarginEngineEvents::ChangeQueued::decode_log(&l.inner).ok().map(|e| e.eta))
        .ok_or_else(|| KeeperError::Rpc("no ChangeQueued".into()))?;
    s.say(
        s.head().await?,
        format!(
            "loosening WETH 80% -> 85% queued by the Safe behind the {} timelock (eta {eta})",
            if delay == 3_600 { "1h".to_owned() } else { format!("{delay} s") }
        ),
    );
    s.cluster.increase_time(delay + 1).await?;
    let exec = IMarginEngine::executeChangeCall {
        change: ParamChange { kind: 0, target: d.weth, value: U256::from(8_500) },
        eta,
    };
    d.chain(0)?.send(None, exec.abi_encode()).await?;
    s.say(s.head().await?, "timelock elapsed; executeChange applied: WETH weight 85%".into());
    s.block().await?;

    crash(&mut s, &d, &bot, unhedged, mm).await?;

    let dir = PathBuf::from(format!(
        "demo-output/run-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default()
    ));
    std::fs::create_dir_all(&dir)?;
    chart(&dir.join("margin_ratios.svg"), &s.series)?;
    let mut md = String::from("# Cross-margin demo run\n\n");
    let (engine, chain) = match &target.rpc {
        None => ("Solidity", "anvil".to_owned()),
        Some(rpc) => (if engine_kind == "Stylus" { "Stylus" } else { "Solidity" }, rpc.clone()),
    };
    md.push_str(&format!("Wall time: {:.1} s. Three keepers (quorum 2), {engine} engine, Safe 1.4.1 admin, {chain}.\n\n", started.elapsed().as_secs_f64()));
    md.push_str("![margin ratios](margin_ratios.svg)\n\n## Timeline\n\n```\n");
    for l in &s.lines {
        md.push_str(l);
        md.push('\n');
    }
    let st = settlement_state(&d).await?;
    md.push_str(&format!(
        "```\n\n## Settlement\n\nCash reserve {}, insurance fund {}, socialised losses {} (docs/SETTLEMENT.md).\n",
        usd(st.cashReserve),
        usd(st.insuranceFund),
        usd(st.socialisedLoss)
    ));
    md.push_str("\n## Keeper metrics\n\n```\n");
    md.push_str(&s.cluster.nodes[0].metrics().render(s.cluster.nodes[0].name()));
    md.push_str("```\n");
    std::fs::write(dir.join("summary.md"), md)?;
    Ok(dir)
}

fn chart(path: &std::path::Path, series: &Series) -> Result<(), KeeperError> {
    let err = |e: String| KeeperError::Io(std::io::Error::other(e));
    let root = SVGBackend::new(path, (900, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
    let xs = series.values().flatten().map(|p| p.0);
    let (x0, x1) = (xs.clone().min().unwrap_or(0), xs.max().unwrap_or(1).max(1));
    let y1 = series.values().flatten().map(|p| p.1).fold(1.5, f64::max).min(20.0);
    let mut chart = ChartBuilder::on(&root)
        .caption("Margin ratio (equity / maintenance) per block", ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(35)
        .y_label_area_size(50)
        .build_cartesian_2d(x0..x1, 0f64..y1)
        .map_err(|e| err(e.to_string()))?;
    chart
        .configure_mesh()
        .x_desc("block")
        .y_desc("ratio")
        .draw()
        .map_err(|e| err(e.to_string()))?;
    chart
        .draw_series(LineSeries::new([(x0, 1.0), (x1, 1.0)], RED.stroke_width(1)))
        .map_err(|e| err(e.to_string()))?
        .label("maintenance (liquidation threshold)");
    for (i, (name, points)) in series.iter().enumerate() {
        let color = Palette99::pick(i + 1).to_rgba();
        chart
            .draw_series(LineSeries::new(
                points.iter().map(|p| (p.0, p.1.min(y1))),
                color.stroke_width(2),
            ))
            .map_err(|e| err(e.to_string()))?
            .label(*name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
    }
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE)
        .draw()
        .map_err(|e| err(e.to_string()))?;
    root.present().map_err(|e| err(e.to_string()))?;
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let target = match Target::from_env(|k| std::env::var(k).ok()) {
        Ok(t) => t,
        Err(e) => {
            println!("demo failed: {e}");
            std::process::exit(2);
        }
    };
    match run(&target).await {
        Ok(dir) => {
            println!("\nsummary written to {}/summary.md (chart: margin_ratios.svg)", dir.display())
        }
        Err(e) => {
            println!("demo failed: {e}");
            std::process::exit(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(vars: &[(&str, &str)]) -> Result<Target, KeeperError> {
        let vars: BTreeMap<String, String> =
            vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Target::from_env(|k| vars.get(k).cloned())
    }

    #[test]
    fn no_variables_is_the_local_anvil_demo() {
        let t = target(&[]).unwrap();
        assert_eq!(t.rpc, None);
        assert_eq!(t.chain, ChainKind::Evm);
        assert_eq!(t.deployer_key, anvil_key(0));
        // Empty values (what `make demo` passes when unset) are unset.
        assert_eq!(target(&[("CHAIN", ""), ("RPC", "")]).unwrap(), t);
    }

    #[test]
    fn external_targets() {
        let t = target(&[("RPC", "http://127.0.0.1:9545")]).unwrap();
        assert_eq!((t.rpc.as_deref(), t.chain), (Some("http://127.0.0.1:9545"), ChainKind::Evm));
        assert_eq!(t.deployer_key, anvil_key(0));
        let n = target(&[("CHAIN", "nitro")]).unwrap();
        assert_eq!((n.rpc.as_deref(), n.chain), (Some(NITRO_DEFAULT_RPC), ChainKind::Nitro));
        assert_eq!(n.deployer_key, NITRO_DEV_KEY.parse::<B256>().unwrap());
        let k = format!("{}", anvil_key(3));
        let n = target(&[("CHAIN", "nitro"), ("RPC", "http://h:1"), ("DEPLOYER_KEY", &k)]).unwrap();
        assert_eq!((n.rpc.as_deref(), n.deployer_key), (Some("http://h:1"), anvil_key(3)));
        assert!(target(&[("CHAIN", "solana")]).is_err());
        assert!(target(&[("DEPLOYER_KEY", "0x12")]).is_err());
    }

    #[test]
    fn shock_lines_as_before_the_helper() {
        assert_eq!(
            shock_line("CRASH", 0.6, 1.0),
            "CRASH scheduled for the next block: ETH spot -40%"
        );
        assert_eq!(
            shock_line("MARKET SHOCK", 0.75, 1.5),
            "MARKET SHOCK scheduled for the next block: ETH spot -25%, implied vol +50%"
        );
    }

    #[test]
    fn debt_prints_as_a_positive_amount() {
        let e18 = alloy_primitives::I256::try_from(E18).unwrap();
        let cash = alloy_primitives::I256::try_from(-1_264).unwrap() * e18;
        assert_eq!(owed(cash), "1264");
        assert_eq!(owed(-cash), "0");
        assert_eq!(usdi(cash), "-1264");
    }

    #[test]
    fn stylus_deploy_uses_the_deployer_key() {
        let d = stylus_deploy("http://localhost:8547", NITRO_DEV_KEY.parse().unwrap());
        assert_eq!(d.private_key, NITRO_DEV_KEY);
        assert!(repo_root().join("scripts/build-wasm.sh").exists());
    }
}
