//! The Stylus host: runs release WASM programs in wasmi with the `vm_hooks` imports that
//! stylus-sdk 0.10 programs link against, following Nitro's semantics (see the README for what
//! is and is not modelled).
//!
//! Each program call is a fresh instance in a fresh store (Nitro instantiates per call) with its
//! own storage cache: loads fill it from committed state, `storage_cache_bytes32` writes into
//! it, `storage_flush_cache` commits the dirty words (and clears it on request); what is not
//! flushed when the program returns is lost, as on Nitro. Calls out (`call_contract`,
//! `static_call_contract`, `delegate_call_contract`) run the target in the same host: another
//! program (a delegatecall runs the module's code on the caller's storage, sender and value),
//! the in-host ERC-20 tokens, or the ecrecover precompile. A frame that reverts or traps
//! restores the state it started from (storage, tokens, logs).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;
use std::sync::{Mutex, OnceLock};

use alloy_primitives::{keccak256, Address, B256, U256};
use wasmi::{
    AsContextMut, Caller, Config, Engine, Extern, Linker, Memory, Module, StackLimits, Store,
    StoreLimits, StoreLimitsBuilder,
};

use stylus_artifact::ink::{self, hostio, EntryCost};

use crate::gas::{GasEstimate, TxMeter, ECRECOVER_GAS};
use crate::precompile;
use crate::token;
use crate::world::{Block, Log, State, Token};

/// Fuel given to each program frame: far above any call here; running out is a failure.
const FUEL_PER_FRAME: u64 = 10_000_000_000;
/// Nitro's page limit for a program's memory (64 KiB pages).
pub const MAX_PAGES: u32 = 128;
/// `evm_gas_left` / `evm_ink_left` answer with a constant (gas is estimated, not enforced).
const GAS_LEFT: u64 = 30_000_000;

/// Every import this host provides (module `vm_hooks`): stylus-sdk 0.10.10's hostio list plus
/// Nitro's `exit_early`. `create1`/`create2` and the debug-only `console` module are absent on
/// purpose: a program importing them fails [`Host::deploy`] with the import's name.
pub const PROVIDED: &[&str] = &[
    "read_args",
    "write_result",
    "exit_early",
    "storage_load_bytes32",
    "storage_cache_bytes32",
    "storage_flush_cache",
    "msg_sender",
    "msg_value",
    "msg_reentrant",
    "contract_address",
    "tx_origin",
    "tx_gas_price",
    "tx_ink_price",
    "chainid",
    "block_number",
    "block_timestamp",
    "block_basefee",
    "block_coinbase",
    "block_gas_limit",
    "evm_gas_left",
    "evm_ink_left",
    "native_keccak256",
    "emit_log",
    "call_contract",
    "static_call_contract",
    "delegate_call_contract",
    "read_return_data",
    "return_data_size",
    "pay_for_memory_grow",
    "account_balance",
    "account_code",
    "account_code_size",
    "account_codehash",
];

/// A failure of the host or the test setup (not of the program): an import the host does not
/// provide, a precompile or value transfer not modelled, a broken artifact. Propagates out of
/// every frame and fails the test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostFault(pub String);

impl fmt::Display for HostFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HostFault {}
impl wasmi::core::HostError for HostFault {}

fn fault(message: impl Into<String>) -> wasmi::Error {
    wasmi::Error::host(HostFault(message.into()))
}

fn trap() -> wasmi::Error {
    wasmi::Error::from(wasmi::core::TrapCode::MemoryOutOfBounds)
}

/// The process-wide wasmi engine (fuel metering on): one engine, so compiled modules are
/// shared by every host.
fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut config = Config::default();
        config.consume_fuel(true);
        // Nitro's depth checker (MaxStackDepth, compiled into the module the host runs) is the
        // limit: at least 4 words a frame allows 5,500 nested calls, above wasmi's default 1,024.
        let limits = StackLimits::new(1024, 16 * 1024 * 1024, 8192).expect("initial <= maximum");
        config.set_stack_limits(limits);
        Engine::new(&config)
    })
}

/// Activation checks and compilation, once per distinct WASM (brotli at quality 11 and wasmi's
/// validation are slow in the unoptimised test profile). What runs is the module with Nitro's ink
/// meter compiled in (`stylus_artifact::ink::instrument`), so each frame's opcode ink is read
/// back; the entry cost is the deployed module's.
fn compile(wasm: &[u8]) -> Result<(Module, EntryCost), HostFault> {
    type Compiled = Result<(Module, EntryCost), HostFault>;
    static MODULES: OnceLock<Mutex<HashMap<B256, Compiled>>> = OnceLock::new();
    let key = keccak256(wasm);
    if let Some(done) = MODULES.get_or_init(Mutex::default).lock().expect("not poisoned").get(&key)
    {
        return done.clone();
    }
    let compiled = crate::activation::check(wasm)
        .map_err(|problems| HostFault(problems.join("; ")))
        .and_then(|()| {
            let metered = ink::instrument(wasm).map_err(|e| HostFault(e.to_string()))?;
            let entry = ink::entry_cost(wasm).map_err(|e| HostFault(e.to_string()))?;
            let module = Module::new(engine(), &metered[..])
                .map_err(|e| HostFault(format!("wasmi rejects the module: {e}")))?;
            Ok((module, entry))
        });
    MODULES.get_or_init(Mutex::default).lock().expect("not poisoned").insert(key, compiled.clone());
    compiled
}

/// One transaction's outcome: return or revert data, the logs (none if it reverted), the wasmi
/// fuel every program frame of it consumed, and its Stylus gas estimate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// `Ok(return data)` or `Err(revert data)`.
    pub result: Result<Vec<u8>, Vec<u8>>,
    /// Logs in order (empty when reverted).
    pub logs: Vec<Log>,
    /// wasmi fuel over all frames (about one unit per instruction executed).
    pub fuel: u64,
    /// What Nitro would charge, by component ([`crate::gas`]).
    pub gas: GasEstimate,
    /// The most stack words any program call used, as Nitro's depth checker counts them (a call
    /// above `MaxStackDepth`, 22,000, traps).
    pub stack_peak: u32,
}

struct Program {
    module: Module,
    wasm: Vec<u8>,
    entry: EntryCost,
}

struct Shared {
    engine: Engine,
    linker: Linker<Frame>,
    programs: RefCell<HashMap<Address, Program>>,
    state: RefCell<State>,
    block: Cell<Block>,
    origin: Cell<Address>,
    /// Addresses of the open call frames that are not delegatecalls, outermost first (Nitro's
    /// `TxProcessor.Programs` count, see [`run_program`]).
    active: RefCell<Vec<Address>>,
    /// The running transaction's gas estimate and pricing state.
    meter: RefCell<TxMeter>,
}

struct CacheSlot {
    value: B256,
    /// The committed value when known (a slot written without being read is dirty).
    known: Option<B256>,
}

/// One program frame's host-side state.
pub struct Frame {
    shared: Rc<Shared>,
    /// The storage, `contract_address` and log emitter (the caller's for a delegatecall).
    address: Address,
    sender: Address,
    value: U256,
    is_static: bool,
    reentrant: bool,
    args: Vec<u8>,
    result: Vec<u8>,
    return_data: Vec<u8>,
    cache: HashMap<B256, CacheSlot>,
    /// Storage cache reads and writes so far (Nitro's `StorageCache::read_gas`/`write_gas`).
    cache_reads: usize,
    cache_writes: usize,
    nested_fuel: u64,
    limits: StoreLimits,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Call,
    Static,
    Delegate,
}

/// What a frame's call returned: success, output, fuel.
struct Returned {
    success: bool,
    output: Vec<u8>,
    fuel: u64,
}

/// The host: programs deployed at addresses, tokens, state, block.
pub struct Host {
    shared: Rc<Shared>,
}

impl Default for Host {
    fn default() -> Self {
        Self::new()
    }
}

impl Host {
    /// An empty chain at [`Block::default`].
    pub fn new() -> Self {
        let engine = engine().clone();
        let mut linker = Linker::new(&engine);
        link(&mut linker).expect("each import is defined once");
        Self {
            shared: Rc::new(Shared {
                engine,
                linker,
                programs: RefCell::default(),
                state: RefCell::default(),
                block: Cell::new(Block::default()),
                origin: Cell::new(Address::ZERO),
                active: RefCell::default(),
                meter: RefCell::default(),
            }),
        }
    }

    /// Deploys a program's WASM at `address` after Nitro's activation checks
    /// ([`crate::activation::check`]) and a check that every import is provided here.
    pub fn deploy(&mut self, address: Address, wasm: &[u8]) -> Result<(), HostFault> {
        let (module, entry) = compile(wasm)?;
        for import in module.imports() {
            if import.module() != "vm_hooks" || !PROVIDED.contains(&import.name()) {
                return Err(HostFault(format!(
                    "the program imports {}.{}, which this host does not provide",
                    import.module(),
                    import.name()
                )));
            }
        }
        let exports: Vec<&str> = module.exports().map(|e| e.name()).collect();
        for needed in ["user_entrypoint", "memory"] {
            if !exports.contains(&needed) {
                return Err(HostFault(format!("the program does not export `{needed}`")));
            }
        }
        let program = Program { module, wasm: wasm.to_vec(), entry };
        self.shared.programs.borrow_mut().insert(address, program);
        Ok(())
    }

    /// Creates an in-host ERC-20 at `address` (empty ledger).
    pub fn add_token(&mut self, address: Address) {
        self.shared.state.borrow_mut().tokens.insert(address, Token::default());
    }

    /// The current block.
    pub fn block(&self) -> Block {
        self.shared.block.get()
    }

    /// Moves to another block (number, time, chain id).
    pub fn set_block(&mut self, block: Block) {
        self.shared.block.set(block);
    }

    /// A committed storage word of `contract`.
    pub fn storage(&self, contract: Address, key: B256) -> B256 {
        self.shared.state.borrow().load(contract, key)
    }

    /// Every committed storage word of `contract` (for state comparisons).
    pub fn storage_of(&self, contract: Address) -> HashMap<B256, B256> {
        self.shared.state.borrow().storage.get(&contract).cloned().unwrap_or_default()
    }

    /// A token balance.
    pub fn token_balance(&self, token: Address, owner: Address) -> U256 {
        let state = self.shared.state.borrow();
        state.tokens.get(&token).and_then(|t| t.balances.get(&owner)).copied().unwrap_or_default()
    }

    /// A transaction from `sender` to `to` with `calldata` and `value`: state changes stay
    /// unless it reverts. `Err` is a [`HostFault`] (the test setup or the host, not the program).
    pub fn transact(
        &mut self,
        sender: Address,
        to: Address,
        calldata: &[u8],
        value: U256,
    ) -> Result<Outcome, HostFault> {
        self.run(sender, to, calldata, value, false)
    }

    /// As [`Self::transact`], then discards every state change (an `eth_call`).
    pub fn view(
        &mut self,
        sender: Address,
        to: Address,
        calldata: &[u8],
    ) -> Result<Outcome, HostFault> {
        self.run(sender, to, calldata, U256::ZERO, true)
    }

    fn run(
        &mut self,
        sender: Address,
        to: Address,
        calldata: &[u8],
        value: U256,
        discard: bool,
    ) -> Result<Outcome, HostFault> {
        let shared = &self.shared;
        let before = discard.then(|| shared.state.borrow().clone());
        {
            let mut state = shared.state.borrow_mut();
            state.logs.clear();
            state.transient.clear();
        }
        shared.origin.set(sender);
        shared.active.borrow_mut().clear();
        *shared.meter.borrow_mut() = TxMeter::start(sender, to, calldata);
        let returned =
            call_target(shared, Kind::Call, None, sender, to, calldata, value).map_err(|e| {
                match e.downcast_ref::<HostFault>() {
                    Some(f) => f.clone(),
                    None => HostFault(format!("unexpected host error: {e}")),
                }
            })?;
        let logs = std::mem::take(&mut shared.state.borrow_mut().logs);
        if let Some(before) = before {
            *shared.state.borrow_mut() = before;
        }
        Ok(Outcome {
            result: if returned.success { Ok(returned.output) } else { Err(returned.output) },
            logs: if returned.success { logs } else { Vec::new() },
            fuel: returned.fuel,
            gas: shared.meter.borrow().estimate,
            stack_peak: shared.meter.borrow().stack_peak,
        })
    }
}

/// Runs a call of `kind` from `from` (the calling frame, `None` for the transaction itself).
fn call_target(
    shared: &Rc<Shared>,
    kind: Kind,
    from: Option<&Frame>,
    sender: Address,
    to: Address,
    calldata: &[u8],
    value: U256,
) -> Result<Returned, wasmi::Error> {
    let is_static = kind == Kind::Static || from.is_some_and(|f| f.is_static);
    let is_program = shared.programs.borrow().contains_key(&to);
    if from.is_some() {
        shared.meter.borrow_mut().access_account(to);
    }
    if kind == Kind::Delegate {
        let frame = from.expect("only a program delegatecalls");
        if !is_program {
            return Err(fault(format!("delegatecall to {to}, which is not a WASM program here")));
        }
        return run_program(
            shared,
            to,
            frame.address,
            frame.sender,
            frame.value,
            is_static,
            calldata,
            Kind::Delegate,
        );
    }
    if !value.is_zero() {
        return Err(fault(format!("a call with value to {to}: ether is not modelled")));
    }
    if is_program {
        return run_program(shared, to, to, sender, value, is_static, calldata, kind);
    }
    if to == precompile::ARB_SYS {
        let l2_block = shared.block.get().number;
        let output = precompile::arb_sys(calldata, l2_block)
            .ok_or_else(|| fault("ArbSys: only arbBlockNumber() is modelled"))?;
        return Ok(Returned { success: true, output, fuel: 0 });
    }
    if precompile::is_precompile(to) {
        if to != precompile::ECRECOVER {
            return Err(fault(format!("precompile {to} is not modelled")));
        }
        shared.meter.borrow_mut().estimate.evm_gas += ECRECOVER_GAS;
        return Ok(Returned { success: true, output: precompile::ecrecover(calldata), fuel: 0 });
    }
    let mut state = shared.state.borrow_mut();
    if state.tokens.contains_key(&to) {
        shared.meter.borrow_mut().estimate.token_calls += 1;
        let snapshot = state.clone();
        return Ok(match token::call(&mut state, to, sender, calldata, is_static) {
            Ok(output) => Returned { success: true, output, fuel: 0 },
            Err(output) => {
                *state = snapshot;
                Returned { success: false, output, fuel: 0 }
            }
        });
    }
    // An account without code: the call succeeds with no data.
    Ok(Returned { success: true, output: Vec::new(), fuel: 0 })
}

/// Runs program `code` on `address`'s storage, in a frame opened by a call of `kind`.
///
/// `msg_reentrant` follows Nitro (arbos/tx_processor.go at OffchainLabs/nitro 6dce8d13):
/// `PushContract` counts the open frames per address except delegatecall and callcode frames,
/// and `ExecuteWASM` reports a program reentrant when more than one such frame is open for its
/// address. A delegatecall frame is thus not reentrant by itself (the engine's module runs with
/// the flag clear); a call back into an address with an open frame is.
#[allow(clippy::too_many_arguments)] // one frame's context, passed once
fn run_program(
    shared: &Rc<Shared>,
    code: Address,
    address: Address,
    sender: Address,
    value: U256,
    is_static: bool,
    calldata: &[u8],
    kind: Kind,
) -> Result<Returned, wasmi::Error> {
    let (module, entry) = {
        let programs = shared.programs.borrow();
        (programs[&code].module.clone(), programs[&code].entry)
    };
    let pages_before = shared.meter.borrow_mut().enter(code, entry);
    let snapshot = shared.state.borrow().clone();
    let counted = kind != Kind::Delegate;
    if counted {
        shared.active.borrow_mut().push(address);
    }
    let reentrant = shared.active.borrow().iter().filter(|&&a| a == address).count() > 1;
    let frame = Frame {
        shared: shared.clone(),
        address,
        sender,
        value,
        is_static,
        reentrant,
        args: calldata.to_vec(),
        result: Vec::new(),
        return_data: Vec::new(),
        cache: HashMap::new(),
        cache_reads: 0,
        cache_writes: 0,
        nested_fuel: 0,
        limits: StoreLimitsBuilder::new()
            .memory_size(MAX_PAGES as usize * 65_536)
            .memories(1)
            .build(),
    };
    let mut store = Store::new(&shared.engine, frame);
    store.limiter(|frame| &mut frame.limits);
    store.set_fuel(FUEL_PER_FRAME).expect("fuel metering is on");
    let mut instance = None;
    let outcome = (|| {
        let started = shared.linker.instantiate(&mut store, &module)?.start(&mut store)?;
        instance = Some(started);
        let entry = started.get_typed_func::<i32, i32>(&store, "user_entrypoint")?;
        entry.call(&mut store, calldata.len() as i32)
    })();
    // The frame's opcode ink and stack peak, from the meter compiled into the module (also
    // after a trap; a frame exceeding Nitro's MaxStackDepth traps there, as on Nitro).
    let global =
        |name: &str| instance.and_then(|i| i.get_global(&store, name)).map(|g| g.get(&store));
    let opcode_ink = global(ink::INK_COUNTER).and_then(|v| v.i64()).unwrap_or(0) as u64;
    let stack_peak = global(ink::STACK_PEAK).and_then(|v| v.i32()).unwrap_or(0) as u32;
    {
        let mut meter = shared.meter.borrow_mut();
        meter.estimate.opcode_ink += opcode_ink;
        meter.stack_peak = meter.stack_peak.max(stack_peak);
        meter.leave(pages_before);
    }
    if counted {
        shared.active.borrow_mut().pop();
    }
    let fuel = FUEL_PER_FRAME - store.get_fuel().unwrap_or(0) + store.data().nested_fuel;
    let (success, output) = match outcome {
        Ok(status) => (status == 0, std::mem::take(&mut store.data_mut().result)),
        Err(e) => {
            if let Some(status) = e.i32_exit_status() {
                (status == 0, std::mem::take(&mut store.data_mut().result))
            } else if e.downcast_ref::<HostFault>().is_some() {
                return Err(e);
            } else {
                // A trap (unreachable, out of bounds, out of fuel, ...): failure, no data.
                (false, Vec::new())
            }
        }
    };
    if !success {
        *shared.state.borrow_mut() = snapshot;
    }
    Ok(Returned { success, output, fuel })
}

fn memory(caller: &Caller<'_, Frame>) -> Result<Memory, wasmi::Error> {
    caller
        .get_export("memory")
        .and_then(Extern::into_memory)
        .ok_or_else(|| fault("the program exports no memory"))
}

fn read(caller: &Caller<'_, Frame>, ptr: i32, len: usize) -> Result<Vec<u8>, wasmi::Error> {
    let mut buf = vec![0u8; len];
    memory(caller)?.read(caller, ptr as u32 as usize, &mut buf).map_err(|_| trap())?;
    Ok(buf)
}

fn read_address(caller: &Caller<'_, Frame>, ptr: i32) -> Result<Address, wasmi::Error> {
    Ok(Address::from_slice(&read(caller, ptr, 20)?))
}

fn read_word(caller: &Caller<'_, Frame>, ptr: i32) -> Result<B256, wasmi::Error> {
    Ok(B256::from_slice(&read(caller, ptr, 32)?))
}

fn write(caller: &mut Caller<'_, Frame>, ptr: i32, data: &[u8]) -> Result<(), wasmi::Error> {
    let mem = memory(caller)?;
    mem.write(caller.as_context_mut(), ptr as u32 as usize, data).map_err(|_| trap())
}

type Fx<'a> = Caller<'a, Frame>;
type R<T> = Result<T, wasmi::Error>;

/// The code the host reports for an account (programs: their WASM; tokens: one placeholder
/// byte, so that `account_code_size` is non-zero as for a deployed ERC-20).
fn code_of(shared: &Shared, a: Address) -> Vec<u8> {
    if let Some(p) = shared.programs.borrow().get(&a) {
        return p.wasm.clone();
    }
    // Nitro gives precompiles one INVALID byte of code (arbos/arbosState/arbosstate.go).
    if shared.state.borrow().tokens.contains_key(&a) || a == precompile::ARB_SYS {
        return vec![0xfe];
    }
    Vec::new()
}

fn do_call(
    caller: &mut Fx<'_>,
    kind: Kind,
    contract: i32,
    data: i32,
    len: i32,
    value: Option<i32>,
    ret_len: i32,
) -> R<i32> {
    charge(caller, hostio::CALL + 2 * hostio::read(len as u32));
    let to = read_address(caller, contract)?;
    let calldata = read(caller, data, len as u32 as usize)?;
    let value = match value {
        Some(ptr) => U256::from_be_bytes(read_word(caller, ptr)?.0),
        None => U256::ZERO,
    };
    let shared = caller.data().shared.clone();
    let sender = caller.data().address;
    let returned = call_target(&shared, kind, Some(caller.data()), sender, to, &calldata, value)?;
    let frame = caller.data_mut();
    frame.nested_fuel += returned.fuel;
    let n = returned.output.len() as u32;
    frame.return_data = returned.output;
    write(caller, ret_len, &n.to_le_bytes())?;
    Ok(if returned.success { 0 } else { 1 })
}

/// Charges hostio ink to the transaction's estimate.
fn charge(c: &Fx<'_>, ink: u64) {
    c.data().shared.meter.borrow_mut().estimate.hostio_ink += ink;
}

/// Defines every import of [`PROVIDED`], each charging Nitro's ink and EVM gas for it
/// (`user-host-trait/lib.rs`, prices from `arbutil/src/pricing.rs`).
fn link(l: &mut Linker<Frame>) -> Result<(), wasmi::errors::LinkerError> {
    const M: &str = "vm_hooks";
    l.func_wrap(M, "read_args", |mut c: Fx<'_>, dest: i32| -> R<()> {
        let args = c.data().args.clone();
        charge(&c, hostio::HOSTIO + hostio::write(args.len() as u32));
        write(&mut c, dest, &args)
    })?;
    l.func_wrap(M, "write_result", |mut c: Fx<'_>, ptr: i32, len: i32| -> R<()> {
        charge(&c, hostio::HOSTIO + 2 * hostio::read(len as u32));
        let data = read(&c, ptr, len as u32 as usize)?;
        c.data_mut().result = data;
        Ok(())
    })?;
    l.func_wrap(M, "exit_early", |_: Fx<'_>, status: i32| -> R<()> {
        Err(wasmi::Error::i32_exit(status))
    })?;
    l.func_wrap(M, "storage_load_bytes32", |mut c: Fx<'_>, key: i32, dest: i32| -> R<()> {
        let key = read_word(&c, key)?;
        charge(&c, hostio::TWO_PTRS);
        let frame = c.data_mut();
        frame.cache_reads += 1;
        // StorageCache::read_gas: free for the first 32 reads of a frame, then 2, then 10.
        let read_gas = match frame.cache_reads {
            0..=32 => 0,
            33..=128 => 2,
            _ => 10,
        };
        frame.shared.meter.borrow_mut().estimate.evm_gas += read_gas;
        let value = match frame.cache.get(&key) {
            Some(slot) => slot.value,
            None => {
                let value = frame.shared.state.borrow().load(frame.address, key);
                frame.shared.meter.borrow_mut().sload(frame.address, key, value);
                frame.cache.insert(key, CacheSlot { value, known: Some(value) });
                value
            }
        };
        write(&mut c, dest, value.as_slice())
    })?;
    l.func_wrap(M, "storage_cache_bytes32", |mut c: Fx<'_>, key: i32, value: i32| -> R<()> {
        let (key, value) = (read_word(&c, key)?, read_word(&c, value)?);
        charge(&c, hostio::TWO_PTRS);
        let frame = c.data_mut();
        frame.cache_writes += 1;
        // StorageCache::write_gas: free for the first 8 writes of a frame, then 7, then 10.
        let write_gas = match frame.cache_writes {
            0..=8 => 0,
            9..=64 => 7,
            _ => 10,
        };
        frame.shared.meter.borrow_mut().estimate.evm_gas += write_gas;
        frame
            .cache
            .entry(key)
            .and_modify(|slot| slot.value = value)
            .or_insert(CacheSlot { value, known: None });
        Ok(())
    })?;
    l.func_wrap(M, "storage_flush_cache", |mut c: Fx<'_>, clear: i32| -> R<()> {
        charge(&c, hostio::WITH_EVM_API);
        let frame = c.data_mut();
        let mut state = frame.shared.state.borrow_mut();
        for (key, slot) in frame.cache.iter_mut() {
            if slot.known != Some(slot.value) {
                if frame.is_static {
                    // Nitro refuses the write (write protection): the program fails.
                    return Err(wasmi::Error::from(wasmi::core::TrapCode::UnreachableCodeReached));
                }
                let current = state.load(frame.address, *key);
                frame.shared.meter.borrow_mut().sstore(frame.address, *key, current, slot.value);
                state.store(frame.address, *key, slot.value);
                slot.known = Some(slot.value);
            }
        }
        drop(state);
        if clear != 0 {
            frame.cache.clear();
        }
        Ok(())
    })?;
    l.func_wrap(M, "msg_sender", |mut c: Fx<'_>, dest: i32| -> R<()> {
        charge(&c, hostio::ONE_PTR);
        let a = c.data().sender;
        write(&mut c, dest, a.as_slice())
    })?;
    l.func_wrap(M, "msg_value", |mut c: Fx<'_>, dest: i32| -> R<()> {
        charge(&c, hostio::ONE_PTR);
        let v = c.data().value.to_be_bytes::<32>();
        write(&mut c, dest, &v)
    })?;
    l.func_wrap(M, "msg_reentrant", |c: Fx<'_>| -> R<i32> {
        charge(&c, hostio::HOSTIO);
        Ok(i32::from(c.data().reentrant))
    })?;
    l.func_wrap(M, "contract_address", |mut c: Fx<'_>, dest: i32| -> R<()> {
        charge(&c, hostio::ONE_PTR);
        let a = c.data().address;
        write(&mut c, dest, a.as_slice())
    })?;
    l.func_wrap(M, "tx_origin", |mut c: Fx<'_>, dest: i32| -> R<()> {
        charge(&c, hostio::ONE_PTR);
        let a = c.data().shared.origin.get();
        write(&mut c, dest, a.as_slice())
    })?;
    l.func_wrap(M, "tx_gas_price", |mut c: Fx<'_>, dest: i32| -> R<()> {
        charge(&c, hostio::ONE_PTR);
        write(&mut c, dest, &[0u8; 32])
    })?;
    l.func_wrap(M, "tx_ink_price", |c: Fx<'_>| -> R<i32> {
        charge(&c, hostio::HOSTIO);
        Ok(ink::INK_PRICE as i32)
    })?;
    l.func_wrap(M, "chainid", |c: Fx<'_>| -> R<i64> {
        charge(&c, hostio::HOSTIO);
        Ok(c.data().shared.block.get().chain_id as i64)
    })?;
    // Nitro's L1 estimate (arbos/programs/programs.go: `evm.ProcessingHook.L1BlockNumber`),
    // not the L2 number ArbSys answers.
    l.func_wrap(M, "block_number", |c: Fx<'_>| -> R<i64> {
        charge(&c, hostio::HOSTIO);
        Ok(c.data().shared.block.get().l1_number as i64)
    })?;
    l.func_wrap(M, "block_timestamp", |c: Fx<'_>| -> R<i64> {
        charge(&c, hostio::HOSTIO);
        Ok(c.data().shared.block.get().timestamp as i64)
    })?;
    l.func_wrap(M, "block_basefee", |mut c: Fx<'_>, dest: i32| -> R<()> {
        charge(&c, hostio::ONE_PTR);
        write(&mut c, dest, &[0u8; 32])
    })?;
    l.func_wrap(M, "block_coinbase", |mut c: Fx<'_>, dest: i32| -> R<()> {
        charge(&c, hostio::ONE_PTR);
        write(&mut c, dest, &[0u8; 20])
    })?;
    l.func_wrap(M, "block_gas_limit", |c: Fx<'_>| -> R<i64> {
        charge(&c, hostio::HOSTIO);
        Ok(GAS_LEFT as i64)
    })?;
    l.func_wrap(M, "evm_gas_left", |c: Fx<'_>| -> R<i64> {
        charge(&c, hostio::HOSTIO);
        Ok(GAS_LEFT as i64)
    })?;
    l.func_wrap(M, "evm_ink_left", |c: Fx<'_>| -> R<i64> {
        charge(&c, hostio::HOSTIO);
        Ok((GAS_LEFT * ink::INK_PRICE) as i64)
    })?;
    l.func_wrap(M, "native_keccak256", |mut c: Fx<'_>, ptr: i32, len: i32, out: i32| -> R<()> {
        charge(&c, hostio::keccak(len as u32));
        let data = read(&c, ptr, len as u32 as usize)?;
        write(&mut c, out, keccak256(data).as_slice())
    })?;
    l.func_wrap(M, "emit_log", |c: Fx<'_>, ptr: i32, len: i32, topics: i32| -> R<()> {
        let (len, topics) = (len as u32 as usize, topics as u32 as usize);
        if topics > 4 || len < topics * 32 || c.data().is_static {
            return Err(wasmi::Error::from(wasmi::core::TrapCode::UnreachableCodeReached));
        }
        charge(&c, hostio::WITH_EVM_API + hostio::read(len as u32));
        c.data().shared.meter.borrow_mut().log(topics as u64, (len - topics * 32) as u64);
        let bytes = read(&c, ptr, len)?;
        let log = Log {
            address: c.data().address,
            topics: bytes[..topics * 32].chunks(32).map(B256::from_slice).collect(),
            data: bytes[topics * 32..].to_vec(),
        };
        c.data().shared.state.borrow_mut().logs.push(log);
        Ok(())
    })?;
    l.func_wrap(
        M,
        "call_contract",
        |mut c: Fx<'_>, to: i32, data: i32, len: i32, value: i32, _gas: i64, ret: i32| -> R<i32> {
            do_call(&mut c, Kind::Call, to, data, len, Some(value), ret)
        },
    )?;
    l.func_wrap(
        M,
        "static_call_contract",
        |mut c: Fx<'_>, to: i32, data: i32, len: i32, _gas: i64, ret: i32| -> R<i32> {
            do_call(&mut c, Kind::Static, to, data, len, None, ret)
        },
    )?;
    l.func_wrap(
        M,
        "delegate_call_contract",
        |mut c: Fx<'_>, to: i32, data: i32, len: i32, _gas: i64, ret: i32| -> R<i32> {
            do_call(&mut c, Kind::Delegate, to, data, len, None, ret)
        },
    )?;
    l.func_wrap(M, "read_return_data", |mut c: Fx<'_>, dest: i32, offset: i32, size: i32| {
        // Copies the overlapping part of [offset, offset + size) and returns its length.
        let data = &c.data().return_data;
        let start = (offset as u32 as usize).min(data.len());
        let end = start.saturating_add(size as u32 as usize).min(data.len());
        let part = data[start..end].to_vec();
        charge(&c, hostio::WITH_EVM_API + hostio::write((end - start) as u32));
        write(&mut c, dest, &part)?;
        R::Ok(part.len() as i32)
    })?;
    l.func_wrap(M, "return_data_size", |c: Fx<'_>| -> R<i32> {
        charge(&c, hostio::HOSTIO);
        Ok(c.data().return_data.len() as i32)
    })?;
    // Memory is bounded by the store's limiter (128 pages); growth pays the memory model.
    l.func_wrap(M, "pay_for_memory_grow", |c: Fx<'_>, pages: i32| -> R<()> {
        if pages == 0 {
            charge(&c, hostio::HOSTIO);
        } else {
            c.data().shared.meter.borrow_mut().grow(pages as u16);
        }
        Ok(())
    })?;
    l.func_wrap(M, "account_balance", |mut c: Fx<'_>, a: i32, dest: i32| -> R<()> {
        charge(&c, hostio::ACCOUNT_WITH_PTRS);
        let account = read_address(&c, a)?;
        c.data().shared.meter.borrow_mut().access_account(account);
        write(&mut c, dest, &[0u8; 32])
    })?;
    l.func_wrap(
        M,
        "account_code",
        |mut c: Fx<'_>, a: i32, offset: i32, size: i32, dest: i32| -> R<i32> {
            let account = read_address(&c, a)?;
            let code = code_of(&c.data().shared, account);
            charge(&c, hostio::WITH_EVM_API + hostio::write(code.len() as u32));
            c.data().shared.meter.borrow_mut().access_account(account);
            let start = (offset as u32 as usize).min(code.len());
            let end = start.saturating_add(size as u32 as usize).min(code.len());
            write(&mut c, dest, &code[start..end])?;
            Ok((end - start) as i32)
        },
    )?;
    l.func_wrap(M, "account_code_size", |c: Fx<'_>, a: i32| -> R<i32> {
        charge(&c, hostio::WITH_EVM_API);
        let account = read_address(&c, a)?;
        c.data().shared.meter.borrow_mut().access_account(account);
        Ok(code_of(&c.data().shared, account).len() as i32)
    })?;
    l.func_wrap(M, "account_codehash", |mut c: Fx<'_>, a: i32, dest: i32| -> R<()> {
        charge(&c, hostio::ACCOUNT_WITH_PTRS);
        let account = read_address(&c, a)?;
        c.data().shared.meter.borrow_mut().access_account(account);
        let code = code_of(&c.data().shared, account);
        let hash = if code.is_empty() { B256::ZERO } else { keccak256(&code) };
        write(&mut c, dest, hash.as_slice())
    })?;
    Ok(())
}
