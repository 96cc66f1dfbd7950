//! No bindings make `optimize` panic: half the conformance models go through `optimize` with
//! random bindings (input shapes, or inputs bound to zero tensors of random shapes, either of
//! which may contradict the model). Every outcome must be `Ok` or an error.
//! Skipped (with a message) when the shared data is absent.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use mote_conformance::node_dir;
use mote_opt::{Options, optimize};

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

/// `optimize` with random bindings: every input's shape, or every input as zeros of a random
/// shape (rank as declared, or random).
/// Returns whether `optimize` succeeded.
fn random_bindings(dir: &Path, rng: &mut Rng) -> bool {
    let Ok(model) = mote_onnx::load(dir.join("model.onnx")) else { return false };
    let mut g = model.graph;
    if mote_interp::infer(&mut g).is_err() {
        return false;
    }
    let mut opts = Options { verify: true, ..Options::default() };
    let as_consts = rng.below(2) == 0;
    for i in g.runtime_inputs() {
        let ty = g.value(i).ty.as_tensor().cloned().unwrap_or_default();
        let rank = match ty.rank() {
            Some(r) if rng.below(4) != 0 => r,
            _ => rng.below(4),
        };
        // Mostly the declared dims (so optimization goes deep), sometimes another size.
        let declared = ty.shape.clone().unwrap_or_default();
        let shape: Vec<usize> = (0..rank)
            .map(|k| match declared.get(k).and_then(|d| d.known()) {
                Some(d) if rng.below(8) != 0 => d,
                _ => rng.below(4),
            })
            .collect();
        let name = g.value(i).name.clone();
        match ty.dtype {
            Some(d) if as_consts => {
                if let Ok(t) = mote_ir::Tensor::zeros(d, shape) {
                    opts.bindings.constants.insert(name, t);
                }
            }
            _ => {
                opts.bindings.shapes.insert(name, shape);
            }
        }
    }
    optimize(&mut g, &opts).is_ok()
}

#[test]
fn random_bindings_never_panic_the_optimizer() {
    let Some(nodes) = node_dir() else {
        eprintln!("SKIPPED: ../shared/data not found (set MOTE_SHARED_DATA to run it)");
        return;
    };
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&nodes).unwrap().flatten().map(|e| e.path()).collect();
    dirs.sort();
    std::panic::set_hook(Box::new(|_| {}));
    let mut panics = Vec::new();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut ok = 0;
    for dir in dirs.iter().step_by(2) {
        for k in 0..4 {
            let seed = rng.next();
            match catch_unwind(AssertUnwindSafe(|| random_bindings(dir, &mut Rng(seed)))) {
                Ok(done) => ok += usize::from(done),
                Err(_) => panics.push(format!("{} binding {k} (seed {seed:#x})", dir.display())),
            }
        }
    }
    let _ = std::panic::take_hook();
    eprintln!(
        "optimizer robustness: {} models with random bindings, {ok} optimized, {} panic(s)",
        dirs.len().div_ceil(2) * 4,
        panics.len()
    );
    assert!(panics.is_empty(), "{}", panics.join("\n"));
}
