//! The Solidity twin's side of the differential runner: an anvil process from the project's
//! pinned tools (the same binary and flags as `keeper/src/devnet.rs`, plus auto-impersonation so
//! any scenario actor can send), driven by a small blocking JSON-RPC client over std's TCP (no
//! async runtime in this test crate).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use alloy_primitives::{hex, Address, B256};
use serde_json::{json, Value};

use crate::world::Log;

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Creation bytecode of a forge artifact (`out/<file>/<contract>.json`, built by `forge build`,
/// which `make test` runs through `forge test`).
pub fn forge_bytecode(file: &str, contract: &str) -> Result<Vec<u8>, String> {
    let path = repo_root().join("out").join(file).join(format!("{contract}.json"));
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("{}: {e}; run `forge build`", path.display()))?;
    let json: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let code = json["bytecode"]["object"].as_str().ok_or("no bytecode.object")?;
    hex::decode(code).map_err(|e| e.to_string())
}

/// Runtime bytecode of a forge artifact (`deployedBytecode`), for `anvil_setCode`.
pub fn forge_runtime(file: &str, contract: &str) -> Result<Vec<u8>, String> {
    let path = repo_root().join("out").join(file).join(format!("{contract}.json"));
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("{}: {e}; run `forge build`", path.display()))?;
    let json: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let code = json["deployedBytecode"]["object"].as_str().ok_or("no deployedBytecode.object")?;
    hex::decode(code).map_err(|e| e.to_string())
}

/// A running anvil, killed on drop.
pub struct Anvil {
    child: Child,
    port: u16,
    id: u64,
    last_receipt: Option<(B256, Value)>,
}

/// A mined transaction: return or revert data (from the call tracer), logs, gas used, block.
#[derive(Debug, Clone)]
pub struct Mined {
    /// `Ok(output)` or `Err(revert data)`.
    pub result: Result<Vec<u8>, Vec<u8>>,
    /// Logs (empty when reverted).
    pub logs: Vec<Log>,
    /// Gas used by the transaction (including the 21,000 base and calldata).
    pub gas_used: u64,
    /// Block it was mined in.
    pub block: u64,
}

fn hex_u64(v: &Value) -> u64 {
    u64::from_str_radix(v.as_str().unwrap_or("0x0").trim_start_matches("0x"), 16).unwrap_or(0)
}

fn hex_bytes(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap_or("0x")).unwrap_or_default()
}

impl Anvil {
    /// Starts anvil if its binary is installed (`make tools`); `None` otherwise.
    pub fn start() -> Result<Self, String> {
        let binary = repo_root().join("node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil");
        if !binary.exists() {
            return Err(format!("{} is missing; run `make tools`", binary.display()));
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let child = Command::new(binary)
            .args(["--port", &port.to_string(), "--host", "127.0.0.1", "--chain-id", "31337"])
            .args(["--silent", "--code-size-limit", "100000", "--auto-impersonate"])
            .args(["--gas-limit", "1000000000", "--hardfork", "cancun"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| e.to_string())?;
        let mut anvil = Self { child, port, id: 0, last_receipt: None };
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(20) {
            if anvil.rpc("eth_chainId", json!([])).is_ok() {
                return Ok(anvil);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err("anvil did not answer within 20 s".into())
    }

    /// One JSON-RPC call; `Err` carries the error object as text.
    pub fn rpc(&mut self, method: &str, params: Value) -> Result<Value, Value> {
        self.id += 1;
        let body = json!({"jsonrpc": "2.0", "id": self.id, "method": method, "params": params})
            .to_string();
        let mut stream =
            TcpStream::connect(("127.0.0.1", self.port)).map_err(|e| json!(e.to_string()))?;
        let request = format!(
            "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).map_err(|e| json!(e.to_string()))?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).map_err(|e| json!(e.to_string()))?;
        let text = String::from_utf8_lossy(&response);
        let (head, body) = text.split_once("\r\n\r\n").ok_or_else(|| json!("no HTTP body"))?;
        let body = if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
            dechunk(body)
        } else {
            body.to_string()
        };
        let value: Value = serde_json::from_str(&body).map_err(|e| json!(e.to_string()))?;
        match value.get("error") {
            Some(error) => Err(error.clone()),
            None => Ok(value["result"].clone()),
        }
    }

    fn ok(&mut self, method: &str, params: Value) -> Value {
        self.rpc(method, params).unwrap_or_else(|e| panic!("{method}: {e}"))
    }

    /// Puts `code` at `at` (e.g. the mock ArbSys at 0x64).
    pub fn set_code(&mut self, at: Address, code: &[u8]) {
        self.ok("anvil_setCode", json!([at, format!("0x{}", hex::encode(code))]));
    }

    /// Funds `who` so it can pay for gas.
    pub fn fund(&mut self, who: Address) {
        self.ok("anvil_setBalance", json!([who, "0x3635c9adc5dea00000"]));
    }

    /// The latest block's number and timestamp.
    pub fn latest(&mut self) -> (u64, u64) {
        let block = self.ok("eth_getBlockByNumber", json!(["latest", false]));
        (hex_u64(&block["number"]), hex_u64(&block["timestamp"]))
    }

    /// Mines `blocks` empty blocks `seconds` apart.
    pub fn mine(&mut self, blocks: u64, seconds: u64) {
        self.ok("anvil_mine", json!([format!("0x{blocks:x}"), format!("0x{seconds:x}")]));
    }

    /// Deploys creation code from `from`; the new address.
    pub fn deploy(&mut self, from: Address, code: &[u8], timestamp: u64) -> Address {
        let mined = self.send(from, None, code, timestamp);
        assert!(mined.result.is_ok(), "deployment reverted: {:?}", mined.result);
        let (_, receipt) = self.last_receipt.take().expect("a receipt");
        receipt["contractAddress"].as_str().expect("created").parse().expect("an address")
    }

    /// Sends a transaction mined alone in the next block at `timestamp`.
    pub fn send(
        &mut self,
        from: Address,
        to: Option<Address>,
        data: &[u8],
        timestamp: u64,
    ) -> Mined {
        self.ok("evm_setNextBlockTimestamp", json!([timestamp]));
        let mut tx =
            json!({"from": from, "data": format!("0x{}", hex::encode(data)), "gas": "0x3b9aca00"});
        if let Some(to) = to {
            tx["to"] = json!(to);
        }
        let hash: B256 = serde_json::from_value(self.ok("eth_sendTransaction", json!([tx])))
            .expect("a transaction hash");
        // Automine mines at once; the receipt may still take a moment to be served.
        let mut receipt = Value::Null;
        for _ in 0..200 {
            receipt = self.ok("eth_getTransactionReceipt", json!([hash]));
            if !receipt.is_null() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(!receipt.is_null(), "transaction {hash} was not mined");
        let success = hex_u64(&receipt["status"]) == 1;
        let trace = self.ok("debug_traceTransaction", json!([hash, {"tracer": "callTracer"}]));
        let output = hex_bytes(&trace["output"]);
        let logs = receipt["logs"]
            .as_array()
            .map(|logs| {
                logs.iter()
                    .map(|l| Log {
                        address: l["address"].as_str().unwrap().parse().unwrap(),
                        topics: l["topics"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|t| t.as_str().unwrap().parse().unwrap())
                            .collect(),
                        data: hex_bytes(&l["data"]),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mined = Mined {
            result: if success { Ok(output) } else { Err(output) },
            logs,
            gas_used: hex_u64(&receipt["gasUsed"]),
            block: hex_u64(&receipt["blockNumber"]),
        };
        self.last_receipt = Some((hash, receipt));
        mined
    }

    /// `eth_call` at the latest block: `Ok(output)` or `Err(revert data)`.
    pub fn call(&mut self, to: Address, data: &[u8]) -> Result<Vec<u8>, Vec<u8>> {
        let tx = json!({"to": to, "data": format!("0x{}", hex::encode(data)), "gas": "0x3b9aca00"});
        match self.rpc("eth_call", json!([tx, "latest"])) {
            Ok(v) => Ok(hex_bytes(&v)),
            Err(e) => Err(hex_bytes(&e["data"])),
        }
    }
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else { break };
        if n == 0 || tail.len() < n {
            break;
        }
        out.push_str(&tail[..n]);
        rest = tail[n..].trim_start_matches("\r\n");
    }
    out
}

impl Drop for Anvil {
    fn drop(&mut self) {
        // Best effort: the process may already be gone.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
