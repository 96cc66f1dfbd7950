//! String Equal and LabelEncoder with string keys or values, compiled (steps 75-77:
//! StringEqual, StringLookup, StringGather) against the reference interpreter: broadcasting,
//! empty strings, non-ASCII, missing keys (the default), a repeated key (its first value); the
//! key and value tables validated at load.

mod common;

use common::strmap::{strmap_graph, strmap_inputs};
use mote_compile::{Options, compile, host};
use mote_format::{Model, SectionKind};
use mote_ir::ops::ml::MlOp;
use mote_ir::{DType, Op, Tensor, Value, ValueType};
use mote_rt::host::AlignedBuf;
use mote_rt::{RtError, Runtime, StepFault};
use proptest::prelude::*;

/// Runs the compiled `bytes` on `inputs` (in the graph's order).
fn run(bytes: &[u8], g: &mote_ir::Graph, inputs: &[Value]) -> Result<Vec<Value>, String> {
    let buf = AlignedBuf::from_bytes(bytes);
    let rt = Runtime::load(buf.as_ref()).map_err(|e| e.to_string())?;
    let mut arena = AlignedBuf::zeroed(rt.arena_size());
    let names: Vec<String> = g.runtime_inputs().iter().map(|&i| g.value(i).name.clone()).collect();
    let named: Vec<(String, Value)> = names.into_iter().zip(inputs.iter().cloned()).collect();
    host::run_named(&rt, &mut arena, &named)
}

fn assert_same(want: &[Value], got: &[Value]) {
    assert_eq!(want.len(), got.len());
    for (k, (w, o)) in want.iter().zip(got).enumerate() {
        let (w, o) = (w.as_tensor().unwrap(), o.as_tensor().unwrap());
        assert_eq!((w.shape(), w.dtype()), (o.shape(), o.dtype()), "output {k}");
        match w.dtype() {
            DType::String => assert_eq!(w.strings(), o.strings(), "output {k}"),
            DType::F32 => assert_eq!(w.typed::<f32>().unwrap(), o.typed::<f32>().unwrap(), "output {k}"),
            _ => assert_eq!(w.data(), o.data(), "output {k}"),
        }
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_tensor().unwrap().strings().unwrap().to_vec()
}

#[test]
fn string_equal_and_label_encoders_agree_with_the_interpreter() {
    let g = strmap_graph();
    let inputs =
        strmap_inputs(["cat", "", "σκύλος", "dog", "的", "bird"], ["cat", "", "的"], ["", "dog"], [1, 3, 5, 4]);
    let want = mote_interp::run(&g, inputs.clone()).unwrap();
    let got = host::compile_and_run(&g, &inputs, &Options::default()).unwrap();
    assert_same(&want, &got);
    // The values the interpreter gives, spelled out: the first of a repeated key, misses.
    let ints = |v: &Value| v.as_tensor().unwrap().to_i64_vec().unwrap();
    assert_eq!(ints(&got[2]), vec![1, 2, 3, 5, -1, -1]);
    assert_eq!(strings(&got[3]), ["chat", "—", "—", "chien", "的的", "—"]);
    assert_eq!(strings(&got[5]), ["one", "three", "", "four"]);
    let bools = |v: &Value| v.as_tensor().unwrap().typed::<bool>().unwrap().to_vec();
    assert_eq!(bools(&got[0]), [true, true, false, false, false, false]);
    assert_eq!(bools(&got[1]), [false, true, false, false, false, false]);
    assert_eq!(ints(&got[7]), vec![9, -7, -7, 8, -7, -7]);
    assert_eq!(strings(&got[8]), ["one", "tres", "?", "?"]);
    let hot = got[9].as_tensor().unwrap();
    assert_eq!(hot.shape(), [2, 3, 4]);
    assert_eq!(&hot.typed::<f32>().unwrap()[..8], [0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
}

#[test]
fn a_missing_category_without_zeros_is_a_run_time_error() {
    let mut g = mote_ir::Graph::new("strict");
    let x = g.add_value("x", ValueType::Tensor(mote_ir::TensorType::concrete(DType::String, &[2])));
    g.inputs.push(x);
    let y = g.add_value("y", ValueType::Unknown);
    let op =
        MlOp::OneHotEncoder { cats: mote_ir::ops::ml::Labels::Strings(vec!["a".into(), "é".into()]), zeros: false };
    g.add_node("hot", Op::Ml(op), vec![Some(x)], vec![Some(y)]);
    g.outputs.push(y);
    let c = compile(g.clone(), &Options::default()).unwrap();
    let input =
        |v: [&str; 2]| vec![Value::Tensor(Tensor::from_strings(vec![2], v.map(String::from).to_vec()).unwrap())];
    let got = run(&c.bytes, &g, &input(["é", "a"])).unwrap();
    assert_eq!(got[0].as_tensor().unwrap().typed::<f32>().unwrap(), [0.0, 1.0, 1.0, 0.0]);
    let err = run(&c.bytes, &g, &input(["é", "b"])).unwrap_err();
    assert!(err.contains("not a known category"), "{err}");
}

fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec!["cat", "", "σκύλος", "dog", "的", "chien", "的的"]).prop_map(str::to_string),
        prop::collection::vec(prop::sample::select("acdgtσ的 é".chars().collect::<Vec<_>>()), 0..5)
            .prop_map(|v| v.into_iter().collect()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn random_strings_agree_with_the_interpreter(
        a in prop::array::uniform6(word()),
        b in prop::array::uniform3(word()),
        c in prop::array::uniform2(word()),
        ids in prop::array::uniform4(-1i64..6),
    ) {
        thread_local! {
            static FILE: Vec<u8> = compile(strmap_graph(), &Options::default()).unwrap().bytes;
        }
        let g = strmap_graph();
        fn s<const N: usize>(v: &[String; N]) -> [&str; N] {
            core::array::from_fn(|i| v[i].as_str())
        }
        let inputs = strmap_inputs(s(&a), s(&b), s(&c), ids);
        let want = mote_interp::run(&g, inputs.clone()).unwrap();
        let got = FILE.with(|f| run(f, &g, &inputs)).unwrap();
        assert_same(&want, &got);
    }
}

/// The file's section `kind`: (offset, length).
fn section(bytes: &[u8], kind: SectionKind) -> (usize, usize) {
    let n = u32::from_le_bytes(bytes[24..28].try_into().unwrap()) as usize;
    (0..n)
        .map(|i| &bytes[64 + 24 * i..88 + 24 * i])
        .find(|e| u32::from_le_bytes(e[..4].try_into().unwrap()) == kind.code())
        .map(|e| {
            let word = |a: usize| u64::from_le_bytes(e[a..a + 8].try_into().unwrap()) as usize;
            (word(8), word(16))
        })
        .unwrap()
}

/// Overwrites word `k` of weight tensor `name` with `v` (the weights checksum is not resealed:
/// loading does not read it).
fn poke_weight(bytes: &mut [u8], name: &str, k: usize, v: u32) {
    let m = Model::parse(bytes).unwrap();
    let id = (0..m.tensor_count() as u32).find(|&i| m.tensor(i).unwrap().name == name).unwrap();
    let (tensors, _) = section(bytes, SectionKind::Tensors);
    let (weights, _) = section(bytes, SectionKind::Weights);
    let rec = tensors + 64 * id as usize;
    let off = weights + u64::from_le_bytes(bytes[rec + 40..rec + 48].try_into().unwrap()) as usize + 4 * k;
    bytes[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

#[test]
fn corrupt_key_and_value_tables_are_refused_at_load() {
    let c = compile(strmap_graph(), &Options::default()).unwrap();
    let base = AlignedBuf::from_bytes(&c.bytes).as_ref().to_vec();
    // Untouched, the file loads.
    Runtime::load(AlignedBuf::from_bytes(&base).as_ref()).unwrap();
    // s2i's sorted keys are "", "cat", "dog", "σκύλος"; s2s's values "chat", "chien", "的的", "—".
    for (table, k, v) in [
        ("s2i.keys", 1, 3),             // key 0 becomes "cat": a repeated key
        ("s2i.keys", 6, 0),             // key 3 becomes "cat..": out of order
        ("s2i.keys", 0, 500),           // a slot outside the pool
        ("s2s.keys", 7, 0xFFFF_FFFF),   // a key that is not UTF-8
        ("s2s.values", 8, 0xFFFF_FFFF), // a value that is not UTF-8
        ("i2s.values", 3, 1000),        // a slot longer than the pool
    ] {
        let mut bytes = base.clone();
        poke_weight(&mut bytes, table, k, v);
        let err = Runtime::load(AlignedBuf::from_bytes(&bytes).as_ref()).unwrap_err();
        assert!(matches!(err, RtError::Step { fault: StepFault::Shape, .. }), "{table}: {err}");
    }
}

#[test]
fn a_gathered_string_result_fits_its_pool_at_worst() {
    // Every element maps to the longest value: the pool is exactly full.
    let g = strmap_graph();
    let inputs = strmap_inputs(["的"; 6], ["", "", ""], ["", ""], [4, 4, 4, 4]);
    let got = host::compile_and_run(&g, &inputs, &Options::default()).unwrap();
    assert_eq!(strings(&got[3]), vec!["的的"; 6]);
    assert_eq!(strings(&got[5]), vec!["four"; 4]);
}

#[test]
fn mismatched_keys_and_values_are_refused_when_compiling() {
    let mut g = mote_ir::Graph::new("bad");
    let x = g.add_value("x", ValueType::Tensor(mote_ir::TensorType::concrete(DType::String, &[2])));
    g.inputs.push(x);
    let y = g.add_value("y", ValueType::Unknown);
    let op = MlOp::LabelEncoder {
        keys: Tensor::from_strings(vec![2], vec!["a".into(), "b".into()]).unwrap(),
        values: Tensor::from_vec(vec![1], vec![1i64]).unwrap(),
        default: Tensor::from_vec(vec![1], vec![0i64]).unwrap(),
    };
    g.add_node("enc", Op::Ml(op), vec![Some(x)], vec![Some(y)]);
    g.outputs.push(y);
    let err = compile(g, &Options::default()).unwrap_err().to_string();
    assert!(err.contains("LabelEncoder has 2 keys and 1 values"), "{err}");
}
