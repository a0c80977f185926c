//! The governance CLI (`govern`) end to end on anvil against the real Safe 1.4.1 and the
//! Solidity engine: impact before signing, owners signing separately, tightening at once,
//! loosening behind the timelock, cancel, a lone owner refused, bad flags named.
#![allow(missing_docs, clippy::print_stdout)]

use std::{path::Path, process::Command};

use alloy_primitives::{Address, U256};
use alloy_sol_types::SolCall;
use margin_keeper::{
    cluster::{Cluster, ClusterOptions},
    deploy::{dev_address, SAFE_OWNER_KEYS},
    devnet::anvil_key,
};
use margin_types::abi::IMarginEngine;

const E18: u128 = 1_000_000_000_000_000_000;
const MM: usize = 4;
const ALICE: usize = 5;
const BOB: usize = 6;

struct Cli {
    rpc: String,
    engine: Address,
}

struct Out {
    ok: bool,
    stdout: String,
    stderr: String,
}

impl Cli {
    fn run(&self, args: &[&str], env: &[(&str, String)]) -> Out {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_govern"));
        cmd.args(["--rpc", &self.rpc, "--engine", &self.engine.to_string()]).args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("govern runs");
        let o = Out {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        println!("$ govern {}\n{}{}", args.join(" "), o.stdout, o.stderr);
        o
    }

    fn ok(&self, args: &[&str], env: &[(&str, String)]) -> String {
        let o = self.run(args, env);
        assert!(o.ok, "govern {args:?} failed: {}{}", o.stdout, o.stderr);
        o.stdout
    }

    fn fails(&self, args: &[&str], env: &[(&str, String)]) -> String {
        let o = self.run(args, env);
        assert!(!o.ok, "govern {args:?} should fail: {}", o.stdout);
        o.stderr
    }

    /// Each owner signs on its own (a separate process, its key only).
    fn sign(&self, tx: &Path, owners: &[usize]) {
        for i in owners {
            self.ok(
                &["sign", "--tx", tx.to_str().unwrap()],
                &[("OWNER_KEY", anvil_key(*i).to_string())],
            );
        }
    }

    fn exec(&self, tx: &Path) -> Out {
        self.run(
            &["exec", "--tx", tx.to_str().unwrap()],
            &[("GOVERN_SENDER_KEY", anvil_key(0).to_string())],
        )
    }
}

async fn weight(cluster: &Cluster) -> u16 {
    let d = &cluster.deployment;
    let out = d
        .chain(0)
        .unwrap()
        .call(IMarginEngine::collateralInfoCall { asset: d.weth }.abi_encode())
        .await
        .unwrap();
    IMarginEngine::collateralInfoCall::abi_decode_returns(&out).unwrap().weightBps
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn govern_cli_builds_signs_and_executes_through_the_safe() {
    let cluster = Cluster::start(ClusterOptions::default()).await.unwrap();
    let d = cluster.deployment.clone();
    let (mm, alice, bob) = (dev_address(MM), dev_address(ALICE), dev_address(BOB));
    d.fund(MM, d.usdc, U256::from(1_000_000u64 * 1_000_000)).await.unwrap();
    // Alice: 4 WETH (9,000 USD weighted at 90%) backing 10 ETH-PERP; Bob: 40 WETH, 1 ETH-PERP.
    d.fund(ALICE, d.weth, U256::from(4u64) * U256::from(E18)).await.unwrap();
    d.fund(BOB, d.weth, U256::from(40u64) * U256::from(E18)).await.unwrap();
    cluster.post_batch(4).await.unwrap();
    d.trade(cluster.perp, alice, mm, 10 * E18 as i128, 2_500 * E18).await.unwrap();
    cluster.post_batch(4).await.unwrap();
    d.trade(cluster.perp, bob, mm, E18 as i128, 2_500 * E18).await.unwrap();
    cluster.post_batch(4).await.unwrap();

    let dir = std::env::temp_dir().join(format!("govern-e2e-{}", cluster.anvil.port));
    std::fs::create_dir_all(&dir).unwrap();
    let path = |name: &str| dir.join(name);
    let cli = Cli { rpc: d.rpc_url.clone(), engine: d.engine };
    let weth = d.weth.to_string();

    // Tightening: WETH 90% -> 30%. The impact lists Alice (and only her) below maintenance.
    let t1 = path("tighten.json");
    let b1 = path("tighten.builder.json");
    let out = cli.ok(
        &[
            "propose",
            "weight",
            "--asset",
            &weth,
            "--weight-bps",
            "3000",
            "--out",
            t1.to_str().unwrap(),
            "--builder-json",
            b1.to_str().unwrap(),
        ],
        &[],
    );
    let line = |out: &str, list: &str| -> Vec<String> {
        out.lines()
            .filter(|l| l.trim_start().starts_with(&format!("{list}:")))
            .map(String::from)
            .collect()
    };
    for list in ["below initial", "below maintenance", "liquidatable"] {
        let hits = line(&out, list);
        assert_eq!(hits.len(), 1, "{list}: {hits:?}");
        assert!(hits[0].contains(&alice.to_string()), "{hits:?}");
    }
    assert!(!out.contains(&format!("{list}: {bob}", list = "below initial")));
    // 4 WETH x 2,500 x 60% (Alice) + 40 WETH x 2,500 x 60% (Bob).
    assert!(out.contains("collateral value removed: 66000.00 USD"), "{out}");
    // A milder cut (50%): Alice below initial (5,000 < 5,781.25) but not below maintenance.
    let mild = cli.ok(&["impact", "weight", "--asset", &weth, "--weight-bps", "5000"], &[]);
    assert_eq!(line(&mild, "below initial").len(), 1);
    assert!(line(&mild, "below maintenance").is_empty(), "{mild}");
    // The Transaction Builder export carries the same call.
    let proposal: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&t1).unwrap()).unwrap();
    let builder: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&b1).unwrap()).unwrap();
    assert_eq!(builder["transactions"][0]["data"], proposal["data"]);
    assert_eq!(builder["chainId"], "31337");

    // Owner 1 signs; alone, the Safe refuses (GS020) and nothing changes.
    cli.sign(&t1, &SAFE_OWNER_KEYS[..1]);
    let single = path("single.json");
    std::fs::copy(&t1, &single).unwrap();
    let refused = cli.exec(&single);
    assert!(!refused.ok && refused.stderr.contains("GS020"), "{}", refused.stderr);
    assert_eq!(weight(&cluster).await, 9_000);
    // Owner 2 signs separately; executed: applied at once.
    cli.sign(&t1, &SAFE_OWNER_KEYS[1..2]);
    let done = cli.exec(&t1);
    assert!(done.ok && done.stdout.contains("ChangeApplied"), "{}", done.stderr);
    assert_eq!(weight(&cluster).await, 3_000);
    // The same file again: its nonce is spent.
    let stale = cli.exec(&t1);
    assert!(stale.stderr.contains("built for Safe nonce 1, the Safe is at 2"), "{}", stale.stderr);

    // Loosening 30% -> 50%: queued behind the timelock.
    let t2 = path("loosen.json");
    let out = cli.ok(
        &[
            "propose",
            "weight",
            "--asset",
            &weth,
            "--weight-bps",
            "5000",
            "--out",
            t2.to_str().unwrap(),
        ],
        &[],
    );
    assert!(out.contains("loosening: queued"), "{out}");
    cli.sign(&t2, &SAFE_OWNER_KEYS[1..]);
    let queued = cli.exec(&t2);
    assert!(queued.ok && queued.stdout.contains("ChangeQueued"), "{}", queued.stderr);
    assert_eq!(weight(&cluster).await, 3_000);
    // executeChange through the Safe: the eta comes from the ChangeQueued event.
    let t3 = path("execute.json");
    let out = cli.ok(
        &[
            "execute",
            "weight",
            "--asset",
            &weth,
            "--weight-bps",
            "5000",
            "--out",
            t3.to_str().unwrap(),
        ],
        &[],
    );
    assert!(out.contains("executable from eta"), "{out}");
    cli.sign(&t3, &[SAFE_OWNER_KEYS[0], SAFE_OWNER_KEYS[2]]);
    let early = cli.exec(&t3);
    assert!(!early.ok && early.stderr.contains("TimelockNotElapsed"), "{}", early.stderr);
    assert_eq!(weight(&cluster).await, 3_000);
    cluster.increase_time(3_601).await.unwrap();
    cluster.mine().await.unwrap();
    let late = cli.exec(&t3);
    assert!(late.ok && late.stdout.contains("ChangeApplied"), "{}", late.stderr);
    assert_eq!(weight(&cluster).await, 5_000);

    // Cancel: lowering the quorum is queued, then cancelled; it can no longer be executed.
    let t4 = path("quorum.json");
    cli.ok(&["propose", "quorum", "--quorum", "1", "--out", t4.to_str().unwrap()], &[]);
    cli.sign(&t4, &SAFE_OWNER_KEYS[..2]);
    assert!(cli.exec(&t4).stdout.contains("ChangeQueued"));
    let t5 = path("cancel.json");
    cli.ok(&["cancel", "quorum", "--quorum", "1", "--out", t5.to_str().unwrap()], &[]);
    cli.sign(&t5, &SAFE_OWNER_KEYS[1..]);
    let cancelled = cli.exec(&t5);
    assert!(cancelled.ok && cancelled.stdout.contains("ChangeCancelled"), "{}", cancelled.stderr);
    let gone = cli.fails(
        &["execute", "quorum", "--quorum", "1", "--out", path("x.json").to_str().unwrap()],
        &[],
    );
    assert!(gone.contains("--eta ") && gone.contains("executed or cancelled"), "{gone}");
    let q = d.chain(0).unwrap().call(IMarginEngine::quorumCall {}.abi_encode()).await.unwrap();
    assert_eq!(IMarginEngine::quorumCall::abi_decode_returns(&q).unwrap(), 2);

    // Bad flags: each error names the flag, the value and the fix.
    let out = path("bad.json");
    let o = out.to_str().unwrap();
    let (mm_s, bob_s) = (mm.to_string(), bob.to_string());
    let cases: Vec<(Vec<&str>, String)> = vec![
        (vec!["propose", "weight", "--asset", &weth, "--weight-bps", "12000", "--out", o],
         "--weight-bps 12000: above the hard bound 10000".into()),
        (vec!["propose", "quorum", "--quorum", "9", "--out", o],
         "--quorum 9: above the number of keepers 3".into()),
        (vec!["propose", "threshold", "--param", "liquidation-threshold-bps", "--value", "25000", "--out", o],
         "--value 25000: above the hard bound 20000".into()),
        (vec!["propose", "weight", "--asset", &mm_s, "--weight-bps", "100", "--out", o],
         format!("--asset {mm}: not a listed collateral asset")),
        (vec!["propose", "remove-keeper", "--keeper", &bob_s, "--out", o],
         format!("--keeper {bob}: not a registered keeper")),
        (vec!["propose", "weight", "--asset", &weth, "--weight-bps", "100"],
         "--out (missing): required".into()),
        (vec!["propose", "weight", "--asset", "nope", "--weight-bps", "100", "--out", o],
         "invalid value 'nope' for '--asset <ASSET>'".into()),
        (vec!["sign", "--tx", "/nonexistent/tx.json"], "--tx /nonexistent/tx.json: cannot read it".into()),
        (vec!["sign", "--tx", t1.to_str().unwrap(), "--key-env", "GOVERN_TEST_UNSET_KEY"],
         "--key-env GOVERN_TEST_UNSET_KEY: environment variable GOVERN_TEST_UNSET_KEY is not set".into()),
    ];
    for (args, expected) in cases {
        let stderr = cli.fails(&args, &[]);
        assert!(stderr.contains(&expected), "{args:?}: {stderr}");
    }
    assert!(!out.exists(), "nothing written for a refused change");
    let _ = std::fs::remove_dir_all(&dir);
}
