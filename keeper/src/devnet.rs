//! A local devnet for the demo and the end-to-end tests: an `anvil` process from the project's
//! pinned tools on a free loopback port, killed when dropped, plus loading compiled artifacts
//! (forge's `out/` and the Safe's npm package) for deployment.

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use alloy_primitives::{Bytes, B256};

use crate::error::{KeeperError, Result};

/// anvil's first ten dev accounts' keys derive from this well-known test mnemonic; their keys are
/// public and TEST-ONLY.
pub const ANVIL_KEYS: [&str; 10] = [
    "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "dbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    "2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
];

/// One anvil dev key.
pub fn anvil_key(index: usize) -> B256 {
    ANVIL_KEYS[index].parse().expect("constant keys are valid hex")
}

/// The repository root (where `node_modules/` and `out/` live).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A running anvil, killed on drop.
#[derive(Debug)]
pub struct Anvil {
    child: Child,
    /// Its HTTP endpoint.
    pub url: String,
    /// Its port.
    pub port: u16,
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl Anvil {
    /// Starts anvil (chain id 31337, automine) with `block_time` seconds between blocks if given.
    pub fn start(block_time: Option<u64>) -> Result<Self> {
        let binary = repo_root().join("node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil");
        if !binary.exists() {
            return Err(KeeperError::Config {
                field: "anvil",
                reason: format!("{} is missing; run `make tools`", binary.display()),
            });
        }
        let port = free_port()?;
        let mut command = Command::new(binary);
        command
            .args(["--port", &port.to_string(), "--host", "127.0.0.1", "--chain-id", "31337"])
            .args(["--silent", "--code-size-limit", "100000"])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(seconds) = block_time {
            command.args(["--block-time", &seconds.to_string()]);
        }
        let child = command.spawn()?;
        let anvil = Self { child, url: format!("http://127.0.0.1:{port}"), port };
        anvil.wait_ready(Duration::from_secs(20))?;
        Ok(anvil)
    }

    fn wait_ready(&self, timeout: Duration) -> Result<()> {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(KeeperError::Rpc(format!(
            "anvil did not listen on port {} within {timeout:?}",
            self.port
        )))
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        // Best effort: the process may already be gone.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Creation bytecode from a forge artifact (`out/<File>.sol/<Contract>.json`).
pub fn forge_bytecode(file: &str, contract: &str) -> Result<Bytes> {
    let path = repo_root().join("out").join(file).join(format!("{contract}.json"));
    read_bytecode(&path, &["bytecode", "object"], "run `forge build` (make test does)")
}

/// Runtime bytecode from a forge artifact (`deployedBytecode`), for `anvil_setCode`.
pub fn forge_runtime(file: &str, contract: &str) -> Result<Bytes> {
    let path = repo_root().join("out").join(file).join(format!("{contract}.json"));
    read_bytecode(&path, &["deployedBytecode", "object"], "run `forge build` (make test does)")
}

/// Creation bytecode of a Safe 1.4.1 contract from the npm package's artifacts,
/// e.g. `("Safe.sol", "Safe")` or `("proxies/SafeProxyFactory.sol", "SafeProxyFactory")`.
pub fn safe_bytecode(file: &str, contract: &str) -> Result<Bytes> {
    let path = repo_root()
        .join("node_modules/@safe-global/safe-contracts/build/artifacts/contracts")
        .join(file)
        .join(format!("{contract}.json"));
    read_bytecode(&path, &["bytecode"], "run `make tools`")
}

fn read_bytecode(path: &Path, keys: &[&str], fix: &str) -> Result<Bytes> {
    let text = std::fs::read_to_string(path).map_err(|e| KeeperError::Config {
        field: "artifact",
        reason: format!("{}: {e}; {fix}", path.display()),
    })?;
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| KeeperError::Config {
        field: "artifact",
        reason: format!("{} is not JSON: {e}", path.display()),
    })?;
    let mut node = &json;
    for key in keys {
        node = &node[*key];
    }
    let hex = node.as_str().ok_or_else(|| KeeperError::Config {
        field: "artifact",
        reason: format!("{} has no {}", path.display(), keys.join(".")),
    })?;
    hex.parse().map_err(|e| KeeperError::Config {
        field: "artifact",
        reason: format!("{}: bytecode is not hex: {e}", path.display()),
    })
}
