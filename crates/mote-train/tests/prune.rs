//! Pruning: masks hit the asked sparsity per layer and pattern; channel pruning removes exactly
//! the dead channels of a network without changing its outputs, and shrinks its MACs.

use mote_ir::{Tensor, Value};
use mote_train::arch::{Arch, build, macs};
use mote_train::prune::{Pattern, apply, masks, prunable, prune_channels, sparsity};
use mote_train::{Mode, forward};

fn net() -> mote_ir::Graph {
    build(&Arch::parse("cnn:8,16").expect("spec"), &[8, 8], 4, 1.0, 7).expect("build")
}

fn logits(g: &mote_ir::Graph) -> Vec<f32> {
    let x: Vec<f32> = (0..3 * 64).map(|i| ((i * 29 % 31) as f32) / 15.0 - 1.0).collect();
    let x = Tensor::from_vec(vec![3, 8, 8], x).expect("input");
    let tape = forward(g, vec![Value::Tensor(x)], Mode::Eval).expect("forward");
    tape.tensor(g.outputs[0]).expect("logits").to_f32_vec().expect("f32")
}

#[test]
fn masks_reach_the_sparsity_of_each_layer() {
    let mut g = net();
    let m = masks(&g, 0.7, Pattern::Unstructured).expect("masks");
    assert_eq!(m.len(), prunable(&g).len());
    for (id, mask) in &m {
        let zeros = mask.iter().filter(|v| **v == 0.0).count();
        assert_eq!(zeros, (0.7 * mask.len() as f32).round() as usize, "{}", g.value(*id).name);
    }
    apply(&mut g, &m);
    assert!((sparsity(&g) - 0.7).abs() < 0.01, "{}", sparsity(&g));
    // 2:4 keeps the two largest of every four.
    let g = net();
    let m = masks(&g, 0.0, Pattern::NofM { n: 2, m: 4 }).expect("masks");
    for (id, mask) in &m {
        let w = g.value(*id).init.as_ref().expect("w").to_f32_vec().expect("f32");
        let row = w.len() / g.value(*id).init.as_ref().expect("w").shape()[0];
        if !row.is_multiple_of(4) {
            assert!(mask.iter().all(|v| *v == 1.0), "rows of {row} stay dense");
            continue;
        }
        for (wg, mg) in w.chunks(4).zip(mask.chunks(4)) {
            assert_eq!(mg.iter().sum::<f32>(), 2.0);
            let kept_min = wg.iter().zip(mg).filter(|(_, m)| **m == 1.0).map(|(w, _)| w.abs()).fold(f32::MAX, f32::min);
            let dropped_max = wg.iter().zip(mg).filter(|(_, m)| **m == 0.0).map(|(w, _)| w.abs()).fold(0.0, f32::max);
            assert!(kept_min >= dropped_max);
        }
    }
    // 1x4 blocks: whole blocks go, the smallest norms first, 70% of each layer's blocks.
    let m = masks(&g, 0.7, Pattern::Blocks { size: 4 }).expect("masks");
    for (id, mask) in &m {
        let t = g.value(*id).init.as_ref().expect("w");
        let (w, row) = (t.to_f32_vec().expect("f32"), t.len() / t.shape()[0]);
        let blocks: Vec<(f32, bool)> = (0..w.len() / row)
            .flat_map(|r| (0..row).step_by(4).map(move |j| (r * row + j, 4.min(row - j))))
            .map(|(at, len)| {
                let kept = mask[at..at + len].iter().all(|v| *v == 1.0);
                assert!(kept || mask[at..at + len].iter().all(|v| *v == 0.0), "a block is cut whole");
                (w[at..at + len].iter().map(|v| v * v).sum(), kept)
            })
            .collect();
        let dropped = blocks.iter().filter(|b| !b.1).count();
        assert_eq!(dropped, (0.7 * blocks.len() as f32).round() as usize, "{}", g.value(*id).name);
        let kept_min = blocks.iter().filter(|b| b.1).map(|b| b.0).fold(f32::MAX, f32::min);
        assert!(blocks.iter().filter(|b| !b.1).all(|b| b.0 <= kept_min));
    }
    assert!(masks(&g, 0.5, Pattern::Blocks { size: 0 }).is_err());
    assert!(masks(&g, 1.5, Pattern::Unstructured).is_err());
    assert!(masks(&g, 0.5, Pattern::NofM { n: 5, m: 4 }).is_err());
}

#[test]
fn channel_pruning_removes_dead_channels_exactly() {
    let mut g = net();
    // Kill half the channels of both convs: zero filters and a negative BatchNorm bias, so
    // after ReLU they are 0 and contribute nothing downstream.
    let convs: Vec<usize> = (0..g.nodes.len()).filter(|&i| g.nodes[i].op.name() == "Conv").collect();
    for &ci in &convs {
        let w = g.nodes[ci].inputs[1].expect("w");
        let y = g.nodes[ci].outputs[0].expect("y");
        let bn = (0..g.nodes.len()).find(|&i| g.nodes[i].inputs.first() == Some(&Some(y))).expect("bn");
        let beta = g.nodes[bn].inputs[2].expect("bn bias");
        let wt = g.values[w.index()].init.as_mut().expect("w");
        let c = wt.shape()[0];
        let per = wt.len() / c;
        let wd = wt.typed_mut::<f32>().expect("f32");
        for k in (0..c).filter(|k| k % 2 == 1) {
            wd[k * per..(k + 1) * per].iter_mut().for_each(|v| *v = 0.0);
        }
        let bd = g.values[beta.index()].init.as_mut().expect("beta").typed_mut::<f32>().expect("f32");
        (0..c).filter(|k| k % 2 == 1).for_each(|k| bd[k] = -1.0);
    }
    let before = (logits(&g), macs(&g));
    let r = prune_channels(&mut g, 0.5).expect("prune");
    assert_eq!(r.pruned.iter().map(|(_, a, b)| (*a, *b)).collect::<Vec<_>>(), [(8, 4), (16, 8)], "{r:?}");
    mote_ir::verify::verify(&g).expect("verify");
    let after = (logits(&g), macs(&g));
    for (a, b) in before.0.iter().zip(&after.0) {
        assert!((a - b).abs() < 1e-5, "outputs changed: {:?} vs {:?}", before.0, after.0);
    }
    assert!(after.1 * 3 < before.1, "MACs {} -> {}", before.1, after.1);
}

#[test]
fn residual_and_depthwise_networks_prune_what_they_can() {
    let mut g = build(&Arch::parse("resnet8:8").expect("spec"), &[3, 8, 8], 4, 1.0, 1).expect("build");
    let r = prune_channels(&mut g, 0.5).expect("prune");
    assert!(!r.pruned.is_empty() && !r.kept.is_empty(), "{r:?}");
    assert_eq!(logits_of(&g).len(), 3 * 4);
    let mut g = build(&Arch::parse("mobilenetv2:0.35").expect("spec"), &[8, 8], 4, 1.0, 1).expect("build");
    let before = macs(&g);
    let r = prune_channels(&mut g, 0.5).expect("prune");
    assert!(!r.pruned.is_empty(), "{r:?}");
    assert!(macs(&g) < before);
    assert_eq!(logits_of(&g).len(), 3 * 4);
}

fn logits_of(g: &mote_ir::Graph) -> Vec<f32> {
    let shape = match &g.value(g.inputs[0]).ty {
        mote_ir::ValueType::Tensor(t) => t.shape.clone().expect("shape"),
        _ => panic!("input type"),
    };
    let mut dims: Vec<usize> = shape.iter().map(|d| d.known().unwrap_or(3)).collect();
    dims[0] = 3;
    let n: usize = dims.iter().product();
    let x = Tensor::from_vec(dims, (0..n).map(|i| ((i * 13 % 7) as f32) / 3.0 - 1.0).collect::<Vec<f32>>()).expect("x");
    let tape = forward(g, vec![Value::Tensor(x)], Mode::Eval).expect("forward");
    tape.tensor(g.outputs[0]).expect("logits").to_f32_vec().expect("f32")
}
