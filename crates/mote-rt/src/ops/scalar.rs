//! One element of any numeric dtype, read from and written to the arena's little-endian bytes
//! with ONNX `Cast` semantics (the reference interpreter's): the kernels of `Cast` and of the ops
//! that work on every dtype go through it.
//!
//! The low-precision types take one byte per element in the arena (their bit pattern in the low
//! bits, see `docs/FORMAT.md`); higher bits are ignored when read and zero when written.

use mote_core::lowp as lp;
use mote_core::lowp::RoundMode;
use mote_core::{DType, bf16, f16};

/// A value on its way between two dtypes: integers (and bool) stay exact as `I`, floats are `F`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Num {
    F(f64),
    I(i128),
}

impl Num {
    /// The value as f64 (integers round to nearest).
    pub fn f64(self) -> f64 {
        match self {
            Num::F(f) => f,
            Num::I(i) => i as f64,
        }
    }
}

/// How float values convert to the float8 / float4 types (ONNX `Cast`'s `saturate` and
/// `round_mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LowpMode {
    pub saturate: bool,
    pub round: RoundMode,
}

impl LowpMode {
    /// ONNX's defaults: saturate, round up (E8M0).
    pub const DEFAULT: LowpMode = LowpMode { saturate: true, round: RoundMode::Up };
}

/// Whether the arena may hold `d` (every dtype but strings).
pub fn storable(d: DType) -> bool {
    d != DType::String
}

fn arr<const N: usize>(b: &[u8]) -> [u8; N] {
    core::array::from_fn(|i| b.get(i).copied().unwrap_or(0))
}

/// Reads the element of dtype `d` at the start of `b` (`b` holds at least its size).
pub fn load(d: DType, b: &[u8]) -> Num {
    use DType::*;
    let b0 = b.first().copied().unwrap_or(0);
    match d {
        F32 => Num::F(f32::from_le_bytes(arr(b)) as f64),
        F64 => Num::F(f64::from_le_bytes(arr(b))),
        F16 => Num::F(f16::from_bits(u16::from_le_bytes(arr(b))).to_f64()),
        BF16 => Num::F(bf16::from_bits(u16::from_le_bytes(arr(b))).to_f64()),
        Bool => Num::I((b0 != 0) as i128),
        I8 => Num::I(b0 as i8 as i128),
        U8 => Num::I(b0 as i128),
        I16 => Num::I(i16::from_le_bytes(arr(b)) as i128),
        U16 => Num::I(u16::from_le_bytes(arr(b)) as i128),
        I32 => Num::I(i32::from_le_bytes(arr(b)) as i128),
        U32 => Num::I(u32::from_le_bytes(arr(b)) as i128),
        I64 => Num::I(i64::from_le_bytes(arr(b)) as i128),
        U64 => Num::I(u64::from_le_bytes(arr(b)) as i128),
        F8E4M3Fn => Num::F(lp::F8E4M3Fn::from_bits(b0).to_f64()),
        F8E4M3Fnuz => Num::F(lp::F8E4M3Fnuz::from_bits(b0).to_f64()),
        F8E5M2 => Num::F(lp::F8E5M2::from_bits(b0).to_f64()),
        F8E5M2Fnuz => Num::F(lp::F8E5M2Fnuz::from_bits(b0).to_f64()),
        F8E8M0 => Num::F(lp::F8E8M0::from_bits(b0).to_f64()),
        F4E2M1 => Num::F(lp::F4E2M1::from_bits(b0).to_f64()),
        I4 => Num::I(lp::I4::from_bits(b0).get() as i128),
        U4 => Num::I(lp::U4::from_bits(b0).get() as i128),
        I2 => Num::I(lp::I2::from_bits(b0).get() as i128),
        U2 => Num::I(lp::U2::from_bits(b0).get() as i128),
        String => Num::I(0),
    }
}

/// Float to integer as numpy does on x86 (the interpreter's rule): NaN is 0, values outside
/// i64's range are `i64::MIN`, others truncate toward zero; the caller wraps to its width.
fn f64_to_int_bits(y: f64) -> i64 {
    if y.is_nan() {
        return 0;
    }
    if !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&y) {
        return i64::MIN;
    }
    y as i64
}

/// The integer an element of an integer dtype gets: exact integers wrap, floats truncate.
fn int_of(v: Num) -> i128 {
    match v {
        Num::I(i) => i,
        Num::F(f) => f64_to_int_bits(f) as i128,
    }
}

/// Writes `v` as dtype `d` at the start of `o` (`o` holds at least its size). `from` is the
/// source dtype (f32 sources round to f16 / bf16 directly, as the interpreter does).
pub fn store(d: DType, v: Num, from: DType, mode: LowpMode, o: &mut [u8]) {
    use DType::*;
    let f = v.f64();
    let mut put = |bytes: &[u8]| {
        for (o, b) in o.iter_mut().zip(bytes) {
            *o = *b;
        }
    };
    match d {
        F32 => put(&match v {
            Num::I(i) => i as f32,
            Num::F(x) => x as f32,
        }
        .to_le_bytes()),
        F64 => put(&f.to_le_bytes()),
        F16 if from == F32 => put(&f16::from_f32(f as f32).to_bits().to_le_bytes()),
        F16 => put(&f16::from_f64(f).to_bits().to_le_bytes()),
        BF16 if from == F32 => put(&bf16::from_f32(f as f32).to_bits().to_le_bytes()),
        BF16 => put(&bf16::from_f64(f).to_bits().to_le_bytes()),
        Bool => put(&[match v {
            Num::I(i) => i != 0,
            Num::F(x) => x != 0.0,
        } as u8]),
        I8 | U8 => put(&[int_of(v) as u8]),
        I16 | U16 => put(&(int_of(v) as u16).to_le_bytes()),
        I32 | U32 => put(&(int_of(v) as u32).to_le_bytes()),
        I64 => put(&(int_of(v) as u64).to_le_bytes()),
        U64 => put(&match v {
            Num::F(x) if x >= 0.0 => x as u64,
            v => int_of(v) as u64,
        }
        .to_le_bytes()),
        F8E4M3Fn => put(&[lp::F8E4M3Fn::from_f64_with(f, mode.saturate).to_bits()]),
        F8E4M3Fnuz => put(&[lp::F8E4M3Fnuz::from_f64_with(f, mode.saturate).to_bits()]),
        F8E5M2 => put(&[lp::F8E5M2::from_f64_with(f, mode.saturate).to_bits()]),
        F8E5M2Fnuz => put(&[lp::F8E5M2Fnuz::from_f64_with(f, mode.saturate).to_bits()]),
        F8E8M0 => put(&[lp::F8E8M0::from_f64_with(f, mode.saturate, mode.round).to_bits()]),
        F4E2M1 => put(&[lp::F4E2M1::from_f64_with(f, mode.saturate).to_bits()]),
        I4 => put(&[lp::I4::wrapping_from(int_of(v) as i64).to_bits()]),
        U4 => put(&[lp::U4::wrapping_from(int_of(v) as i64).to_bits()]),
        I2 => put(&[lp::I2::wrapping_from(int_of(v) as i64).to_bits()]),
        U2 => put(&[lp::U2::wrapping_from(int_of(v) as i64).to_bits()]),
        String => {}
    }
}

/// Copies one element of `d` unchanged, except that the low-precision types keep only their
/// bit pattern (a cast to the same type).
pub fn copy(d: DType, x: &[u8], o: &mut [u8]) {
    let n = d.size().unwrap_or(1);
    o[..n].copy_from_slice(&x[..n]);
    if let Some(bits @ (2 | 4)) = d.bits() {
        o[0] &= ((1u16 << bits) - 1) as u8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cast(from: DType, to: DType, x: &[u8]) -> [u8; 8] {
        let mut o = [0u8; 8];
        store(to, load(from, x), from, LowpMode::DEFAULT, &mut o);
        o
    }

    #[test]
    fn float_to_int_wraps_like_the_interpreter() {
        assert_eq!(cast(DType::F32, DType::I8, &300.5f32.to_le_bytes())[0] as i8, 44);
        assert_eq!(cast(DType::F32, DType::I8, &(-1.9f32).to_le_bytes())[0] as i8, -1);
        assert_eq!(cast(DType::F32, DType::U8, &f32::NAN.to_le_bytes())[0], 0);
        assert_eq!(
            u64::from_le_bytes(cast(DType::F64, DType::U64, &1e19f64.to_le_bytes())),
            10_000_000_000_000_000_000
        );
    }

    #[test]
    fn low_precision_round_trips() {
        // 4-bit int: -3 is 0b1101, sign-extended back; high bits of the input byte are ignored.
        assert_eq!(cast(DType::I32, DType::I4, &(-3i32).to_le_bytes())[0], 0b1101);
        assert_eq!(i32::from_le_bytes(cast(DType::I4, DType::I32, &[0xfd])[..4].try_into().unwrap()), -3);
        // 9 wraps to -7 in int4.
        assert_eq!(cast(DType::I64, DType::I4, &9i64.to_le_bytes())[0], 0b1001);
        // float8 E4M3FN saturates 1000 to 448 (0x7e) by default, NaN without saturation.
        let mut o = [0u8; 1];
        store(DType::F8E4M3Fn, Num::F(1000.0), DType::F32, LowpMode::DEFAULT, &mut o);
        assert_eq!(o[0], 0x7e);
        store(DType::F8E4M3Fn, Num::F(1000.0), DType::F32, LowpMode { saturate: false, round: RoundMode::Up }, &mut o);
        assert_eq!(o[0], 0x7f);
        assert_eq!(f32::from_le_bytes(cast(DType::F8E4M3Fn, DType::F32, &[0x7e])[..4].try_into().unwrap()), 448.0);
        // f16 from f32 rounds once.
        let h = u16::from_le_bytes(
            cast(DType::F32, DType::F16, &(1.0f32 + 1.0 / 1024.0).to_le_bytes())[..2].try_into().unwrap(),
        );
        assert_eq!(f16::from_bits(h).to_f32(), 1.0 + 1.0 / 1024.0);
    }

    #[test]
    fn same_type_copy_masks_sub_byte_codes() {
        let mut o = [0u8; 1];
        copy(DType::U2, &[0xff], &mut o);
        assert_eq!(o[0], 3);
        copy(DType::F8E5M2, &[0xff], &mut o);
        assert_eq!(o[0], 0xff);
    }
}
