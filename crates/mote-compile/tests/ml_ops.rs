//! Classic-ML ops through compile -> `.mote` -> runtime match the reference interpreter,
//! including the values only the output signature carries (ZipMap maps, string labels).

mod common;

use mote_compile::{Options, compile, host};
use mote_format::{Model, OpCode, OutputKind};
use mote_ir::{Tensor, Value};

fn same_tensor(w: &Tensor, o: &Tensor, what: &str) {
    assert_eq!((w.dtype(), w.shape()), (o.dtype(), o.shape()), "{what}");
    if let Some(ws) = w.strings() {
        assert_eq!(Some(ws), o.strings(), "{what}");
        return;
    }
    let (a, b) = (w.to_f64_vec().unwrap(), o.to_f64_vec().unwrap());
    for (x, y) in a.iter().zip(&b) {
        assert!(
            x == y || (x.is_nan() && y.is_nan()) || (x - y).abs() <= 1e-6 * x.abs().max(1.0),
            "{what}: {a:?} vs {b:?}"
        );
    }
}

fn same_value(w: &Value, o: &Value, what: &str) {
    match (w, o) {
        (Value::Tensor(a), Value::Tensor(b)) => same_tensor(a, b, what),
        (Value::Sequence(a), Value::Sequence(b)) => {
            assert_eq!(a.len(), b.len(), "{what}");
            a.iter().zip(b).for_each(|(x, y)| same_value(x, y, what));
        }
        (Value::Map { keys: ka, values: va }, Value::Map { keys: kb, values: vb }) => {
            same_tensor(ka, kb, what);
            same_tensor(va, vb, what);
        }
        _ => panic!("{what}: {w:?} vs {o:?}"),
    }
}

#[test]
fn compiled_ml_model_matches_the_interpreter_with_maps_and_string_labels() {
    let g = common::ml::ml_graph();
    let x = common::ml::ml_input();
    let want = mote_interp::run(&g, vec![x.clone()]).unwrap();
    let got = host::compile_and_run(&g, &[x], &Options::default()).unwrap();
    assert_eq!(want.len(), got.len());
    for (i, (w, o)) in want.iter().zip(&got).enumerate() {
        same_value(w, o, &format!("output {i} ({})", g.value(g.outputs[i]).name));
    }
    // The string labels and the maps really are there (not trivially equal empties).
    assert!(matches!(&got[1], Value::Sequence(s) if s.len() == 5));
    assert_eq!(got[0].as_tensor().unwrap().strings().map(<[String]>::len), Some(5));
    let at = |name: &str| g.outputs.iter().position(|&o| g.value(o).name == name).unwrap();
    let proba = got[at("svc_proba_scores")].as_tensor().unwrap().to_f64_vec().unwrap();
    assert_eq!(proba.len(), 15);
    // Row 1 has a NaN feature (NaN probabilities in both); the others are distributions.
    for row in proba.chunks(3).enumerate().filter(|(i, _)| *i != 1).map(|(_, r)| r) {
        assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-5 && row.iter().all(|&p| p > 0.0), "{row:?}");
    }
    let votes = got[at("svc_scores")].as_tensor().unwrap();
    assert_eq!(votes.shape(), &[5, 3]);
}

#[test]
fn ml_steps_and_signatures_are_in_the_file() {
    let c = compile(common::ml::ml_graph(), &Options::default()).unwrap();
    let buf = mote_rt::host::AlignedBuf::from_bytes(&c.bytes);
    let m = Model::parse(buf.as_ref()).unwrap();
    let ops: Vec<OpCode> = (0..m.step_count()).map(|i| m.step(i).unwrap().op).collect();
    for op in [OpCode::LinearModel, OpCode::Normalizer, OpCode::TreeEnsemble, OpCode::Lookup, OpCode::Svm] {
        assert!(ops.contains(&op), "{op:?} missing from {ops:?}");
    }
    let kinds: Vec<Option<OutputKind>> = (0..10).map(|i| m.output_signature(i).map(|s| s.kind)).collect();
    assert_eq!(kinds[0], Some(OutputKind::Labels));
    assert_eq!(kinds[1], Some(OutputKind::ZipMap));
    assert_eq!(kinds[3], Some(OutputKind::ZipMap));
    assert_eq!(kinds.iter().flatten().count(), 3);
    let zip = m.output_signature(1).unwrap();
    assert_eq!(m.signature_str_key(&zip, 2), Some("virginica"));
    let bzip = m.output_signature(3).unwrap();
    assert_eq!(m.signature_int_key(&bzip, 1), Some(7));
}

/// A file whose tree table `table` has word `word` set to `value` (the weights checksum is not
/// part of loading, so the table reaches the runtime's checks).
fn with_tree_word(bytes: &[u8], table: &str, word: usize, value: u32) -> Vec<u8> {
    let buf = mote_rt::host::AlignedBuf::from_bytes(bytes);
    let m = Model::parse(buf.as_ref()).unwrap();
    let t = (0..m.tensor_count() as u32).filter_map(|i| m.tensor(i)).find(|t| t.name == table).unwrap();
    let at = m.weights().as_ptr() as usize - m.bytes().as_ptr() as usize + t.offset as usize + 4 * word;
    let mut b = bytes.to_vec();
    b[at..at + 4].copy_from_slice(&value.to_le_bytes());
    b
}

#[test]
fn bad_tree_tables_are_refused_at_load() {
    let c = compile(common::ml::ml_graph(), &Options::default()).unwrap();
    let loads = |b: &[u8]| mote_rt::Runtime::load(mote_rt::host::AlignedBuf::from_bytes(b).as_ref()).is_ok();
    assert!(loads(&c.bytes));
    let leaf = mote_rt::ops::ml::tree::LEAF;
    // Node rows: feature, rule, yes, no, set start, set length.
    for (table, word, value) in [
        ("trees_nodes", 0, 3),        // feature 3 of 3
        ("trees_nodes", 1, 7),        // rule code 7
        ("trees_nodes", 2, 0),        // a link back to itself: a cycle
        ("trees_nodes", 3, 99),       // a node that does not exist
        ("trees_nodes", 2, leaf | 4), // leaf 4 of 4
        ("trees_nodes", 5, 1000),     // set range past the members
        ("trees_leaves", 1, 1000),    // leaf range past the weights
        ("trees_targets", 0, 3),      // target 3 of 3
        ("trees_roots", 1, 17),       // root node 17
        ("tree_regressor_roots", 1, leaf | 9),
    ] {
        assert!(!loads(&with_tree_word(&c.bytes, table, word, value)), "{table}[{word}] = {value:#x} loaded");
    }
}

#[test]
fn strict_one_hot_misses_are_run_time_data_errors() {
    use mote_ir::ops::ml::{Labels, MlOp};
    use mote_ir::{DType, Graph, Op, TensorType, ValueType};
    let mut g = Graph::new("strict");
    let x = g.add_value("x", ValueType::Tensor(TensorType::concrete(DType::I64, &[3])));
    g.inputs.push(x);
    let y = g.add_value("y", ValueType::Unknown);
    let op = MlOp::OneHotEncoder { cats: Labels::Ints(vec![5, 6]), zeros: false };
    g.add_node("hot", Op::Ml(op), vec![Some(x)], vec![Some(y)]);
    g.outputs.push(y);
    let run = |v: Vec<i64>| {
        let x = Value::Tensor(Tensor::from_vec(vec![3], v).unwrap());
        (mote_interp::run(&g, vec![x.clone()]), host::compile_and_run(&g, &[x], &Options::default()))
    };
    let (want, got) = run(vec![6, 5, 6]);
    same_value(&want.unwrap()[0], &got.unwrap()[0], "hot");
    let (want, got) = run(vec![6, 7, 5]);
    assert!(want.is_err());
    assert!(got.unwrap_err().contains("not a known category"));
}
