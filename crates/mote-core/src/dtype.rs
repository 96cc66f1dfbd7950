//! Element types and their stable numeric codes.

use core::fmt;

/// An element type.
///
/// The numeric codes are ONNX's `TensorProto.DataType` values. They are stable: a code is never
/// reused for another type, so files that store them (`.mote`) stay readable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum DType {
    F32 = 1,
    U8 = 2,
    I8 = 3,
    U16 = 4,
    I16 = 5,
    I32 = 6,
    I64 = 7,
    /// Variable-length UTF-8 strings. Host-only: the device runtime never sees them.
    String = 8,
    Bool = 9,
    F16 = 10,
    F64 = 11,
    U32 = 12,
    U64 = 13,
    BF16 = 16,
    /// float8 E4M3FN (see [`crate::lowp`] for the low-precision types).
    F8E4M3Fn = 17,
    F8E4M3Fnuz = 18,
    F8E5M2 = 19,
    F8E5M2Fnuz = 20,
    U4 = 21,
    I4 = 22,
    F4E2M1 = 23,
    /// float8 E8M0: an unsigned power of two (OCP MX scales).
    F8E8M0 = 24,
    U2 = 25,
    I2 = 26,
}

impl DType {
    /// Every dtype, in code order.
    pub const ALL: [DType; 24] = [
        DType::F32,
        DType::U8,
        DType::I8,
        DType::U16,
        DType::I16,
        DType::I32,
        DType::I64,
        DType::String,
        DType::Bool,
        DType::F16,
        DType::F64,
        DType::U32,
        DType::U64,
        DType::BF16,
        DType::F8E4M3Fn,
        DType::F8E4M3Fnuz,
        DType::F8E5M2,
        DType::F8E5M2Fnuz,
        DType::U4,
        DType::I4,
        DType::F4E2M1,
        DType::F8E8M0,
        DType::U2,
        DType::I2,
    ];

    /// The stable numeric code (ONNX's `TensorProto.DataType`).
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// The dtype with this code, or `None` for codes Mote does not know.
    pub fn from_code(code: i64) -> Option<DType> {
        DType::ALL.iter().copied().find(|d| d.code() as i64 == code)
    }

    /// Bytes per element in memory, or `None` for [`DType::String`]. Mote stores one element
    /// per value, unpacked: the 4- and 2-bit types take one byte each here (see
    /// [`DType::packed_size`] for the size in files).
    pub const fn size(self) -> Option<usize> {
        Some(match self {
            DType::Bool | DType::U8 | DType::I8 => 1,
            DType::U16 | DType::I16 | DType::F16 | DType::BF16 => 2,
            DType::F32 | DType::I32 | DType::U32 => 4,
            DType::F64 | DType::I64 | DType::U64 => 8,
            DType::String => return None,
            _ => 1, // the low-precision types
        })
    }

    /// Bits per value, or `None` for [`DType::String`]: 4 for int4/uint4/float4, 2 for
    /// int2/uint2, 8 times [`DType::size`] otherwise.
    pub const fn bits(self) -> Option<usize> {
        match self {
            DType::U4 | DType::I4 | DType::F4E2M1 => Some(4),
            DType::U2 | DType::I2 => Some(2),
            _ => match self.size() {
                Some(s) => Some(s * 8),
                None => None,
            },
        }
    }

    /// Bytes that `n` values take packed, as ONNX files store them (two 4-bit or four 2-bit
    /// values per byte, the last byte padded); `None` for strings or on overflow.
    pub const fn packed_size(self, n: usize) -> Option<usize> {
        let Some(bits) = self.bits() else { return None };
        match n.checked_mul(bits) {
            Some(total) => Some(total.div_ceil(8)),
            None => None,
        }
    }

    /// The arithmetic floats f16, bf16, f32 and f64. The float8/float4 storage types are not
    /// included (see [`DType::is_low_precision`]).
    pub const fn is_float(self) -> bool {
        matches!(self, DType::F16 | DType::BF16 | DType::F32 | DType::F64)
    }

    /// The arithmetic integers (8 to 64 bits). int4/uint4/int2/uint2 are not included (see
    /// [`DType::is_low_precision`]).
    pub const fn is_int(self) -> bool {
        matches!(
            self,
            DType::U8 | DType::I8 | DType::U16 | DType::I16 | DType::I32 | DType::I64 | DType::U32 | DType::U64
        )
    }

    pub const fn is_signed_int(self) -> bool {
        matches!(self, DType::I8 | DType::I16 | DType::I32 | DType::I64)
    }

    /// The low-precision storage types: float8, float4, int4/uint4 and int2/uint2. Mote stores
    /// and moves them (data-movement ops), but only `Cast`, `CastLike`, `QuantizeLinear` and
    /// `DequantizeLinear` compute with them; arithmetic ops reject them.
    pub const fn is_low_precision(self) -> bool {
        self.is_low_precision_float() || self.is_small_int()
    }

    /// The float8 and float4 types.
    pub const fn is_low_precision_float(self) -> bool {
        matches!(
            self,
            DType::F8E4M3Fn | DType::F8E4M3Fnuz | DType::F8E5M2 | DType::F8E5M2Fnuz | DType::F8E8M0 | DType::F4E2M1
        )
    }

    /// int4, uint4, int2 and uint2.
    pub const fn is_small_int(self) -> bool {
        matches!(self, DType::U4 | DType::I4 | DType::U2 | DType::I2)
    }

    /// The arithmetic types: [`DType::is_float`] or [`DType::is_int`] (not bool, string or the
    /// low-precision storage types).
    pub const fn is_numeric(self) -> bool {
        self.is_float() || self.is_int()
    }

    /// Short name used in dumps and the CLI: `f32`, `i64`, `bool`, ...
    pub const fn name(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::U8 => "u8",
            DType::I8 => "i8",
            DType::U16 => "u16",
            DType::I16 => "i16",
            DType::I32 => "i32",
            DType::I64 => "i64",
            DType::String => "string",
            DType::Bool => "bool",
            DType::F16 => "f16",
            DType::F64 => "f64",
            DType::U32 => "u32",
            DType::U64 => "u64",
            DType::BF16 => "bf16",
            DType::F8E4M3Fn => "f8e4m3fn",
            DType::F8E4M3Fnuz => "f8e4m3fnuz",
            DType::F8E5M2 => "f8e5m2",
            DType::F8E5M2Fnuz => "f8e5m2fnuz",
            DType::U4 => "u4",
            DType::I4 => "i4",
            DType::F4E2M1 => "f4e2m1",
            DType::F8E8M0 => "f8e8m0",
            DType::U2 => "u2",
            DType::I2 => "i2",
        }
    }

    /// The name ONNX and numpy use: `float32`, `int64`, ...
    pub const fn onnx_name(self) -> &'static str {
        match self {
            DType::F32 => "float32",
            DType::U8 => "uint8",
            DType::I8 => "int8",
            DType::U16 => "uint16",
            DType::I16 => "int16",
            DType::I32 => "int32",
            DType::I64 => "int64",
            DType::String => "string",
            DType::Bool => "bool",
            DType::F16 => "float16",
            DType::F64 => "float64",
            DType::U32 => "uint32",
            DType::U64 => "uint64",
            DType::BF16 => "bfloat16",
            DType::F8E4M3Fn => "float8_e4m3fn",
            DType::F8E4M3Fnuz => "float8_e4m3fnuz",
            DType::F8E5M2 => "float8_e5m2",
            DType::F8E5M2Fnuz => "float8_e5m2fnuz",
            DType::U4 => "uint4",
            DType::I4 => "int4",
            DType::F4E2M1 => "float4_e2m1fn",
            DType::F8E8M0 => "float8_e8m0fnu",
            DType::U2 => "uint2",
            DType::I2 => "int2",
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_unique() {
        for d in DType::ALL {
            assert_eq!(DType::from_code(d.code() as i64), Some(d));
        }
        for (i, a) in DType::ALL.iter().enumerate() {
            for b in &DType::ALL[i + 1..] {
                assert_ne!(a.code(), b.code());
            }
        }
        assert_eq!(DType::from_code(26), Some(DType::I2));
        assert_eq!(DType::from_code(14), None); // complex64
        assert_eq!(DType::from_code(27), None);
        assert_eq!(DType::from_code(-1), None);
    }

    #[test]
    fn sizes() {
        assert_eq!(DType::F32.size(), Some(4));
        assert_eq!(DType::BF16.size(), Some(2));
        assert_eq!(DType::U64.size(), Some(8));
        assert_eq!(DType::String.size(), None);
        assert_eq!(DType::I4.size(), Some(1));
        assert_eq!(DType::F8E5M2.bits(), Some(8));
        assert_eq!(DType::I4.bits(), Some(4));
        assert_eq!(DType::F32.bits(), Some(32));
        assert_eq!(DType::U4.packed_size(5), Some(3));
        assert_eq!(DType::I2.packed_size(5), Some(2));
        assert_eq!(DType::I2.packed_size(8), Some(2));
        assert_eq!(DType::F8E4M3Fn.packed_size(5), Some(5));
        assert_eq!(DType::F32.packed_size(3), Some(12));
        assert_eq!(DType::I4.packed_size(usize::MAX), None);
        assert_eq!(DType::String.packed_size(1), None);
    }

    #[test]
    fn low_precision_types_are_not_arithmetic() {
        for d in DType::ALL {
            assert_eq!(d.is_low_precision(), d.code() >= 17, "{d}");
            if d.is_low_precision() {
                assert!(!d.is_float() && !d.is_int() && !d.is_numeric());
            }
        }
        assert!(DType::F8E8M0.is_low_precision_float() && DType::I2.is_small_int());
    }
}
