//! The ONNX writer: a [`Graph`] -> `ModelProto` (default domain), for the ops trained and
//! quantized models are made of (`attrs.rs` lists them; any other op is an error naming the
//! node). The opset is the oldest that has every op as written: 19, or 20/21 when an op needs
//! it (onnxruntime 1.32's QDQ propagation mishandles opset-21 QuantizeLinear, so 21 is only
//! declared when needed). Constants that a node or output uses become initializers; graph inputs
//! and outputs carry their types (symbolic dims as `dim_param`).

mod attrs;

use std::path::Path;

use mote_ir::{Dim, Graph, ValueId, ValueType};
use prost::Message;

use crate::proto::tensor_shape_proto::{Dimension, dimension};
use crate::proto::type_proto::{self, Tensor as TensorTypeProto};
use crate::proto::{
    GraphProto, ModelProto, NodeProto, OperatorSetIdProto, StringStringEntryProto, TensorShapeProto, TypeProto,
    ValueInfoProto,
};
use crate::tensor::tensor_to_proto;

pub use attrs::BASE_OPSET;

/// The ONNX IR version that goes with `opset`.
fn ir_version(opset: i64) -> i64 {
    if opset >= 21 { 10 } else { 9 }
}

/// Why a graph could not be written.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExportError {
    /// A node whose op the writer does not cover.
    #[error("node `{node}`: {msg}")]
    Node { node: String, msg: String },
    /// A graph-level problem (a value without a name, an untyped input...).
    #[error("{0}")]
    Graph(String),
    /// The file could not be written.
    #[error("cannot write `{path}`: {msg}")]
    Io { path: String, msg: String },
}

fn dims(shape: &[Dim]) -> TensorShapeProto {
    let dim = shape
        .iter()
        .map(|d| Dimension {
            value: match d {
                Dim::Known(k) => Some(dimension::Value::DimValue(*k as i64)),
                Dim::Sym(s) => Some(dimension::Value::DimParam(s.clone())),
                Dim::Unknown => None,
            },
            ..Dimension::default()
        })
        .collect();
    TensorShapeProto { dim }
}

fn value_info(g: &Graph, id: ValueId) -> Result<ValueInfoProto, ExportError> {
    let v = g.value(id);
    let r#type = match &v.ty {
        ValueType::Tensor(t) => {
            let elem = t.dtype.ok_or_else(|| ExportError::Graph(format!("value `{}` has no known dtype", v.name)))?;
            Some(TypeProto {
                value: Some(type_proto::Value::TensorType(TensorTypeProto {
                    elem_type: Some(elem.code() as i32),
                    shape: t.shape.as_deref().map(dims),
                })),
                ..TypeProto::default()
            })
        }
        ValueType::Unknown => None,
        other => return Err(ExportError::Graph(format!("value `{}` is a {other}: only tensors are written", v.name))),
    };
    Ok(ValueInfoProto { name: Some(v.name.clone()), r#type, ..ValueInfoProto::default() })
}

/// `g` as an ONNX model.
pub fn to_model(g: &Graph) -> Result<ModelProto, ExportError> {
    if !g.outer_refs.is_empty() {
        return Err(ExportError::Graph("a subgraph (with outer references) is not a model".into()));
    }
    let mut graph = GraphProto { name: Some(g.name.clone()), ..GraphProto::default() };
    let mut used = vec![false; g.values.len()];
    for id in g.nodes.iter().flat_map(|n| n.inputs.iter().flatten()).chain(&g.outputs).chain(&g.inputs) {
        used[id.index()] = true;
    }
    for (i, v) in g.values.iter().enumerate() {
        if v.name.is_empty() {
            return Err(ExportError::Graph(format!("value {i} has no name")));
        }
        if let Some(t) = v.init.as_ref().filter(|_| used[i]) {
            graph.initializer.push(tensor_to_proto(t, &v.name));
        }
    }
    for &id in &g.inputs {
        graph.input.push(value_info(g, id)?);
    }
    for &id in &g.outputs {
        graph.output.push(value_info(g, id)?);
    }
    let name = |slot: &Option<ValueId>| slot.map_or_else(String::new, |id| g.value(id).name.clone());
    let mut opset = BASE_OPSET;
    for n in &g.nodes {
        opset = opset.max(attrs::opset_of(&n.op));
        if !n.op.subgraphs().is_empty() {
            return Err(ExportError::Node { node: n.name.clone(), msg: "control flow is not written yet".into() });
        }
        let (op_type, attribute) =
            attrs::node_of(&n.op).map_err(|msg| ExportError::Node { node: n.name.clone(), msg })?;
        graph.node.push(NodeProto {
            name: Some(n.name.clone()),
            op_type: Some(op_type.to_string()),
            input: n.inputs.iter().map(name).collect(),
            output: n.outputs.iter().map(name).collect(),
            attribute,
            ..NodeProto::default()
        });
    }
    let metadata_props = g
        .metadata
        .iter()
        .map(|(k, v)| StringStringEntryProto { key: Some(k.clone()), value: Some(v.clone()) })
        .collect();
    Ok(ModelProto {
        ir_version: Some(ir_version(opset)),
        opset_import: vec![OperatorSetIdProto { domain: Some(String::new()), version: Some(opset) }],
        producer_name: Some("mote".into()),
        producer_version: Some(env!("CARGO_PKG_VERSION").into()),
        graph: Some(graph),
        metadata_props,
        ..ModelProto::default()
    })
}

/// `g` as ONNX bytes.
pub fn to_bytes(g: &Graph) -> Result<Vec<u8>, ExportError> {
    Ok(to_model(g)?.encode_to_vec())
}

/// Writes `g` to `path` atomically (a temporary file next to it, then a rename).
pub fn save(g: &Graph, path: &Path) -> Result<(), ExportError> {
    let bytes = to_bytes(g)?;
    let io = |e: std::io::Error| ExportError::Io { path: path.display().to_string(), msg: e.to_string() };
    let tmp = path.with_extension("onnx.tmp");
    std::fs::write(&tmp, bytes).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}
