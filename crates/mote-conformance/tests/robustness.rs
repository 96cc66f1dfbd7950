//! No model bytes make Mote panic: real models and conformance models, mutated (bit flips,
//! byte overwrites, truncation, insertion), go through import, verification, inference and — for
//! those that still import — a run on their original inputs. Every outcome must be `Ok` or an
//! error value. Skipped (with a message) when the shared data is absent.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use mote_conformance::suite::{data_sets, read_values};
use mote_conformance::{node_dir, shared_data};
use mote_interp::Session;
use mote_ir::ValueType;

/// xorshift64*: deterministic, so a failure names a reproducible seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(bytes: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut b = bytes.to_vec();
    match rng.below(4) {
        0 => {
            for _ in 0..1 + rng.below(4) {
                let i = rng.below(b.len());
                b[i] ^= 1 << rng.below(8);
            }
        }
        1 => {
            for _ in 0..1 + rng.below(4) {
                let i = rng.below(b.len());
                b[i] = rng.next() as u8;
            }
        }
        2 => b.truncate(rng.below(b.len())),
        _ => {
            let i = rng.below(b.len());
            let extra: Vec<u8> = (0..1 + rng.below(8)).map(|_| rng.next() as u8).collect();
            b.splice(i..i, extra);
        }
    }
    b
}

/// Import, verify, infer and (if the model still imports) run on the original inputs.
fn exercise(bytes: &[u8], dir: &Path) {
    let Ok(model) = mote_onnx::from_bytes(bytes, Some(dir), &dir.join("model.onnx")) else { return };
    let _ = mote_onnx::from_bytes_lenient(bytes, Some(dir), &dir.join("model.onnx"));
    let mut g = model.graph;
    if mote_ir::verify::verify(&g).is_err() {
        return;
    }
    let _ = mote_interp::infer(&mut g);
    let _ = mote_ir::stats::stats(&g);
    let _ = mote_ir::dump::dump(&g);
    // Mutated loop bounds could legitimately run for very long: run only loop-free graphs.
    let has_loop = std::cell::Cell::new(false);
    g.walk(&mut |sub| has_loop.set(has_loop.get() || sub.nodes.iter().any(|n| n.op.name() == "Loop")));
    if has_loop.get() {
        return;
    }
    let types: Vec<ValueType> = g.runtime_inputs().iter().map(|&i| g.value(i).ty.clone()).collect();
    if let Some(set) = data_sets(dir).first()
        && let Ok(inputs) = read_values(set, "input", &types)
        && let Ok(s) = Session::new(&g)
    {
        let _ = s.run(inputs);
    }
}

#[test]
fn mutated_models_never_panic() {
    let (Some(data), Some(nodes)) = (shared_data(), node_dir()) else {
        eprintln!("SKIPPED robustness: ../shared/data not found (set MOTE_SHARED_DATA to run it)");
        return;
    };
    let mut dirs: Vec<std::path::PathBuf> = std::fs::read_dir(&nodes).unwrap().flatten().map(|e| e.path()).collect();
    dirs.sort();
    // Every 8th conformance model (a spread of ops) and the small real models.
    let mut corpus: Vec<std::path::PathBuf> = dirs.into_iter().step_by(8).collect();
    for m in ["tflm_hello_world_int8", "tflm_micro_speech_int8", "ort_logreg_iris", "tflm_hello_world_float"] {
        corpus.push(data.join("models").join(m));
    }
    const MUTATIONS: u64 = 12;
    std::panic::set_hook(Box::new(|_| {}));
    let mut panics = Vec::new();
    let mut count = 0;
    for dir in &corpus {
        let Ok(bytes) = std::fs::read(dir.join("model.onnx")) else { continue };
        for k in 0..MUTATIONS {
            let seed = 0x9e37_79b9_7f4a_7c15 ^ (k + 1).wrapping_mul(0x1000_0000_01b3);
            let m = mutate(&bytes, &mut Rng(seed));
            count += 1;
            if let Err(p) = catch_unwind(AssertUnwindSafe(|| exercise(&m, dir))) {
                let msg = p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                panics.push(format!("{} mutation {k}: {msg}", dir.display()));
            }
        }
    }
    let _ = std::panic::take_hook();
    eprintln!("robustness: {count} mutated models, {} panic(s)", panics.len());
    assert!(panics.is_empty(), "{}", panics.join("\n"));
}
