//! Pruned int8 pointwise convolutions compile to `Q8Sparse` when enough of their blocks of four
//! input channels are empty, to `Q8Conv` otherwise or with `no_sparse`, and both files give the
//! same bytes.

mod common;

use mote_compile::{Options, compile, host};
use mote_format::OpCode;
use mote_ir::{Tensor, Value};

fn ops(bytes: &[u8]) -> Vec<OpCode> {
    let buf = mote_rt::host::AlignedBuf::from_bytes(bytes);
    let m = mote_format::Model::parse(buf.as_ref()).unwrap();
    (0..m.step_count()).map(|i| m.step(i).unwrap().op).collect()
}

#[test]
fn block_pruned_int8_convolutions_run_sparse_with_the_dense_bits() {
    let g = common::qdq::pruned_pointwise_graph();
    let dense_opts = Options { no_sparse: true, ..Options::default() };
    let sparse = compile(g.clone(), &Options::default()).unwrap();
    let dense = compile(g.clone(), &dense_opts).unwrap();
    let count = |b: &[u8], op| ops(b).into_iter().filter(|&o| o == op).count();
    assert_eq!(count(&sparse.bytes, OpCode::Q8Sparse), 1, "{:?}", ops(&sparse.bytes));
    assert_eq!(count(&sparse.bytes, OpCode::Q8Conv), 1, "the 50%-unstructured one stays dense");
    assert_eq!(count(&dense.bytes, OpCode::Q8Sparse), 0);
    assert_eq!(count(&dense.bytes, OpCode::Q8Conv), 2);
    assert!(sparse.report.weights_bytes < dense.report.weights_bytes, "{:?} {:?}", sparse.report, dense.report);
    let xs: Vec<f32> = (0..64 * 144).map(|i| ((i * 131 % 89) as f32 / 89.0 - 0.3) * 4.0).collect();
    let x = vec![Value::Tensor(Tensor::from_vec(vec![1, 64, 12, 12], xs).unwrap())];
    let run = |o: &Options| host::compile_and_run(&g, &x, o).unwrap()[0].as_tensor().unwrap().to_f32_vec().unwrap();
    let (a, b) = (run(&Options::default()), run(&dense_opts));
    assert_eq!(a, b, "sparse and dense int8 files differ");
    assert!(a.iter().any(|&v| v != a[0]), "a constant output would not test anything");
}
