//! Checked tensor descriptions of subgraph 0: dtype, shape, quantization and constant data.
//!
//! Everything a later step indexes or multiplies is checked here once, so the op converters
//! work on plain, valid Rust values.

use mote_core::DType;
use mote_ir::{Data, Dim, Tensor};

use crate::schema::{Buffer, Model, TensorType};

/// Affine quantization parameters: `real = scale * (q - zero_point)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Quant {
    /// One per tensor, or one per slice along `axis`.
    pub scale: Vec<f32>,
    pub zero_point: Vec<i64>,
    /// TFLite's `quantized_dimension` (meaningful when there is more than one scale).
    pub axis: usize,
}

impl Quant {
    /// Whether the parameters are per tensor.
    pub fn per_tensor(&self) -> bool {
        self.scale.len() == 1
    }
}

/// One tensor of the subgraph, checked.
#[derive(Clone, Debug)]
pub struct TensorInfo {
    /// The tensor's name (`tensor_<i>` when it has none).
    pub name: String,
    pub dtype: DType,
    /// The static shape (TFLite stores 1 where the signature has -1).
    pub shape: Vec<usize>,
    /// The shape for the IR: `shape_signature` -1 dims are symbolic.
    pub dims: Vec<Dim>,
    /// Dims that are -1 in `shape_signature`.
    pub dynamic: Vec<bool>,
    /// Quantization, only for integer tensors that have a scale.
    pub quant: Option<Quant>,
    /// Constant data from the tensor's buffer, if non-empty.
    pub data: Option<Tensor>,
}

impl TensorInfo {
    /// The number of dims.
    pub fn rank(&self) -> usize {
        self.shape.len()
    }

    /// The constant data, or an error naming the tensor.
    pub fn constant(&self) -> Result<&Tensor, String> {
        self.data.as_ref().ok_or_else(|| format!("tensor `{}` must be constant", self.name))
    }

    /// Constant integer data (any integer dtype) as i64.
    pub fn const_ints(&self) -> Result<Vec<i64>, String> {
        let t = self.constant()?;
        if !t.dtype().is_int() {
            return Err(format!("tensor `{}` must hold integers, not {}", self.name, t.dtype()));
        }
        t.to_i64_vec().map_err(|e| format!("tensor `{}`: {e}", self.name))
    }
}

/// Maps a TFLite tensor type to a Mote dtype.
pub fn dtype_of(t: TensorType) -> Option<DType> {
    Some(match t {
        TensorType::FLOAT32 => DType::F32,
        TensorType::FLOAT16 => DType::F16,
        TensorType::FLOAT64 => DType::F64,
        TensorType::INT8 => DType::I8,
        TensorType::UINT8 => DType::U8,
        TensorType::INT16 => DType::I16,
        TensorType::UINT16 => DType::U16,
        TensorType::INT32 => DType::I32,
        TensorType::UINT32 => DType::U32,
        TensorType::INT64 => DType::I64,
        TensorType::UINT64 => DType::U64,
        TensorType::BOOL => DType::Bool,
        _ => return None,
    })
}

/// Largest element count Mote accepts for one tensor (2^31, as TFLite's int32 sizes).
const MAX_NUMEL: usize = 1 << 31;

/// Reads and checks every tensor of subgraph 0.
pub fn read_tensors(model: &Model<'_>) -> Result<Vec<TensorInfo>, String> {
    let sg = model.subgraphs().and_then(|s| (!s.is_empty()).then(|| s.get(0))).ok_or("the model has no subgraph")?;
    let tensors = sg.tensors().ok_or("subgraph 0 has no tensor list")?;
    let buffers = model.buffers();
    let mut out = Vec::with_capacity(tensors.len());
    for (i, t) in tensors.iter().enumerate() {
        let name = t.name().filter(|n| !n.is_empty()).map(str::to_string).unwrap_or_else(|| format!("tensor_{i}"));
        let what = |msg: String| format!("tensor {i} `{name}`: {msg}");
        let dtype = dtype_of(t.type_())
            .ok_or_else(|| what(format!("type {} is not supported", t.type_().variant_name().unwrap_or("unknown"))))?;
        if t.sparsity().is_some() {
            return Err(what("sparse tensors are not supported".into()));
        }
        let shape: Vec<usize> = match t.shape() {
            Some(s) => s
                .iter()
                .map(|d| usize::try_from(d).map_err(|_| what(format!("negative dimension {d} in shape"))))
                .collect::<Result<_, _>>()?,
            None => Vec::new(),
        };
        let numel = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)).filter(|&n| n <= MAX_NUMEL);
        let numel = numel.ok_or_else(|| what(format!("shape {shape:?} has too many elements")))?;
        let mut dynamic = vec![false; shape.len()];
        if let Some(sig) = t.shape_signature() {
            if sig.len() != shape.len() {
                return Err(what(format!("shape_signature has rank {}, shape has rank {}", sig.len(), shape.len())));
            }
            for (k, d) in sig.iter().enumerate() {
                match d {
                    -1 => dynamic[k] = true,
                    d if usize::try_from(d).ok() == Some(shape[k]) => {}
                    d => return Err(what(format!("shape_signature dim {k} is {d}, shape has {}", shape[k]))),
                }
            }
        }
        let dims = shape
            .iter()
            .zip(&dynamic)
            .enumerate()
            .map(|(k, (&d, &dy))| match (dy, k) {
                (false, _) => Dim::Known(d),
                (true, 0) => Dim::Sym("batch".into()),
                (true, k) => Dim::Sym(format!("{name}_dim{k}")),
            })
            .collect();
        let quant = read_quant(&t, dtype, &shape).map_err(what)?;
        let data = read_data(buffers, t.buffer(), dtype, &shape, numel).map_err(what)?;
        if data.is_some() && dynamic.iter().any(|&d| d) {
            return Err(what("a constant tensor cannot have dynamic dims".into()));
        }
        out.push(TensorInfo { name, dtype, shape, dims, dynamic, quant, data });
    }
    Ok(out)
}

fn read_quant(t: &crate::schema::Tensor<'_>, dtype: DType, shape: &[usize]) -> Result<Option<Quant>, String> {
    let Some(q) = t.quantization() else { return Ok(None) };
    let scale: Vec<f32> = q.scale().map(|v| v.iter().collect()).unwrap_or_default();
    if scale.is_empty() {
        // Float tensors often carry empty parameters (or only min/max): not quantized.
        return Ok(None);
    }
    if !matches!(dtype, DType::I8 | DType::U8 | DType::I16 | DType::I32) {
        return Err(format!("quantized {dtype} tensors are not supported (int8, uint8, int16, int32 are)"));
    }
    if q.details().is_some() {
        return Err("custom quantization details are not supported".into());
    }
    let mut zero_point: Vec<i64> = q.zero_point().map(|v| v.iter().collect()).unwrap_or_default();
    if zero_point.is_empty() {
        zero_point = vec![0; scale.len()];
    }
    if zero_point.len() != scale.len() {
        return Err(format!("{} scales but {} zero points", scale.len(), zero_point.len()));
    }
    if let Some(s) = scale.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
        return Err(format!("quantization scale {s} is not a positive finite number"));
    }
    let (lo, hi) = match dtype {
        DType::I8 => (i8::MIN as i64, i8::MAX as i64),
        DType::U8 => (0, u8::MAX as i64),
        DType::I16 => (i16::MIN as i64, i16::MAX as i64),
        _ => (i32::MIN as i64, i32::MAX as i64),
    };
    if let Some(z) = zero_point.iter().find(|z| !(lo..=hi).contains(*z)) {
        return Err(format!("zero point {z} is out of range for {dtype}"));
    }
    let mut axis = usize::try_from(q.quantized_dimension()).map_err(|_| "negative quantized_dimension".to_string())?;
    // Converters write the weight's quantized_dimension (3 for depthwise) on 1-D biases too;
    // TFLite reads a 1-D tensor's scales along its only axis.
    if scale.len() > 1 && shape.len() == 1 {
        axis = 0;
    }
    if scale.len() > 1 && shape.get(axis) != Some(&scale.len()) {
        return Err(format!(
            "{} per-axis scales do not match dim {axis} of shape {shape:?} (quantized_dimension)",
            scale.len()
        ));
    }
    Ok(Some(Quant { scale, zero_point, axis }))
}

fn read_data(
    buffers: Option<flatbuffers::Vector<'_, flatbuffers::ForwardsUOffset<Buffer<'_>>>>,
    index: u32,
    dtype: DType,
    shape: &[usize],
    numel: usize,
) -> Result<Option<Tensor>, String> {
    let buffers = buffers.ok_or("the model has no buffer list")?;
    let index = index as usize;
    if index >= buffers.len() {
        return Err(format!("buffer index {index} is out of range ({} buffers)", buffers.len()));
    }
    let Some(bytes) = buffers.get(index).data().map(|d| d.bytes()).filter(|b| !b.is_empty()) else {
        return Ok(None);
    };
    let size = dtype.size().ok_or_else(|| format!("{dtype} constants are not supported"))?;
    let want = numel.checked_mul(size).ok_or("constant is too large")?;
    if bytes.len() != want {
        return Err(format!("buffer {index} holds {} bytes, but {dtype} {shape:?} needs {want}", bytes.len()));
    }
    let data = Data::from_le_bytes(dtype, bytes).ok_or_else(|| format!("buffer {index} does not decode as {dtype}"))?;
    Tensor::new(shape.to_vec(), data).map(Some).map_err(|e| format!("buffer {index}: {e}"))
}
