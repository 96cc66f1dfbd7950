//! `TensorProto` <-> [`Tensor`], and the container protos (`SequenceProto`, `MapProto`,
//! `OptionalProto`) <-> [`Value`].

use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Component, Path};

use mote_core::lowp::{pack_codes, unpack_codes};
use mote_ir::{DType, Data, Elem, Tensor, Value, ValueType, bf16, dispatch_low_precision, f16};
use prost::Message;

use crate::proto::{self, MapProto, OptionalProto, SequenceProto, TensorProto};

/// Why a tensor or value could not be decoded.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("tensor `{name}`: {msg}")]
pub struct TensorDecodeError {
    pub name: String,
    pub msg: String,
}

fn err(name: &str, msg: impl Into<String>) -> TensorDecodeError {
    TensorDecodeError { name: name.to_string(), msg: msg.into() }
}

/// The name ONNX gives a `TensorProto.DataType` code, for messages about unsupported types.
pub fn onnx_type_name(code: i32) -> String {
    proto::tensor_proto::DataType::try_from(code)
        .map(|d| d.as_str_name().to_string())
        .unwrap_or_else(|_| format!("unknown type {code}"))
}

/// Maps an ONNX element type code to a [`DType`], with an error that names the type.
pub fn dtype_from_onnx(code: i32, name: &str) -> Result<DType, TensorDecodeError> {
    DType::from_code(code as i64)
        .ok_or_else(|| err(name, format!("element type {} is not supported", onnx_type_name(code))))
}

/// Decodes a tensor. `base_dir` is where external data files are looked up (the model's
/// directory); without it, external data is an error.
pub fn tensor_from_proto(t: &TensorProto, base_dir: Option<&Path>) -> Result<Tensor, TensorDecodeError> {
    let name = t.name();
    let dtype = dtype_from_onnx(t.data_type(), name)?;
    if t.segment.is_some() {
        return Err(err(name, "segmented tensors are not supported"));
    }
    let mut shape = Vec::with_capacity(t.dims.len());
    for &d in &t.dims {
        if d < 0 {
            return Err(err(name, format!("negative dimension {d} in dims {:?}", t.dims)));
        }
        shape.push(d as usize);
    }
    let n = mote_ir::tensor::check_numel(&shape).map_err(|e| err(name, e.to_string()))?;

    let external = t.data_location() == proto::tensor_proto::DataLocation::External;
    let raw: Option<Vec<u8>> = if external { Some(read_external(t, base_dir, n, dtype)?) } else { t.raw_data.clone() };

    let data = match raw {
        Some(bytes) => from_raw(&bytes, dtype, n).map_err(|m| err(name, m))?,
        None => from_typed_fields(t, dtype, n).map_err(|m| err(name, m))?,
    };
    Tensor::new(shape, data).map_err(|e| err(name, e.to_string()))
}

fn read_external(
    t: &TensorProto,
    base_dir: Option<&Path>,
    n: usize,
    dtype: DType,
) -> Result<Vec<u8>, TensorDecodeError> {
    let name = t.name();
    let get = |k: &str| t.external_data.iter().find(|e| e.key() == k).map(|e| e.value().to_string());
    let location = get("location").ok_or_else(|| err(name, "external data without a `location`"))?;
    let rel = Path::new(&location);
    if rel.is_absolute() || rel.components().any(|c| !matches!(c, Component::Normal(_) | Component::CurDir)) {
        return Err(err(
            name,
            format!("external data location `{location}` must be a relative path inside the model's directory"),
        ));
    }
    let base = base_dir.ok_or_else(|| {
        err(name, format!("external data `{location}` needs the model's directory; load the model from a file"))
    })?;
    let parse = |k: &str| -> Result<Option<u64>, TensorDecodeError> {
        get(k)
            .map(|v| v.parse::<u64>().map_err(|_| err(name, format!("external data `{k}` = `{v}` is not a number"))))
            .transpose()
    };
    let offset = parse("offset")?.unwrap_or(0);
    let expected = dtype.packed_size(n).ok_or_else(|| err(name, "string tensors cannot use external data"))? as u64;
    let length = parse("length")?.unwrap_or(expected);
    if length != expected {
        return Err(err(
            name,
            format!("external data length {length} does not match {n} elements of {dtype} ({expected} bytes)"),
        ));
    }
    let path = base.join(rel);
    let mut f =
        fs::File::open(&path).map_err(|e| err(name, format!("cannot open external data `{}`: {e}", path.display())))?;
    let file_len = f.metadata().map(|m| m.len()).unwrap_or(0);
    if offset.checked_add(length).is_none_or(|end| end > file_len) {
        return Err(err(
            name,
            format!(
                "external data `{}` has {file_len} bytes; offset {offset} + length {length} is past its end",
                path.display()
            ),
        ));
    }
    let mut buf = vec![0u8; length as usize];
    f.seek(SeekFrom::Start(offset))
        .and_then(|_| f.read_exact(&mut buf))
        .map_err(|e| err(name, format!("cannot read external data `{}`: {e}", path.display())))?;
    Ok(buf)
}

fn from_raw(b: &[u8], dtype: DType, n: usize) -> Result<Data, String> {
    let need = dtype.packed_size(n).ok_or("string tensors cannot use raw_data")?;
    if b.len() != need {
        return Err(format!("raw_data has {} bytes but {n} elements of {dtype} need {need}", b.len()));
    }
    if dtype.is_low_precision() {
        return from_packed(b, dtype, n);
    }
    // The length was checked above, so only strings (refused above) could fail here.
    Data::from_le_bytes(dtype, b).ok_or_else(|| format!("raw_data cannot hold {dtype}"))
}

/// Decodes the low-precision types from their packed bytes: one byte per float8 value, two
/// 4-bit or four 2-bit values per byte, the first in the lowest bits.
fn from_packed(packed: &[u8], dtype: DType, n: usize) -> Result<Data, String> {
    let bits = dtype.bits().unwrap_or(8) as u32;
    let mut codes = vec![0u8; n];
    unpack_codes(packed, bits, &mut codes).map_err(|e| format!("{dtype} data: {e}"))?;
    dispatch_low_precision!(Data::zeros(dtype, 0), _v => Ok(T::wrap(codes.iter().map(|&c| T::from_bits(c)).collect())),
        else Err(format!("{dtype} is not a packed type")))
}

/// The packed bytes of a low-precision tensor (the inverse of [`from_packed`]), or `None` for
/// other types.
fn to_packed(data: &Data) -> Option<Vec<u8>> {
    let codes: Vec<u8> = dispatch_low_precision!(data, v => v.iter().map(|x| x.to_bits()).collect(), else return None);
    let bits = data.dtype().bits().unwrap_or(8) as u32;
    let mut out = vec![0u8; data.dtype().packed_size(codes.len())?];
    pack_codes(&codes, bits, &mut out).ok()?;
    Some(out)
}

fn from_typed_fields(t: &TensorProto, dtype: DType, n: usize) -> Result<Data, String> {
    let check = |len: usize, field: &str| {
        if len == n { Ok(()) } else { Err(format!("`{field}` has {len} values but the shape needs {n}")) }
    };
    Ok(match dtype {
        DType::F32 => {
            check(t.float_data.len(), "float_data")?;
            Data::F32(t.float_data.clone())
        }
        DType::F64 => {
            check(t.double_data.len(), "double_data")?;
            Data::F64(t.double_data.clone())
        }
        DType::I64 => {
            check(t.int64_data.len(), "int64_data")?;
            Data::I64(t.int64_data.clone())
        }
        DType::U64 | DType::U32 => {
            check(t.uint64_data.len(), "uint64_data")?;
            if dtype == DType::U64 {
                Data::U64(t.uint64_data.clone())
            } else {
                Data::U32(t.uint64_data.iter().map(|&x| x as u32).collect())
            }
        }
        DType::String => {
            check(t.string_data.len(), "string_data")?;
            Data::String(t.string_data.iter().map(|s| String::from_utf8_lossy(s).into_owned()).collect())
        }
        // One packed byte per int32 (one float8 value, two 4-bit or four 2-bit values).
        d if d.is_low_precision() => {
            let need = d.packed_size(n).ok_or("too many elements")?;
            if t.int32_data.len() != need {
                return Err(format!(
                    "`int32_data` has {} values but {n} elements of {d} need {need} packed bytes",
                    t.int32_data.len()
                ));
            }
            let bytes: Vec<u8> = t.int32_data.iter().map(|&x| x as u8).collect();
            from_packed(&bytes, d, n)?
        }
        _ => {
            check(t.int32_data.len(), "int32_data")?;
            let v = &t.int32_data;
            match dtype {
                DType::I32 => Data::I32(v.clone()),
                DType::I16 => Data::I16(v.iter().map(|&x| x as i16).collect()),
                DType::U16 => Data::U16(v.iter().map(|&x| x as u16).collect()),
                DType::I8 => Data::I8(v.iter().map(|&x| x as i8).collect()),
                DType::U8 => Data::U8(v.iter().map(|&x| x as u8).collect()),
                DType::Bool => Data::Bool(v.iter().map(|&x| x != 0).collect()),
                DType::F16 => Data::F16(v.iter().map(|&x| f16::from_bits(x as u16)).collect()),
                DType::BF16 => Data::BF16(v.iter().map(|&x| bf16::from_bits(x as u16)).collect()),
                _ => unreachable!("all other dtypes handled above"),
            }
        }
    })
}

/// Encodes a tensor (raw little-endian data; strings in `string_data`).
pub fn tensor_to_proto(t: &Tensor, name: &str) -> TensorProto {
    let mut p = TensorProto {
        dims: t.shape().iter().map(|&d| d as i64).collect(),
        data_type: Some(t.dtype().code() as i32),
        name: Some(name.to_string()),
        ..Default::default()
    };
    p.raw_data = match t.data() {
        Data::String(v) => {
            p.string_data = v.iter().map(|s| s.as_bytes().to_vec()).collect();
            None
        }
        d => d.to_le_bytes().or_else(|| to_packed(d)),
    };
    p
}

/// Decodes a serialized `TensorProto` (the `.pb` files of the ONNX test layout).
pub fn decode_tensor(bytes: &[u8]) -> Result<Tensor, TensorDecodeError> {
    let p = TensorProto::decode(bytes).map_err(|e| err("<file>", format!("not a valid TensorProto: {e}")))?;
    tensor_from_proto(&p, None)
}

/// Decodes a serialized value whose kind is given by the graph's type for it: a tensor type
/// means `TensorProto`, a sequence `SequenceProto`, a map `MapProto`, an optional
/// `OptionalProto`.
pub fn decode_value(bytes: &[u8], ty: &ValueType) -> Result<Value, TensorDecodeError> {
    let bad = |what: &str, e: prost::DecodeError| err("<file>", format!("not a valid {what}: {e}"));
    let v = match ty {
        ValueType::Sequence(_) => {
            value_from_sequence(&SequenceProto::decode(bytes).map_err(|e| bad("SequenceProto", e))?)
        }
        ValueType::Map(..) => value_from_map(&MapProto::decode(bytes).map_err(|e| bad("MapProto", e))?),
        ValueType::Optional(_) => {
            value_from_optional(&OptionalProto::decode(bytes).map_err(|e| bad("OptionalProto", e))?)
        }
        _ => return Ok(Value::Tensor(decode_tensor(bytes)?)),
    };
    Ok(conform_map_values(v?, ty))
}

/// Map values stored with another float width than the declared one (onnxruntime writes
/// `map<int64, float>` values as doubles) are converted to the declared dtype.
fn conform_map_values(v: Value, ty: &ValueType) -> Value {
    match (v, ty) {
        (Value::Sequence(items), ValueType::Sequence(t)) => {
            Value::Sequence(items.into_iter().map(|i| conform_map_values(i, t)).collect())
        }
        (Value::Map { keys, values }, ValueType::Map(_, t)) => {
            let want = t.as_tensor().and_then(|t| t.dtype);
            let values = match (want, values.to_f64_vec()) {
                (Some(DType::F32), Ok(f)) if values.dtype() == DType::F64 => {
                    Tensor::from_vec(values.shape().to_vec(), f.iter().map(|&x| x as f32).collect::<Vec<f32>>())
                        .unwrap_or(values)
                }
                _ => values,
            };
            Value::Map { keys, values }
        }
        (v, _) => v,
    }
}

fn value_from_sequence(s: &SequenceProto) -> Result<Value, TensorDecodeError> {
    let mut items = Vec::new();
    for t in &s.tensor_values {
        items.push(Value::Tensor(tensor_from_proto(t, None)?));
    }
    for q in &s.sequence_values {
        items.push(value_from_sequence(q)?);
    }
    for m in &s.map_values {
        items.push(value_from_map(m)?);
    }
    for o in &s.optional_values {
        items.push(value_from_optional(o)?);
    }
    Ok(Value::Sequence(items))
}

fn value_from_map(m: &MapProto) -> Result<Value, TensorDecodeError> {
    let name = m.name();
    let keys = if !m.string_keys.is_empty() {
        let v: Vec<String> = m.string_keys.iter().map(|s| String::from_utf8_lossy(s).into_owned()).collect();
        Tensor::from_strings(vec![v.len()], v)
    } else {
        Tensor::from_vec(vec![m.keys.len()], m.keys.clone())
    }
    .map_err(|e| err(name, e.to_string()))?;
    let values = match &m.values {
        Some(s) if !s.tensor_values.is_empty() => {
            // One scalar tensor per key, or a single 1-D tensor.
            let parts: Vec<Tensor> =
                s.tensor_values.iter().map(|t| tensor_from_proto(t, None)).collect::<Result<_, _>>()?;
            concat_flat(&parts).map_err(|m| err(name, m))?
        }
        _ => Tensor::from_vec(vec![0], Vec::<f32>::new()).map_err(|e| err(name, e.to_string()))?,
    };
    if values.len() != keys.len() {
        return Err(err(name, format!("map has {} keys but {} values", keys.len(), values.len())));
    }
    Ok(Value::Map { keys, values })
}

fn concat_flat(parts: &[Tensor]) -> Result<Tensor, String> {
    let dtype = parts[0].dtype();
    let mut out = Data::zeros(dtype, 0);
    for p in parts {
        if p.dtype() != dtype {
            return Err("map values have mixed element types".into());
        }
        match (&mut out, p.data()) {
            (Data::F32(a), Data::F32(b)) => a.extend_from_slice(b),
            (Data::F64(a), Data::F64(b)) => a.extend_from_slice(b),
            (Data::I64(a), Data::I64(b)) => a.extend_from_slice(b),
            (Data::I32(a), Data::I32(b)) => a.extend_from_slice(b),
            (Data::String(a), Data::String(b)) => a.extend_from_slice(b),
            _ => return Err(format!("map values of type {dtype} are not supported")),
        }
    }
    let n = out.len();
    Tensor::new(vec![n], out).map_err(|e| e.to_string())
}

fn value_from_optional(o: &OptionalProto) -> Result<Value, TensorDecodeError> {
    let inner = if let Some(t) = &o.tensor_value {
        Some(Value::Tensor(tensor_from_proto(t, None)?))
    } else if let Some(s) = &o.sequence_value {
        Some(value_from_sequence(s)?)
    } else if let Some(m) = &o.map_value {
        Some(value_from_map(m)?)
    } else if let Some(q) = &o.optional_value {
        Some(value_from_optional(q)?)
    } else {
        None
    };
    Ok(Value::Optional(inner.map(Box::new)))
}

/// Encodes a value as the proto its kind uses (`TensorProto`, `SequenceProto`, `MapProto`,
/// `OptionalProto`), the inverse of [`decode_value`].
pub fn encode_value(v: &Value, name: &str) -> Vec<u8> {
    match v {
        Value::Tensor(t) => tensor_to_proto(t, name).encode_to_vec(),
        Value::Sequence(_) => sequence_to_proto(v, name).encode_to_vec(),
        Value::Map { .. } => map_to_proto(v, name).encode_to_vec(),
        Value::Optional(_) => optional_to_proto(v, name).encode_to_vec(),
    }
}

fn sequence_to_proto(v: &Value, name: &str) -> SequenceProto {
    use proto::sequence_proto::DataType as D;
    let mut p = SequenceProto { name: Some(name.to_string()), ..Default::default() };
    if let Value::Sequence(items) = v {
        for it in items {
            match it {
                Value::Tensor(t) => {
                    p.elem_type = Some(D::Tensor as i32);
                    p.tensor_values.push(tensor_to_proto(t, ""));
                }
                Value::Sequence(_) => {
                    p.elem_type = Some(D::Sequence as i32);
                    p.sequence_values.push(sequence_to_proto(it, ""));
                }
                Value::Map { .. } => {
                    p.elem_type = Some(D::Map as i32);
                    p.map_values.push(map_to_proto(it, ""));
                }
                Value::Optional(_) => {
                    p.elem_type = Some(D::Optional as i32);
                    p.optional_values.push(optional_to_proto(it, ""));
                }
            }
        }
    }
    p
}

fn map_to_proto(v: &Value, name: &str) -> MapProto {
    let mut p = MapProto { name: Some(name.to_string()), ..Default::default() };
    if let Value::Map { keys, values } = v {
        p.key_type = Some(keys.dtype().code() as i32);
        match keys.strings() {
            Some(s) => p.string_keys = s.iter().map(|k| k.as_bytes().to_vec()).collect(),
            None => p.keys = keys.to_i64_vec().unwrap_or_default(),
        }
        p.values = Some(sequence_to_proto(&Value::Sequence(vec![Value::Tensor(values.clone())]), ""));
    }
    p
}

fn optional_to_proto(v: &Value, name: &str) -> OptionalProto {
    use proto::optional_proto::DataType as D;
    let mut p = OptionalProto { name: Some(name.to_string()), ..Default::default() };
    if let Value::Optional(Some(inner)) = v {
        match &**inner {
            Value::Tensor(t) => {
                p.elem_type = Some(D::Tensor as i32);
                p.tensor_value = Some(tensor_to_proto(t, ""));
            }
            Value::Sequence(_) => {
                p.elem_type = Some(D::Sequence as i32);
                p.sequence_value = Some(sequence_to_proto(inner, ""));
            }
            Value::Map { .. } => {
                p.elem_type = Some(D::Map as i32);
                p.map_value = Some(map_to_proto(inner, ""));
            }
            Value::Optional(_) => {
                p.elem_type = Some(D::Optional as i32);
                p.optional_value = Some(Box::new(optional_to_proto(inner, "")));
            }
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_round_trip_every_dtype() {
        let cases = vec![
            Tensor::from_vec(vec![2], vec![1.5f32, -2.0]).unwrap(),
            Tensor::from_vec(vec![2], vec![f16::from_f32(0.5), f16::from_f32(-3.0)]).unwrap(),
            Tensor::from_vec(vec![3], vec![true, false, true]).unwrap(),
            Tensor::from_vec(vec![1, 2], vec![-5i8, 7]).unwrap(),
            Tensor::from_vec(vec![2], vec![u64::MAX, 3]).unwrap(),
            Tensor::from_strings(vec![2], vec!["a".into(), "βγ".into()]).unwrap(),
        ];
        for t in cases {
            let p = tensor_to_proto(&t, "x");
            let back = decode_tensor(&p.encode_to_vec()).unwrap();
            assert_eq!(back, t);
        }
    }

    #[test]
    fn values_round_trip() {
        let m = Value::Map {
            keys: Tensor::from_vec(vec![2], vec![0i64, 1]).unwrap(),
            values: Tensor::from_vec(vec![2], vec![0.25f32, 0.75]).unwrap(),
        };
        let seq = Value::Sequence(vec![m.clone(), m]);
        let ty = ValueType::Sequence(Box::new(ValueType::Unknown));
        assert_eq!(decode_value(&encode_value(&seq, "s"), &ty).unwrap(), seq);
        let opt = Value::Optional(Some(Box::new(Value::Tensor(Tensor::scalar(3i32)))));
        let ty = ValueType::Optional(Box::new(ValueType::Unknown));
        assert_eq!(decode_value(&encode_value(&opt, "o"), &ty).unwrap(), opt);
    }

    #[test]
    fn typed_fields_and_length_checks() {
        let p =
            TensorProto { dims: vec![2], data_type: Some(10), int32_data: vec![0x3c00, 0xc000], ..Default::default() };
        let t = tensor_from_proto(&p, None).unwrap();
        assert_eq!(t.to_f32_vec().unwrap(), vec![1.0, -2.0]);
        let short = TensorProto { dims: vec![3], data_type: Some(1), float_data: vec![1.0], ..Default::default() };
        assert!(tensor_from_proto(&short, None).unwrap_err().msg.contains("float_data"));
        let neg = TensorProto { dims: vec![-1], data_type: Some(1), ..Default::default() };
        assert!(tensor_from_proto(&neg, None).is_err());
        let float6 = TensorProto { dims: vec![1], data_type: Some(28), raw_data: Some(vec![0]), ..Default::default() };
        assert!(tensor_from_proto(&float6, None).unwrap_err().msg.contains("FLOAT6E3M2"));
    }

    #[test]
    fn packed_types_round_trip_with_odd_lengths() {
        use mote_ir::{F4E2M1, F8E4M3Fn, F8E8M0, I2, I4, U2, U4};
        let i4: Vec<I4> = [0i64, 1, 7, -4, -8].iter().map(|&v| I4::wrapping_from(v)).collect();
        let cases = vec![
            Tensor::from_vec(vec![5], i4.clone()).unwrap(),
            Tensor::from_vec(vec![3], vec![U4::MAX, U4::MIN, U4::wrapping_from(9)]).unwrap(),
            Tensor::from_vec(vec![5], vec![I2::MIN, I2::MAX, I2::MIN, I2::MAX, I2::wrapping_from(0)]).unwrap(),
            Tensor::from_vec(vec![1, 3], vec![U2::MAX; 3]).unwrap(),
            Tensor::from_vec(vec![3], vec![F4E2M1::from_f32(-6.0), F4E2M1::from_f32(0.5), F4E2M1::from_f32(1.5)])
                .unwrap(),
            Tensor::from_vec(vec![2], vec![F8E4M3Fn::from_f32(448.0), F8E4M3Fn::from_f32(-0.5)]).unwrap(),
            Tensor::from_vec(vec![2], vec![F8E8M0::from_bits(0), F8E8M0::from_bits(254)]).unwrap(),
            Tensor::from_vec(vec![0], Vec::<I4>::new()).unwrap(),
        ];
        for t in cases {
            let p = tensor_to_proto(&t, "x");
            assert_eq!(p.raw_data.as_ref().unwrap().len(), t.dtype().packed_size(t.len()).unwrap());
            let back = decode_tensor(&p.encode_to_vec()).unwrap();
            assert_eq!(back, t, "{:?}", t.dtype());
        }
        // Packed raw_data: low nibble first; the padding nibble is ignored.
        let p = TensorProto {
            dims: vec![5],
            data_type: Some(22),
            raw_data: Some(vec![16, 199, 0xf8]),
            ..Default::default()
        };
        assert_eq!(tensor_from_proto(&p, None).unwrap().typed::<I4>().unwrap(), i4.as_slice());
        // int32_data holds one packed byte per value.
        let p = TensorProto { dims: vec![5], data_type: Some(22), int32_data: vec![16, 199, 8], ..Default::default() };
        assert_eq!(tensor_from_proto(&p, None).unwrap().typed::<I4>().unwrap(), i4.as_slice());
        let p =
            TensorProto { dims: vec![12], data_type: Some(25), int32_data: vec![228, 64, 165], ..Default::default() };
        let u2: Vec<f64> = tensor_from_proto(&p, None).unwrap().to_f64_vec().unwrap();
        assert_eq!(u2, [0.0, 1.0, 2.0, 3.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 2.0, 2.0]);
        let p = TensorProto { dims: vec![2], data_type: Some(17), int32_data: vec![0x7e, 0xfe], ..Default::default() };
        assert_eq!(tensor_from_proto(&p, None).unwrap().to_f32_vec().unwrap(), vec![448.0, -448.0]);
        // Wrong lengths are errors, not panics.
        for (dims, code, raw) in
            [(5, 22, vec![0u8; 2]), (5, 22, vec![0u8; 4]), (4, 26, vec![0u8; 2]), (2, 19, vec![0u8])]
        {
            let p = TensorProto { dims: vec![dims], data_type: Some(code), raw_data: Some(raw), ..Default::default() };
            assert!(tensor_from_proto(&p, None).unwrap_err().msg.contains("raw_data"), "{code}");
        }
        let p = TensorProto { dims: vec![3], data_type: Some(21), int32_data: vec![1, 2, 3], ..Default::default() };
        assert!(tensor_from_proto(&p, None).unwrap_err().msg.contains("int32_data"));
    }

    #[test]
    fn external_data_cannot_escape_the_model_directory() {
        let p = TensorProto {
            dims: vec![1],
            data_type: Some(1),
            data_location: Some(1),
            external_data: vec![proto::StringStringEntryProto {
                key: Some("location".into()),
                value: Some("../secret".into()),
            }],
            ..Default::default()
        };
        let e = tensor_from_proto(&p, Some(Path::new("/tmp"))).unwrap_err();
        assert!(e.msg.contains("relative path"), "{e}");
    }
}
