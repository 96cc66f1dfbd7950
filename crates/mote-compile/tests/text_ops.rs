//! The string ops compiled (format 1.3: string tensors, steps 70-74) against the reference
//! interpreter on random strings; string capacities; load validation of the DFA and n-gram
//! tables; string tensors refused where only the string steps may touch them.

mod common;

use mote_compile::{Options, compile, host};
use mote_format::{Model, SectionKind};
use mote_ir::ops::shape::ShapeOp;
use mote_ir::{DType, Op, Tensor, TensorType, Value, ValueType};
use mote_rt::host::AlignedBuf;
use mote_rt::{RtError, Runtime, StepFault};
use proptest::prelude::*;

fn names(g: &mote_ir::Graph) -> Vec<String> {
    g.runtime_inputs().iter().map(|&i| g.value(i).name.clone()).collect()
}

/// Runs the compiled `bytes` on `inputs` (in the graph's order).
fn run(bytes: &[u8], g: &mote_ir::Graph, inputs: &[Value]) -> Result<Vec<Value>, String> {
    let buf = AlignedBuf::from_bytes(bytes);
    let rt = Runtime::load(buf.as_ref()).map_err(|e| e.to_string())?;
    let mut arena = AlignedBuf::zeroed(rt.arena_size());
    let named: Vec<(String, Value)> = names(g).into_iter().zip(inputs.iter().cloned()).collect();
    host::run_named(&rt, &mut arena, &named)
}

fn assert_same(want: &[Value], got: &[Value]) {
    assert_eq!(want.len(), got.len());
    for (k, (w, o)) in want.iter().zip(got).enumerate() {
        let (w, o) = (w.as_tensor().unwrap(), o.as_tensor().unwrap());
        assert_eq!(w.shape(), o.shape(), "output {k}");
        assert_eq!(w.dtype(), o.dtype(), "output {k}");
        match w.dtype() {
            DType::String => assert_eq!(w.strings(), o.strings(), "output {k}"),
            DType::F32 => assert_eq!(w.typed::<f32>().unwrap(), o.typed::<f32>().unwrap(), "output {k}"),
            _ => assert_eq!(w.data(), o.data(), "output {k}"),
        }
    }
}

#[test]
fn the_string_ops_agree_with_the_interpreter() {
    let g = common::text_graph();
    let inputs = common::text_inputs(
        ["the cat", "ΟΔΟΣ", "a banana σ2"],
        "  Straße  ist   ΟΔΟΣ lang ",
        ["the", "cat", "σ", "the", "cat", "cat", "dog", "cat"],
        [1, 2, 3, 1, 2, 2, 3, 3, 9, 3],
    );
    let want = mote_interp::run(&g, inputs.clone()).unwrap();
    let got = host::compile_and_run(&g, &inputs, &Options::default()).unwrap();
    assert_same(&want, &got);
    // Bounded outputs: the pieces and survivors are counted, not the buffers' bounds.
    let t = |i: usize| got[i].as_tensor().unwrap().shape().to_vec();
    assert_eq!((t(1), t(3), t(5)), (vec![3, 5], vec![1, 3], vec![2]));
}

fn word() -> impl Strategy<Value = String> {
    let alphabet: Vec<char> = "abtheΣσΑΟ ß的\t2.'\u{301}".chars().collect();
    prop::collection::vec(prop::sample::select(alphabet), 0..9).prop_map(|v| v.into_iter().collect())
}

fn token() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["the", "cat", "σ", "dog", ""])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn random_strings_agree_with_the_interpreter(
        a in prop::array::uniform3(word()),
        b in word(),
        words in prop::array::uniform8(token()),
        ints in prop::array::uniform10(0i32..4),
    ) {
        thread_local! {
            static FILE: Vec<u8> = compile(common::text_graph(), &Options::default()).unwrap().bytes;
        }
        let g = common::text_graph();
        let inputs = common::text_inputs([&a[0], &a[1], &a[2]], &b, words, ints);
        let want = mote_interp::run(&g, inputs.clone()).unwrap();
        let got = FILE.with(|f| run(f, &g, &inputs)).unwrap();
        assert_same(&want, &got);
    }
}

#[test]
fn an_input_beyond_its_capacity_is_an_error_naming_it() {
    let g = common::text_graph();
    let opts = Options { string_bytes: Some(16), ..Options::default() };
    let c = compile(g.clone(), &opts).unwrap();
    let long = "x".repeat(17);
    let inputs = common::text_inputs([&long, "", ""], "", [""; 8], [0; 10]);
    let err = run(&c.bytes, &g, &inputs).unwrap_err();
    assert!(err.contains("input `a`: its strings take 17 bytes, the compiled model holds 16"), "{err}");
    let fits = common::text_inputs(["x".repeat(16).as_str(), "", ""], "", [""; 8], [0; 10]);
    run(&c.bytes, &g, &fits).unwrap();
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

/// The id of the tensor named `name`.
fn tensor_id(bytes: &[u8], name: &str) -> u32 {
    let m = Model::parse(bytes).unwrap();
    (0..m.tensor_count() as u32).find(|&i| m.tensor(i).unwrap().name == name).unwrap()
}

#[test]
fn a_result_beyond_its_capacity_is_a_run_time_error_naming_the_tensor() {
    let g = common::text_graph();
    let c = compile(g.clone(), &Options::default()).unwrap();
    let mut bytes = AlignedBuf::from_bytes(&c.bytes).as_ref().to_vec();
    // Shrink the concatenation's pool to 4 bytes (its record's byte length: 3 slots + 4).
    let (tensors, _) = section(&bytes, SectionKind::Tensors);
    let at = tensors + 64 * tensor_id(&bytes, "concat") as usize + 48;
    bytes[at..at + 8].copy_from_slice(&(3 * 8 + 4u64).to_le_bytes());
    mote_format::crc::reseal(&mut bytes);
    let inputs = common::text_inputs(["ab", "", ""], "cd", [""; 8], [0; 10]);
    let err = run(&bytes, &g, &inputs).unwrap_err();
    assert!(err.contains("the strings of tensor 'concat' need more than its capacity of 4 bytes"), "{err}");
    // The same strings fit once shorter.
    let inputs = common::text_inputs(["a", "", ""], "b", [""; 8], [0; 10]);
    assert!(run(&bytes, &g, &inputs).is_ok());
    let buf = AlignedBuf::from_bytes(&bytes);
    let rt = Runtime::load(buf.as_ref()).unwrap();
    let mut arena = AlignedBuf::zeroed(rt.arena_size());
    let long = common::text_inputs(["abc", "", ""], "cd", [""; 8], [0; 10]);
    for (i, v) in long.iter().enumerate() {
        host::set_input(&rt, arena.as_mut(), i, "x", v).unwrap();
    }
    assert!(matches!(rt.invoke(arena.as_mut()), Err(RtError::StringCapacity { capacity: 4, .. })));
}

/// Overwrites word `k` of weight tensor `name` with `v` (the weights checksum is not resealed:
/// loading does not read it).
fn poke_weight(bytes: &mut [u8], name: &str, k: usize, v: u32) {
    let id = tensor_id(bytes, name);
    let (tensors, _) = section(bytes, SectionKind::Tensors);
    let (weights, _) = section(bytes, SectionKind::Weights);
    let rec = tensors + 64 * id as usize;
    let off = weights + u64::from_le_bytes(bytes[rec + 40..rec + 48].try_into().unwrap()) as usize + 4 * k;
    bytes[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

#[test]
fn corrupt_tables_are_refused_at_load() {
    let c = compile(common::text_graph(), &Options::default()).unwrap();
    let base = AlignedBuf::from_bytes(&c.bytes).as_ref().to_vec();
    for (table, k, v) in [
        ("regex.dfa_next", 0, 1 << 20),        // a state past the table
        ("regex.dfa_classes", 0, 0xFFFF_FFFF), // a class past the alphabet
        ("regex.dfa_flags", 0, 0x0404_0404),   // an unknown flag
        ("tfidf.grams", 0, 3),                 // an n-gram longer than max_n
        ("tfidf.grams", 1, 1000),              // tokens past the pool
        ("tf_ints.grams", 2, 7),               // a column past the output
        ("tfidf.pool", 0, 500),                // a string slot outside the pool
    ] {
        let mut bytes = base.clone();
        poke_weight(&mut bytes, table, k, v);
        let buf = AlignedBuf::from_bytes(&bytes);
        let err = Runtime::load(buf.as_ref()).unwrap_err();
        assert!(matches!(err, RtError::Step { fault: StepFault::Shape, .. }), "{table}: {err}");
    }
}

#[test]
fn strings_are_refused_outside_the_string_ops() {
    let mut g = common::text_graph();
    let a = g.inputs[0];
    let y = g.add_value("transposed", ValueType::Unknown);
    g.add_node("transpose", Op::Shape(ShapeOp::Transpose { perm: Some(vec![0]) }), vec![Some(a)], vec![Some(y)]);
    g.outputs.push(y);
    let err = compile(g, &Options::default()).unwrap_err().to_string();
    assert!(err.contains("string tensors are compiled only through StringConcat"), "{err}");
}

#[test]
fn a_bounded_string_output_feeding_another_node_is_refused() {
    let mut g = common::text_graph();
    let pieces = g.outputs[1];
    let y = g.add_value("again", ValueType::Unknown);
    g.add_node(
        "concat2",
        Op::Text(mote_ir::ops::text::TextOp::StringConcat),
        vec![Some(pieces), Some(pieces)],
        vec![Some(y)],
    );
    g.outputs.push(y);
    let err = compile(g, &Options::default()).unwrap_err().to_string();
    assert!(err.contains("has a data-dependent length"), "{err}");
}

#[test]
fn a_constant_string_output_is_a_string_weight() {
    let mut g = mote_ir::Graph::new("const");
    let x = g.add_value("x", ValueType::Tensor(TensorType::concrete(DType::String, &[2])));
    g.inputs.push(x);
    let c = g.add_const("c", Tensor::from_strings(vec![2], vec!["é".into(), String::new()]).unwrap());
    let y = g.add_value("y", ValueType::Unknown);
    g.add_node("concat", Op::Text(mote_ir::ops::text::TextOp::StringConcat), vec![Some(x), Some(c)], vec![Some(y)]);
    g.outputs.extend([y, c]);
    let inputs = vec![Value::Tensor(Tensor::from_strings(vec![2], vec!["a".into(), "b".into()]).unwrap())];
    let got = host::compile_and_run(&g, &inputs, &Options::default()).unwrap();
    let s = |v: &Value| v.as_tensor().unwrap().strings().unwrap().to_vec();
    assert_eq!((s(&got[0]), s(&got[1])), (vec!["aé".to_string(), "b".into()], vec!["é".to_string(), String::new()]));
}
