//! Run-time `If` (Branch / Jump steps) and sequences / optionals as compile-time lists, through
//! compile -> `.mote` -> runtime against the reference interpreter.

mod common;

use mote_compile::{CompileError, Options, Structure, compile, host};
use mote_format::{GroupShape, Model, OpCode};
use mote_ir::ops::control::ControlOp;
use mote_ir::{DType, Graph, Op, Tensor, TensorType, Value, ValueType};
use mote_rt::host::AlignedBuf;
use mote_rt::{RtError, Runtime, StepFault};

fn ops(bytes: &[u8]) -> Vec<OpCode> {
    let buf = AlignedBuf::from_bytes(bytes);
    let m = Model::parse(buf.as_ref()).unwrap();
    (0..m.step_count()).map(|i| m.step(i).unwrap().op).collect()
}

fn branch_inputs(c: bool) -> Vec<Value> {
    vec![
        Value::Tensor(Tensor::scalar(c)),
        Value::Tensor(Tensor::from_vec(vec![4], vec![-1.5f32, 0.0, 2.0, 3.5]).unwrap()),
    ]
}

/// The steps that ran, in order.
fn run_traced(bytes: &[u8], inputs: &[Value]) -> (Vec<Value>, Vec<u32>) {
    let buf = AlignedBuf::from_bytes(bytes);
    let rt = Runtime::load(buf.as_ref()).unwrap();
    let mut arena = AlignedBuf::zeroed(rt.arena_size());
    let named: Vec<(String, Value)> = ["c", "x"].iter().map(|s| s.to_string()).zip(inputs.iter().cloned()).collect();
    host::set_inputs(&rt, arena.as_mut(), &named).unwrap();
    let mut ran = Vec::new();
    rt.invoke_observed(arena.as_mut(), &mut |e| {
        if let mote_rt::exec::Event::Begin(i) = e {
            ran.push(i);
        }
    })
    .unwrap();
    (host::get_outputs(&rt, arena.as_ref()).unwrap(), ran)
}

#[test]
fn runtime_if_runs_only_the_branch_taken() {
    let g = common::branch_graph();
    let c = compile(g.clone(), &Options::default()).unwrap();
    let steps = ops(&c.bytes);
    assert_eq!(steps.iter().filter(|&&o| o == OpCode::Branch).count(), 1, "{steps:?}");
    assert_eq!(steps.iter().filter(|&&o| o == OpCode::Jump).count(), 1, "{steps:?}");
    let (branch, jump) = (
        steps.iter().position(|&o| o == OpCode::Branch).unwrap(),
        steps.iter().position(|&o| o == OpCode::Jump).unwrap(),
    );
    for cond in [true, false] {
        let want = mote_interp::run(&g, branch_inputs(cond)).unwrap();
        let (got, ran) = run_traced(&c.bytes, &branch_inputs(cond));
        assert_eq!(got, want, "cond {cond}");
        // The branch not taken did not run: then-steps lie between Branch and Jump.
        let then_ran = ran.iter().any(|&s| (s as usize) > branch && (s as usize) < jump);
        assert_eq!(then_ran, cond, "cond {cond}: ran {ran:?} of {steps:?}");
        assert!(ran.len() < steps.len(), "cond {cond}: every step ran");
        assert_eq!(ran.contains(&(jump as u32)), cond);
        // After the Jump, the else-steps are skipped: the next step run is past them.
        if let Some(k) = ran.iter().position(|&s| s as usize == jump) {
            assert!(ran[k + 1] as usize > jump + 1, "cond {cond}: the else-branch ran: {ran:?}");
        }
    }
}

/// Byte offset of attribute word `w` of step `i` (from the section table and step record).
fn attr_offset(bytes: &[u8], i: usize, w: usize) -> usize {
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
    let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap()) as usize;
    let section = |kind: u32| {
        (0..u32_at(24))
            .map(|k| mote_format::HEADER_LEN + k * mote_format::SECTION_ENTRY_LEN)
            .find(|&e| u32_at(e) == kind as usize)
            .map(|e| u64_at(e + 8))
            .unwrap()
    };
    let (steps, attrs) = (section(4), section(6));
    let a0 = u32_at(steps + i * mote_format::STEP_RECORD_LEN + 8);
    attrs + 4 * (a0 + w)
}

#[test]
fn skip_targets_are_checked_at_load() {
    let c = compile(common::branch_graph(), &Options::default()).unwrap();
    let steps = ops(&c.bytes);
    let n = steps.len();
    for op in [OpCode::Branch, OpCode::Jump] {
        let i = steps.iter().position(|&o| o == op).unwrap();
        for (count, ok) in [(n - i - 1, true), (n - i, false), (u32::MAX as usize, false)] {
            let mut b = c.bytes.clone();
            let at = attr_offset(&b, i, 0);
            b[at..at + 4].copy_from_slice(&(count as u32).to_le_bytes());
            mote_format::crc::reseal(&mut b);
            let buf = AlignedBuf::from_bytes(&b);
            match Runtime::load(buf.as_ref()) {
                Ok(rt) => {
                    assert!(ok, "{op:?} skipping {count} of {n} steps loaded");
                    // Skipping to the end is a valid (if useless) file: it runs.
                    let mut arena = AlignedBuf::zeroed(rt.arena_size());
                    rt.invoke(arena.as_mut()).unwrap();
                }
                Err(e) => {
                    assert!(!ok, "{op:?} skipping {count}: {e}");
                    assert_eq!(e, RtError::Step { step: i as u32, fault: StepFault::Attrs });
                }
            }
        }
    }
}

#[test]
fn if_branches_of_different_shapes_are_refused_by_name() {
    let mut g = common::branch_graph();
    // The else-branch gives a [2] slice: shapes differ.
    let Op::Control(ControlOp::If { else_branch, .. }) = &mut g.nodes[0].op else { panic!() };
    let out = else_branch.outputs[0];
    else_branch.value_mut(out).ty = ValueType::Tensor(TensorType::concrete(DType::F32, &[4]));
    let k = else_branch.add_const("k2", Tensor::from_vec(vec![2], vec![1f32, 2.0]).unwrap());
    else_branch.outputs[0] = k;
    let y = g.nodes[0].outputs[0].unwrap();
    g.value_mut(y).ty = ValueType::Unknown;
    match compile(g, &Options::default()) {
        Err(CompileError::Unsupported(v)) => {
            assert!(v.iter().any(|u| u.node == "if" && u.reason.contains("same element type and shape")), "{v:?}")
        }
        other => panic!("{:?}", other.map(|c| c.report)),
    }
}

fn seq_type(d: &[usize]) -> ValueType {
    ValueType::Sequence(Box::new(ValueType::Tensor(TensorType::concrete(DType::F32, d))))
}

/// `s` (a sequence input of [2] tensors) and `t [2]`: insert `t` at the front, take the last
/// element, the length, the stacked sequence, and `x [3, 2]` split into rows (a sequence output).
fn list_graph(pos_const: bool) -> Graph {
    let mut g = Graph::new("lists");
    let f = |d: &[usize]| ValueType::Tensor(TensorType::concrete(DType::F32, d));
    let s = g.add_value("s", seq_type(&[2]));
    let t = g.add_value("t", f(&[2]));
    let x = g.add_value("x", f(&[3, 2]));
    g.inputs = vec![s, t, x];
    let zero = if pos_const {
        g.add_const("zero", Tensor::scalar(0i64))
    } else {
        let p = g.add_value("p", ValueType::Tensor(TensorType::concrete(DType::I64, &[])));
        g.inputs.push(p);
        p
    };
    let last = g.add_const("last", Tensor::scalar(-1i64));
    let s2 = g.add_value("s2", seq_type(&[2]));
    let c = |op| Op::Control(op);
    g.add_node("insert", c(ControlOp::SequenceInsert), vec![Some(s), Some(t), Some(zero)], vec![Some(s2)]);
    let at = g.add_value("at", f(&[2]));
    g.add_node("at", c(ControlOp::SequenceAt), vec![Some(s2), Some(last)], vec![Some(at)]);
    let len = g.add_value("len", ValueType::Unknown);
    g.add_node("len", c(ControlOp::SequenceLength), vec![Some(s2)], vec![Some(len)]);
    let st = g.add_value("stacked", ValueType::Unknown);
    g.add_node("stack", c(ControlOp::ConcatFromSequence { axis: 0, new_axis: true }), vec![Some(s2)], vec![Some(st)]);
    let rows = g.add_value("rows", ValueType::Unknown);
    g.add_node("split", c(ControlOp::SplitToSequence { axis: 0, keepdims: false }), vec![Some(x)], vec![Some(rows)]);
    g.outputs = vec![at, len, st, rows];
    g
}

fn list_inputs(n: usize) -> Vec<Value> {
    let t = |v: Vec<f32>| Value::Tensor(Tensor::from_vec(vec![v.len()], v).unwrap());
    let items = (0..n).map(|i| t(vec![i as f32, -(i as f32)])).collect();
    let x = Tensor::from_vec(vec![3, 2], vec![1f32, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
    vec![Value::Sequence(items), t(vec![9.0, 8.0]), Value::Tensor(x)]
}

#[test]
fn sequence_ops_compile_to_lists_and_groups() {
    let g = list_graph(true);
    for n in [0, 3] {
        let inputs = list_inputs(n);
        let want = mote_interp::run(&g, inputs.clone()).unwrap();
        let got = host::compile_and_run(&g, &inputs, &Options::default()).unwrap();
        assert_eq!(got, want, "length {n}");
    }
    // The file groups the input's 3 tensors and the output's 3 rows; no sequence op runs.
    let mut o = Options::default();
    o.structures.insert("s".into(), Structure::sequence(3));
    let c = compile(g, &o).unwrap();
    let buf = AlignedBuf::from_bytes(&c.bytes);
    let m = Model::parse(buf.as_ref()).unwrap();
    let ins: Vec<_> = m.groups(true).map(|g| (g.shape, g.first, g.count, g.name)).collect();
    let outs: Vec<_> = m.groups(false).map(|g| (g.shape, g.first, g.count, g.name)).collect();
    assert_eq!(ins, [(GroupShape::Sequence, 0, 3, "s")]);
    assert_eq!(outs, [(GroupShape::Sequence, 3, 3, "rows")]);
    assert_eq!(m.inputs().map(|i| i.name).collect::<Vec<_>>(), ["s[0]", "s[1]", "s[2]", "t", "x"]);
    // A run with a sequence of another length is refused, naming the flag.
    let rt = Runtime::load(buf.as_ref()).unwrap();
    let mut arena = AlignedBuf::zeroed(rt.arena_size());
    let named: Vec<(String, Value)> = ["s", "t", "x"].iter().map(|s| s.to_string()).zip(list_inputs(2)).collect();
    let e = host::run_named(&rt, &mut arena, &named).unwrap_err();
    assert!(e.contains("--seq s=2"), "{e}");
}

#[test]
fn unbound_lengths_and_run_time_positions_are_refused() {
    match compile(list_graph(true), &Options::default()) {
        Err(CompileError::Interface(e)) => assert!(e.contains("--seq s=LEN"), "{e}"),
        other => panic!("{:?}", other.map(|c| c.report)),
    }
    let mut o = Options::default();
    o.structures.insert("s".into(), Structure::sequence(2));
    match compile(list_graph(false), &o) {
        Err(CompileError::Unsupported(v)) => {
            assert!(v.iter().any(|u| u.node == "insert" && u.reason.contains("not a compile-time constant")), "{v:?}")
        }
        other => panic!("{:?}", other.map(|c| c.report)),
    }
}

#[test]
fn an_optional_compiled_absent_takes_no_value() {
    let mut g = Graph::new("opt");
    let o = g.add_value("o", ValueType::Optional(Box::new(ValueType::Tensor(TensorType::concrete(DType::F32, &[2])))));
    g.inputs = vec![o];
    let has = g.add_value("has", ValueType::Unknown);
    g.add_node("has", Op::Control(ControlOp::OptionalHasElement), vec![Some(o)], vec![Some(has)]);
    g.outputs = vec![has, o];
    let t = Value::Tensor(Tensor::from_vec(vec![2], vec![1f32, 2.0]).unwrap());
    for v in [Value::Optional(None), Value::Optional(Some(Box::new(t.clone())))] {
        let want = mote_interp::run(&g, vec![v.clone()]).unwrap();
        assert_eq!(host::compile_and_run(&g, &[v], &Options::default()).unwrap(), want);
    }
    let mut opts = Options::default();
    opts.structures.insert("o".into(), Structure::Optional(None));
    let c = compile(g, &opts).unwrap();
    let buf = AlignedBuf::from_bytes(&c.bytes);
    let rt = Runtime::load(buf.as_ref()).unwrap();
    assert_eq!(rt.inputs().count(), 0);
    let mut arena = AlignedBuf::zeroed(rt.arena_size());
    let e = host::run_named(&rt, &mut arena, &[("o".into(), Value::Optional(Some(Box::new(t))))]).unwrap_err();
    assert!(e.contains("absent optional"), "{e}");
    let out = host::run_named(&rt, &mut arena, &[]).unwrap();
    assert_eq!(out, [Value::Tensor(Tensor::scalar(false)), Value::Optional(None)]);
}
