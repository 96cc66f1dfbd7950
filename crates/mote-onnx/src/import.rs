//! ModelProto -> [`Graph`].
//!
//! The importer walks the graph once, resolving value names through nested scopes (subgraphs see
//! their enclosing graphs' values as [`OuterRef`]s), folds `Constant` nodes into constants, and
//! hands every other node to the op family importers in [`crate::ops`]. Node problems are
//! collected and reported together.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use mote_ir::{Dim, Graph, OuterRef, TensorType, ValueId, ValueType};
use prost::Message;

use crate::error::{ImportError, NodeProblem, ProblemKind};
use crate::ops::{self, NodeCtx, NodeError};
use crate::proto::{self, GraphProto, ModelProto, NodeProto, TypeProto, ValueInfoProto};
use crate::tensor::{dtype_from_onnx, onnx_type_name, tensor_from_proto};

/// Newest ai.onnx opset this importer knows.
pub const MAX_OPSET: i64 = 28;
/// IR versions this importer accepts.
pub const IR_VERSIONS: std::ops::RangeInclusive<i64> = 3..=13;

/// An imported model.
#[derive(Clone, Debug)]
pub struct Model {
    pub graph: Graph,
    pub ir_version: i64,
    /// Opset imports: (domain, version); the default domain is `ai.onnx`.
    pub opsets: Vec<(String, i64)>,
    pub producer: String,
}

/// Reads and imports an ONNX file. External tensor data is read relative to its directory.
pub fn load(path: impl AsRef<Path>) -> Result<Model, ImportError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| ImportError::Io { path: path.to_path_buf(), source })?;
    from_bytes(&bytes, path.parent(), path)
}

/// Imports a model from bytes. `base_dir` locates external data; `path` is used in messages.
pub fn from_bytes(bytes: &[u8], base_dir: Option<&Path>, path: &Path) -> Result<Model, ImportError> {
    let (model, problems) = from_bytes_lenient(bytes, base_dir, path)?;
    if !problems.is_empty() {
        return Err(ImportError::Nodes { path: path.to_path_buf(), problems });
    }
    Ok(model)
}

/// Like [`load`], but node problems do not stop the import: the nodes that failed are left out
/// of the graph (their outputs have no producer) and returned alongside. For reports such as
/// `mote inspect`; such a graph cannot run.
pub fn load_lenient(path: impl AsRef<Path>) -> Result<(Model, Vec<NodeProblem>), ImportError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| ImportError::Io { path: path.to_path_buf(), source })?;
    from_bytes_lenient(&bytes, path.parent(), path)
}

/// [`from_bytes`] without stopping at node problems (see [`load_lenient`]).
pub fn from_bytes_lenient(
    bytes: &[u8],
    base_dir: Option<&Path>,
    path: &Path,
) -> Result<(Model, Vec<NodeProblem>), ImportError> {
    let decode = |msg: String| ImportError::Decode { path: path.to_path_buf(), msg };
    if bytes.is_empty() {
        return Err(decode("the file is empty".into()));
    }
    let m = ModelProto::decode(bytes).map_err(|e| {
        decode(format!("protobuf decoding failed ({e}); the file may be truncated or not an ONNX model"))
    })?;
    let invalid = |msg: String| ImportError::Invalid { path: path.to_path_buf(), msg };

    let ir_version = m.ir_version();
    if !IR_VERSIONS.contains(&ir_version) {
        return Err(invalid(format!(
            "IR version {ir_version} is not supported (supported: {}..={}); re-export the model with a supported ONNX version",
            IR_VERSIONS.start(),
            IR_VERSIONS.end()
        )));
    }
    let mut opsets = HashMap::new();
    for o in &m.opset_import {
        let domain = normalize_domain(o.domain());
        opsets.insert(domain.to_string(), o.version());
    }
    if let Some(&v) = opsets.get("")
        && !(1..=MAX_OPSET).contains(&v)
    {
        return Err(invalid(format!("ai.onnx opset {v} is not supported (supported: 1..={MAX_OPSET})")));
    }
    let gp = m.graph.as_ref().ok_or_else(|| decode("the model has no graph".into()))?;
    if !m.functions.is_empty() {
        let names: Vec<&str> = m.functions.iter().map(|f| f.name()).collect();
        return Err(invalid(format!("model-local functions are not supported ({})", names.join(", "))));
    }

    let mut imp = Importer {
        base_dir: base_dir.map(Path::to_path_buf),
        opsets,
        scopes: Vec::new(),
        problems: Vec::new(),
        fatal: None,
    };
    let mut graph = imp.import_graph(gp);
    if let Some(msg) = imp.fatal.take() {
        return Err(invalid(msg));
    }
    let problems = std::mem::take(&mut imp.problems);
    for p in &m.metadata_props {
        graph.metadata.push((p.key().to_string(), p.value().to_string()));
    }
    if !m.producer_name().is_empty() {
        graph.metadata.push(("producer".into(), format!("{} {}", m.producer_name(), m.producer_version())));
    }
    let mut opsets: Vec<(String, i64)> =
        imp.opsets.into_iter().map(|(d, v)| (display_domain(&d).to_string(), v)).collect();
    opsets.sort();
    Ok((Model { graph, ir_version, opsets, producer: m.producer_name().to_string() }, problems))
}

fn normalize_domain(d: &str) -> &str {
    if d == "ai.onnx" { "" } else { d }
}

fn display_domain(d: &str) -> &str {
    if d.is_empty() { "ai.onnx" } else { d }
}

/// What a node became.
enum Imported {
    Node(mote_ir::Op, Vec<Option<ValueId>>),
    /// `Constant` nodes are folded into constant data.
    Constant(mote_ir::Tensor),
}

struct Scope {
    graph: Graph,
    names: HashMap<String, ValueId>,
}

pub(crate) struct Importer {
    base_dir: Option<PathBuf>,
    opsets: HashMap<String, i64>,
    scopes: Vec<Scope>,
    problems: Vec<NodeProblem>,
    /// A structural error that stops the import (reported as `ImportError::Invalid`).
    fatal: Option<String>,
}

impl Importer {
    fn fail(&mut self, msg: String) {
        if self.fatal.is_none() {
            self.fatal = Some(msg);
        }
    }

    fn value_problem(&mut self, kind: ProblemKind, what: &str, name: &str, detail: String) {
        self.problems.push(NodeProblem {
            kind,
            op_type: what.to_string(),
            domain: "ai.onnx".into(),
            opset: self.opsets.get("").copied().unwrap_or(0),
            node: name.to_string(),
            detail,
        });
    }

    /// Imports a graph in a new scope nested in the current one.
    pub(crate) fn import_graph(&mut self, gp: &GraphProto) -> Graph {
        self.scopes.push(Scope { graph: Graph::new(gp.name()), names: HashMap::new() });
        let level = self.scopes.len() - 1;

        if !gp.sparse_initializer.is_empty() {
            self.value_problem(
                ProblemKind::Unsupported,
                "sparse_initializer",
                gp.name(),
                "sparse initializers are not supported".into(),
            );
        }
        for t in &gp.initializer {
            match tensor_from_proto(t, self.base_dir.as_deref()) {
                Ok(tensor) => {
                    let id = self.scope().graph.add_const(t.name(), tensor);
                    self.scope().names.insert(t.name().to_string(), id);
                }
                Err(e) => {
                    let kind =
                        if e.msg.contains("not supported") { ProblemKind::Unsupported } else { ProblemKind::Invalid };
                    self.value_problem(kind, "initializer", t.name(), e.msg);
                    // Keep the name resolvable so the nodes that read it report their own problems.
                    let id = self.scope().graph.add_value(t.name(), ValueType::Unknown);
                    self.scope().names.insert(t.name().to_string(), id);
                }
            }
        }
        let declared: HashMap<&str, &ValueInfoProto> = gp.value_info.iter().map(|v| (v.name(), v)).collect();
        for vi in &gp.input {
            let ty = self.value_type(vi, "input");
            let id = match self.scope().names.get(vi.name()).copied() {
                Some(id) => {
                    let g = &mut self.scope().graph;
                    g.values[id.index()].ty = mote_ir::infer::merge(&g.values[id.index()].ty, &ty).unwrap_or(ty);
                    id
                }
                None => {
                    let id = self.scope().graph.add_value(vi.name(), ty);
                    self.scope().names.insert(vi.name().to_string(), id);
                    id
                }
            };
            self.scope().graph.inputs.push(id);
        }
        for (index, node) in gp.node.iter().enumerate() {
            self.import_node(node, index, &declared, level);
        }
        for vi in &gp.output {
            let ty = self.value_type(vi, "output");
            match self.resolve(level, vi.name()) {
                Some(id) => {
                    let g = &mut self.scopes[level].graph;
                    let merged = mote_ir::infer::merge(&g.values[id.index()].ty, &ty).unwrap_or(ty);
                    g.values[id.index()].ty = merged;
                    g.outputs.push(id);
                }
                None => {
                    let msg = format!(
                        "graph `{}`: output `{}` is not produced by any node, input or initializer",
                        gp.name(),
                        vi.name()
                    );
                    self.fail(msg);
                }
            }
        }
        self.scopes.pop().expect("scope pushed above").graph
    }

    fn scope(&mut self) -> &mut Scope {
        self.scopes.last_mut().expect("inside a graph")
    }

    /// Looks a name up in scope `level` and its enclosing scopes, creating outer references
    /// along the way.
    fn resolve(&mut self, level: usize, name: &str) -> Option<ValueId> {
        if let Some(&id) = self.scopes[level].names.get(name) {
            return Some(id);
        }
        if level == 0 {
            return None;
        }
        let outer = self.resolve(level - 1, name)?;
        let ty = self.scopes[level - 1].graph.values[outer.index()].ty.clone();
        let scope = &mut self.scopes[level];
        let inner = scope.graph.add_value(name, ty);
        scope.graph.outer_refs.push(OuterRef { inner, outer });
        scope.names.insert(name.to_string(), inner);
        Some(inner)
    }

    fn value_type(&mut self, vi: &ValueInfoProto, what: &str) -> ValueType {
        match vi.r#type.as_ref().map(convert_type) {
            Some(Ok(t)) => t,
            Some(Err(msg)) => {
                self.value_problem(ProblemKind::Unsupported, what, vi.name(), msg);
                ValueType::Unknown
            }
            None => ValueType::Unknown,
        }
    }

    fn import_node(&mut self, node: &NodeProto, index: usize, declared: &HashMap<&str, &ValueInfoProto>, level: usize) {
        let domain = normalize_domain(node.domain()).to_string();
        let node_name =
            if node.name().is_empty() { format!("{}_{index}", node.op_type()) } else { node.name().to_string() };
        let opset = self.opsets.get(&domain).copied();
        let problem = |kind, detail: String| NodeProblem {
            kind,
            op_type: node.op_type().to_string(),
            domain: display_domain(&domain).to_string(),
            opset: opset.unwrap_or(0),
            node: node_name.clone(),
            detail,
        };

        let mut inputs = Vec::with_capacity(node.input.len());
        for name in &node.input {
            if name.is_empty() {
                inputs.push(None);
                continue;
            }
            match self.resolve(level, name) {
                Some(id) => inputs.push(Some(id)),
                None => {
                    self.fail(format!("node `{node_name}` ({}) reads `{name}`, which no earlier node, graph input or initializer defines (nodes must be in topological order)", node.op_type()));
                    return;
                }
            }
        }

        let result = match opset {
            None => Err(NodeError::invalid(format!(
                "domain `{}` is not in the model's opset imports",
                display_domain(&domain)
            ))),
            Some(opset) if domain.is_empty() && node.op_type() == "Constant" => {
                ops::constant(node, opset, self.base_dir.as_deref()).map(Imported::Constant)
            }
            Some(opset) => {
                let mut cx = NodeCtx::new(node, &domain, opset, inputs, node_name.clone(), self);
                let r = ops::import(&mut cx);
                let inputs = std::mem::take(&mut cx.inputs);
                r.map(|op| Imported::Node(op, inputs))
            }
        };

        // Outputs are defined even when the node failed, so later nodes still resolve and every
        // problem in the graph is reported.
        let mut outputs = Vec::with_capacity(node.output.len());
        for name in &node.output {
            if name.is_empty() {
                outputs.push(None);
                continue;
            }
            if self.scopes[level].names.contains_key(name) {
                self.fail(format!("node `{node_name}` ({}) writes `{name}`, which is already defined", node.op_type()));
                return;
            }
            let ty = match declared.get(name.as_str()).and_then(|v| v.r#type.as_ref()).map(convert_type) {
                Some(Ok(t)) => t,
                _ => ValueType::Unknown,
            };
            let id = self.scopes[level].graph.add_value(name, ty);
            self.scopes[level].names.insert(name.clone(), id);
            outputs.push(Some(id));
        }

        match result {
            Ok(Imported::Node(op, inputs)) => {
                self.scopes[level].graph.add_node(node_name, op, inputs, outputs);
            }
            Ok(Imported::Constant(constant)) => {
                // A folded `Constant`: its single output becomes constant data.
                if let Some(Some(id)) = outputs.first() {
                    let g = &mut self.scopes[level].graph;
                    g.values[id.index()].ty =
                        ValueType::Tensor(TensorType::concrete(constant.dtype(), constant.shape()));
                    g.values[id.index()].init = Some(constant);
                }
            }
            Err(e) => self.problems.push(problem(e.kind, e.detail)),
        }
    }

    /// Adds a constant to the innermost scope (for attributes that became inputs).
    pub(crate) fn add_const(&mut self, name: String, t: mote_ir::Tensor) -> ValueId {
        self.scope().graph.add_const(name, t)
    }

    pub(crate) fn base_dir(&self) -> Option<&Path> {
        self.base_dir.as_deref()
    }

    /// The constant data of a value in the innermost scope, if it is a constant.
    pub(crate) fn const_value(&self, id: ValueId) -> Option<&mote_ir::Tensor> {
        let g = &self.scopes.last()?.graph;
        let v = g.values.get(id.index())?;
        if g.inputs.contains(&id) { None } else { v.init.as_ref() }
    }

    /// The static type of a value in the innermost scope.
    pub(crate) fn value_type_of(&self, id: ValueId) -> Option<&ValueType> {
        self.scopes.last()?.graph.values.get(id.index()).map(|v| &v.ty)
    }
}

/// Converts an ONNX type to a [`ValueType`].
pub fn convert_type(t: &TypeProto) -> Result<ValueType, String> {
    use proto::type_proto::Value as V;
    Ok(match &t.value {
        Some(V::TensorType(tt)) => {
            let dtype = match tt.elem_type() {
                0 => None,
                code => Some(
                    dtype_from_onnx(code, "")
                        .map_err(|_| format!("element type {} is not supported", onnx_type_name(code)))?,
                ),
            };
            let shape = tt.shape.as_ref().map(|s| {
                s.dim
                    .iter()
                    .map(|d| match &d.value {
                        Some(proto::tensor_shape_proto::dimension::Value::DimValue(v)) if *v >= 0 => {
                            Dim::Known(*v as usize)
                        }
                        // `?` is how some exporters spell "unknown", not a shared symbol.
                        Some(proto::tensor_shape_proto::dimension::Value::DimParam(p)) if !p.is_empty() && p != "?" => {
                            Dim::Sym(p.clone())
                        }
                        _ => Dim::Unknown,
                    })
                    .collect()
            });
            ValueType::Tensor(TensorType { dtype, shape })
        }
        Some(V::SequenceType(s)) => ValueType::Sequence(Box::new(match &s.elem_type {
            Some(e) => convert_type(e)?,
            None => ValueType::Unknown,
        })),
        Some(V::OptionalType(o)) => ValueType::Optional(Box::new(match &o.elem_type {
            Some(e) => convert_type(e)?,
            None => ValueType::Unknown,
        })),
        Some(V::MapType(m)) => {
            let k = dtype_from_onnx(m.key_type(), "")
                .map_err(|_| format!("map key type {} is not supported", onnx_type_name(m.key_type())))?;
            ValueType::Map(
                k,
                Box::new(match &m.value_type {
                    Some(v) => convert_type(v)?,
                    None => ValueType::Unknown,
                }),
            )
        }
        Some(V::SparseTensorType(_)) => return Err("sparse tensors are not supported".into()),
        Some(V::OpaqueType(_)) => return Err("opaque types are not supported".into()),
        None => ValueType::Unknown,
    })
}
