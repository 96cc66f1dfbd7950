//! `.npy` files <-> tensors (via `npyz`), and reading tensor/value files by extension.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result, bail};
use mote_ir::{Data, Tensor, Value, ValueType, bf16, f16};
use npyz::{TypeChar, WriterBuilder};

/// Reads a `.npy` (C order, little endian) into a tensor.
pub fn read_npy(path: &Path) -> Result<Tensor> {
    let f = File::open(path).with_context(|| format!("cannot open `{}`", path.display()))?;
    read_npy_from(BufReader::new(f), &format!("`{}`", path.display()))
}

/// Reads `.npy` bytes from `r` (e.g. an entry of an `.npz` archive); `what` names the source in
/// errors (e.g. "`x.npy` in `data.npz`").
pub fn read_npy_from<R: std::io::Read>(r: R, what: &str) -> Result<Tensor> {
    let npy = npyz::NpyFile::new(r).with_context(|| format!("{what} is not a valid .npy file"))?;
    if npy.order() == npyz::Order::Fortran {
        bail!("{what} is in Fortran order; save it with np.ascontiguousarray(...) first");
    }
    let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
    let npyz::DType::Plain(ts) = npy.dtype() else {
        bail!("{what} holds a structured array; Mote reads plain numeric arrays");
    };
    if ts.endianness() == npyz::Endianness::Big && ts.num_bytes().unwrap_or(1) > 1 {
        bail!("{what} is big-endian; convert it with arr.astype(arr.dtype.newbyteorder('<'))");
    }
    let size = ts.size_field();
    let ctx = || format!("cannot read the data of {what}");
    let data = match (ts.type_char(), size) {
        (TypeChar::Float, 4) => Data::F32(npy.into_vec().with_context(ctx)?),
        (TypeChar::Float, 8) => Data::F64(npy.into_vec().with_context(ctx)?),
        (TypeChar::Float, 2) => Data::F16(npy.into_vec::<f16>().with_context(ctx)?),
        (TypeChar::Int, 1) => Data::I8(npy.into_vec().with_context(ctx)?),
        (TypeChar::Int, 2) => Data::I16(npy.into_vec().with_context(ctx)?),
        (TypeChar::Int, 4) => Data::I32(npy.into_vec().with_context(ctx)?),
        (TypeChar::Int, 8) => Data::I64(npy.into_vec().with_context(ctx)?),
        (TypeChar::Uint, 1) => Data::U8(npy.into_vec().with_context(ctx)?),
        (TypeChar::Uint, 2) => Data::U16(npy.into_vec().with_context(ctx)?),
        (TypeChar::Uint, 4) => Data::U32(npy.into_vec().with_context(ctx)?),
        (TypeChar::Uint, 8) => Data::U64(npy.into_vec().with_context(ctx)?),
        (TypeChar::Bool, 1) => Data::Bool(npy.into_vec().with_context(ctx)?),
        (c, s) => bail!("{what} has element type {c:?}{s}, which Mote cannot read"),
    };
    Tensor::new(shape, data).with_context(|| format!("{what}: shape and data disagree"))
}

/// Writes a tensor as `.npy` atomically (temporary file, then rename). Types numpy lacks are
/// widened exactly: bfloat16, float8 and float4 to float32, int4/int2 to int8, uint4/uint2 to uint8.
pub fn write_npy(path: &Path, t: &Tensor) -> Result<()> {
    let tmp = path.with_extension("npy.tmp");
    {
        let f = File::create(&tmp).with_context(|| format!("cannot create `{}`", tmp.display()))?;
        let mut w = BufWriter::new(f);
        let shape: Vec<u64> = t.shape().iter().map(|&d| d as u64).collect();
        macro_rules! put {
            ($v:expr) => {{
                let mut writer = npyz::WriteOptions::new().default_dtype().shape(&shape).writer(&mut w).begin_nd()?;
                writer.extend($v.iter().copied())?;
                writer.finish()?;
            }};
        }
        match t.data() {
            Data::F32(v) => put!(v),
            Data::F64(v) => put!(v),
            Data::I8(v) => put!(v),
            Data::U8(v) => put!(v),
            Data::I16(v) => put!(v),
            Data::U16(v) => put!(v),
            Data::I32(v) => put!(v),
            Data::U32(v) => put!(v),
            Data::I64(v) => put!(v),
            Data::U64(v) => put!(v),
            Data::Bool(v) => put!(v),
            Data::F16(v) => put!(v),
            Data::BF16(v) => {
                // numpy has no bfloat16: widen to float32.
                let wide: Vec<f32> = v.iter().map(|x: &bf16| x.to_f32()).collect();
                put!(wide)
            }
            Data::String(_) => bail!("string tensors cannot be written as .npy"),
            // numpy has no float8/float4/int4/int2 either: widen exactly, floats to float32 and
            // integers to int8/uint8.
            Data::I4(_) | Data::I2(_) => {
                let wide: Vec<i8> = t.to_f64_vec()?.iter().map(|&x| x as i8).collect();
                put!(wide)
            }
            Data::U4(_) | Data::U2(_) => {
                let wide: Vec<u8> = t.to_f64_vec()?.iter().map(|&x| x as u8).collect();
                put!(wide)
            }
            _ => {
                let wide = t.to_f32_vec()?;
                put!(wide)
            }
        }
        w.flush()?;
    }
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write `{}`", path.display()))
}

/// Reads an input file: `.npy`; an ONNX `.pb` (a `TensorProto`, or the container proto that `ty`
/// calls for); or an image (PNG, JPEG, BMP), preprocessed by `image` (required for images).
pub fn read_value(path: &Path, ty: &ValueType, image: Option<&crate::ImageSpec>) -> Result<Value> {
    if crate::image::is_image(path) {
        let spec = image.with_context(|| {
            format!("`{}` is an image: say how to turn it into a tensor with --image SPEC, e.g. size=224x224,scale=1/255,mean=0.5,std=0.5,layout=nchw", path.display())
        })?;
        return Ok(Value::Tensor(crate::read_image(path, spec)?));
    }
    match path.extension().and_then(|e| e.to_str()) {
        Some("npy") => Ok(Value::Tensor(read_npy(path)?)),
        Some("pb") => {
            let bytes = std::fs::read(path).with_context(|| format!("cannot read `{}`", path.display()))?;
            mote_onnx::decode_value(&bytes, ty)
                .with_context(|| format!("`{}` is not a valid ONNX value file", path.display()))
        }
        _ => bail!("`{}`: input files must be .npy, .pb (an ONNX TensorProto), .png, .jpg or .bmp", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_round_trip() {
        let dir = std::env::temp_dir().join(format!("mote-npy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cases = vec![
            Tensor::from_vec(vec![2, 2], vec![1.5f32, -2.0, 3.0, 4.0]).unwrap(),
            Tensor::from_vec(vec![3], vec![true, false, true]).unwrap(),
            Tensor::from_vec(vec![1, 2], vec![-5i8, 7]).unwrap(),
            Tensor::from_vec(vec![2], vec![f16::from_f32(0.5), f16::from_f32(-1.0)]).unwrap(),
            Tensor::from_vec(vec![], vec![42i64]).unwrap(),
        ];
        for (i, t) in cases.into_iter().enumerate() {
            let p = dir.join(format!("t{i}.npy"));
            write_npy(&p, &t).unwrap();
            assert_eq!(read_npy(&p).unwrap(), t);
        }
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn garbage_is_an_error() {
        let p = std::env::temp_dir().join(format!("mote-bad-{}.npy", std::process::id()));
        std::fs::write(&p, b"not an npy file").unwrap();
        assert!(read_npy(&p).is_err());
        std::fs::remove_file(&p).ok();
    }
}
