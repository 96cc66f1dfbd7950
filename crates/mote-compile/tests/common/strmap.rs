//! A graph of string comparisons and label encoders: Equal on strings (broadcast both ways, and
//! on a LabelEncoder's string result), LabelEncoder string -> int64 (a repeated key, the empty
//! string, non-ASCII), string -> string, string -> f32 and int64 -> string; CategoryMapper both
//! ways and OneHotEncoder on strings (repeated keys keep their last pair, as the interpreter).

use mote_ir::ops::elementwise::{Binary, ElementwiseOp};
use mote_ir::ops::ml::{Labels, MlOp};
use mote_ir::{DType, Graph, Op, Tensor, TensorType, Value, ValueType};

fn strings(v: &[&str]) -> Tensor {
    Tensor::from_strings(vec![v.len()], v.iter().map(|s| s.to_string()).collect()).unwrap()
}

/// Inputs `a [2, 3]`, `b [3]`, `c [2, 1]` (strings) and `ids [4]` (int64); outputs `eq`
/// (a == b), `eq_cols` (b == c), `s2i`, `s2s`, `s2f`, `i2s` (LabelEncoders of `a` and `ids`),
/// `eq_mapped` (s2s == b), `cm_s2i`, `cm_i2s` (CategoryMappers of `a` and `ids`), `hot`
/// (OneHotEncoder of `a`).
#[allow(dead_code)] // used by some of the test binaries that include this module
pub fn strmap_graph() -> Graph {
    let mut g = Graph::new("strmap");
    let t = |dt: DType, d: &[usize]| ValueType::Tensor(TensorType::concrete(dt, d));
    let a = g.add_value("a", t(DType::String, &[2, 3]));
    let b = g.add_value("b", t(DType::String, &[3]));
    let c = g.add_value("c", t(DType::String, &[2, 1]));
    let ids = g.add_value("ids", t(DType::I64, &[4]));
    g.inputs.extend([a, b, c, ids]);
    let node = |g: &mut Graph, name: &str, op: Op, ins: &[mote_ir::ValueId]| {
        let y = g.add_value(name, ValueType::Unknown);
        g.add_node(name, op, ins.iter().copied().map(Some).collect(), vec![Some(y)]);
        g.outputs.push(y);
        y
    };
    let equal = || Op::Elementwise(ElementwiseOp::Binary(Binary::Equal));
    let encoder = |keys: Tensor, values: Tensor, default: Tensor| Op::Ml(MlOp::LabelEncoder { keys, values, default });
    node(&mut g, "eq", equal(), &[a, b]);
    node(&mut g, "eq_cols", equal(), &[b, c]);
    let keys = strings(&["cat", "", "σκύλος", "cat", "dog"]);
    let values = Tensor::from_vec(vec![5], vec![1i64, 2, 3, 4, 5]).unwrap();
    node(&mut g, "s2i", encoder(keys, values, Tensor::from_vec(vec![1], vec![-1i64]).unwrap()), &[a]);
    let op = encoder(strings(&["dog", "cat", "的"]), strings(&["chien", "chat", "的的"]), strings(&["—"]));
    let s2s = node(&mut g, "s2s", op, &[a]);
    let values = Tensor::from_vec(vec![2], vec![0.25f32, -3.5]).unwrap();
    node(
        &mut g,
        "s2f",
        encoder(strings(&["σκύλος", "cat"]), values, Tensor::from_vec(vec![1], vec![9.0f32]).unwrap()),
        &[a],
    );
    let keys = Tensor::from_vec(vec![4], vec![3i64, 1, 4, 1]).unwrap();
    node(&mut g, "i2s", encoder(keys, strings(&["three", "one", "four", "uno"]), strings(&[""])), &[ids]);
    node(&mut g, "eq_mapped", equal(), &[s2s, b]);
    let strs = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let op = MlOp::CategoryMapper {
        ints: vec![7, 8, 9],
        strings: strs(&["cat", "dog", "cat"]),
        default_int: -7,
        default_string: String::new(),
    };
    node(&mut g, "cm_s2i", Op::Ml(op), &[a]);
    let op = MlOp::CategoryMapper {
        ints: vec![1, 3, 1],
        strings: strs(&["uno", "tres", "one"]),
        default_int: 0,
        default_string: "?".into(),
    };
    node(&mut g, "cm_i2s", Op::Ml(op), &[ids]);
    let op = MlOp::OneHotEncoder { cats: Labels::Strings(strs(&["dog", "cat", "的", "dog"])), zeros: true };
    node(&mut g, "hot", Op::Ml(op), &[a]);
    g
}

/// Inputs of [`strmap_graph`].
#[allow(dead_code)] // used by some of the test binaries that include this module
pub fn strmap_inputs(a: [&str; 6], b: [&str; 3], c: [&str; 2], ids: [i64; 4]) -> Vec<Value> {
    let s = |d: Vec<usize>, v: &[&str]| {
        Value::Tensor(Tensor::from_strings(d, v.iter().map(|s| s.to_string()).collect()).unwrap())
    };
    vec![
        s(vec![2, 3], &a),
        s(vec![3], &b),
        s(vec![2, 1], &c),
        Value::Tensor(Tensor::from_vec(vec![4], ids.to_vec()).unwrap()),
    ]
}
