//! Checkpoints: a run stopped after an epoch and resumed from its checkpoint ends with the
//! same weights, bit for bit, as the run never stopped; damaged or foreign checkpoints are
//! refused with a reason.

use mote_ir::{DType, Graph};
use mote_train::TrainError;
use mote_train::arch::{Arch, build};
use mote_train::checkpoint::{Checkpoint, Snapshot};
use mote_train::data::{Augment, Dataset, Rng};
use mote_train::fit::{Config, Epoch, Hooks, Objective, fit};
use mote_train::optim::{Decay, Rule, Schedule};

/// 120 8x8 images of three classes: a bright row, column or diagonal, with noise.
fn data() -> Dataset {
    let mut rng = Rng::new(7);
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for i in 0..120 {
        let class = i % 3;
        let k = rng.below(8);
        for r in 0..8 {
            for c in 0..8 {
                let on = match class {
                    0 => r == k,
                    1 => c == k,
                    _ => r == c,
                };
                x.push(if on { 1.0 } else { 0.0 } + 0.2 * rng.normal());
            }
        }
        y.push(class);
    }
    Dataset::new(x, vec![1, 8, 8], y).expect("dataset")
}

fn config(rule: Rule) -> Config {
    Config {
        epochs: 4,
        batch: 16,
        rule,
        weight_decay: 1e-4,
        schedule: Schedule { base: 3e-3, decay: Decay::Cosine { min: 0.0 }, warmup: 3, total: 0 },
        label_smoothing: 0.05,
        augment: Augment { shift: 1, noise: 0.05, cutout: 2, ..Augment::default() },
        seed: 11,
        masks: Vec::new(),
        train_only: None,
    }
}

fn model(spec: &str, d: &Dataset) -> Graph {
    build(&Arch::parse(spec).expect("spec"), &d.shape, 3, 1.0, 5).expect("build")
}

/// Every f32 constant of `g` (weights and BatchNorm running statistics), as bits.
fn floats(g: &Graph) -> Vec<(String, Vec<u32>)> {
    g.values
        .iter()
        .filter_map(|v| {
            let t = v.init.as_ref().filter(|t| t.dtype() == DType::F32)?;
            Some((v.name.clone(), t.as_slice::<f32>()?.iter().map(|x| x.to_bits()).collect()))
        })
        .collect()
}

/// Trains `spec` with `cfg`, saving a checkpoint after every epoch and stopping (as a kill
/// would) after `stop_after` epochs; returns the last checkpoint's bytes.
fn run_until(spec: &str, d: &Dataset, cfg: &Config, stop_after: usize) -> Vec<u8> {
    let mut g = model(spec, d);
    let mut saved = Vec::new();
    let mut on_epoch = |e: &Epoch, s: &Snapshot<'_>| {
        saved = s.to_bytes()?;
        if e.epoch == stop_after { Err(TrainError::Input("stopped".into())) } else { Ok(()) }
    };
    let r = fit(&mut g, d, None, cfg, Objective::Labels, None, Hooks { on_epoch: Some(&mut on_epoch), progress: None });
    assert!(matches!(r, Err(TrainError::Input(m)) if m == "stopped"));
    saved
}

#[test]
fn a_resumed_run_equals_the_uninterrupted_one() {
    let d = data();
    for (spec, rule) in [
        ("cnn:4,8", Rule::Adam { beta1: 0.9, beta2: 0.999, eps: 1e-8, decoupled: true }),
        ("mlp:16", Rule::Sgd { momentum: 0.9, nesterov: true }),
    ] {
        let cfg = config(rule);
        let mut whole = model(spec, &d);
        let h = fit(&mut whole, &d, None, &cfg, Objective::Labels, None, Hooks::default()).expect("fit");
        assert!(h[3].loss < h[0].loss, "{spec}: did not learn: {h:?}");

        let bytes = run_until(spec, &d, &cfg, 2);
        let ckpt = Checkpoint::from_bytes(&bytes).expect("read back");
        assert_eq!((ckpt.epoch(), ckpt.step()), (2, 2 * 120usize.div_ceil(16)));
        let mut resumed = model(spec, &d);
        assert!(floats(&resumed) != floats(&whole));
        let h2 = fit(&mut resumed, &d, None, &cfg, Objective::Labels, Some(&ckpt), Hooks::default()).expect("resume");
        let differ: Vec<String> =
            floats(&resumed).into_iter().zip(floats(&whole)).filter(|(a, b)| a != b).map(|(a, _)| a.0).collect();
        assert!(differ.is_empty(), "{spec}: resumed weights differ in {differ:?}");
        let losses = |h: &[Epoch]| h.iter().map(|e| e.loss.to_bits()).collect::<Vec<_>>();
        assert_eq!(losses(&h2), losses(&h), "{spec}: the epochs' losses differ");
    }
}

#[test]
fn damaged_or_foreign_checkpoints_are_refused() {
    let d = data();
    let cfg = config(Rule::Adam { beta1: 0.9, beta2: 0.999, eps: 1e-8, decoupled: false });
    let bytes = run_until("cnn:4", &d, &cfg, 1);
    let refused = |b: &[u8]| Checkpoint::from_bytes(b).expect_err("accepted").to_string();

    assert!(refused(&bytes[..bytes.len() - 5]).contains("checksum"));
    let mut flipped = bytes.clone();
    flipped[bytes.len() / 2] ^= 1;
    assert!(refused(&flipped).contains("checksum"));
    assert!(refused(b"PK\x03\x04 not a checkpoint at all").contains("MOTECKPT"));

    let ckpt = Checkpoint::from_bytes(&bytes).expect("read back");
    let resume = |g: &mut Graph, cfg: &Config| {
        fit(g, &d, None, cfg, Objective::Labels, Some(&ckpt), Hooks::default()).expect_err("resumed").to_string()
    };
    let e = resume(&mut model("mlp:16", &d), &cfg);
    assert!(e.contains("not the same model") || e.contains("not in this model"), "{e}");
    let e = resume(&mut model("cnn:6", &d), &cfg);
    assert!(e.contains("has shape"), "{e}");
    let e = resume(&mut model("cnn:4", &d), &Config { batch: 8, ..cfg.clone() });
    assert!(e.contains("batch 16"), "{e}");
    let e = resume(&mut model("cnn:4", &d), &Config { rule: Rule::Sgd { momentum: 0.0, nesterov: false }, ..cfg });
    assert!(e.contains("same optimizer"), "{e}");
}

#[test]
fn train_only_freezes_the_other_parameters() {
    let d = data();
    let mut g = model("cnn:4,8", &d);
    let before = floats(&g);
    let cfg = Config { train_only: Some("fc_".into()), ..config(Rule::Sgd { momentum: 0.9, nesterov: false }) };
    fit(&mut g, &d, None, &cfg, Objective::Labels, None, Hooks::default()).expect("fit");
    for ((name, a), (_, b)) in before.iter().zip(floats(&g)) {
        // Frozen layers keep their BatchNorm running statistics too.
        assert_eq!(*a != b, name.starts_with("fc_"), "`{name}`");
    }
    let cfg = Config { train_only: Some("nothing".into()), ..cfg };
    let e = fit(&mut g, &d, None, &cfg, Objective::Labels, None, Hooks::default()).expect_err("no parameter");
    assert!(e.to_string().contains("no parameter name contains `nothing`"), "{e}");
}
