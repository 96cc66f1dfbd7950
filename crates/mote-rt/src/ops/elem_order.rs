//! Ordering and zero tests of single elements of any numeric or bool tensor, read from its
//! bytes (Unique, NonZero).

use core::cmp::Ordering;

use mote_core::DType;

/// Element `i` of `b` as `N` little-endian bytes.
fn at<const N: usize>(b: &[u8], i: usize) -> [u8; N] {
    let mut a = [0u8; N];
    a.copy_from_slice(&b[i * N..(i + 1) * N]);
    a
}

/// The element types these functions read.
pub fn supported(dt: DType) -> bool {
    matches!(
        dt,
        DType::F32
            | DType::F64
            | DType::I8
            | DType::I16
            | DType::I32
            | DType::I64
            | DType::U8
            | DType::U16
            | DType::U32
            | DType::U64
            | DType::Bool
    )
}

/// Element `i` as an integer (integer and bool types) or a float, widened.
enum Key {
    Int(i128),
    Float(f64),
}

fn key(dt: DType, b: &[u8], i: usize) -> Key {
    match dt {
        DType::F32 => Key::Float(f32::from_le_bytes(at(b, i)) as f64),
        DType::F64 => Key::Float(f64::from_le_bytes(at(b, i))),
        DType::I8 => Key::Int(i8::from_le_bytes(at(b, i)) as i128),
        DType::I16 => Key::Int(i16::from_le_bytes(at(b, i)) as i128),
        DType::I32 => Key::Int(i32::from_le_bytes(at(b, i)) as i128),
        DType::I64 => Key::Int(i64::from_le_bytes(at(b, i)) as i128),
        DType::U16 => Key::Int(u16::from_le_bytes(at(b, i)) as i128),
        DType::U32 => Key::Int(u32::from_le_bytes(at(b, i)) as i128),
        DType::U64 => Key::Int(u64::from_le_bytes(at(b, i)) as i128),
        _ => Key::Int(b[i] as i128),
    }
}

/// Orders elements `i` and `j` of `b` (type `dt`): numerically, `-0.0 == 0.0`, NaN after every
/// number and equal to NaN.
pub fn order(dt: DType, b: &[u8], i: usize, j: usize) -> Ordering {
    match (key(dt, b, i), key(dt, b, j)) {
        (Key::Int(x), Key::Int(y)) => x.cmp(&y),
        (Key::Float(x), Key::Float(y)) => x.partial_cmp(&y).unwrap_or_else(|| x.is_nan().cmp(&y.is_nan())),
        _ => Ordering::Equal,
    }
}

/// Whether element `i` of `b` is zero (`-0.0` included; NaN is not).
pub fn is_zero(dt: DType, b: &[u8], i: usize) -> bool {
    match key(dt, b, i) {
        Key::Int(x) => x == 0,
        Key::Float(x) => x == 0.0,
    }
}
