//! Runtime values: what flows along a graph edge when a graph is evaluated.

use std::fmt;

use crate::tensor::Tensor;
use crate::types::{Dim, TensorType, ValueType};

/// A value: a tensor, a sequence of values, a map, or an optional value.
#[derive(Clone, PartialEq)]
pub enum Value {
    Tensor(Tensor),
    Sequence(Vec<Value>),
    /// A map from scalar keys to scalar values, stored as two 1-D tensors of equal length
    /// (ONNX `MapProto`, produced by `ZipMap`).
    Map {
        keys: Tensor,
        values: Tensor,
    },
    /// An optional: `None` is ONNX's empty optional.
    Optional(Option<Box<Value>>),
}

impl Value {
    pub fn as_tensor(&self) -> Option<&Tensor> {
        match self {
            Value::Tensor(t) => Some(t),
            _ => None,
        }
    }

    pub fn into_tensor(self) -> Option<Tensor> {
        match self {
            Value::Tensor(t) => Some(t),
            _ => None,
        }
    }

    /// A short kind name for error messages: `tensor`, `sequence`, `map`, `optional`.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Tensor(_) => "tensor",
            Value::Sequence(_) => "sequence",
            Value::Map { .. } => "map",
            Value::Optional(_) => "optional",
        }
    }

    /// The type of this value: concrete for tensors; a sequence's element type is what all its
    /// items share (unknown for an empty sequence).
    pub fn value_type(&self) -> ValueType {
        match self {
            Value::Tensor(t) => ValueType::Tensor(TensorType::concrete(t.dtype(), t.shape())),
            Value::Sequence(items) => {
                let mut types = items.iter().map(Value::value_type);
                let first = types.next().unwrap_or(ValueType::Unknown);
                ValueType::Sequence(Box::new(types.fold(first, |acc, t| common_type(&acc, &t))))
            }
            Value::Map { keys, values } => {
                ValueType::Map(keys.dtype(), Box::new(ValueType::Tensor(TensorType::concrete(values.dtype(), &[]))))
            }
            Value::Optional(v) => {
                ValueType::Optional(Box::new(v.as_ref().map(|v| v.value_type()).unwrap_or(ValueType::Unknown)))
            }
        }
    }
}

/// What two types have in common: equal parts are kept, differing ones become unknown.
fn common_type(a: &ValueType, b: &ValueType) -> ValueType {
    match (a, b) {
        _ if a == b => a.clone(),
        (ValueType::Tensor(x), ValueType::Tensor(y)) => {
            let shape = match (&x.shape, &y.shape) {
                (Some(p), Some(q)) if p.len() == q.len() => {
                    Some(p.iter().zip(q).map(|(u, v)| if u == v { u.clone() } else { Dim::Unknown }).collect())
                }
                _ => None,
            };
            ValueType::Tensor(TensorType { dtype: x.dtype.filter(|_| x.dtype == y.dtype), shape })
        }
        (ValueType::Sequence(x), ValueType::Sequence(y)) => ValueType::Sequence(Box::new(common_type(x, y))),
        (ValueType::Optional(x), ValueType::Optional(y)) => ValueType::Optional(Box::new(common_type(x, y))),
        _ => ValueType::Unknown,
    }
}

impl From<Tensor> for Value {
    fn from(t: Tensor) -> Self {
        Value::Tensor(t)
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Tensor(t) => t.fmt(f),
            Value::Sequence(items) => f.debug_list().entries(items).finish(),
            Value::Map { keys, values } => write!(f, "map{{keys: {keys:?}, values: {values:?}}}"),
            Value::Optional(None) => f.write_str("optional(none)"),
            Value::Optional(Some(v)) => write!(f, "optional({v:?})"),
        }
    }
}
