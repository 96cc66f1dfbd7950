//! Random mutations of real `.mote` files give an error (at load or run), never a panic or an
//! out-of-bounds access. Most mutations are resealed (structure checksum recomputed) so they
//! reach record and step validation instead of stopping at the checksum.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};

use mote_compile::{Options, compile};
use mote_rt::Runtime;
use mote_rt::host::AlignedBuf;

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
fn mutate(bytes: &mut [u8], rng: &mut Rng) -> String {
    let len = bytes.len();
    let what = match rng.below(4) {
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
            let i = rng.below(len);
            let v = rng.next() as u8;
            bytes[i] = v;
            format!("byte at {i} = {v}")
        }
        _ => {
            // A small delta on a word (a dim, offset or count off by a little).
            let i = rng.below(len / 4) * 4;
            let w = u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
            let d = [1u32, 4, 64, u32::MAX][rng.below(4)];
            bytes[i..i + 4].copy_from_slice(&w.wrapping_add(d).to_le_bytes());
            format!("word at {i} += {d:#x}")
        }
    };
    if rng.below(10) != 0 {
        mote_format::crc::reseal(bytes);
    }
    what
}

/// Loads and (when the arena is reasonable) runs the file; panics are reported by the caller.
fn load_and_run(bytes: &[u8]) -> (bool, bool) {
    let buf = AlignedBuf::from_bytes(bytes);
    let Ok(rt) = Runtime::load(buf.as_ref()) else { return (false, false) };
    // Keep the run cheap: a mutated dim can make a valid but huge model.
    let macs: u64 = (0..rt.model().step_count()).map(|i| mote_rt::exec::step_macs(rt.model(), i).unwrap_or(0)).sum();
    if rt.arena_size() > 16 << 20 || macs > 20_000_000 {
        return (true, false);
    }
    let mut arena = AlignedBuf::zeroed(rt.arena_size());
    (true, rt.invoke(arena.as_mut()).is_ok())
}

fn hammer(name: &str, file: &[u8], cases: usize, seed: u64) {
    let start = std::time::Instant::now();
    assert!(load_and_run(file).0, "{name}: the unmutated file must load");
    let mut rng = Rng(seed);
    let (mut loaded, mut ran) = (0, 0);
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut failures = Vec::new();
    for case in 0..cases {
        let mut b = file.to_vec();
        let what = mutate(&mut b, &mut rng);
        match catch_unwind(AssertUnwindSafe(|| load_and_run(&b))) {
            Ok((l, r)) => {
                loaded += l as usize;
                ran += r as usize;
            }
            Err(_) => failures.push(format!("{name} case {case}: {what} panicked")),
        }
    }
    std::panic::set_hook(prev);
    eprintln!(
        "{name}: {cases} mutations, {loaded} still loaded, {ran} ran to completion, {} panics ({:.1} s)",
        failures.len(),
        start.elapsed().as_secs_f64()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn mutated_small_model_never_panics() {
    let c = compile(common::small_graph(), &Options::default()).unwrap();
    hammer("small", &c.bytes, 4000, 0x9e37_79b9_7f4a_7c15);
}

#[test]
fn mutated_blocked_model_never_panics() {
    let c = compile(common::blocked_graph(), &Options::default()).unwrap();
    hammer("blocked", &c.bytes, 4000, 0x2545_f491_4f6c_dd1d);
}

#[test]
fn mutated_indexing_model_never_panics() {
    let c = compile(common::indexing_graph(), &Options::default()).unwrap();
    hammer("indexing", &c.bytes, 4000, 0x5851_f42d_4c95_7f2d);
}

#[test]
fn mutated_nn_model_never_panics() {
    let c = compile(common::nn_graph(), &Options::default()).unwrap();
    hammer("nn", &c.bytes, 4000, 0x51_7cc1_b727_220a);
}

#[test]
fn mutated_geo_model_never_panics() {
    let c = compile(common::geo_graph(), &Options::default()).unwrap();
    hammer("geo", &c.bytes, 4000, 0x3c6e_f372_fe94_f82b);
}

#[test]
fn mutated_branch_model_never_panics() {
    let c = compile(common::branch_graph(), &Options::default()).unwrap();
    hammer("branch", &c.bytes, 4000, 0x6a09_e667_f3bc_c908);
}

#[test]
fn mutated_int8_model_never_panics() {
    let c = compile(common::qdq::qdq_graph(), &Options::default()).unwrap();
    hammer("qdq", &c.bytes, 4000, 0x1f83_d9ab_fb41_bd6b);
}

#[test]
fn mutated_real_models_never_panic() {
    let Some(data) = mote_conformance_data() else {
        eprintln!("SKIPPED mutated real models: ../shared/data not found (set MOTE_SHARED_DATA to run them)");
        return;
    };
    for (name, shape, cases) in [
        ("tflm_hello_world_float", None, 2000),
        ("ort_logreg_iris", None, 2000),
        ("mlperf_tiny_resnet8_int8", None, 150),
        ("ppocr_mobile_v2_cls", Some(("x", vec![1, 3, 48, 192])), 40),
    ] {
        let g = mote_onnx::load(data.join("models").join(name).join("model.onnx")).unwrap().graph;
        let mut opts = Options::default();
        if let Some((input, dims)) = shape {
            opts.shapes.insert(input.to_string(), dims);
        }
        let c = compile(g, &opts).unwrap();
        hammer(name, &c.bytes, cases, 0x2545_f491_4f6c_dd1d ^ cases as u64);
    }
}

/// `../shared/data` next to the workspace, or `MOTE_SHARED_DATA`.
fn mote_conformance_data() -> Option<std::path::PathBuf> {
    let p = std::env::var_os("MOTE_SHARED_DATA")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    p.join("models").is_dir().then_some(p)
}

#[test]
fn mutated_lowp_model_never_panics() {
    let c = compile(common::lowp_graph(), &Options::default()).unwrap();
    hammer("lowp", &c.bytes, 3000, 0x1405_7b7e_f767_814f);
}

#[test]
fn mutated_select_model_never_panics() {
    let c = compile(common::select_graph(), &Options::default()).unwrap();
    hammer("select", &c.bytes, 3000, 0x3c6e_f372_fe94_f82b);
}

#[test]
fn mutated_sequence_model_never_panics() {
    let c = compile(common::sequence_graph(), &Options::default()).unwrap();
    hammer("sequence", &c.bytes, 3000, 0x6a09_e667_f3bc_c908);
}

#[test]
fn mutated_ml_model_never_panics() {
    // Tree links, feature ids, leaf ranges and class ids are weights the runtime checks at load.
    let c = compile(common::ml::ml_graph(), &Options::default()).unwrap();
    hammer("ml", &c.bytes, 4000, 0x6a09_e667_f3bc_c909);
}

#[test]
fn mutated_bounded_model_never_panics() {
    // The count the host reads and the row triples are written by the step; the signature's
    // count tensor and axis are checked at parse.
    let c = compile(common::nms_graph(), &Options::default()).unwrap();
    hammer("nms", &c.bytes, 3000, 0x3c6e_f372_fe94_f82b);
}

#[test]
fn mutated_distinct_and_random_model_never_panics() {
    // NonZero and Unique (Bounded outputs sharing a count), and a Random step with its pinned
    // run counter.
    use mote_ir::ops::random::{Distribution, RandomOp};
    use mote_ir::ops::shape::ShapeOp;
    use mote_ir::{Op, TensorType, ValueType};
    let mut g = mote_ir::Graph::new("distinct");
    let x = g.add_value("x", ValueType::Tensor(TensorType::concrete(mote_core::DType::F32, &[3, 4])));
    g.inputs.push(x);
    let outs: Vec<_> = (0..6).map(|i| g.add_value(format!("y{i}"), ValueType::Unknown)).collect();
    g.add_node("nz", Op::Shape(ShapeOp::NonZero), vec![Some(x)], vec![Some(outs[0])]);
    let unique = Op::Shape(ShapeOp::Unique { sorted: true, axis: Some(1) });
    g.add_node("u", unique, vec![Some(x)], outs[1..5].iter().map(|&o| Some(o)).collect());
    let dist = Distribution::Normal { mean: 0.0, scale: 1.0 };
    let draw = Op::Random(RandomOp::Sample { dist, shape: None, dtype: None, seed: Some(1.0) });
    g.add_node("r", draw, vec![Some(x)], vec![Some(outs[5])]);
    g.outputs.extend(&outs);
    let c = compile(g, &Options::default()).unwrap();
    hammer("distinct", &c.bytes, 3000, 0x5be0_cd19_137e_2179);
}

#[test]
fn mutated_text_model_never_panics() {
    // String slots, pools, the DFA tables and the n-gram table are mutated too: the tables are
    // checked at load, slots while running.
    let c = compile(common::text_graph(), &Options::default()).unwrap();
    hammer("text", &c.bytes, 4000, 0x1f83_d9ab_fb41_bd6b);
}

#[test]
fn mutated_quant_model_never_panics() {
    // QGemm (packed and plain B), QConv, Quantize/Dequantize (blocked, sub-byte, float8) and
    // DynamicQuantize: every attribute word, zero point and multiplier checked at load.
    let c = compile(common::quant::quant_graph(), &Options::default()).unwrap();
    hammer("quant", &c.bytes, 4000, 0x510e_527f_ade6_82d1);
}

#[test]
fn mutated_string_map_model_never_panics() {
    // The sorted key tables and the value tables are checked at load, slots while running.
    let c = compile(common::strmap::strmap_graph(), &Options::default()).unwrap();
    hammer("strmap", &c.bytes, 3000, 0x6a09_e667_f3bc_c908);
}
