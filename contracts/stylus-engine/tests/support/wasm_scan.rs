//! WASM checks shared by the size example and the artifact test: brotli size as cargo-stylus
//! compresses, and a scan for what Nitro's Stylus validator rejects.
#![allow(dead_code)]

use std::io::Write;

use wasmparser::{Operator, Parser, Payload, ValType};

/// Brotli-compressed size at quality 11, window 22 (cargo-stylus' deployment compression).
pub fn brotli_size(wasm: &[u8]) -> usize {
    let mut out = Vec::new();
    {
        let mut writer = brotli::CompressorWriter::new(&mut out, 4096, 11, 22);
        writer.write_all(wasm).expect("writing to a Vec cannot fail");
    }
    out.len()
}

fn float(ty: ValType) -> bool {
    matches!(ty, ValType::F32 | ValType::F64)
}

/// Problems found: float types or instructions, reference types, multi-value results, SIMD,
/// threads (atomics or shared memory), or a start function.
pub fn scan(wasm: &[u8]) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = match payload {
            Ok(p) => p,
            Err(e) => return Err(vec![format!("unparsable module: {e}")]),
        };
        match payload {
            Payload::TypeSection(reader) => {
                for ty in reader.into_iter_err_on_gc_types() {
                    let ty = match ty {
                        Ok(t) => t,
                        Err(e) => return Err(vec![format!("type section: {e}")]),
                    };
                    if ty.results().len() > 1 {
                        problems.push(format!("multi-value function type {ty:?}"));
                    }
                    for &t in ty.params().iter().chain(ty.results()) {
                        if float(t) {
                            problems.push(format!("float in function type {ty:?}"));
                        }
                        if matches!(t, ValType::Ref(_)) {
                            problems.push(format!("reference type in function type {ty:?}"));
                        }
                        if matches!(t, ValType::V128) {
                            problems.push(format!("SIMD type in function type {ty:?}"));
                        }
                    }
                }
            }
            Payload::TableSection(reader) => {
                for table in reader {
                    match table {
                        Ok(t) if !t.ty.element_type.is_func_ref() => {
                            problems.push("non-funcref table (reference types)".into())
                        }
                        Ok(_) => {}
                        Err(e) => problems.push(format!("table section: {e}")),
                    }
                }
            }
            Payload::MemorySection(reader) => {
                for memory in reader.into_iter().flatten() {
                    if memory.shared {
                        problems.push("shared memory (threads)".into());
                    }
                    if memory.memory64 {
                        problems.push("64-bit memory".into());
                    }
                }
            }
            Payload::StartSection { .. } => problems.push("start function".into()),
            Payload::CodeSectionEntry(body) => {
                if let Ok(locals) = body.get_locals_reader() {
                    for local in locals.into_iter().flatten() {
                        if float(local.1) || matches!(local.1, ValType::Ref(_) | ValType::V128) {
                            problems.push(format!("local of type {}", local.1));
                        }
                    }
                }
                let reader = match body.get_operators_reader() {
                    Ok(r) => r,
                    Err(e) => return Err(vec![format!("code: {e}")]),
                };
                for op in reader {
                    let op = match op {
                        Ok(op) => op,
                        Err(e) => return Err(vec![format!("code: {e}")]),
                    };
                    if let Some(problem) = bad_operator(&op) {
                        problems.push(problem);
                    }
                }
            }
            _ => {}
        }
    }
    problems.sort();
    problems.dedup();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

fn bad_operator(op: &Operator<'_>) -> Option<String> {
    let name = format!("{op:?}");
    let head = name.split([' ', '{', '(']).next().unwrap_or("").to_string();
    let lower = head.to_ascii_lowercase();
    // Every float operator names f32 or f64 (F64Add, I32TruncF64S, I64ReinterpretF64, ...).
    let float = lower.contains("f32") || lower.contains("f64");
    let reference = lower.starts_with("ref")
        || lower.starts_with("table")
        || matches!(op, Operator::CallIndirect { table_index, .. } if *table_index != 0)
        || matches!(op, Operator::TypedSelect { .. });
    let simd = ["v128", "i8x16", "i16x8", "i32x4", "i64x2"].iter().any(|p| lower.starts_with(p));
    let threads = lower.contains("atomic");
    let multi_value_block = match op {
        Operator::Block { blockty } | Operator::Loop { blockty } | Operator::If { blockty } => {
            matches!(blockty, wasmparser::BlockType::FuncType(_))
        }
        _ => false,
    };
    if float {
        Some(format!("float instruction {head}"))
    } else if reference {
        Some(format!("reference-types instruction {head}"))
    } else if simd {
        Some(format!("SIMD instruction {head}"))
    } else if threads {
        Some(format!("threads instruction {head}"))
    } else if multi_value_block {
        Some(format!("multi-value block type in {head}"))
    } else {
        None
    }
}
