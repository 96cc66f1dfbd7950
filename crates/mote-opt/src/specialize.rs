//! `specialize`: binds what the user knows about the inputs (symbolic dims, input shapes,
//! constant inputs) and re-runs inference so the rest of the graph sees it.

use std::collections::{BTreeMap, BTreeSet};

use mote_ir::{Dim, Graph, TensorType, ValueId, ValueType};

use crate::error::OptError;
use crate::options::Bindings;
use crate::report::Rewrites;

/// Applies `b` to `g`:
/// - every `Dim::Sym` named in `b.dims` becomes that size, in every value of every subgraph;
/// - each input in `b.shapes` gets that shape (its symbolic dims are bound everywhere, like
///   `b.dims`);
/// - each input in `b.constants` becomes a constant and leaves `g.inputs`;
/// - with `b.freeze_initializers`, inputs that have an initializer become constants too.
///
/// Then shape inference (with constant folding) runs again. When it fails, constants are folded
/// first with the types known so far (inlining the `If`s whose condition became constant, so a
/// branch the bindings rule out is not inferred) and inference runs once more. Errors name the input or symbol
/// that does not fit: unknown names, a rank or known dim that differs, a dtype that differs, or a
/// symbol bound to two sizes.
pub fn specialize(g: &mut Graph, b: &Bindings) -> Result<Rewrites, OptError> {
    let mut r = Rewrites::default();
    if b.is_empty() {
        return Ok(r);
    }

    // Symbol bindings: explicit ones, then those implied by input shapes and constants.
    let mut dims: BTreeMap<String, usize> = BTreeMap::new();
    let symbols = all_symbols(g);
    for (name, &size) in &b.dims {
        if !symbols.contains(name) {
            let list: Vec<&str> = symbols.iter().map(String::as_str).collect();
            return Err(OptError::UnknownSymbol { name: name.clone(), symbols: list.join(", ") });
        }
        dims.insert(name.clone(), size);
    }
    let mut shapes: Vec<(ValueId, Vec<usize>)> = Vec::new();
    let given_shapes = b.shapes.iter().map(|(n, s)| (n, s.clone(), None));
    let given_consts = b.constants.iter().map(|(n, t)| (n, t.shape().to_vec(), Some(t)));
    for (name, shape, value) in given_shapes.chain(given_consts) {
        let id =
            find_input(g, name).ok_or_else(|| OptError::UnknownInput { name: name.clone(), inputs: input_names(g) })?;
        let bad = |msg: String| OptError::Bind { name: name.clone(), msg };
        let declared = g.value(id).ty.clone();
        let tt = match &declared {
            ValueType::Tensor(t) => t.clone(),
            ValueType::Unknown => TensorType::default(),
            other => return Err(bad(format!("it is declared {other}, not a tensor"))),
        };
        if let (Some(t), Some(d)) = (value, tt.dtype)
            && t.dtype() != d
        {
            return Err(bad(format!("the value is {} but the input is declared {d}", t.dtype())));
        }
        if let Some(decl) = &tt.shape {
            if decl.len() != shape.len() {
                return Err(bad(format!("shape {shape:?} has rank {}, the input is declared {declared}", shape.len())));
            }
            for (k, (d, &s)) in decl.iter().zip(&shape).enumerate() {
                match d {
                    Dim::Known(x) if *x != s => {
                        return Err(bad(format!("dimension {k} is {s}, the input is declared {declared}")));
                    }
                    Dim::Sym(sym) => match dims.get(sym) {
                        Some(&prev) if prev != s => {
                            return Err(bad(format!(
                                "dimension {k} (`{sym}`) is {s}, but `{sym}` is already bound to {prev}"
                            )));
                        }
                        _ => {
                            dims.insert(sym.clone(), s);
                        }
                    },
                    _ => {}
                }
            }
        }
        if value.is_none() {
            shapes.push((id, shape));
        }
    }

    bind_symbols(g, &dims);
    r.add("symbols_bound", dims.len());
    for (id, shape) in shapes {
        let info = g.value_mut(id);
        let dtype = info.ty.as_tensor().and_then(|t| t.dtype);
        info.ty = ValueType::Tensor(TensorType { dtype, shape: Some(shape.into_iter().map(Dim::Known).collect()) });
        r.add("input_shapes_bound", 1);
    }
    for (name, t) in &b.constants {
        if let Some(id) = find_input(g, name) {
            let info = g.value_mut(id);
            info.ty = ValueType::Tensor(TensorType::concrete(t.dtype(), t.shape()));
            info.init = Some(t.clone());
            g.inputs.retain(|&i| i != id);
            r.add("inputs_made_constant", 1);
        }
    }
    if b.freeze_initializers {
        let before = g.inputs.len();
        let values = &g.values;
        g.inputs.retain(|&i| values[i.index()].init.is_none());
        r.add("initializers_frozen", before - g.inputs.len());
    }
    if mote_interp::infer(g).is_err() {
        // A branch the bindings rule out may contradict them (silero_vad's 8 kHz branch on
        // 16 kHz-sized inputs): fold with the types known so far, which inlines the `If`s whose
        // condition the bindings made constant, then infer again.
        crate::fold::fold_graph(g, &std::collections::HashMap::new(), &crate::FoldOptions::default(), &mut r);
        mote_interp::infer(g).map_err(|source| OptError::Infer { pass: "specialize", source })?;
    }
    Ok(r)
}

fn find_input(g: &Graph, name: &str) -> Option<ValueId> {
    g.inputs.iter().copied().find(|&i| g.value(i).name == name)
}

fn input_names(g: &Graph) -> String {
    g.inputs.iter().map(|&i| g.value(i).name.as_str()).collect::<Vec<_>>().join(", ")
}

/// Every symbolic dimension name used in `g` or its subgraphs.
fn all_symbols(g: &Graph) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    g.walk(&mut |sub| {
        for v in &sub.values {
            visit_dims(&v.ty, &mut |d| {
                if let Dim::Sym(s) = d {
                    out.insert(s.clone());
                }
            });
        }
    });
    out
}

fn visit_dims(ty: &ValueType, f: &mut dyn FnMut(&Dim)) {
    match ty {
        ValueType::Tensor(t) => t.shape.iter().flatten().for_each(f),
        ValueType::Sequence(e) | ValueType::Optional(e) | ValueType::Map(_, e) => visit_dims(e, f),
        ValueType::Unknown => {}
    }
}

fn bind_dims(ty: &mut ValueType, dims: &BTreeMap<String, usize>) -> usize {
    match ty {
        ValueType::Tensor(t) => {
            let mut n = 0;
            for d in t.shape.iter_mut().flatten() {
                if let Dim::Sym(s) = d
                    && let Some(&k) = dims.get(s.as_str())
                {
                    *d = Dim::Known(k);
                    n += 1;
                }
            }
            n
        }
        ValueType::Sequence(e) | ValueType::Optional(e) | ValueType::Map(_, e) => bind_dims(e, dims),
        ValueType::Unknown => 0,
    }
}

/// Replaces bound symbols in every value type of `g` and its subgraphs; returns how many dims
/// changed.
fn bind_symbols(g: &mut Graph, dims: &BTreeMap<String, usize>) -> usize {
    if dims.is_empty() {
        return 0;
    }
    let mut n = 0;
    for v in &mut g.values {
        n += bind_dims(&mut v.ty, dims);
    }
    for node in &mut g.nodes {
        for sub in node.op.subgraphs_mut() {
            n += bind_symbols(sub, dims);
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use mote_ir::ops::elementwise::{Binary, ElementwiseOp};
    use mote_ir::{DType, Op, Tensor};

    use super::*;

    fn sym(s: &str) -> Dim {
        Dim::Sym(s.into())
    }

    /// `y = x + k`, with x: f32[N, 3] and k: f32[].
    fn graph() -> Graph {
        let mut g = Graph::new("g");
        let x = g.add_value("x", ValueType::tensor(DType::F32, vec![sym("N"), Dim::Known(3)]));
        let k = g.add_value("k", ValueType::tensor(DType::F32, vec![]));
        let y = g.add_value("y", ValueType::tensor(DType::F32, vec![sym("N"), Dim::Known(3)]));
        g.add_node("add", Op::Elementwise(ElementwiseOp::Binary(Binary::Add)), vec![Some(x), Some(k)], vec![Some(y)]);
        g.inputs = vec![x, k];
        g.outputs = vec![y];
        g
    }

    #[test]
    fn binds_symbols_shapes_and_constants() {
        let mut g = graph();
        let mut b = Bindings::default();
        b.constants.insert("k".into(), Tensor::scalar(2.0f32));
        b.shapes.insert("x".into(), vec![4, 3]);
        let r = specialize(&mut g, &b).unwrap();
        assert_eq!(r.get("inputs_made_constant"), 1);
        assert_eq!(r.get("input_shapes_bound"), 1);
        assert_eq!(g.inputs.len(), 1);
        let y = g.find_value("y").unwrap();
        assert_eq!(g.value(y).ty, ValueType::Tensor(TensorType::concrete(DType::F32, &[4, 3])));
        let out = mote_interp::run(&g, vec![Tensor::from_vec(vec![4, 3], vec![1.0f32; 12]).unwrap().into()]).unwrap();
        assert_eq!(out[0].as_tensor().unwrap().typed::<f32>().unwrap(), &[3.0f32; 12]);
    }

    #[test]
    fn binds_a_symbol_by_name() {
        let mut g = graph();
        let mut b = Bindings::default();
        b.dims.insert("N".into(), 2);
        specialize(&mut g, &b).unwrap();
        let x = g.find_value("x").unwrap();
        assert_eq!(g.value(x).ty, ValueType::Tensor(TensorType::concrete(DType::F32, &[2, 3])));
    }

    #[test]
    fn bad_bindings_are_named() {
        let mut b = Bindings::default();
        b.dims.insert("M".into(), 2);
        let e = specialize(&mut graph(), &b).unwrap_err();
        assert!(matches!(&e, OptError::UnknownSymbol { name, symbols } if name == "M" && symbols == "N"), "{e}");

        let mut b = Bindings::default();
        b.shapes.insert("z".into(), vec![1]);
        let e = specialize(&mut graph(), &b).unwrap_err();
        assert!(matches!(&e, OptError::UnknownInput { name, .. } if name == "z"), "{e}");

        let mut b = Bindings::default();
        b.shapes.insert("x".into(), vec![4, 2]);
        let e = specialize(&mut graph(), &b).unwrap_err();
        assert!(e.to_string().contains("dimension 1 is 2"), "{e}");

        let mut b = Bindings::default();
        b.constants.insert("k".into(), Tensor::scalar(2i64));
        let e = specialize(&mut graph(), &b).unwrap_err();
        assert!(e.to_string().contains("declared f32"), "{e}");

        let mut b = Bindings::default();
        b.dims.insert("N".into(), 2);
        b.shapes.insert("x".into(), vec![4, 3]);
        let e = specialize(&mut graph(), &b).unwrap_err();
        assert!(e.to_string().contains("already bound to 2"), "{e}");
    }

    #[test]
    fn freezes_initialized_inputs() {
        let mut g = graph();
        let k = g.find_value("k").unwrap();
        g.value_mut(k).init = Some(Tensor::scalar(5.0f32));
        let b = Bindings { freeze_initializers: true, ..Bindings::default() };
        let r = specialize(&mut g, &b).unwrap();
        assert_eq!(r.get("initializers_frozen"), 1);
        assert_eq!(g.inputs.len(), 1);
        let report = crate::optimize(&mut g, &crate::Options::default()).unwrap();
        assert!(report.after.nodes == 1, "{report}");
        let out = mote_interp::run(&g, vec![Tensor::from_vec(vec![1, 3], vec![1.0f32; 3]).unwrap().into()]).unwrap();
        assert_eq!(out[0].as_tensor().unwrap().typed::<f32>().unwrap(), &[6.0f32; 3]);
    }
}
