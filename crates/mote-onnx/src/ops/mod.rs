//! ONNX node -> [`Op`], one file per op family (the same stems as `mote-ir/src/ops/`).
//!
//! Each family exposes `OPS` (the `(domain, op_type)` pairs it handles) and
//! `import(cx) -> Result<Option<Op>, NodeError>`, returning `Ok(None)` for op types that are not
//! its own. Importers upgrade older opset forms to the newest semantics: an attribute that a
//! later opset turned into an input becomes a constant input (see [`NodeCtx::const_input`]).
//!
//! Every attribute of a node must be read by its importer (or explicitly ignored with
//! [`NodeCtx::ignore`]); an attribute nobody read is reported as unsupported, so a model is
//! never silently run with semantics we did not implement.

use std::cell::RefCell;
use std::path::Path;

use mote_ir::{DType, Graph, Op, Tensor, ValueId, ValueType};

use crate::error::ProblemKind;
use crate::import::Importer;
use crate::proto::{AttributeProto, NodeProto, attribute_proto::AttributeType};
use crate::tensor::{dtype_from_onnx, onnx_type_name, tensor_from_proto};

pub mod attention;
pub mod control;
pub mod elementwise;
pub mod image;
pub mod loss;
pub mod ml;
pub mod nn;
pub mod quant;
pub mod random;
pub mod reduce;
pub mod rnn;
pub mod shape;
pub mod signal;
pub mod text;

type ImportFn = fn(&mut NodeCtx<'_>) -> Result<Option<Op>, NodeError>;

const FAMILIES: &[(ImportFn, &[(&str, &str)])] = &[
    (elementwise::import, elementwise::OPS),
    (reduce::import, reduce::OPS),
    (shape::import, shape::OPS),
    (nn::import, nn::OPS),
    (rnn::import, rnn::OPS),
    (quant::import, quant::OPS),
    (image::import, image::OPS),
    (signal::import, signal::OPS),
    (control::import, control::OPS),
    (loss::import, loss::OPS),
    (attention::import, attention::OPS),
    (ml::import, ml::OPS),
    (text::import, text::OPS),
    (random::import, random::OPS),
];

/// Every `(domain, op_type)` the importer supports; `""` is the default domain. `Constant` is
/// folded by the importer itself.
pub fn supported_ops() -> Vec<(&'static str, &'static str)> {
    let mut v: Vec<(&str, &str)> = FAMILIES.iter().flat_map(|(_, ops)| ops.iter().copied()).collect();
    v.push(("", "Constant"));
    v.sort();
    v
}

/// A problem with one node, before the importer adds where it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeError {
    pub kind: ProblemKind,
    pub detail: String,
}

impl NodeError {
    pub fn unsupported(detail: impl Into<String>) -> NodeError {
        NodeError { kind: ProblemKind::Unsupported, detail: detail.into() }
    }

    pub fn invalid(detail: impl Into<String>) -> NodeError {
        NodeError { kind: ProblemKind::Invalid, detail: detail.into() }
    }
}

/// Builds an invalid-node [`NodeError`] with `format!` syntax.
macro_rules! invalid {
    ($($t:tt)*) => { $crate::ops::NodeError::invalid(format!($($t)*)) };
}
pub(crate) use invalid;

/// Builds an unsupported-feature [`NodeError`] with `format!` syntax.
macro_rules! unsupported {
    ($($t:tt)*) => { $crate::ops::NodeError::unsupported(format!($($t)*)) };
}
pub(crate) use unsupported;

pub(crate) fn import(cx: &mut NodeCtx<'_>) -> Result<Op, NodeError> {
    for (family, _) in FAMILIES {
        if let Some(op) = family(cx)? {
            cx.check_attributes_used()?;
            return Ok(op);
        }
    }
    Err(NodeError::unsupported(""))
}

/// The node being imported: its attributes, inputs and opset, plus access to the importer for
/// constants and subgraphs.
pub struct NodeCtx<'a> {
    pub node: &'a NodeProto,
    pub op_type: &'a str,
    /// `""` for the default (ai.onnx) domain.
    pub domain: &'a str,
    /// The opset version of the node's domain.
    pub opset: i64,
    /// The node's inputs (`None` = omitted). Importers may rewrite them.
    pub inputs: Vec<Option<ValueId>>,
    pub name: String,
    used: RefCell<Vec<String>>,
    imp: &'a mut Importer,
}

impl std::fmt::Debug for NodeCtx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NodeCtx({} `{}`)", self.op_type, self.name)
    }
}

impl<'a> NodeCtx<'a> {
    pub(crate) fn new(
        node: &'a NodeProto,
        domain: &'a str,
        opset: i64,
        inputs: Vec<Option<ValueId>>,
        name: String,
        imp: &'a mut Importer,
    ) -> Self {
        NodeCtx { node, op_type: node.op_type(), domain, opset, inputs, name, used: RefCell::new(Vec::new()), imp }
    }

    /// True for this op type in the default domain.
    pub fn is(&self, op_type: &str) -> bool {
        self.domain.is_empty() && self.op_type == op_type
    }

    fn attr(&self, name: &str) -> Option<&'a AttributeProto> {
        self.used.borrow_mut().push(name.to_string());
        self.node.attribute.iter().find(|a| a.name() == name)
    }

    fn typed_attr(&self, name: &str, want: AttributeType) -> Result<Option<&'a AttributeProto>, NodeError> {
        let Some(a) = self.attr(name) else {
            return Ok(None);
        };
        if a.ref_attr_name.is_some() {
            return Err(invalid!("attribute `{name}` refers to a function attribute outside a function"));
        }
        if a.r#type() != want && a.r#type() != AttributeType::Undefined {
            return Err(invalid!(
                "attribute `{name}` must be {}, got {}",
                want.as_str_name(),
                a.r#type().as_str_name()
            ));
        }
        Ok(Some(a))
    }

    /// Marks attributes as read without using them (they do not change results).
    pub fn ignore(&self, names: &[&str]) {
        self.used.borrow_mut().extend(names.iter().map(|s| s.to_string()));
    }

    /// True if the node carries this attribute (marks it as read).
    pub fn has(&self, name: &str) -> bool {
        self.attr(name).is_some()
    }

    pub fn int_opt(&self, name: &str) -> Result<Option<i64>, NodeError> {
        Ok(self.typed_attr(name, AttributeType::Int)?.map(|a| a.i()))
    }

    pub fn int(&self, name: &str, default: i64) -> Result<i64, NodeError> {
        Ok(self.int_opt(name)?.unwrap_or(default))
    }

    pub fn req_int(&self, name: &str) -> Result<i64, NodeError> {
        self.int_opt(name)?.ok_or_else(|| invalid!("required attribute `{name}` is missing"))
    }

    pub fn float_opt(&self, name: &str) -> Result<Option<f32>, NodeError> {
        Ok(self.typed_attr(name, AttributeType::Float)?.map(|a| a.f()))
    }

    pub fn float(&self, name: &str, default: f32) -> Result<f32, NodeError> {
        Ok(self.float_opt(name)?.unwrap_or(default))
    }

    pub fn string_opt(&self, name: &str) -> Result<Option<String>, NodeError> {
        Ok(self.typed_attr(name, AttributeType::String)?.map(|a| String::from_utf8_lossy(a.s()).into_owned()))
    }

    pub fn string(&self, name: &str, default: &str) -> Result<String, NodeError> {
        Ok(self.string_opt(name)?.unwrap_or_else(|| default.to_string()))
    }

    pub fn ints(&self, name: &str) -> Result<Option<Vec<i64>>, NodeError> {
        Ok(self.typed_attr(name, AttributeType::Ints)?.map(|a| a.ints.clone()))
    }

    pub fn floats(&self, name: &str) -> Result<Option<Vec<f32>>, NodeError> {
        Ok(self.typed_attr(name, AttributeType::Floats)?.map(|a| a.floats.clone()))
    }

    pub fn strings(&self, name: &str) -> Result<Option<Vec<String>>, NodeError> {
        Ok(self
            .typed_attr(name, AttributeType::Strings)?
            .map(|a| a.strings.iter().map(|s| String::from_utf8_lossy(s).into_owned()).collect()))
    }

    /// A non-negative ints attribute as `usize`s.
    pub fn usizes(&self, name: &str) -> Result<Option<Vec<usize>>, NodeError> {
        match self.ints(name)? {
            None => Ok(None),
            Some(v) => v
                .iter()
                .map(|&x| usize::try_from(x).map_err(|_| invalid!("attribute `{name}` has a negative value {x}")))
                .collect::<Result<_, _>>()
                .map(Some),
        }
    }

    pub fn tensor(&self, name: &str) -> Result<Option<Tensor>, NodeError> {
        match self.typed_attr(name, AttributeType::Tensor)? {
            None => Ok(None),
            Some(a) => {
                let t = a.t.as_ref().ok_or_else(|| invalid!("attribute `{name}` has no tensor"))?;
                tensor_from_proto(t, self.imp.base_dir()).map(Some).map_err(|e| tensor_problem(name, e.msg))
            }
        }
    }

    /// An attribute holding an element type code (`to`, `dtype`).
    pub fn dtype(&self, name: &str) -> Result<Option<DType>, NodeError> {
        match self.int_opt(name)? {
            None => Ok(None),
            // A code outside i32 must not wrap onto a valid one.
            Some(code) => {
                i32::try_from(code).ok().and_then(|c| dtype_from_onnx(c, name).ok()).map(Some).ok_or_else(|| {
                    let type_name = i32::try_from(code).map_or_else(|_| format!("code {code}"), onnx_type_name);
                    unsupported!("attribute `{name}`: element type {type_name} is not supported")
                })
            }
        }
    }

    /// Imports a graph attribute as a subgraph of the current scope.
    pub fn graph(&mut self, name: &str) -> Result<Option<Graph>, NodeError> {
        match self.typed_attr(name, AttributeType::Graph)? {
            None => Ok(None),
            Some(a) => {
                let gp = a.g.as_ref().ok_or_else(|| invalid!("attribute `{name}` has no graph"))?;
                Ok(Some(self.imp.import_graph(gp)))
            }
        }
    }

    pub fn req_graph(&mut self, name: &str) -> Result<Graph, NodeError> {
        self.graph(name)?.ok_or_else(|| invalid!("required attribute `{name}` is missing"))
    }

    /// Checks the number of inputs given (counting omitted optional ones up to the last given).
    pub fn expect_inputs(&self, min: usize, max: usize) -> Result<(), NodeError> {
        let n = self.inputs.len();
        if n < min || n > max {
            let want = if min == max {
                format!("{min}")
            } else if max == usize::MAX {
                format!("at least {min}")
            } else {
                format!("{min} to {max}")
            };
            return Err(invalid!("expects {want} input(s), got {n}"));
        }
        for i in 0..min {
            if self.inputs[i].is_none() {
                return Err(invalid!("input {i} is required but empty"));
            }
        }
        Ok(())
    }

    /// Adds `t` as a constant and returns its id (for attributes that later opsets made inputs).
    pub fn const_value(&mut self, suffix: &str, t: Tensor) -> ValueId {
        let name = format!("{}::{suffix}", self.name);
        self.imp.add_const(name, t)
    }

    /// Puts constant `t` at input position `i`, padding with omitted inputs as needed.
    pub fn const_input(&mut self, i: usize, suffix: &str, t: Tensor) {
        let id = self.const_value(suffix, t);
        if self.inputs.len() <= i {
            self.inputs.resize(i + 1, None);
        }
        self.inputs[i] = Some(id);
    }

    /// The constant data of input `i`, if it is an initializer or folded constant.
    pub fn input_const(&self, i: usize) -> Option<&Tensor> {
        self.inputs.get(i).copied().flatten().and_then(|id| self.imp.const_value(id))
    }

    /// The declared static type of input `i`.
    pub fn input_type(&self, i: usize) -> Option<&ValueType> {
        self.inputs.get(i).copied().flatten().and_then(|id| self.imp.value_type_of(id))
    }

    fn check_attributes_used(&self) -> Result<(), NodeError> {
        let used = self.used.borrow();
        let unused: Vec<&str> =
            self.node.attribute.iter().map(|a| a.name()).filter(|n| !used.iter().any(|u| u == n)).collect();
        if unused.is_empty() {
            Ok(())
        } else {
            Err(unsupported!(
                "attribute(s) {} not supported",
                unused.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
            ))
        }
    }
}

fn tensor_problem(attr: &str, msg: String) -> NodeError {
    if msg.contains("not supported") {
        unsupported!("attribute `{attr}`: {msg}")
    } else {
        invalid!("attribute `{attr}`: {msg}")
    }
}

/// Folds a `Constant` node into its tensor.
pub(crate) fn constant(node: &NodeProto, _opset: i64, base_dir: Option<&Path>) -> Result<Tensor, NodeError> {
    let [a] = node.attribute.as_slice() else {
        return Err(invalid!("Constant must have exactly one attribute, got {}", node.attribute.len()));
    };
    let name = a.name();
    let t = match name {
        "value" => {
            let p = a.t.as_ref().ok_or_else(|| invalid!("attribute `value` has no tensor"))?;
            tensor_from_proto(p, base_dir).map_err(|e| tensor_problem(name, e.msg))?
        }
        "value_float" => Tensor::scalar(a.f()),
        "value_int" => Tensor::scalar(a.i()),
        "value_string" => {
            Tensor::from_strings(vec![], vec![String::from_utf8_lossy(a.s()).into_owned()]).expect("one element")
        }
        "value_floats" => Tensor::from_vec(vec![a.floats.len()], a.floats.clone()).expect("length matches"),
        "value_ints" => Tensor::from_vec(vec![a.ints.len()], a.ints.clone()).expect("length matches"),
        "value_strings" => {
            let v: Vec<String> = a.strings.iter().map(|s| String::from_utf8_lossy(s).into_owned()).collect();
            Tensor::from_strings(vec![v.len()], v).expect("length matches")
        }
        "sparse_value" => return Err(unsupported!("sparse constants are not supported")),
        other => return Err(invalid!("unknown Constant attribute `{other}`")),
    };
    Ok(t)
}
