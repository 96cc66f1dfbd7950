//! Static types of graph values: tensor types with possibly symbolic dimensions, sequences,
//! maps and optionals.

use std::fmt;

use mote_core::DType;

/// One dimension of a static shape.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Dim {
    Known(usize),
    /// A named symbolic dimension (`N`, `batch`, `seq_len`): the same name means the same size.
    Sym(String),
    /// Nothing is known about this dimension.
    Unknown,
}

impl Dim {
    pub fn known(&self) -> Option<usize> {
        match self {
            Dim::Known(d) => Some(*d),
            _ => None,
        }
    }

    /// `self * other`, known only when both are known (or either is 0).
    pub fn mul(&self, other: &Dim) -> Dim {
        match (self, other) {
            (Dim::Known(a), Dim::Known(b)) => a.checked_mul(*b).map(Dim::Known).unwrap_or(Dim::Unknown),
            (Dim::Known(0), _) | (_, Dim::Known(0)) => Dim::Known(0),
            (Dim::Known(1), d) | (d, Dim::Known(1)) => d.clone(),
            _ => Dim::Unknown,
        }
    }

    /// `self + other`, known only when both are known.
    pub fn add(&self, other: &Dim) -> Dim {
        match (self, other) {
            (Dim::Known(a), Dim::Known(b)) => a.checked_add(*b).map(Dim::Known).unwrap_or(Dim::Unknown),
            (Dim::Known(0), d) | (d, Dim::Known(0)) => d.clone(),
            _ => Dim::Unknown,
        }
    }
}

impl From<usize> for Dim {
    fn from(d: usize) -> Self {
        Dim::Known(d)
    }
}

impl fmt::Display for Dim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dim::Known(d) => write!(f, "{d}"),
            Dim::Sym(s) => f.write_str(s),
            Dim::Unknown => f.write_str("?"),
        }
    }
}

/// A tensor's static type: dtype (if known) and shape (if the rank is known).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct TensorType {
    pub dtype: Option<DType>,
    pub shape: Option<Vec<Dim>>,
}

impl TensorType {
    pub fn new(dtype: DType, shape: Vec<Dim>) -> TensorType {
        TensorType { dtype: Some(dtype), shape: Some(shape) }
    }

    /// Dtype known, rank unknown.
    pub fn of_dtype(dtype: DType) -> TensorType {
        TensorType { dtype: Some(dtype), shape: None }
    }

    /// A fully known type.
    pub fn concrete(dtype: DType, shape: &[usize]) -> TensorType {
        TensorType::new(dtype, shape.iter().map(|&d| Dim::Known(d)).collect())
    }

    pub fn rank(&self) -> Option<usize> {
        self.shape.as_ref().map(|s| s.len())
    }

    /// The shape if every dimension is known.
    pub fn known_shape(&self) -> Option<Vec<usize>> {
        self.shape.as_ref()?.iter().map(Dim::known).collect()
    }

    /// Element count as a dimension expression.
    pub fn numel(&self) -> Option<Dim> {
        let s = self.shape.as_ref()?;
        Some(s.iter().fold(Dim::Known(1), |acc, d| acc.mul(d)))
    }
}

impl fmt::Display for TensorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.dtype {
            Some(d) => write!(f, "{d}")?,
            None => f.write_str("?")?,
        }
        match &self.shape {
            Some(s) => {
                let dims: Vec<String> = s.iter().map(|d| d.to_string()).collect();
                write!(f, "[{}]", dims.join(","))
            }
            None => f.write_str("[..]"),
        }
    }
}

/// The static type of any graph value.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub enum ValueType {
    Tensor(TensorType),
    Sequence(Box<ValueType>),
    /// Key dtype and value type.
    Map(DType, Box<ValueType>),
    Optional(Box<ValueType>),
    /// Not inferred.
    #[default]
    Unknown,
}

impl ValueType {
    pub fn tensor(dtype: DType, shape: Vec<Dim>) -> ValueType {
        ValueType::Tensor(TensorType::new(dtype, shape))
    }

    pub fn as_tensor(&self) -> Option<&TensorType> {
        match self {
            ValueType::Tensor(t) => Some(t),
            _ => None,
        }
    }

    /// True when nothing is known.
    pub fn is_unknown(&self) -> bool {
        matches!(self, ValueType::Unknown) || matches!(self, ValueType::Tensor(TensorType { dtype: None, shape: None }))
    }
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValueType::Tensor(t) => t.fmt(f),
            ValueType::Sequence(t) => write!(f, "seq<{t}>"),
            ValueType::Map(k, v) => write!(f, "map<{k},{v}>"),
            ValueType::Optional(t) => write!(f, "optional<{t}>"),
            ValueType::Unknown => f.write_str("?"),
        }
    }
}
