//! Builds the IR graph from TFLite tensors: one stored value per tensor and layout, created
//! lazily, with the QDQ nodes and layout Transposes that connect them.
//!
//! A TFLite tensor's *stored* value has the tensor's own dtype (int8 for a quantized
//! activation). Its *real* value is what float ops read: the stored value itself for float
//! tensors, `DequantizeLinear(stored)` for quantized ones. An op's float result is written back
//! through `QuantizeLinear` when the output tensor is quantized. 4-D tensors may also exist in
//! NCHW (`Layout::Nchw`) for Conv and pooling; the other layout is made on demand by a
//! Transpose, at most once per tensor.

use std::collections::HashSet;

use mote_core::DType;
use mote_ir::ops::quant::QuantOp;
use mote_ir::ops::shape::ShapeOp;
use mote_ir::{Data, Graph, Op, Tensor, TensorType, ValueId, ValueType};

use crate::tensors::{Quant, TensorInfo};

/// Memory layout of a tensor's value in the IR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// TFLite's own layout (NHWC for 4-D tensors).
    Native,
    /// 4-D tensors only: NCHW, the IR's convolution layout.
    Nchw,
}

/// NHWC -> NCHW.
pub const TO_NCHW: [usize; 4] = [0, 3, 1, 2];
/// NCHW -> NHWC.
pub const TO_NHWC: [usize; 4] = [0, 2, 3, 1];

#[derive(Clone, Debug, Default)]
struct Slot {
    stored: [Option<ValueId>; 2],
    real: [Option<ValueId>; 2],
}

/// The graph under construction and the values made so far for each TFLite tensor.
#[derive(Debug)]
pub struct Builder {
    /// The graph under construction.
    pub g: Graph,
    /// The checked tensors of subgraph 0, by TFLite tensor index.
    pub tensors: Vec<TensorInfo>,
    slots: Vec<Slot>,
    names: HashSet<String>,
    /// The operator being converted (for node names).
    pub op_index: usize,
}

fn li(l: Layout) -> usize {
    match l {
        Layout::Native => 0,
        Layout::Nchw => 1,
    }
}

impl Builder {
    /// An empty graph named `name` over `tensors`.
    pub fn new(name: &str, tensors: Vec<TensorInfo>) -> Builder {
        let slots = vec![Slot::default(); tensors.len()];
        Builder { g: Graph::new(name), tensors, slots, names: HashSet::new(), op_index: 0 }
    }

    /// The description of tensor `t`.
    pub fn info(&self, t: usize) -> &TensorInfo {
        &self.tensors[t]
    }

    /// A value name not used before.
    fn unique(&mut self, base: String) -> String {
        let mut name = base.clone();
        let mut k = 1;
        while self.names.contains(&name) {
            k += 1;
            name = format!("{base}#{k}");
        }
        self.names.insert(name.clone());
        name
    }

    /// A fresh value with an unknown type.
    pub fn value(&mut self, base: &str) -> ValueId {
        let name = self.unique(format!("op{}/{base}", self.op_index));
        self.g.add_value(name, ValueType::Unknown)
    }

    /// A constant.
    pub fn constant(&mut self, base: &str, t: Tensor) -> ValueId {
        let name = self.unique(format!("op{}/{base}", self.op_index));
        self.g.add_const(name, t)
    }

    /// A 1-D int64 constant.
    pub fn const_i64(&mut self, base: &str, v: Vec<i64>) -> ValueId {
        let n = v.len();
        let t = Tensor::new(vec![n], Data::I64(v)).expect("a 1-D tensor of n elements has n elements");
        self.constant(base, t)
    }

    /// A scalar f32 constant.
    pub fn const_f32(&mut self, base: &str, x: f32) -> ValueId {
        self.constant(base, Tensor::scalar(x))
    }

    /// Appends a node with one output and returns the output.
    pub fn node(&mut self, op: impl Into<Op>, inputs: Vec<Option<ValueId>>, base: &str) -> ValueId {
        let y = self.value(base);
        let name = format!("op{}/{base}", self.op_index);
        self.g.add_node(name, op.into(), inputs, vec![Some(y)]);
        y
    }

    /// Adds tensor `t` as a graph input (native layout, its declared type).
    pub fn add_input(&mut self, t: usize) {
        let name = self.unique(self.tensors[t].name.clone());
        let v = self.g.add_value(name, self.ty(t, Layout::Native));
        self.set_stored(t, Layout::Native, v);
        self.g.inputs.push(v);
    }

    /// Registers the value that holds tensor `t` in layout `l` (its stored form).
    pub fn set_stored(&mut self, t: usize, l: Layout, v: ValueId) {
        self.slots[t].stored[li(l)] = Some(v);
    }

    /// Whether tensor `t` already has a value in layout `l`.
    pub fn has(&self, t: usize, l: Layout) -> bool {
        self.slots[t].stored[li(l)].is_some()
    }

    /// The stored value of tensor `t` in layout `l`, made from the other layout (or from the
    /// tensor's constant data) if needed.
    pub fn stored(&mut self, t: usize, l: Layout) -> Result<ValueId, String> {
        if let Some(v) = self.slots[t].stored[li(l)] {
            return Ok(v);
        }
        if l == Layout::Native
            && let Some(data) = self.tensors[t].data.clone()
        {
            let name = self.unique(self.tensors[t].name.clone());
            let v = self.g.add_const(name, data);
            self.set_stored(t, l, v);
            return Ok(v);
        }
        let other = match l {
            Layout::Native => Layout::Nchw,
            Layout::Nchw => Layout::Native,
        };
        if self.slots[t].stored[li(other)].is_none() && self.tensors[t].data.is_none() {
            return Err(format!("tensor `{}` is read before any operator produces it", self.tensors[t].name));
        }
        if self.tensors[t].rank() != 4 {
            return Err(format!(
                "tensor `{}` has rank {}, NCHW needs rank 4",
                self.tensors[t].name,
                self.tensors[t].rank()
            ));
        }
        let src = self.stored(t, other)?;
        let perm = if l == Layout::Nchw { TO_NCHW } else { TO_NHWC };
        let suffix = if l == Layout::Nchw { "nchw" } else { "nhwc" };
        let name = self.unique(format!("{}/{suffix}", self.tensors[t].name));
        let v = self.g.add_value(name.clone(), self.ty(t, l));
        self.g.add_node(
            name,
            Op::Shape(ShapeOp::Transpose { perm: Some(perm.to_vec()) }),
            vec![Some(src)],
            vec![Some(v)],
        );
        self.set_stored(t, l, v);
        Ok(v)
    }

    /// The stored type of tensor `t` in layout `l`.
    fn ty(&self, t: usize, l: Layout) -> ValueType {
        let info = &self.tensors[t];
        let dims = match l {
            Layout::Native => info.dims.clone(),
            Layout::Nchw if info.rank() == 4 => TO_NCHW.iter().map(|&p| info.dims[p].clone()).collect(),
            // A declared rank that does not fit the op: leave the type to inference.
            Layout::Nchw => return ValueType::Unknown,
        };
        ValueType::Tensor(TensorType::new(info.dtype, dims))
    }

    /// The float value of tensor `t` in layout `l`: the stored value, or its
    /// `DequantizeLinear` when `t` is quantized.
    pub fn real(&mut self, t: usize, l: Layout) -> Result<ValueId, String> {
        if let Some(v) = self.slots[t].real[li(l)] {
            return Ok(v);
        }
        let q = self.stored(t, l)?;
        let v = match self.tensors[t].quant.clone() {
            None => q,
            Some(quant) => {
                let axis = quant_axis(&quant, l);
                let (s, z) = self.qparams(t, &quant);
                let name = self.unique(format!("{}/dq", self.tensors[t].name));
                let v = self.g.add_value(name.clone(), ValueType::Unknown);
                let op = QuantOp::Dequantize { axis, block_size: 0, output_dtype: None };
                self.g.add_node(name, Op::Quant(op), vec![Some(q), Some(s), Some(z)], vec![Some(v)]);
                v
            }
        };
        self.slots[t].real[li(l)] = Some(v);
        Ok(v)
    }

    /// Writes an op's float result `v` (in layout `l`) to tensor `t`: through `QuantizeLinear`
    /// when `t` is quantized.
    pub fn put_real(&mut self, t: usize, l: Layout, v: ValueId) -> Result<(), String> {
        self.check_unset(t)?;
        let Some(quant) = self.tensors[t].quant.clone() else {
            self.name_output(t, l, v);
            self.set_stored(t, l, v);
            return Ok(());
        };
        let axis = quant_axis(&quant, l);
        let (s, z) = self.qparams(t, &quant);
        let name = self.output_name(t, l);
        let q = self.g.add_value(name.clone(), self.ty(t, l));
        let op = QuantOp::Quantize { axis, block_size: 0, output_dtype: None, precision: None, saturate: true };
        self.g.add_node(name, Op::Quant(op), vec![Some(v), Some(s), Some(z)], vec![Some(q)]);
        self.set_stored(t, l, q);
        Ok(())
    }

    /// Writes a value that already has tensor `t`'s stored dtype (a view of another tensor).
    pub fn put_stored(&mut self, t: usize, l: Layout, v: ValueId) -> Result<(), String> {
        self.check_unset(t)?;
        self.name_output(t, l, v);
        self.set_stored(t, l, v);
        Ok(())
    }

    fn check_unset(&self, t: usize) -> Result<(), String> {
        let info = &self.tensors[t];
        if info.data.is_some() {
            return Err(format!("output tensor `{}` is a constant", info.name));
        }
        if self.slots[t].stored.iter().any(Option::is_some) {
            return Err(format!("tensor `{}` is produced twice", info.name));
        }
        Ok(())
    }

    fn output_name(&mut self, t: usize, l: Layout) -> String {
        match l {
            Layout::Native => self.unique(self.tensors[t].name.clone()),
            Layout::Nchw => self.unique(format!("{}/nchw", self.tensors[t].name)),
        }
    }

    /// Renames a freshly made value to the tensor's name and gives it the tensor's type.
    fn name_output(&mut self, t: usize, l: Layout, v: ValueId) {
        let name = self.output_name(t, l);
        let ty = self.ty(t, l);
        let info = self.g.value_mut(v);
        info.name = name;
        info.ty = ty;
    }

    /// The float value of constant tensor `t` with its data permuted by `perm` (a weight in the
    /// IR's layout): the permuted constant, behind `DequantizeLinear` if `t` is quantized (the
    /// per-axis `quantized_dimension` follows the permutation).
    pub fn weight(&mut self, t: usize, perm: &[usize]) -> Result<ValueId, String> {
        let info = &self.tensors[t];
        let data = info.constant()?;
        if data.rank() != perm.len() {
            return Err(format!("weight `{}` has rank {}, expected {}", info.name, data.rank(), perm.len()));
        }
        let permuted = permute(data, perm).ok_or_else(|| format!("weight `{}` cannot be permuted", info.name))?;
        let name = self.unique(format!("{}/ir", self.tensors[t].name));
        let w = self.g.add_const(name, permuted);
        let Some(quant) = self.tensors[t].quant.clone() else { return Ok(w) };
        let axis = perm.iter().position(|&p| p == quant.axis).unwrap_or(0) as i64;
        let (s, z) = self.qparams(t, &quant);
        let name = self.unique(format!("{}/dq", self.tensors[t].name));
        let v = self.g.add_value(name.clone(), ValueType::Unknown);
        let op = QuantOp::Dequantize { axis, block_size: 0, output_dtype: None };
        self.g.add_node(name, Op::Quant(op), vec![Some(w), Some(s), Some(z)], vec![Some(v)]);
        Ok(v)
    }

    /// Scale and zero-point constants of a quantized tensor.
    fn qparams(&mut self, t: usize, q: &Quant) -> (ValueId, ValueId) {
        let dtype = self.tensors[t].dtype;
        let n = q.scale.len();
        let shape = if q.per_tensor() { vec![] } else { vec![n] };
        let scale = Tensor::new(shape.clone(), Data::F32(q.scale.clone())).expect("scale length matches its shape");
        let zp = match dtype {
            DType::I8 => Data::I8(q.zero_point.iter().map(|&z| z as i8).collect()),
            DType::U8 => Data::U8(q.zero_point.iter().map(|&z| z as u8).collect()),
            DType::I16 => Data::I16(q.zero_point.iter().map(|&z| z as i16).collect()),
            _ => Data::I32(q.zero_point.iter().map(|&z| z as i32).collect()),
        };
        let zp = Tensor::new(shape, zp).expect("zero-point length matches its shape");
        let base = self.tensors[t].name.clone();
        let s = self.unique(format!("{base}/scale"));
        let z = self.unique(format!("{base}/zero_point"));
        (self.g.add_const(s, scale), self.g.add_const(z, zp))
    }
}

/// The IR axis of per-axis quantization parameters in layout `l`.
fn quant_axis(q: &Quant, l: Layout) -> i64 {
    let a = q.axis;
    match l {
        Layout::Nchw if a < 4 => TO_NCHW.iter().position(|&p| p == a).unwrap_or(a) as i64,
        _ => a as i64,
    }
}

/// `t` with its axes permuted (`out.shape[i] = t.shape[perm[i]]`), for fixed-size dtypes.
pub fn permute(t: &Tensor, perm: &[usize]) -> Option<Tensor> {
    let shape = t.shape();
    let rank = shape.len();
    if perm.len() != rank || (0..rank).any(|a| !perm.contains(&a)) {
        return None;
    }
    let size = t.dtype().size()?;
    let bytes = t.data().to_le_bytes()?;
    let out_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    let mut in_strides = vec![1usize; rank];
    for a in (0..rank.saturating_sub(1)).rev() {
        in_strides[a] = in_strides[a + 1] * shape[a + 1];
    }
    let strides: Vec<usize> = perm.iter().map(|&p| in_strides[p]).collect();
    let mut out = Vec::with_capacity(bytes.len());
    let mut idx = vec![0usize; rank];
    for _ in 0..t.len() {
        let src: usize = idx.iter().zip(&strides).map(|(i, s)| i * s).sum();
        out.extend_from_slice(bytes.get(src * size..(src + 1) * size)?);
        for a in (0..rank).rev() {
            idx[a] += 1;
            if idx[a] < out_shape[a] {
                break;
            }
            idx[a] = 0;
        }
    }
    Tensor::new(out_shape, Data::from_le_bytes(t.dtype(), &out)?).ok()
}
