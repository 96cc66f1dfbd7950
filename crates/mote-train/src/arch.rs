//! Architecture builders: small MLPs and CNNs, DS-CNN (keyword spotting), ResNet-8 and
//! MobileNetV2 inverted residuals, sized by width and depth. Each builds an IR graph with one
//! input `input` `[N, sample shape]` and one output `logits` `[N, classes]`, weights drawn
//! He-normal from a seed, BatchNormalization at identity.

use mote_ir::ops::elementwise::{Binary, ElementwiseOp, Unary};
use mote_ir::ops::nn::{AutoPad, ConvAttrs, GlobalPool, NnOp, PoolAttrs, PoolKind, Window};
use mote_ir::ops::shape::ShapeOp;
use mote_ir::{DType, Dim, Graph, Op, Tensor, TensorType, ValueId, ValueType};

use crate::data::Rng;

/// An architecture and its size.
#[derive(Clone, Debug, PartialEq)]
pub enum Arch {
    /// Dense layers of these widths (ReLU), then the classifier.
    Mlp { hidden: Vec<usize> },
    /// Per stage: 3x3 conv, BatchNorm, ReLU, 2x2 max pool; then flatten and the classifier.
    Cnn { channels: Vec<usize> },
    /// DS-CNN: a strided stem conv, `blocks` depthwise-separable blocks of `channels`, global
    /// average pool, classifier.
    DsCnn { channels: usize, blocks: usize },
    /// ResNet-8: stem and three residual stages of `channels`, 2x and 4x.
    ResNet8 { channels: usize },
    /// MobileNetV2 inverted residuals at width multiplier `width`.
    MobileNetV2 { width: f32 },
    /// A recurrent classifier over `[T, F]` samples (T steps of F features, e.g. image rows
    /// or audio frames): one LSTM (`gru`: GRU) layer of `hidden`, its last state, the classifier.
    Recurrent { hidden: usize, gru: bool },
}

impl Arch {
    /// Parses `mlp:64,32`, `cnn:16,32`, `dscnn:64x4`, `resnet8:16`, `mobilenetv2:0.5`,
    /// `lstm:64`, `gru:64`.
    pub fn parse(spec: &str) -> Result<Arch, String> {
        let (kind, arg) = spec.split_once(':').unwrap_or((spec, ""));
        let list = |s: &str| -> Result<Vec<usize>, String> {
            s.split(',').filter(|t| !t.is_empty()).map(|t| t.trim().parse().map_err(|_| bad(spec))).collect()
        };
        let arch = match kind.trim().to_ascii_lowercase().as_str() {
            "mlp" => Arch::Mlp { hidden: list(arg)? },
            "cnn" => Arch::Cnn { channels: if arg.is_empty() { vec![16, 32] } else { list(arg)? } },
            "dscnn" | "ds-cnn" => {
                let (c, b) = arg.split_once('x').unwrap_or(if arg.is_empty() { ("64", "4") } else { (arg, "4") });
                Arch::DsCnn { channels: c.parse().map_err(|_| bad(spec))?, blocks: b.parse().map_err(|_| bad(spec))? }
            }
            "resnet8" => {
                Arch::ResNet8 { channels: if arg.is_empty() { 16 } else { arg.parse().map_err(|_| bad(spec))? } }
            }
            "mobilenetv2" => {
                Arch::MobileNetV2 { width: if arg.is_empty() { 1.0 } else { arg.parse().map_err(|_| bad(spec))? } }
            }
            k @ ("lstm" | "gru") => Arch::Recurrent {
                hidden: if arg.is_empty() { 64 } else { arg.parse().map_err(|_| bad(spec))? },
                gru: k == "gru",
            },
            _ => return Err(bad(spec)),
        };
        arch.check()?;
        Ok(arch)
    }

    /// Reads a TOML spec: `kind` (mlp, cnn, dscnn, resnet8, mobilenetv2, lstm, gru) and its
    /// sizes: `hidden = [64, 32]` (mlp; lstm and gru: `hidden = [64]`), `channels = [16, 32]`
    /// (cnn) or `channels = 64` (dscnn, resnet8), `blocks = 4` (dscnn), `width = 0.5`
    /// (mobilenetv2).
    pub fn from_toml(text: &str) -> Result<Arch, String> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Spec {
            kind: String,
            hidden: Option<Vec<usize>>,
            channels: Option<toml::Value>,
            blocks: Option<usize>,
            width: Option<f32>,
        }
        let s: Spec = toml::from_str(text).map_err(|e| format!("architecture TOML: {e}"))?;
        let list = |v: &Option<toml::Value>| -> Result<Vec<usize>, String> {
            match v {
                None => Ok(Vec::new()),
                Some(toml::Value::Integer(i)) => {
                    Ok(vec![usize::try_from(*i).map_err(|_| "channels must be positive")?])
                }
                Some(toml::Value::Array(a)) => a
                    .iter()
                    .map(|x| {
                        x.as_integer().and_then(|i| usize::try_from(i).ok()).ok_or("channels must be positive integers")
                    })
                    .collect::<Result<_, _>>()
                    .map_err(str::to_string),
                Some(other) => Err(format!("channels = {other:?}: expected a number or a list")),
            }
        };
        let ch = list(&s.channels)?;
        let one = |d: usize| ch.first().copied().unwrap_or(d);
        let arch = match s.kind.to_ascii_lowercase().as_str() {
            "mlp" => Arch::Mlp { hidden: s.hidden.unwrap_or_default() },
            "cnn" => Arch::Cnn { channels: if ch.is_empty() { vec![16, 32] } else { ch.clone() } },
            "dscnn" | "ds-cnn" => Arch::DsCnn { channels: one(64), blocks: s.blocks.unwrap_or(4) },
            "resnet8" => Arch::ResNet8 { channels: one(16) },
            "mobilenetv2" => Arch::MobileNetV2 { width: s.width.unwrap_or(1.0) },
            k @ ("lstm" | "gru") => Arch::Recurrent {
                hidden: s.hidden.as_ref().and_then(|h| h.first().copied()).unwrap_or(64),
                gru: k == "gru",
            },
            other => return Err(bad(other)),
        };
        arch.check()?;
        Ok(arch)
    }

    fn check(&self) -> Result<(), String> {
        let ok = match self {
            Arch::Mlp { hidden } => hidden.iter().all(|&h| (1..=1 << 16).contains(&h)),
            Arch::Cnn { channels } => !channels.is_empty() && channels.iter().all(|&c| (1..=4096).contains(&c)),
            Arch::DsCnn { channels, blocks } => (1..=4096).contains(channels) && *blocks <= 64,
            Arch::ResNet8 { channels } => (1..=1024).contains(channels),
            Arch::MobileNetV2 { width } => *width > 0.0 && *width <= 4.0,
            Arch::Recurrent { hidden, .. } => (1..=4096).contains(hidden),
        };
        if ok { Ok(()) } else { Err(format!("{self:?}: sizes out of range")) }
    }
}

fn bad(spec: &str) -> String {
    format!(
        "unknown architecture `{spec}`: use mlp:64,32 | cnn:16,32 | dscnn:64x4 | resnet8:16 | mobilenetv2:0.5 \
         | lstm:64 | gru:64 (kind, then sizes)"
    )
}

/// A graph under construction with the shape `[c, h, w]` of its current value.
struct Net {
    g: Graph,
    rng: Rng,
    n: usize,
}

impl Net {
    fn name(&mut self, base: &str) -> String {
        self.n += 1;
        format!("{base}{}", self.n)
    }

    fn node(&mut self, base: &str, op: impl Into<Op>, ins: Vec<Option<ValueId>>) -> ValueId {
        let name = self.name(base);
        let y = self.g.add_value(name.clone(), ValueType::Unknown);
        self.g.add_node(name, op.into(), ins, vec![Some(y)]);
        y
    }

    fn constant(&mut self, base: &str, shape: Vec<usize>, v: Vec<f32>) -> ValueId {
        let name = self.name(base);
        self.g.add_const(name, Tensor::from_vec(shape, v).expect("builder shapes match"))
    }

    fn he(&mut self, base: &str, shape: Vec<usize>, fan_in: usize) -> ValueId {
        let sd = (2.0 / fan_in.max(1) as f32).sqrt();
        let n: usize = shape.iter().product();
        let v = (0..n).map(|_| sd * self.rng.normal()).collect();
        self.constant(base, shape, v)
    }

    /// Conv (no bias) + BatchNorm, then ReLU (`act` 1), ReLU6 (`act` 6) or nothing (0).
    fn conv_bn(
        &mut self,
        x: ValueId,
        cin: usize,
        cout: usize,
        k: [usize; 2],
        stride: usize,
        group: usize,
        act: u8,
    ) -> ValueId {
        let w = self.he("w", vec![cout, cin / group, k[0], k[1]], cin / group * k[0] * k[1]);
        let window = Window {
            kernel_shape: Some(k.to_vec()),
            strides: vec![stride, stride],
            auto_pad: AutoPad::SameUpper,
            ..Window::default()
        };
        let y = self.node("conv", NnOp::Conv(ConvAttrs { window, group }), vec![Some(x), Some(w), None]);
        let scale = self.constant("bn_scale", vec![cout], vec![1.0; cout]);
        let bias = self.constant("bn_bias", vec![cout], vec![0.0; cout]);
        let mean = self.constant("bn_mean", vec![cout], vec![0.0; cout]);
        let var = self.constant("bn_var", vec![cout], vec![1.0; cout]);
        let bn = NnOp::BatchNorm { epsilon: 1e-5, momentum: 0.9, training: false };
        let y = self.node("bn", bn, vec![Some(y), Some(scale), Some(bias), Some(mean), Some(var)]);
        self.act(y, act)
    }

    fn act(&mut self, x: ValueId, act: u8) -> ValueId {
        match act {
            1 => self.node("relu", ElementwiseOp::Unary(Unary::Relu), vec![Some(x)]),
            6 => {
                let (lo, hi) = (self.name("zero"), self.name("six"));
                let lo = self.g.add_const(lo, Tensor::scalar(0.0f32));
                let hi = self.g.add_const(hi, Tensor::scalar(6.0f32));
                self.node("relu6", ElementwiseOp::Clip, vec![Some(x), Some(lo), Some(hi)])
            }
            _ => x,
        }
    }

    fn fc(&mut self, x: ValueId, fin: usize, fout: usize, relu: bool) -> ValueId {
        // He for ReLU layers; LeCun (variance 1 / fan_in) for the linear classifier.
        let w = self.he("fc_w", vec![fout, fin], if relu { fin } else { fin * 2 });
        let b = self.constant("fc_b", vec![fout], vec![0.0; fout]);
        let gemm = NnOp::Gemm { alpha: 1.0, beta: 1.0, trans_a: false, trans_b: true };
        let y = self.node("fc", gemm, vec![Some(x), Some(w), Some(b)]);
        if relu { self.act(y, 1) } else { y }
    }

    fn pool_flatten_fc(&mut self, x: ValueId, c: usize, classes: usize) -> ValueId {
        let p = self.node("gap", NnOp::GlobalPool(GlobalPool::Average), vec![Some(x)]);
        let f = self.node("flatten", ShapeOp::Flatten { axis: 1 }, vec![Some(p)]);
        self.fc(f, c, classes, false)
    }

    fn add(&mut self, a: ValueId, b: ValueId) -> ValueId {
        self.node("add", ElementwiseOp::Binary(Binary::Add), vec![Some(a), Some(b)])
    }
}

/// Rounds `v` to a multiple of 8, not below 90% of `v` (MobileNet's channel rule).
fn divisible(v: f32) -> usize {
    let r = ((v + 4.0) as usize / 8 * 8).max(8);
    if (r as f32) < 0.9 * v { r + 8 } else { r }
}

/// Builds `arch` for samples of `shape` (`[features]`, `[H, W]` or `[C, H, W]`) and `classes`
/// outputs. `input_scale` (when not 1) multiplies the input first, so the model takes raw data.
pub fn build(arch: &Arch, shape: &[usize], classes: usize, input_scale: f32, seed: u64) -> Result<Graph, String> {
    arch.check()?;
    if classes < 2 {
        return Err(format!("{classes} class(es): a classifier needs at least 2"));
    }
    let mut net = Net { g: Graph::new("mote-train"), rng: Rng::new(seed), n: 0 };
    let mut dims = vec![Dim::Sym("N".into())];
    dims.extend(shape.iter().map(|&d| Dim::Known(d)));
    let input = net.g.add_value("input", ValueType::Tensor(TensorType::new(DType::F32, dims)));
    net.g.inputs.push(input);
    let mut x = input;
    if input_scale != 1.0 {
        let s = net.g.add_const("input_scale", Tensor::scalar(input_scale));
        x = net.node("scale", ElementwiseOp::Binary(Binary::Mul), vec![Some(x), Some(s)]);
    }
    let features: usize = shape.iter().product();
    let logits = if let Arch::Recurrent { hidden, gru } = arch {
        recurrent(&mut net, x, shape, *hidden, *gru, classes)?
    } else if let Arch::Mlp { hidden } = arch {
        let mut x = net.node("flatten", ShapeOp::Flatten { axis: 1 }, vec![Some(x)]);
        let mut fin = features;
        for &h in hidden {
            x = net.fc(x, fin, h, true);
            fin = h;
        }
        net.fc(x, fin, classes, false)
    } else {
        let (mut c, mut h, mut w) = match shape {
            [h, w] => (1, *h, *w),
            [c, h, w] => (*c, *h, *w),
            _ => return Err(format!("{arch:?} needs [H, W] or [C, H, W] samples, got {shape:?}")),
        };
        if shape.len() == 2 {
            let s =
                net.g.add_const("chw", Tensor::from_vec(vec![4], vec![0i64, 1, h as i64, w as i64]).expect("shape"));
            x = net.node("to_chw", ShapeOp::Reshape { allowzero: false }, vec![Some(x), Some(s)]);
        }
        conv_body(&mut net, arch, x, &mut c, &mut h, &mut w, classes)?
    };
    let out = net.g.value_mut(logits);
    out.name = "logits".into();
    net.g.outputs.push(logits);
    Ok(net.g)
}

fn conv_body(
    net: &mut Net,
    arch: &Arch,
    mut x: ValueId,
    c: &mut usize,
    h: &mut usize,
    w: &mut usize,
    classes: usize,
) -> Result<ValueId, String> {
    let stride = |h: &mut usize, w: &mut usize, s: usize| {
        *h = h.div_ceil(s);
        *w = w.div_ceil(s);
    };
    match arch {
        Arch::Cnn { channels } => {
            for &co in channels {
                x = net.conv_bn(x, *c, co, [3, 3], 1, 1, 1);
                *c = co;
                if *h >= 2 && *w >= 2 {
                    let window = Window { kernel_shape: Some(vec![2, 2]), strides: vec![2, 2], ..Window::default() };
                    let pool = PoolAttrs { kind: PoolKind::Max { col_major: false }, window };
                    x = net.node("pool", NnOp::Pool(pool), vec![Some(x)]);
                    (*h, *w) = (*h / 2, *w / 2);
                }
            }
            let f = net.node("flatten", ShapeOp::Flatten { axis: 1 }, vec![Some(x)]);
            Ok(net.fc(f, *c * *h * *w, classes, false))
        }
        Arch::DsCnn { channels, blocks } => {
            // The stem: DS-CNN's 10x4 stride-2 kernel on spectrogram-like inputs, 3x3 on small images.
            let k = if *h >= 20 && *w >= 8 { [10, 4] } else { [3, 3] };
            x = net.conv_bn(x, *c, *channels, k, 2, 1, 1);
            stride(h, w, 2);
            for _ in 0..*blocks {
                x = net.conv_bn(x, *channels, *channels, [3, 3], 1, *channels, 1);
                x = net.conv_bn(x, *channels, *channels, [1, 1], 1, 1, 1);
            }
            Ok(net.pool_flatten_fc(x, *channels, classes))
        }
        Arch::ResNet8 { channels } => {
            x = net.conv_bn(x, *c, *channels, [3, 3], 1, 1, 1);
            let mut cin = *channels;
            for (k, mult) in [1usize, 2, 4].into_iter().enumerate() {
                let co = channels * mult;
                let s = if k > 0 && *h >= 2 { 2 } else { 1 };
                let y = net.conv_bn(x, cin, co, [3, 3], s, 1, 1);
                let y = net.conv_bn(y, co, co, [3, 3], 1, 1, 0);
                let short = if s != 1 || cin != co { net.conv_bn(x, cin, co, [1, 1], s, 1, 0) } else { x };
                let sum = net.add(y, short);
                x = net.act(sum, 1);
                stride(h, w, s);
                cin = co;
            }
            Ok(net.pool_flatten_fc(x, cin, classes))
        }
        Arch::MobileNetV2 { width } => {
            let stem = divisible(32.0 * width);
            x = net.conv_bn(x, *c, stem, [3, 3], if *h >= 16 { 2 } else { 1 }, 1, 6);
            if *h >= 16 {
                stride(h, w, 2);
            }
            let mut cin = stem;
            // (expansion, channels, repeats, stride): the paper's table, first five rows.
            for (t, co, n, s) in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1)] {
                let co = divisible(co as f32 * width);
                for i in 0..n {
                    let s = if i == 0 && *h >= 2 { s } else { 1 };
                    let hidden = cin * t;
                    let mut y = x;
                    if t != 1 {
                        y = net.conv_bn(y, cin, hidden, [1, 1], 1, 1, 6);
                    }
                    y = net.conv_bn(y, hidden, hidden, [3, 3], s, hidden, 6);
                    y = net.conv_bn(y, hidden, co, [1, 1], 1, 1, 0);
                    x = if s == 1 && cin == co { net.add(x, y) } else { y };
                    stride(h, w, s);
                    cin = co;
                }
            }
            let last = divisible(1280.0 * width.min(1.0)).min(4 * cin).max(cin);
            x = net.conv_bn(x, cin, last, [1, 1], 1, 1, 6);
            Ok(net.pool_flatten_fc(x, last, classes))
        }
        Arch::Mlp { .. } | Arch::Recurrent { .. } => Err(format!("{arch:?} has no convolutional body")),
    }
}

/// `[N, T, F]` (or `[N, 1, T, F]`) -> time-major -> LSTM/GRU -> last hidden state -> classifier.
fn recurrent(
    net: &mut Net,
    x: ValueId,
    shape: &[usize],
    hidden: usize,
    gru: bool,
    classes: usize,
) -> Result<ValueId, String> {
    let (t, f) = match shape {
        [t, f] | [1, t, f] => (*t, *f),
        _ => return Err(format!("a recurrent model needs [T, F] samples (steps x features), got {shape:?}")),
    };
    let mut x = x;
    if shape.len() == 3 {
        let s = net.g.add_const("ntf", Tensor::from_vec(vec![3], vec![-1i64, t as i64, f as i64]).expect("shape"));
        x = net.node("to_ntf", ShapeOp::Reshape { allowzero: false }, vec![Some(x), Some(s)]);
    }
    // Time-major (ONNX layout 0, which every runtime supports).
    let x = net.node("to_tnf", ShapeOp::Transpose { perm: Some(vec![1, 0, 2]) }, vec![Some(x)]);
    let gates = if gru { 3 } else { 4 };
    let w = net.he("rnn_w", vec![1, gates * hidden, f], 2 * f);
    let r = net.he("rnn_r", vec![1, gates * hidden, hidden], 2 * hidden);
    // Biases 0, but 1 on LSTM's forget gate (gate order i, o, f, c) so it remembers at first.
    let mut b = vec![0.0; 2 * gates * hidden];
    if !gru {
        b[2 * hidden..3 * hidden].fill(1.0);
    }
    let b = net.constant("rnn_b", vec![1, 2 * gates * hidden], b);
    use mote_ir::ops::rnn::{Activation, Direction, RnnAttrs, RnnOp};
    let acts = if gru {
        vec![Activation::Sigmoid, Activation::Tanh]
    } else {
        vec![Activation::Sigmoid, Activation::Tanh, Activation::Tanh]
    };
    let attrs = RnnAttrs {
        hidden_size: hidden,
        direction: Direction::Forward,
        batch_first: false,
        activations: acts,
        clip: None,
    };
    let op =
        if gru { RnnOp::Gru { attrs, linear_before_reset: true } } else { RnnOp::Lstm { attrs, input_forget: false } };
    let name = net.name(if gru { "gru" } else { "lstm" });
    let y_h = net.g.add_value(format!("{name}_h"), ValueType::Unknown);
    net.g.add_node(name, Op::Rnn(op), vec![Some(x), Some(w), Some(r), Some(b)], vec![None, Some(y_h)]);
    let s = net.g.add_const("nh", Tensor::from_vec(vec![2], vec![-1i64, hidden as i64]).expect("shape"));
    let last = net.node("last", ShapeOp::Reshape { allowzero: false }, vec![Some(y_h), Some(s)]);
    Ok(net.fc(last, hidden, classes, false))
}

/// Multiply-accumulates of one sample through `g` (symbolic input dims taken as 1).
pub fn macs(g: &Graph) -> u64 {
    let mut g = g.clone();
    mote_ir::stats::specialize_inputs(&mut g, &Default::default(), 1);
    let _ = mote_interp::infer(&mut g);
    mote_ir::stats::stats(&g).macs
}
