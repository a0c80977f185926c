//! Hand-assembled modules for tests (here and in the Stylus host).

/// `(module (type (func)) (table 1 funcref) (func (type 0) i32.const 0 call_indirect (type 0)))`
/// with the table index of `call_indirect` written as a padded 5-byte LEB (`80 80 80 80 00`),
/// as rustc's reference-types relocations leave it.
pub fn padded_call_indirect() -> Vec<u8> {
    let body = [0x00, 0x41, 0x00, 0x11, 0x00, 0x80, 0x80, 0x80, 0x80, 0x00, 0x0b];
    let mut wasm = vec![0, 0x61, 0x73, 0x6d, 1, 0, 0, 0];
    wasm.extend([1, 4, 1, 0x60, 0, 0]); // type section
    wasm.extend([3, 2, 1, 0]); // function section
    wasm.extend([4, 4, 1, 0x70, 0, 1]); // table section: funcref, min 1
    wasm.extend([10, body.len() as u8 + 2, 1, body.len() as u8]);
    wasm.extend(body);
    wasm
}

/// `wasm` with the table index of its first `call_indirect` rewritten as the padded 5-byte LEB
/// `80 80 80 80 00` (what rustc leaves before cargo-stylus' text round trip); `None` if it has no
/// `call_indirect`.
pub fn pad_first_call_indirect(wasm: &[u8]) -> Option<Vec<u8>> {
    use wasm_encoder::{Module, RawSection};
    use wasmparser_nitro::{Operator, Parser, Payload};

    let mut bodies: Vec<Vec<u8>> = Vec::new();
    let mut padded = false;
    for payload in Parser::new(0).parse_all(wasm) {
        if let Ok(Payload::CodeSectionEntry(body)) = payload {
            let range = body.range();
            let mut bytes = wasm[range.clone()].to_vec();
            if !padded {
                let ops = body.get_operators_reader().ok()?.into_iter_with_offsets();
                for op in ops {
                    let (op, offset) = op.ok()?;
                    if let Operator::CallIndirect { type_index, .. } = op {
                        let at = offset - range.start + 1 + leb(type_index).len();
                        if bytes[at] != 0 {
                            return None; // already padded
                        }
                        bytes.splice(at..=at, [0x80, 0x80, 0x80, 0x80, 0x00]);
                        padded = true;
                        break;
                    }
                }
            }
            bodies.push(bytes);
        }
    }
    if !padded {
        return None;
    }
    let mut code = leb(bodies.len() as u32);
    for body in &bodies {
        code.extend(leb(body.len() as u32));
        code.extend(body);
    }
    let mut module = Module::new();
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.ok()? {
            Payload::CodeSectionStart { .. } => {
                module.section(&RawSection { id: 10, data: &code });
            }
            Payload::CodeSectionEntry(_) => {}
            other => {
                if let Some((id, range)) = other.as_section() {
                    module.section(&RawSection { id, data: &wasm[range] });
                }
            }
        }
    }
    Some(module.finish())
}

fn leb(mut v: u32) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}
