//! The closed set of operators.
//!
//! [`Op`] has one variant per op family; each family is a closed enum in its own file, which owns
//! the family's attributes, static shape/dtype inference and documentation of semantics. The
//! semantics of every op are those of the newest ONNX opset that defines it: importers upgrade
//! older forms (attributes that became inputs, renamed modes) before they build an [`Op`].
//!
//! The same file stem is used for the family's reference kernels (`mote-kernels/src/reference/`)
//! and interpreter glue (`mote-interp/src/ops/`).

use std::fmt::Debug;

use crate::graph::Graph;
use crate::infer::{InferCx, InferError};
use crate::tensor::Tensor;
use crate::types::ValueType;

pub mod attention;
pub mod control;
pub mod elementwise;
pub mod image;
pub mod loss;
pub mod ml;
pub mod nn;
pub mod optim;
pub mod quant;
pub mod random;
pub mod reduce;
pub mod rnn;
pub mod shape;
pub mod signal;
pub mod text;

/// What every op family provides.
pub trait OpFamily: Debug {
    /// The op's name as users know it (ONNX `op_type`).
    fn name(&self) -> &'static str;

    /// Static output types from the input facts. Return `ValueType::Unknown` for what cannot be
    /// known statically; return an error only when the inputs are certainly invalid.
    fn infer(&self, cx: &InferCx<'_>) -> Result<Vec<ValueType>, InferError>;

    /// Nested graphs (control flow bodies).
    fn subgraphs(&self) -> Vec<&Graph> {
        Vec::new()
    }

    fn subgraphs_mut(&mut self) -> Vec<&mut Graph> {
        Vec::new()
    }

    /// Multiply-accumulate count for one evaluation, when the op does matrix or convolution
    /// work and the shapes are known. `inputs` and `outputs` are the static types.
    fn macs(&self, _cx: &InferCx<'_>, _outputs: &[ValueType]) -> Option<u64> {
        None
    }

    /// Output data that static types alone determine (`Shape` of a tensor whose dims are
    /// known), for nodes whose inputs are not all constant. `None` when not known.
    fn infer_value(&self, _cx: &InferCx<'_>) -> Option<Vec<Tensor>> {
        None
    }

    /// One-line description of the attributes for dumps.
    fn describe(&self) -> String {
        let s = format!("{self:?}");
        // `Conv(ConvAttrs { .. })` -> `{ .. }`; unit variants have nothing to add.
        match s.find('{') {
            Some(i) => s[i..].trim_end_matches(')').to_string(),
            None => match s.find('(') {
                Some(i) => s[i..].to_string(),
                None => String::new(),
            },
        }
    }
}

macro_rules! families {
    ($($variant:ident($ty:ty)),* $(,)?) => {
        /// An operator: one variant per family.
        #[derive(Clone, Debug, PartialEq)]
        pub enum Op {
            $($variant($ty),)*
        }

        impl Op {
            fn family(&self) -> &dyn OpFamily {
                match self {
                    $(Op::$variant(op) => op,)*
                }
            }

            fn family_mut(&mut self) -> &mut dyn OpFamily {
                match self {
                    $(Op::$variant(op) => op,)*
                }
            }
        }

        $(impl From<$ty> for Op {
            fn from(op: $ty) -> Op {
                Op::$variant(op)
            }
        })*
    };
}

families! {
    Elementwise(elementwise::ElementwiseOp),
    Reduce(reduce::ReduceOp),
    Shape(shape::ShapeOp),
    Nn(nn::NnOp),
    Rnn(rnn::RnnOp),
    Quant(quant::QuantOp),
    Image(image::ImageOp),
    Signal(signal::SignalOp),
    Control(control::ControlOp),
    Loss(loss::LossOp),
    Attention(attention::AttentionOp),
    Ml(ml::MlOp),
    Text(text::TextOp),
    Random(random::RandomOp),
    Optim(optim::OptimOp),
}

impl Op {
    pub fn name(&self) -> &'static str {
        self.family().name()
    }

    pub fn infer(&self, cx: &InferCx<'_>) -> Result<Vec<ValueType>, InferError> {
        self.family().infer(cx)
    }

    pub fn subgraphs(&self) -> Vec<&Graph> {
        self.family().subgraphs()
    }

    pub fn subgraphs_mut(&mut self) -> Vec<&mut Graph> {
        self.family_mut().subgraphs_mut()
    }

    pub fn macs(&self, cx: &InferCx<'_>, outputs: &[ValueType]) -> Option<u64> {
        self.family().macs(cx, outputs)
    }

    pub fn infer_value(&self, cx: &InferCx<'_>) -> Option<Vec<Tensor>> {
        self.family().infer_value(cx)
    }

    pub fn describe(&self) -> String {
        self.family().describe()
    }
}
