//! Random byte flips, word overwrites and truncations of real `.tflite` files give an import
//! error or a graph that passes `mote_ir::verify`, never a panic.
//!
//! Skips with a message when `shared/data` is absent.

use std::panic::{AssertUnwindSafe, catch_unwind};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const INTERESTING: [u32; 8] = [0, 1, 2, 0xFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0x0001_0000];

/// Mutates `bytes` in one of several ways; returns a description.
fn mutate(bytes: &mut Vec<u8>, rng: &mut Rng) -> String {
    let len = bytes.len();
    match rng.below(7) {
        5 | 6 => {
            // A small word (a dim, tensor index, stride, axis, opcode) set to another small value:
            // well-formed flatbuffers that break the model's semantics.
            for _ in 0..64 {
                let i = rng.below(len / 4) * 4;
                let w = u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
                if w < 1024 {
                    let v = [0, 1, 2, 3, 4, 5, w + 1, w.wrapping_sub(1)][rng.below(8)];
                    bytes[i..i + 4].copy_from_slice(&v.to_le_bytes());
                    return format!("small word at {i}: {w} -> {v}");
                }
            }
            "no small word found".into()
        }
        0 => {
            let k = 1 + rng.below(4);
            for _ in 0..k {
                let i = rng.below(len);
                bytes[i] ^= 1 << rng.below(8);
            }
            format!("{k} bit flips")
        }
        1 => {
            let i = rng.below(len / 4) * 4;
            let v = INTERESTING[rng.below(INTERESTING.len())];
            bytes[i..i + 4].copy_from_slice(&v.to_le_bytes());
            format!("word at {i} = {v:#x}")
        }
        2 => {
            // A small delta on a word (an index, offset, dim or count off by a little).
            let i = rng.below(len / 4) * 4;
            let w = u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
            let d = [1u32, 4, 64, u32::MAX][rng.below(4)];
            bytes[i..i + 4].copy_from_slice(&w.wrapping_add(d).to_le_bytes());
            format!("word at {i} += {d:#x}")
        }
        3 => {
            let n = rng.below(len);
            bytes.truncate(n);
            format!("truncated to {n} bytes")
        }
        _ => {
            let i = rng.below(len);
            let v = rng.next() as u8;
            bytes[i] = v;
            format!("byte at {i} = {v}")
        }
    }
}

#[test]
fn mutated_models_never_panic() {
    let Some(dir) = mote_conformance::shared_data().map(|d| d.join("models/tflite")).filter(|d| d.is_dir()) else {
        eprintln!("skipped: shared/data/models/tflite is absent");
        return;
    };
    let files = [
        "hello_world_int8.tflite",
        "hello_world_float.tflite",
        "micro_speech_quantized.tflite",
        "mlperf_tiny/kws_ref_model.tflite",
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut rejected, mut imported) = (0usize, 0usize);
    for file in files {
        let original = std::fs::read(dir.join(file)).expect("read model");
        for round in 0..3000 {
            let mut bytes = original.clone();
            let what = mutate(&mut bytes, &mut rng);
            let result = catch_unwind(AssertUnwindSafe(|| {
                mote_tflite::from_bytes(&bytes).map(|g| mote_ir::verify::verify(&g).is_ok())
            }));
            match result {
                Ok(Ok(true)) => imported += 1,
                Ok(Ok(false)) => panic!("{file} round {round}: the graph imported after {what} does not verify"),
                Ok(Err(e)) => {
                    assert!(!e.to_string().is_empty());
                    rejected += 1;
                }
                Err(_) => panic!("{file} round {round}: import panicked after {what}"),
            }
        }
    }
    eprintln!("mutations: {rejected} rejected with an error, {imported} imported");
    assert!(rejected > 0 && imported > 0, "the mutations should both break and spare files");
}
