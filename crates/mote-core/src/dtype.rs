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
}

impl DType {
    /// Every dtype, in code order.
    pub const ALL: [DType; 14] = [
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
    ];

    /// The stable numeric code (ONNX's `TensorProto.DataType`).
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// The dtype with this code, or `None` for codes Mote does not know.
    pub fn from_code(code: i64) -> Option<DType> {
        DType::ALL.iter().copied().find(|d| d.code() as i64 == code)
    }

    /// Bytes per element, or `None` for [`DType::String`].
    pub const fn size(self) -> Option<usize> {
        Some(match self {
            DType::Bool | DType::U8 | DType::I8 => 1,
            DType::U16 | DType::I16 | DType::F16 | DType::BF16 => 2,
            DType::F32 | DType::I32 | DType::U32 => 4,
            DType::F64 | DType::I64 | DType::U64 => 8,
            DType::String => return None,
        })
    }

    pub const fn is_float(self) -> bool {
        matches!(self, DType::F16 | DType::BF16 | DType::F32 | DType::F64)
    }

    pub const fn is_int(self) -> bool {
        matches!(
            self,
            DType::U8 | DType::I8 | DType::U16 | DType::I16 | DType::I32 | DType::I64 | DType::U32 | DType::U64
        )
    }

    pub const fn is_signed_int(self) -> bool {
        matches!(self, DType::I8 | DType::I16 | DType::I32 | DType::I64)
    }

    /// Numbers: floats and integers (not bool, not string).
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
        assert_eq!(DType::from_code(17), None);
        assert_eq!(DType::from_code(-1), None);
    }

    #[test]
    fn sizes() {
        assert_eq!(DType::F32.size(), Some(4));
        assert_eq!(DType::BF16.size(), Some(2));
        assert_eq!(DType::U64.size(), Some(8));
        assert_eq!(DType::String.size(), None);
    }
}
