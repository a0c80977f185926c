//! Nitro's activation checks, as far as they can be computed without a node.
//!
//! Read from OffchainLabs/nitro at [`crate::NITRO_COMMIT`]:
//! - `crates/prover/src/binary.rs::parse_with_version`: `wasmparser` 0.245 (workspace
//!   `Cargo.toml`; `Cargo.lock` 0.245.1) validating with the feature set of [`nitro_features`];
//!   then only function imports, no unknown sections, consistent import signatures, no export
//!   named like an import, no `stylus*` import or export.
//! - `binary.rs::WasmBinary::parse_user` and `instrument`: the entry point `user_entrypoint` of
//!   type `(i32) -> i32`; a memory, its initial pages within the page limit; at most 1 memory, 128
//!   data and 128 element segments, 1,024 exports, 4,096 functions, 32,768 globals, 348 locals and
//!   65,536 (instrumented) opcodes per function, 513 imports, 4,096 table entries, 4,096 bytes of
//!   element segments, names of at most 512 bytes, no start function.
//! - `crates/prover/src/programs/depth.rs` (`worst_case_depth`) with `config.rs`
//!   (`CompileConfig::version` 1 and 2): a frame of at most 10 × 1,024 words, at most 4,096
//!   values live at once, and no bulk-memory, reference, exception, tail-call, GC, threads or SIMD
//!   instruction; `dynamic.rs` refuses `memory.init`, `data.drop` and the table instructions.
//! - `arbos/programs/params.go`: page limit 128 (`initialPageLimit`), decompressed size at most
//!   128 KiB (`initialMaxWasmSize`); the on-chain code (prefix + brotli) at most 24,576 bytes
//!   (EIP-170; larger programs would need cargo-stylus' fragments, which we do not use).
//! - The host links the module `vm_hooks` only (`console` exists on debug chains only).
//!
//! Stricter than Nitro, ours: no float type, local or instruction anywhere (Nitro validates them
//! but prices every float instruction at `u64::MAX` ink, `programs/meter.rs::pricing_v1`), and
//! every import is a function of `vm_hooks`.

use std::collections::{HashMap, HashSet};

use wasmparser_nitro::{
    BlockType, ExternalKind, FuncType, Imports, Operator, Parser, Payload, TypeRef, ValType,
    Validator, WasmFeatures,
};

use crate::canonical;

/// `initialPageLimit` (params.go): the most pages a program may start with.
pub const PAGE_LIMIT: u64 = 128;
/// `initialMaxWasmSize` (params.go): the most bytes a program may have decompressed.
pub const MAX_WASM_SIZE: usize = 128 * 1024;
/// EIP-170's code-size limit, which the prefixed, compressed program must fit in.
pub const MAX_CODE_SIZE: usize = 24_576;
/// `CompileConfig::version(1 | 2)`: `bounds.max_frame_size`, in words.
pub const MAX_FRAME_SIZE: u32 = 10 * 1024;
/// `CompileConfig::version(1 | 2)`: `bounds.max_frame_contention`.
pub const MAX_FRAME_CONTENTION: u32 = 4096;
/// `MaxStackDepth` since ArbOS 50 (`params.go`, `arbOS50MaxWasmSize`): the stack words a
/// program call may use, summed over its nested function frames ([`frame_words`]).
pub const MAX_STACK_DEPTH: u32 = 22_000;
/// The exported function Nitro calls (`STYLUS_ENTRY_POINT`).
pub const ENTRY_POINT: &str = "user_entrypoint";
/// The only import module a program on a production chain may use.
pub const HOST_MODULE: &str = "vm_hooks";

/// The ArbOS version whose rules are checked: from 60 (`ARBOS_VERSION_STYLUS_NO_MULTI_VALUE`)
/// multi-value is refused; from 32 (`..._CHARGING_FIXES`) the 513-import limit applies.
pub const ARBOS_VERSION: u64 = 60;

/// The `WasmFeatures` Nitro's `parse_with_version` validates with, at [`ARBOS_VERSION`].
pub fn nitro_features() -> WasmFeatures {
    let mut features = WasmFeatures::empty();
    features.set(WasmFeatures::MUTABLE_GLOBAL, true);
    features.set(WasmFeatures::SATURATING_FLOAT_TO_INT, true);
    features.set(WasmFeatures::SIGN_EXTENSION, true);
    features.set(WasmFeatures::REFERENCE_TYPES, false);
    features.set(WasmFeatures::MULTI_VALUE, ARBOS_VERSION < 60);
    features.set(WasmFeatures::BULK_MEMORY, true);
    features.set(WasmFeatures::SIMD, false);
    features.set(WasmFeatures::RELAXED_SIMD, false);
    features.set(WasmFeatures::THREADS, false);
    features.set(WasmFeatures::TAIL_CALL, false);
    features.set(WasmFeatures::FLOATS, true);
    features.set(WasmFeatures::MULTI_MEMORY, false);
    features.set(WasmFeatures::EXCEPTIONS, false);
    features.set(WasmFeatures::MEMORY64, false);
    features.set(WasmFeatures::EXTENDED_CONST, false);
    features.set(WasmFeatures::COMPONENT_MODEL, false);
    features.set(WasmFeatures::FUNCTION_REFERENCES, false);
    features.set(WasmFeatures::MEMORY_CONTROL, false);
    features.set(WasmFeatures::GC, false);
    features.set(WasmFeatures::CM_NESTED_NAMES, false);
    features.set(WasmFeatures::GC_TYPES, true);
    features
}

/// Nitro's validator alone: `Err` carries wasmparser's message (e.g. `zero byte expected` for a
/// padded call_indirect table index, which reference types off does not accept).
pub fn validate(wasm: &[u8]) -> Result<(), String> {
    Validator::new_with_features(nitro_features())
        .validate_all(wasm)
        .map(|_| ())
        .map_err(|e| format!("Nitro's validator (wasmparser 0.245) refuses it: {e}"))
}

/// Every reason Nitro's activation (or our stricter scan) would refuse `wasm`, the bytes to be
/// deployed; empty: accepted.
pub fn check(wasm: &[u8]) -> Result<(), Vec<String>> {
    if let Err(e) = validate(wasm) {
        return Err(vec![e]); // the rest assumes a valid module
    }
    let mut problems = Vec::new();
    if let Err(e) = check_module(wasm, &mut problems) {
        problems.push(format!("unparsable module: {e}"));
    }
    if wasm.len() > MAX_WASM_SIZE {
        problems.push(format!("{} bytes decompressed, above {MAX_WASM_SIZE}", wasm.len()));
    }
    let code = canonical::code_size(wasm);
    if code > MAX_CODE_SIZE {
        problems.push(format!(
            "{code} bytes of code (prefix and brotli), above the {MAX_CODE_SIZE}-byte limit"
        ));
    }
    problems.sort();
    problems.dedup();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

fn float(ty: ValType) -> bool {
    matches!(ty, ValType::F32 | ValType::F64)
}

/// Limits of `parse_user` (binary.rs): `(limit, what)`.
fn over(problems: &mut Vec<String>, count: usize, limit: usize, what: &str) {
    if count > limit {
        problems.push(format!("too many wasm {what}: {count} > {limit}"));
    }
}

fn check_module(
    wasm: &[u8],
    problems: &mut Vec<String>,
) -> Result<(), wasmparser_nitro::BinaryReaderError> {
    let mut types: Vec<FuncType> = Vec::new();
    let mut functions: Vec<u32> = Vec::new(); // type index of every function, imports first
    let mut imports: Vec<(String, String, u32)> = Vec::new();
    let mut exports: HashMap<String, (ExternalKind, u32)> = HashMap::new();
    let (mut memories, mut initial_pages) = (0usize, None);
    let (mut datas, mut elements, mut element_bytes, mut table_entries) = (0, 0, 0usize, 0u64);
    let (mut globals, mut bodies) = (0usize, 0usize);
    let mut body_index = 0usize;
    for payload in Parser::new(0).parse_all(wasm) {
        match payload? {
            Payload::TypeSection(reader) => {
                for ty in reader.into_iter_err_on_gc_types() {
                    let ty = ty?;
                    if ty.params().iter().chain(ty.results()).any(|&t| float(t)) {
                        problems.push(format!("float in function type {ty}"));
                    }
                    types.push(ty);
                }
            }
            Payload::ImportSection(reader) => {
                for group in reader {
                    let Imports::Single(_, import) = group? else {
                        problems.push("unsupported (compact) import encoding".into());
                        continue;
                    };
                    let TypeRef::Func(ty) = import.ty else {
                        problems.push(format!("unsupported import kind {}", import.name));
                        continue;
                    };
                    if import.module != HOST_MODULE {
                        problems.push(format!(
                            "import {}.{} from a module other than {HOST_MODULE}",
                            import.module, import.name
                        ));
                    }
                    functions.push(ty);
                    imports.push((import.module.into(), import.name.into(), ty));
                }
            }
            Payload::FunctionSection(reader) => {
                for ty in reader {
                    functions.push(ty?);
                }
            }
            Payload::TableSection(reader) => {
                for table in reader {
                    table_entries = table_entries.saturating_add(table?.ty.initial);
                }
            }
            Payload::MemorySection(reader) => {
                for memory in reader {
                    let memory = memory?;
                    memories += 1;
                    initial_pages.get_or_insert(memory.initial);
                }
            }
            Payload::GlobalSection(reader) => globals += reader.count() as usize,
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export?;
                    exports.insert(export.name.into(), (export.kind, export.index));
                }
            }
            Payload::StartSection { .. } => {
                problems.push("wasm start functions not allowed".into())
            }
            Payload::ElementSection(reader) => {
                for element in reader {
                    elements += 1;
                    element_bytes += element?.range.len();
                }
            }
            Payload::DataSection(reader) => datas += reader.count() as usize,
            Payload::CodeSectionEntry(body) => {
                bodies += 1;
                let index = imports.len() + body_index;
                body_index += 1;
                let _frame = check_body(&body, index, &types, &functions, problems)?;
            }
            Payload::UnknownSection { id, .. } => {
                problems.push(format!("unsupported unknown section type {id}"))
            }
            _ => {}
        }
    }

    // The entry point and the memory.
    match exports.get(ENTRY_POINT) {
        None => problems.push(format!("missing export with name {ENTRY_POINT}")),
        Some(&(ExternalKind::Func, index)) => {
            let ty = functions.get(index as usize).and_then(|&t| types.get(t as usize));
            let right =
                ty.is_some_and(|t| t.params() == [ValType::I32] && t.results() == [ValType::I32]);
            if !right {
                problems.push(format!("wrong type for {ENTRY_POINT}: expected (i32) -> i32"));
            }
        }
        Some(_) => problems.push(format!("export {ENTRY_POINT} must be a function")),
    }
    match initial_pages {
        None => problems.push("missing memory with export name \"memory\"".into()),
        Some(pages) if pages > PAGE_LIMIT => {
            problems.push(format!("memory exceeds limit: {pages} > {PAGE_LIMIT}"))
        }
        Some(_) => {}
    }
    if !matches!(exports.get("memory"), Some((ExternalKind::Memory, 0))) {
        problems.push("the memory is not exported as \"memory\"".into());
    }

    // Imports and exports (parse_with_version).
    let mut seen: HashMap<(&str, &str), u32> = HashMap::new();
    for (module, name, ty) in &imports {
        if seen.insert((module, name), *ty).is_some_and(|prior| prior != *ty) {
            problems.push(format!("inconsistent imports for {module} {name}"));
        }
    }
    let export_tails: HashSet<&str> =
        exports.keys().filter_map(|name| name.rsplit("__").next()).collect();
    for (_, name, _) in &imports {
        if export_tails.contains(name.as_str()) {
            problems.push(format!("binary exports an import with the same name {name}"));
        }
        if name.starts_with("stylus") {
            problems.push(format!("binary imports reserved symbol {name}"));
        }
    }
    if let Some(name) = export_tails.iter().find(|n| n.starts_with("stylus")) {
        problems.push(format!("binary exports reserved symbol {name}"));
    }
    if let Some(name) = exports.keys().find(|n| n.len() > 512) {
        problems.push(format!("wasm name too long: {} > 512", name.len()));
    }

    // Counts (parse_user).
    over(problems, memories, 1, "memories");
    over(problems, datas, 128, "datas");
    over(problems, elements, 128, "elements");
    over(problems, exports.len(), 1024, "exports");
    over(problems, bodies, 4096, "functions");
    over(problems, globals, 32768, "globals");
    over(problems, imports.len(), 513, "imports");
    over(problems, table_entries as usize, 4096, "table entries");
    over(problems, element_bytes, 4096, "element entries");
    Ok(())
}

/// The stack words a call of this function takes (`depth.rs::worst_case_depth`: the most values
/// live at once, plus its locals, plus 4); `types` and `functions` (type index of every function,
/// imports first) are the module's.
pub fn frame_words(
    body: &wasmparser_nitro::FunctionBody<'_>,
    types: &[FuncType],
    functions: &[u32],
) -> Result<u32, wasmparser_nitro::BinaryReaderError> {
    check_body(body, 0, types, functions, &mut Vec::new())
}

/// One function body: locals, the opcode count after Nitro's instrumentation, the frame bounds of
/// `depth.rs`, the instructions Nitro does not support, and our float scan; returns the frame's
/// size in words.
fn check_body(
    body: &wasmparser_nitro::FunctionBody<'_>,
    index: usize,
    types: &[FuncType],
    functions: &[u32],
    problems: &mut Vec<String>,
) -> Result<u32, wasmparser_nitro::BinaryReaderError> {
    let mut locals = 0u32;
    for local in body.get_locals_reader()? {
        let (count, ty) = local?;
        locals = locals.saturating_add(count);
        if float(ty) {
            problems.push(format!("local of type {ty}"));
        }
    }
    over(problems, locals as usize, 348, "locals");

    let ty_of = |type_index: u32| types.get(type_index as usize);
    let arity = |ty: Option<&FuncType>| {
        ty.map_or((0, 0), |t| (t.params().len() as u32, t.results().len() as u32))
    };
    // The value stack, as depth.rs models it: a scope restores the height it was entered at.
    let (mut stack, mut worst) = (0u32, 0u32);
    let mut scopes: Vec<u32> = vec![0];
    let (mut ops, mut metered_blocks, mut returns, mut dynamic) = (0usize, 0usize, 0usize, 0usize);
    let push = |stack: &mut u32, worst: &mut u32, n: u32| {
        *stack += n;
        *worst = (*worst).max(*stack);
    };
    for op in body.get_operators_reader()? {
        let op = op?;
        ops += 1;
        if crate::ink::ends_basic_block(&op) {
            metered_blocks += 1;
        }
        let name = format!("{op:?}");
        let head = name.split([' ', '{', '(']).next().unwrap_or("").to_string();
        if head.contains("F32") || head.contains("F64") {
            problems.push(format!("float instruction {head}"));
        }
        use Operator as O;
        match op {
            O::Block { blockty } | O::Loop { blockty } | O::If { blockty } => {
                if matches!(op, O::If { .. }) {
                    stack = stack.saturating_sub(1);
                }
                match blockty {
                    BlockType::Empty => {}
                    BlockType::Type(_) => push(&mut stack, &mut worst, 1),
                    BlockType::FuncType(t) => {
                        let (ins, outs) = arity(ty_of(t));
                        push(&mut stack, &mut worst, outs);
                        stack = stack.saturating_sub(ins);
                    }
                }
                scopes.push(stack);
            }
            O::Else => stack = *scopes.last().unwrap_or(&0),
            O::End => stack = scopes.pop().unwrap_or(0),
            O::Call { function_index } => {
                let ty = functions.get(function_index as usize).and_then(|&t| ty_of(t));
                let (ins, outs) = arity(ty);
                push(&mut stack, &mut worst, outs);
                stack = stack.saturating_sub(ins);
            }
            O::CallIndirect { type_index, .. } => {
                let (ins, outs) = arity(ty_of(type_index));
                push(&mut stack, &mut worst, outs);
                stack = stack.saturating_sub(ins + 1);
            }
            // memory.fill / memory.copy become calls of (i32, i32, i32) -> ().
            O::MemoryFill { .. } | O::MemoryCopy { .. } => {
                dynamic += 1;
                stack = stack.saturating_sub(3);
            }
            O::LocalGet { .. }
            | O::GlobalGet { .. }
            | O::MemorySize { .. }
            | O::I32Const { .. }
            | O::I64Const { .. }
            | O::F32Const { .. }
            | O::F64Const { .. } => push(&mut stack, &mut worst, 1),
            O::Select
            | O::I32Store { .. }
            | O::I64Store { .. }
            | O::F32Store { .. }
            | O::F64Store { .. }
            | O::I32Store8 { .. }
            | O::I32Store16 { .. }
            | O::I64Store8 { .. }
            | O::I64Store16 { .. }
            | O::I64Store32 { .. } => stack = stack.saturating_sub(2),
            O::Drop
            | O::BrIf { .. }
            | O::BrTable { .. }
            | O::LocalSet { .. }
            | O::GlobalSet { .. } => stack = stack.saturating_sub(1),
            O::Return => returns += 1,
            O::MemoryInit { .. }
            | O::DataDrop { .. }
            | O::TableInit { .. }
            | O::ElemDrop { .. }
            | O::TableCopy { .. }
            | O::TableFill { .. }
            | O::TableGet { .. }
            | O::TableSet { .. }
            | O::TableGrow { .. }
            | O::TableSize { .. } => problems
                .push(format!("bulk-memory-operations extension not fully supported {head}")),
            _ => match stack_effect(&op) {
                Some(popped) => stack = stack.saturating_sub(popped),
                None => problems.push(format!("extension {head} not supported")),
            },
        }
    }
    if worst > MAX_FRAME_CONTENTION {
        problems.push(format!(
            "too many values on the stack at once in func {index}: {worst} > {MAX_FRAME_CONTENTION}"
        ));
    }
    let frame = worst + locals + 4;
    if frame > MAX_FRAME_SIZE {
        problems.push(format!("frame too large: {frame} > {MAX_FRAME_SIZE}-word limit"));
    }
    // Opcodes after instrumentation: the meter's 12 per basic block, the dynamic meter's 19 per
    // memory.fill/copy, the depth checker's 12 at entry, 4 per return and the return it appends.
    let instrumented = ops + 12 * metered_blocks + 19 * dynamic + 12 + 4 * (returns + 1) + 1;
    over(problems, instrumented, 65536, "opcodes in func body");
    Ok(frame)
}

/// How many values a plain MVP instruction pops net (depth.rs's remaining classes): unary ops,
/// loads, conversions and `local.tee` none; binary ops and comparisons one. `None`: an
/// instruction of an extension Nitro does not support.
fn stack_effect(op: &Operator<'_>) -> Option<u32> {
    let name = format!("{op:?}");
    let head = name.split([' ', '{', '(']).next().unwrap_or("");
    const UNARY: &[&str] = &[
        "Nop",
        "Unreachable",
        "Br",
        "LocalTee",
        "MemoryGrow",
        "I32Eqz",
        "I64Eqz",
        "I32Clz",
        "I32Ctz",
        "I32Popcnt",
        "I64Clz",
        "I64Ctz",
        "I64Popcnt",
        "I32WrapI64",
        "I64ExtendI32S",
        "I64ExtendI32U",
        "I32Extend8S",
        "I32Extend16S",
        "I64Extend8S",
        "I64Extend16S",
        "I64Extend32S",
    ];
    const BINARY_SUFFIXES: &[&str] = &[
        "Eq", "Ne", "LtS", "LtU", "GtS", "GtU", "LeS", "LeU", "GeS", "GeU", "Add", "Sub", "Mul",
        "DivS", "DivU", "RemS", "RemU", "And", "Or", "Xor", "Shl", "ShrS", "ShrU", "Rotl", "Rotr",
        "Lt", "Gt", "Le", "Ge", "Div", "Min", "Max", "Copysign",
    ];
    let scalar = ["I32", "I64", "F32", "F64"].iter().any(|p| head.starts_with(p))
        && !head.contains("x")
        && !head.contains("Atomic");
    if UNARY.contains(&head) || (scalar && head.contains("Load")) {
        return Some(0);
    }
    if scalar {
        let rest = &head[3..];
        if BINARY_SUFFIXES.contains(&rest) {
            return Some(1);
        }
        // Float unary ops and conversions (refused by our float scan anyway).
        return Some(0);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module(text: &str) -> Vec<u8> {
        wat::parse_str(text).unwrap()
    }

    const MINIMAL: &str = r#"(module
        (import "vm_hooks" "read_args" (func (param i32)))
        (memory (export "memory") 1)
        (func (export "user_entrypoint") (param i32) (result i32) local.get 0))"#;

    #[test]
    fn a_minimal_program_passes() {
        assert_eq!(check(&module(MINIMAL)), Ok(()));
    }

    #[test]
    fn nitro_rules_are_enforced() {
        let cases = [
            (
                MINIMAL
                    .replace("(memory (export \"memory\") 1)", "(memory (export \"memory\") 129)"),
                "memory exceeds limit: 129 > 128",
            ),
            (
                MINIMAL.replace("(export \"user_entrypoint\")", ""),
                "missing export with name user_entrypoint",
            ),
            (
                MINIMAL.replace("(result i32) local.get 0", "(result i64) i64.const 0"),
                "wrong type for user_entrypoint",
            ),
            (MINIMAL.replace("\"vm_hooks\"", "\"env\""), "from a module other than vm_hooks"),
            (
                MINIMAL.replace("\"read_args\"", "\"stylus_x\""),
                "binary imports reserved symbol stylus_x",
            ),
            (
                MINIMAL.replace("(memory (export \"memory\") 1)", "(memory 1)"),
                "not exported as \"memory\"",
            ),
            (
                MINIMAL.replace("local.get 0))", "local.get 0) (func $s) (start $s))"),
                "wasm start functions not allowed",
            ),
            (
                MINIMAL.replace(
                    "local.get 0))",
                    "local.get 0) (func (result i32 i32) i32.const 0 i32.const 0))",
                ),
                "Nitro's validator",
            ),
            (
                MINIMAL.replace("local.get 0))", "local.get 0) (func f32.const 0 drop))"),
                "float instruction F32Const",
            ),
        ];
        for (text, expected) in cases {
            let problems = check(&module(&text)).expect_err(expected);
            assert!(problems.iter().any(|p| p.contains(expected)), "{expected}: {problems:?}");
        }
    }

    #[test]
    fn a_padded_call_indirect_is_refused_with_wasmparsers_message() {
        let padded = crate::fixtures::padded_call_indirect();
        let error = validate(&padded).expect_err("reference types are off");
        assert!(error.contains("zero byte expected"), "{error}");
        // With reference types on (rustc's default), the same bytes are valid WASM.
        assert!(Validator::new().validate_all(&padded).is_ok());
    }

    #[test]
    fn a_frame_above_the_limit_is_refused() {
        let locals = "(local ".to_string() + &"i64 ".repeat(10 * 1024) + ")";
        let text = MINIMAL.replace("local.get 0))", &format!("local.get 0) (func {locals}))"));
        let problems = check(&module(&text)).unwrap_err();
        assert!(problems.iter().any(|p| p.contains("frame too large")), "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("too many wasm locals")), "{problems:?}");
    }
}
