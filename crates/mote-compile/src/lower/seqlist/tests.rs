use super::*;

fn f2() -> ValueType {
    ValueType::Tensor(TensorType::concrete(DType::F32, &[2]))
}

/// `s = [a, b, c]` (a sequence input bound to 3), erase position `erase` (default: the last),
/// insert `t` at `insert` (default: the end): the output is the canonical list.
fn edit(erase: Option<i64>, insert: Option<i64>) -> (Graph, Vec<String>) {
    let mut g = Graph::new("edit");
    let s = g.add_value("s", ValueType::Sequence(Box::new(f2())));
    let t = g.add_value("t", f2());
    g.inputs = vec![s, t];
    let e = erase.map(|p| g.add_const("e", Tensor::scalar(p)));
    let i = insert.map(|p| g.add_const("i", Tensor::scalar(p)));
    let (s1, s2) = (g.add_value("s1", ValueType::Unknown), g.add_value("s2", ValueType::Unknown));
    g.add_node("erase", Op::Control(ControlOp::SequenceErase), vec![Some(s), e], vec![Some(s1)]);
    g.add_node("insert", Op::Control(ControlOp::SequenceInsert), vec![Some(s1), Some(t), i], vec![Some(s2)]);
    g.outputs = vec![s2];
    let bound = BTreeMap::from([("s".to_string(), Structure::sequence(3))]);
    let groups = bind_inputs(&mut g, &bound).unwrap();
    assert_eq!(groups[0].elems, ["s[0]", "s[1]", "s[2]"]);
    assert!(rewrite(&mut g) > 0);
    assert!(leftovers(&g).is_empty());
    let lists: HashMap<ValueId, List> = g.nodes.iter().filter_map(canonical).collect();
    let Some(List::Seq(items)) = lists.get(&s2) else { panic!("{:?}", g.nodes) };
    (g.clone(), items.iter().map(|&v| g.value(v).name.clone()).collect())
}

#[test]
fn positions_follow_onnx_defaults_and_negative_indices() {
    assert_eq!(edit(None, None).1, ["s[0]", "s[1]", "t"]);
    assert_eq!(edit(Some(0), Some(0)).1, ["t", "s[1]", "s[2]"]);
    assert_eq!(edit(Some(-2), Some(-1)).1, ["s[0]", "t", "s[2]"]);
    assert_eq!(edit(Some(1), Some(2)).1, ["s[0]", "s[2]", "t"]);
}

#[test]
fn out_of_range_positions_stay_and_are_reported() {
    let mut g = Graph::new("bad");
    let s = g.add_value("s", ValueType::Sequence(Box::new(f2())));
    g.inputs = vec![s];
    let p = g.add_const("p", Tensor::scalar(5i64));
    let y = g.add_value("y", ValueType::Unknown);
    g.add_node("at", Op::Control(ControlOp::SequenceAt), vec![Some(s), Some(p)], vec![Some(y)]);
    g.outputs = vec![y];
    bind_inputs(&mut g, &BTreeMap::from([("s".to_string(), Structure::sequence(2))])).unwrap();
    assert_eq!(rewrite(&mut g), 0);
    let left = leftovers(&g);
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].node, "at");
    assert!(left[0].reason.contains("position 5 is out of range for a sequence of 2"), "{}", left[0].reason);
}

#[test]
fn optional_outputs_expand_to_their_tensors() {
    let mut g = Graph::new("opt");
    let x = g.add_value("x", f2());
    g.inputs = vec![x];
    let (a, b) = (g.add_value("a", ValueType::Unknown), g.add_value("b", ValueType::Unknown));
    g.add_node("some", Op::Control(ControlOp::Optional { elem: None }), vec![Some(x)], vec![Some(a)]);
    g.add_node("none", Op::Control(ControlOp::Optional { elem: Some(f2()) }), vec![None], vec![Some(b)]);
    g.outputs = vec![b, a, x];
    let groups = expand_outputs(&mut g).unwrap();
    assert_eq!(g.outputs, [x, x]);
    let got: Vec<_> = groups.iter().map(|g| (g.shape, g.name.as_str(), g.first, g.count)).collect();
    assert_eq!(got, [(GroupShape::Optional, "b", 0, 0), (GroupShape::Optional, "a", 0, 1)]);
}
