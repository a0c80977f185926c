//! Nitro's ink prices and its basic-block meter.
//!
//! Read from OffchainLabs/nitro at [`crate::NITRO_COMMIT`]:
//! - `crates/prover/src/programs/meter.rs`: every function is cut into basic blocks (a block ends
//!   after `end`, `else`, `return`, `loop`, `br`, `br_table`, `br_if`, `if`, `call`,
//!   `call_indirect`: `arbutil/src/operator.rs::ends_basic_block`); before a block runs, the sum of
//!   its opcodes' ink (`pricing_v1`) plus a header of 2,450 ink (`config.rs`,
//!   `ink_header_cost`) is charged.
//! - `programs/dynamic.rs`: `memory.fill` and `memory.copy` also cost 100 ink per byte
//!   (`memory_fill_ink`/`memory_copy_ink` = 800 / 8).
//! - `crates/arbutil/src/pricing.rs`: each hostio's base ink and the per-byte read/write and
//!   keccak prices; `crates/wasm-libraries/user-host-trait/lib.rs`: which hostio pays which.
//! - `arbos/programs/params.go`: 10,000 ink buy one gas (`initialInkPrice`); program entry
//!   (`programs.go::CallProgram`): the memory model for the initial pages (2 free pages, 1,000
//!   gas a page and an exponential term: `memory.go`), the init gas of an uncached program and
//!   the cached-init gas (`initGas`, `cachedGas`, stylus version 2, from the costs predicted at
//!   activation in `binary.rs::instrument`).
//!
//! [`instrument`] copies a module with the same meter, except that it counts up an exported
//! global instead of deducting and trapping, so a host reads what the run cost.

use wasm_encoder::reencode::{utils, Reencode};
use wasm_encoder::{ConstExpr, ExportKind, GlobalType, Instruction, ValType};
use wasmparser_nitro::{FuncType, Operator, Parser, Payload};

use crate::ArtifactError;

/// Ink per gas (`initialInkPrice`).
pub const INK_PRICE: u64 = 10_000;
/// Ink charged per basic block on top of its opcodes (`ink_header_cost`).
pub const BLOCK_HEADER_INK: u64 = 2_450;
/// Ink per byte of `memory.fill` / `memory.copy`.
pub const MEMORY_BYTE_INK: u64 = 800 / 8;
/// The export under which [`instrument`] leaves its ink counter (an `i64` global).
pub const INK_COUNTER: &str = "ink_counter";
/// The export under which [`instrument`] leaves the most stack words in use at once (an `i32`
/// global), counted as Nitro's depth checker does.
pub const STACK_PEAK: &str = "stack_peak";

/// `ends_basic_block` (arbutil/src/operator.rs).
pub fn ends_basic_block(op: &Operator<'_>) -> bool {
    use Operator as O;
    matches!(
        op,
        O::End
            | O::Else
            | O::Return
            | O::Loop { .. }
            | O::Br { .. }
            | O::BrTable { .. }
            | O::BrIf { .. }
            | O::If { .. }
            | O::Call { .. }
            | O::CallIndirect { .. }
    )
}

/// The ink of one opcode (`pricing_v1`); `params(type_index)` gives a type's parameter count
/// (for `call_indirect`). Opcodes Nitro does not support cost `u64::MAX`, as there.
pub fn opcode_ink(op: &Operator<'_>, params: impl Fn(u32) -> u64) -> u64 {
    use Operator as O;
    match op {
        O::Unreachable | O::Return | O::Nop | O::I32Const { .. } | O::I64Const { .. } => 1,
        O::Drop => 9,
        O::Block { .. } | O::Loop { .. } | O::Else | O::End => 1,
        O::Br { .. } | O::BrIf { .. } | O::If { .. } => 765,
        O::Select => 1250,
        O::Call { .. } => 3800,
        O::LocalGet { .. } | O::LocalTee { .. } => 75,
        O::LocalSet { .. } => 210,
        O::GlobalGet { .. } => 225,
        O::GlobalSet { .. } => 575,
        O::I32Load { .. }
        | O::I32Load8S { .. }
        | O::I32Load8U { .. }
        | O::I32Load16S { .. }
        | O::I32Load16U { .. } => 670,
        O::I64Load { .. }
        | O::I64Load8S { .. }
        | O::I64Load8U { .. }
        | O::I64Load16S { .. }
        | O::I64Load16U { .. }
        | O::I64Load32S { .. }
        | O::I64Load32U { .. } => 680,
        O::I32Store { .. } | O::I32Store8 { .. } | O::I32Store16 { .. } => 825,
        O::I64Store { .. } | O::I64Store8 { .. } | O::I64Store16 { .. } | O::I64Store32 { .. } => {
            950
        }
        O::MemorySize { .. } => 3000,
        O::MemoryGrow { .. } => 8050,
        O::I32Eqz
        | O::I32Eq
        | O::I32Ne
        | O::I32LtS
        | O::I32LtU
        | O::I32GtS
        | O::I32GtU
        | O::I32LeS
        | O::I32LeU
        | O::I32GeS
        | O::I32GeU => 170,
        O::I64Eqz
        | O::I64Eq
        | O::I64Ne
        | O::I64LtS
        | O::I64LtU
        | O::I64GtS
        | O::I64GtU
        | O::I64LeS
        | O::I64LeU
        | O::I64GeS
        | O::I64GeU => 225,
        O::I32Clz | O::I32Ctz | O::I64Clz | O::I64Ctz => 210,
        O::I32Add | O::I32Sub => 70,
        O::I32Mul | O::I64Mul => 160,
        O::I32DivS | O::I32DivU | O::I32RemS | O::I32RemU => 1120,
        O::I32And
        | O::I32Or
        | O::I32Xor
        | O::I32Shl
        | O::I32ShrS
        | O::I32ShrU
        | O::I32Rotl
        | O::I32Rotr => 70,
        O::I64Add | O::I64Sub => 100,
        O::I64DivS | O::I64DivU | O::I64RemS | O::I64RemU => 1270,
        O::I64And
        | O::I64Or
        | O::I64Xor
        | O::I64Shl
        | O::I64ShrS
        | O::I64ShrU
        | O::I64Rotl
        | O::I64Rotr => 100,
        O::I32Popcnt => 2650,
        O::I64Popcnt => 6000,
        O::I32WrapI64
        | O::I64ExtendI32S
        | O::I64ExtendI32U
        | O::I32Extend8S
        | O::I32Extend16S
        | O::I64Extend8S
        | O::I64Extend16S
        | O::I64Extend32S => 100,
        O::MemoryCopy { .. } | O::MemoryFill { .. } => 950,
        O::BrTable { targets } => 2400 + 325 * u64::from(targets.len()),
        O::CallIndirect { type_index, .. } => 13610 + 650 * params(*type_index),
        _ => u64::MAX,
    }
}

/// Hostio ink (`pricing.rs`): the base of every hostio and the per-byte prices.
pub mod hostio {
    /// `HOSTIO_INK`: every hostio that may return something.
    pub const HOSTIO: u64 = 8_400;
    /// `PTR_INK`: per pointer argument.
    pub const PTR: u64 = 13_440 - HOSTIO;
    /// `EVM_API_INK`: a request to the EVM side.
    pub const EVM_API: u64 = 59_673;
    /// `STORAGE_LOAD_BASE_INK`, `STORAGE_CACHE_BASE_INK`, `ACCOUNT_BALANCE`... (two pointers).
    pub const TWO_PTRS: u64 = HOSTIO + 2 * PTR;
    /// `STORAGE_FLUSH_BASE_INK`, `READ_RETURN_DATA`, `EMIT_LOG`, `ACCOUNT_CODE(_SIZE)`.
    pub const WITH_EVM_API: u64 = HOSTIO + EVM_API;
    /// `CALL_CONTRACT_BASE_INK` (also static and delegate calls).
    pub const CALL: u64 = HOSTIO + 3 * PTR + EVM_API;
    /// `ACCOUNT_CODE_HASH_BASE_INK`, `ACCOUNT_BALANCE_BASE_INK`.
    pub const ACCOUNT_WITH_PTRS: u64 = HOSTIO + 2 * PTR + EVM_API;
    /// `MSG_SENDER`, `MSG_VALUE`, `TX_ORIGIN`, `TX_GAS_PRICE`, `ADDRESS`, `BLOCK_BASEFEE`,
    /// `BLOCK_COINBASE` (one pointer).
    pub const ONE_PTR: u64 = HOSTIO + PTR;

    /// `write_price`: the program receives `bytes`.
    pub fn write(bytes: u32) -> u64 {
        5_040 + 30 * u64::from(bytes.saturating_sub(32))
    }

    /// `read_price`: the host reads `bytes` from the program.
    pub fn read(bytes: u32) -> u64 {
        16_381 + 55 * u64::from(bytes.saturating_sub(32))
    }

    /// `keccak_price`: `native_keccak256` of `bytes`.
    pub fn keccak(bytes: u32) -> u64 {
        let words = u64::from(bytes.div_ceil(32)).saturating_sub(2);
        121_800 + 21_000 * words
    }
}

/// What a call pays before a program runs (stylus version 2, current since ArbOS 40:
/// `params.go::UpgradeToVersion(2)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryCost {
    /// Initial memory pages (`footprint`), paid through the memory model ([`memory_gas`]).
    pub pages: u16,
    /// `initGas`: MinInitGas 69 × 128 + the predicted init cost (scalar 50 × 2 % = 1:1), paid
    /// when the program is not cached.
    pub init_gas: u64,
    /// `cachedGas`: MinCachedInitGas 11 × 32 + the predicted cached-init cost, paid by every
    /// call in version 2.
    pub cached_gas: u64,
}
/// `MemoryModel::GasCost(new, open, ever)` with `InitialFreePages` 2, `InitialPageGas` 1,000.
pub fn memory_gas(new: u16, open: u16, ever: u16) -> u64 {
    const FREE: u16 = 2;
    const PAGE_GAS: u64 = 1_000;
    const EXP: [u32; 129] = [
        1, 1, 1, 1, 1, 1, 2, 2, 2, 3, 3, 4, 5, 5, 6, 7, 8, 9, 11, 12, 14, 17, 19, 22, 25, 29, 33,
        38, 43, 50, 57, 65, 75, 85, 98, 112, 128, 147, 168, 193, 221, 253, 289, 331, 379, 434, 497,
        569, 651, 745, 853, 976, 1117, 1279, 1463, 1675, 1917, 2194, 2511, 2874, 3290, 3765, 4309,
        4932, 5645, 6461, 7395, 8464, 9687, 11087, 12689, 14523, 16621, 19024, 21773, 24919, 28521,
        32642, 37359, 42758, 48938, 56010, 64104, 73368, 83971, 96106, 109994, 125890, 144082,
        164904, 188735, 216010, 247226, 282953, 323844, 370643, 424206, 485509, 555672, 635973,
        727880, 833067, 953456, 1091243, 1248941, 1429429, 1636000, 1872423, 2143012, 2452704,
        2807151, 3212820, 3677113, 4208502, 4816684, 5512756, 6309419, 7221210, 8264766, 9459129,
        10826093, 12390601, 14181199, 16230562, 18576084, 21260563, 24332984, 27849408, 31873999,
    ];
    let exp = |pages: u16| EXP.get(usize::from(pages)).map_or(u64::MAX, |&e| u64::from(e));
    let new_open = open.saturating_add(new);
    let new_ever = ever.max(new_open);
    if new_ever <= FREE {
        return 0;
    }
    let adding = new_open.saturating_sub(FREE).saturating_sub(open.saturating_sub(FREE));
    let linear = u64::from(adding) * PAGE_GAS;
    linear.saturating_add(exp(new_ever) - exp(ever))
}

/// The entry cost of `wasm` (the deployed bytes), as `binary.rs::instrument` predicts it and
/// `programs.go` charges it. Nitro counts its three instrumentation globals in `globals`.
pub fn entry_cost(wasm: &[u8]) -> Result<EntryCost, ArtifactError> {
    let (mut types, mut functions) = (Vec::<FuncType>::new(), Vec::<u32>::new());
    let (mut funcs, mut globals, mut data_len, mut pages) = (0u64, 3u64, 0u64, 0u16);
    for payload in Parser::new(0).parse_all(wasm) {
        match payload? {
            Payload::TypeSection(reader) => {
                for ty in reader.into_iter_err_on_gc_types() {
                    types.push(ty?);
                }
            }
            Payload::FunctionSection(reader) => {
                for ty in reader {
                    functions.push(ty?);
                }
            }
            Payload::GlobalSection(reader) => globals += u64::from(reader.count()),
            Payload::MemorySection(reader) => {
                for memory in reader {
                    pages = u16::try_from(memory?.initial).unwrap_or(u16::MAX);
                }
            }
            Payload::DataSection(reader) => {
                for data in reader {
                    data_len += data?.range.len() as u64;
                }
            }
            Payload::ElementSection(reader) => {
                for element in reader {
                    data_len += element?.range.len() as u64;
                }
            }
            Payload::CodeSectionEntry(_) => funcs += 1,
            _ => {}
        }
    }
    let type_len: u64 = functions
        .iter()
        .filter_map(|&t| types.get(t as usize))
        .map(|t| (t.params().len() + t.results().len()) as u64)
        .sum();
    let wasm_len = wasm.len() as u64;
    // binary.rs::instrument.
    let cached = funcs * 13_420 / 100_000
        + type_len * 89 / 100_000
        + wasm_len * 122 / 100_000
        + globals * 1_628 / 1_000
        + data_len * 75_244 / 100_000
        + u64::from(pages) * 5;
    // Version 2: the init cost excludes the cached part, charged separately.
    let init = funcs * 8_252 / 1_000 + type_len * 1_059 / 1_000 + wasm_len * 1_286 / 10_000;
    // programs.go::initGas / cachedGas: MinInitGas 69 (v2) × 128 and MinCachedInitGas 11 × 32,
    // plus the cost × scalar 50 × CostScalarPercent 2 / 100 (a 1:1 scale), rounded up.
    let init_gas = 69 * 128 + (init * 50 * 2).div_ceil(100);
    let cached_gas = 11 * 32 + (cached * 50 * 2).div_ceil(100);
    Ok(EntryCost { pages, init_gas, cached_gas })
}

/// Re-encodes with Nitro's meter and depth checker.
struct Meter {
    /// Parameter count of every type.
    params: Vec<u64>,
    /// Every type, and the type index of every function (imports first), for frame sizes.
    types: Vec<FuncType>,
    functions: Vec<u32>,
    /// The ink counter global's index (appended after the module's own globals); then a scratch
    /// `i32` for the dynamic meter, the stack words in use and their peak.
    ink: u32,
    scratch: u32,
    depth: u32,
    peak: u32,
}

impl Meter {
    fn charge(&self, ink: u64, out: &mut Vec<Instruction<'static>>) {
        // Ink sums stay far below i64::MAX; the counter is read as u64.
        out.extend([
            Instruction::GlobalGet(self.ink),
            Instruction::I64Const(ink as i64),
            Instruction::I64Add,
            Instruction::GlobalSet(self.ink),
        ]);
    }
}

impl Reencode for Meter {
    type Error = std::convert::Infallible;

    fn parse_global_section(
        &mut self,
        globals: &mut wasm_encoder::GlobalSection,
        section: wasmparser_nitro::GlobalSectionReader<'_>,
    ) -> Result<(), wasm_encoder::reencode::Error<Self::Error>> {
        utils::parse_global_section(self, globals, section)?;
        let mutable = |val_type| GlobalType { val_type, mutable: true, shared: false };
        globals.global(mutable(ValType::I64), &ConstExpr::i64_const(0));
        for _ in 0..3 {
            globals.global(mutable(ValType::I32), &ConstExpr::i32_const(0));
        }
        Ok(())
    }

    fn parse_export_section(
        &mut self,
        exports: &mut wasm_encoder::ExportSection,
        section: wasmparser_nitro::ExportSectionReader<'_>,
    ) -> Result<(), wasm_encoder::reencode::Error<Self::Error>> {
        utils::parse_export_section(self, exports, section)?;
        exports.export(INK_COUNTER, ExportKind::Global, self.ink);
        exports.export(STACK_PEAK, ExportKind::Global, self.peak);
        Ok(())
    }

    fn parse_function_body(
        &mut self,
        code: &mut wasm_encoder::CodeSection,
        func: wasmparser_nitro::FunctionBody<'_>,
    ) -> Result<(), wasm_encoder::reencode::Error<Self::Error>> {
        let mut function = self.new_function_with_parsed_locals(&func)?;
        // depth.rs: on entry, trap if the frame does not fit in what is left of MaxStackDepth,
        // else take it (and note the peak); give it back before each `return` and before the
        // `return` appended ahead of the function's final `end` (a `br` out of the function
        // skips it there too).
        let frame = crate::nitro::frame_words(&func, &self.types, &self.functions)? as i32;
        let (depth, peak) = (self.depth, self.peak);
        for instruction in [
            Instruction::GlobalGet(depth),
            Instruction::I32Const(frame),
            Instruction::I32Add,
            Instruction::GlobalSet(depth),
            Instruction::GlobalGet(depth),
            Instruction::I32Const(crate::nitro::MAX_STACK_DEPTH as i32),
            Instruction::I32GeU,
            Instruction::If(wasm_encoder::BlockType::Empty),
            Instruction::Unreachable,
            Instruction::End,
            Instruction::GlobalGet(depth),
            Instruction::GlobalGet(peak),
            Instruction::I32GtU,
            Instruction::If(wasm_encoder::BlockType::Empty),
            Instruction::GlobalGet(depth),
            Instruction::GlobalSet(peak),
            Instruction::End,
        ] {
            function.instruction(&instruction);
        }
        let reclaim = [
            Instruction::GlobalGet(depth),
            Instruction::I32Const(frame),
            Instruction::I32Sub,
            Instruction::GlobalSet(depth),
        ];
        let mut open_scopes = 1u32;
        let mut reader = func.get_operators_reader()?;
        let (mut block, mut block_ink) = (Vec::new(), 0u64);
        while !reader.eof() {
            let op = reader.read()?;
            match op {
                Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } => {
                    open_scopes += 1
                }
                Operator::End => open_scopes = open_scopes.saturating_sub(1),
                _ => {}
            }
            if matches!(op, Operator::Return) {
                block.extend(reclaim.iter().cloned());
            }
            if matches!(op, Operator::End) && open_scopes == 0 {
                block.extend(reclaim.iter().cloned());
                block.push(Instruction::Return);
            }
            let ends = ends_basic_block(&op);
            block_ink = block_ink.saturating_add(opcode_ink(&op, |t| {
                self.params.get(t as usize).copied().unwrap_or(0)
            }));
            if matches!(op, Operator::MemoryFill { .. } | Operator::MemoryCopy { .. }) {
                // [.. size] -> ink += size * 100, size left on the stack (dynamic.rs).
                let mut dynamic = vec![
                    Instruction::GlobalSet(self.scratch),
                    Instruction::GlobalGet(self.ink),
                    Instruction::GlobalGet(self.scratch),
                    Instruction::I64ExtendI32U,
                    Instruction::I64Const(MEMORY_BYTE_INK as i64),
                    Instruction::I64Mul,
                    Instruction::I64Add,
                    Instruction::GlobalSet(self.ink),
                    Instruction::GlobalGet(self.scratch),
                ];
                block.append(&mut dynamic);
            }
            block.push(self.instruction(op)?);
            if ends {
                let mut header = Vec::new();
                self.charge(block_ink.saturating_add(BLOCK_HEADER_INK), &mut header);
                for instruction in header.iter().chain(block.iter()) {
                    function.instruction(instruction);
                }
                block.clear();
                block_ink = 0;
            }
        }
        for instruction in &block {
            function.instruction(instruction);
        }
        code.function(&function);
        Ok(())
    }
}

/// `wasm` with Nitro's basic-block meter counting into the exported `i64` global
/// [`INK_COUNTER`] (the opcodes' ink, headers and memory bytes; not the hostios').
pub fn instrument(wasm: &[u8]) -> Result<Vec<u8>, ArtifactError> {
    let (mut params, mut globals, mut imported_globals) = (Vec::new(), 0u32, 0u32);
    let (mut types, mut functions) = (Vec::new(), Vec::new());
    let mut has_globals_and_exports = (false, false);
    for payload in Parser::new(0).parse_all(wasm) {
        match payload? {
            Payload::TypeSection(reader) => {
                for ty in reader.into_iter_err_on_gc_types() {
                    let ty = ty?;
                    params.push(ty.params().len() as u64);
                    types.push(ty);
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    match import?.ty {
                        wasmparser_nitro::TypeRef::Global(_) => imported_globals += 1,
                        wasmparser_nitro::TypeRef::Func(ty) => functions.push(ty),
                        _ => {}
                    }
                }
            }
            Payload::FunctionSection(reader) => {
                for ty in reader {
                    functions.push(ty?);
                }
            }
            Payload::GlobalSection(reader) => {
                globals = reader.count();
                has_globals_and_exports.0 = true;
            }
            Payload::ExportSection(_) => has_globals_and_exports.1 = true,
            _ => {}
        }
    }
    if has_globals_and_exports != (true, true) {
        return Err(ArtifactError::Instrument(
            "the module needs a global section and an export section (rustc always writes both)"
                .into(),
        ));
    }
    let ink = imported_globals + globals;
    let mut meter =
        Meter { params, types, functions, ink, scratch: ink + 1, depth: ink + 2, peak: ink + 3 };
    let mut module = wasm_encoder::Module::new();
    meter
        .parse_core_module(&mut module, Parser::new(0), wasm)
        .map_err(|e| ArtifactError::Instrument(e.to_string()))?;
    Ok(module.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_meter_counts_blocks_and_opcodes_as_nitro_prices_them() {
        // (func (export "f") (param i32) (result i32) local.get 0 i32.const 1 i32.add)
        // One basic block: local.get 75 + i32.const 1 + i32.add 70 + end 1, header 2,450.
        let wasm = wat::parse_str(
            r#"(module (global (mut i32) (i32.const 0)) (memory (export "memory") 1)
               (func (export "f") (param i32) (result i32) local.get 0 i32.const 1 i32.add))"#,
        )
        .unwrap();
        let metered = instrument(&wasm).unwrap();
        wasmparser_nitro::Validator::new().validate_all(&metered).unwrap();
        let text = wasmprinter::print_bytes(&metered).unwrap();
        assert!(text.contains(&format!("i64.const {}", 75 + 1 + 70 + 1 + 2_450)), "{text}");
        assert!(text.contains("(export \"ink_counter\" (global 1))"), "{text}");
    }

    #[test]
    fn hostio_and_memory_prices_match_nitro() {
        assert_eq!(hostio::PTR, 5_040);
        assert_eq!(hostio::TWO_PTRS, 18_480); // STORAGE_LOAD_BASE_INK
        assert_eq!(hostio::CALL, 8_400 + 3 * 5_040 + 59_673);
        assert_eq!(hostio::write(32), 5_040);
        assert_eq!(hostio::read(100), 16_381 + 55 * 68);
        assert_eq!(hostio::keccak(64), 121_800);
        assert_eq!(hostio::keccak(65), 142_800);
        assert_eq!(memory_gas(2, 0, 0), 0);
        // 3 pages from none: 1 page beyond the free 2 (1,000 gas) + exp(3) - exp(0) = 0.
        assert_eq!(memory_gas(3, 0, 0), 1_000);
        assert_eq!(memory_gas(10, 0, 0), 8_000 + 3 - 1);
    }
}
