//! The demo's external-chain path (`RPC=...`, `CHAIN=evm`) against an anvil this test starts: the
//! demo must not start its own, must deploy the Solidity twin onto the given RPC and complete the
//! story (liquidation and governance in the summary).

use std::process::Command;

use margin_keeper::devnet::Anvil;

#[test]
fn demo_runs_on_an_external_rpc() {
    let anvil = Anvil::start(None).unwrap();
    let dir = std::env::temp_dir().join(format!("demo-external-{}", anvil.port));
    std::fs::create_dir_all(&dir).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_demo"))
        .current_dir(&dir)
        .env("RPC", &anvil.url)
        .env("CHAIN", "evm")
        .env_remove("DEPLOYER_KEY")
        .env_remove("DEMO_CLOCK")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "demo failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout
        .contains(&format!("external chain {} (chain id 31337): no anvil started", anvil.url)));
    assert!(stdout.contains("block/time control: Devnet"));
    let summary = stdout
        .lines()
        .find_map(|l| l.strip_prefix("summary written to "))
        .and_then(|l| l.split_once(" (chart"))
        .map(|(path, _)| dir.join(path))
        .expect("summary line");
    let md = std::fs::read_to_string(&summary).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(md.contains(&format!("Solidity engine, Safe 1.4.1 admin, {}.", anvil.url)), "{md}");
    assert!(md.contains(&format!("{} (chain id 31337) up; engine", anvil.url)), "{md}");
    assert!(md.contains("liquidation step:"), "{md}");
    assert!(md.contains("liquidatable false"), "{md}");
    assert!(md.contains("Safe owners 1+2 signed (EIP-712 SafeTx) and executed"), "{md}");
    assert!(md.contains("behind the 60 s timelock"), "{md}");
    assert!(md.contains("executeChange applied: WETH weight 85%"), "{md}");
}
