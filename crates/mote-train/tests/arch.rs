//! Every architecture builds for its kind of input, runs forward and backward, and every
//! parameter receives a gradient; bad specs are clear errors.

use mote_ir::{Tensor, Value};
use mote_train::arch::{Arch, build};
use mote_train::{Mode, backward, forward, params};

#[test]
fn every_architecture_trains_end_to_end() {
    let cases: [(&str, &[usize]); 10] = [
        ("mlp:16,8", &[8, 8]),
        ("cnn:4,8", &[8, 8]),
        ("cnn:4", &[3, 6, 5]),
        ("dscnn:8x2", &[1, 49, 10]),
        ("resnet8:4", &[3, 12, 12]),
        ("mobilenetv2:0.25", &[3, 16, 16]),
        ("mobilenetv2:0.35", &[8, 8]),
        ("lstm:6", &[7, 4]),
        ("gru:5", &[1, 9, 3]),
        ("lstm:4", &[1, 8, 8]),
    ];
    for (spec, shape) in cases {
        let arch = Arch::parse(spec).expect("spec");
        let g = build(&arch, shape, 5, 0.5, 1).unwrap_or_else(|e| panic!("{spec}: {e}"));
        mote_ir::verify::verify(&g).unwrap_or_else(|e| panic!("{spec}: verify: {e}"));
        let n: usize = 2 * shape.iter().product::<usize>();
        let mut full = vec![2];
        full.extend(shape);
        let x = Tensor::from_vec(full, (0..n).map(|i| ((i * 37 % 17) as f32) / 8.0 - 1.0).collect::<Vec<f32>>())
            .expect("input");
        let tape =
            forward(&g, vec![Value::Tensor(x)], Mode::Train { seed: 2 }).unwrap_or_else(|e| panic!("{spec}: {e}"));
        let y = tape.tensor(g.outputs[0]).expect("logits");
        assert_eq!(y.shape(), &[2, 5], "{spec}");
        let grads = backward(&g, &tape, vec![(g.outputs[0], vec![0.1; 10])]).unwrap_or_else(|e| panic!("{spec}: {e}"));
        for p in params(&g) {
            let gp =
                grads[p.index()].as_ref().unwrap_or_else(|| panic!("{spec}: `{}` got no gradient", g.value(p).name));
            assert!(gp.iter().all(|v| v.is_finite()), "{spec}: `{}`", g.value(p).name);
        }
    }
}

#[test]
fn bad_specs_are_clear_errors() {
    for spec in ["transformer:4", "cnn:0", "mlp:a", "mobilenetv2:-1", "dscnn:8xq"] {
        let e = Arch::parse(spec).expect_err(spec);
        assert!(e.contains(spec) || e.contains("out of range"), "{spec}: {e}");
    }
    let e = build(&Arch::parse("cnn:4").expect("spec"), &[10], 3, 1.0, 0).expect_err("1-D input for a CNN");
    assert!(e.contains("needs [H, W] or [C, H, W]"), "{e}");
    let e = build(&Arch::parse("lstm:4").expect("spec"), &[3, 4, 5], 3, 1.0, 0).expect_err("3-D sample for an LSTM");
    assert!(e.contains("needs [T, F] samples"), "{e}");
    let e = build(&Arch::parse("mlp:4").expect("spec"), &[10], 1, 1.0, 0).expect_err("one class");
    assert!(e.contains("at least 2"), "{e}");
}

#[test]
fn toml_specs_match_the_short_form() {
    let cases = [
        ("kind = \"cnn\"\nchannels = [16, 32]", "cnn:16,32"),
        ("kind = \"mlp\"\nhidden = [64, 32]", "mlp:64,32"),
        ("kind = \"dscnn\"\nchannels = 32\nblocks = 2", "dscnn:32x2"),
        ("kind = \"resnet8\"\nchannels = 8", "resnet8:8"),
        ("kind = \"mobilenetv2\"\nwidth = 0.5", "mobilenetv2:0.5"),
        ("kind = \"gru\"\nhidden = [24]", "gru:24"),
    ];
    for (toml, short) in cases {
        assert_eq!(Arch::from_toml(toml), Arch::parse(short), "{toml}");
    }
    assert!(Arch::from_toml("kind = \"cnn\"\nchanels = [4]").unwrap_err().contains("chanels"));
    assert!(Arch::from_toml("kind = \"rnn\"").unwrap_err().contains("unknown architecture"));
}
