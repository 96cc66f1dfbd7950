//! Low-precision element values: the float8 formats (E4M3FN, E4M3FNUZ, E5M2, E5M2FNUZ, E8M0),
//! float4 E2M1 and the 4- and 2-bit integers, as `Copy` newtypes over their bit patterns.
//!
//! Conversions follow the ONNX `Cast` specification: from a wider float, values round to nearest
//! even; out-of-range values and infinities saturate to the largest finite value unless
//! `saturate` is false, in which case they become infinity (E5M2) or NaN (the formats without
//! infinities). Decoding to `f32`/`f64` is exact for every bit pattern.
//!
//! One value is held per newtype, unpacked (a 4-bit value in the low bits of a byte). Files pack
//! two 4-bit or four 2-bit values per byte; see [`crate::DType::packed_size`].

use core::cmp::Ordering;
use core::fmt;

/// How a minifloat format uses its special bit patterns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Specials {
    /// IEEE 754 style: the all-ones exponent is ±Inf (mantissa 0) or NaN (E5M2).
    Ieee,
    /// No infinities; `S.1111.111` is NaN (E4M3FN).
    Fn,
    /// No infinities and no negative zero; the `-0` pattern `0x80` is the only NaN (the FNUZ formats).
    Fnuz,
    /// No infinities and no NaN (float4 E2M1).
    Finite,
}

/// A sign + exponent + mantissa format of at most 8 bits.
#[derive(Clone, Copy, Debug)]
struct Format {
    exp_bits: u32,
    man_bits: u32,
    bias: i32,
    specials: Specials,
}

const E4M3FN: Format = Format { exp_bits: 4, man_bits: 3, bias: 7, specials: Specials::Fn };
const E4M3FNUZ: Format = Format { exp_bits: 4, man_bits: 3, bias: 8, specials: Specials::Fnuz };
const E5M2: Format = Format { exp_bits: 5, man_bits: 2, bias: 15, specials: Specials::Ieee };
const E5M2FNUZ: Format = Format { exp_bits: 5, man_bits: 2, bias: 16, specials: Specials::Fnuz };
const E2M1: Format = Format { exp_bits: 2, man_bits: 1, bias: 1, specials: Specials::Finite };

/// `2^k` for `-1022 <= k <= 1023` (exact).
fn pow2(k: i32) -> f64 {
    f64::from_bits(((k + 1023) as u64) << 52)
}

/// Rounds a non-negative value below 2^52 to the nearest integer, ties to even.
fn round_half_even(n: f64) -> u64 {
    let f = n as u64;
    let diff = n - f as f64;
    if diff > 0.5 || (diff == 0.5 && f % 2 == 1) { f + 1 } else { f }
}

/// `floor(log2(a))` for a positive finite normal f64; subnormals report -1023 (below every
/// format's range, so they are treated as subnormal there).
fn exponent_of(a: f64) -> i32 {
    ((a.to_bits() >> 52) & 0x7ff) as i32 - 1023
}

impl Format {
    const fn sign_bit(self) -> u8 {
        1 << (self.exp_bits + self.man_bits)
    }

    const fn man_mask(self) -> u8 {
        (1 << self.man_bits) - 1
    }

    const fn exp_max(self) -> u8 {
        (1 << self.exp_bits) - 1
    }

    /// The bit pattern of the largest finite magnitude.
    const fn max_bits(self) -> u8 {
        let all = self.sign_bit() - 1;
        match self.specials {
            Specials::Ieee => ((self.exp_max() - 1) << self.man_bits) | self.man_mask(),
            Specials::Fn => all - 1,
            Specials::Fnuz | Specials::Finite => all,
        }
    }

    fn decode(self, bits: u8) -> f64 {
        let sign = bits & self.sign_bit() != 0;
        let mag = bits & (self.sign_bit() - 1);
        let exp = mag >> self.man_bits;
        let man = mag & self.man_mask();
        let special = match self.specials {
            Specials::Fnuz if sign && mag == 0 => Some(f64::NAN),
            Specials::Fn if mag == self.sign_bit() - 1 => Some(f64::NAN),
            Specials::Ieee if exp == self.exp_max() => Some(if man == 0 { f64::INFINITY } else { f64::NAN }),
            _ => None,
        };
        let v = special.unwrap_or_else(|| {
            let m = self.man_bits as i32;
            if exp == 0 {
                man as f64 * pow2(1 - self.bias - m)
            } else {
                (man as u32 + (1 << m)) as f64 * pow2(exp as i32 - self.bias - m)
            }
        });
        if sign { -v } else { v }
    }

    /// The pattern for values too large to represent.
    fn overflow(self, sign: u8, saturate: bool) -> u8 {
        if saturate {
            return sign | self.max_bits();
        }
        match self.specials {
            Specials::Ieee => sign | (self.exp_max() << self.man_bits),
            Specials::Fn => sign | (self.sign_bit() - 1),
            Specials::Fnuz => self.sign_bit(),
            Specials::Finite => sign | self.max_bits(),
        }
    }

    fn encode(self, x: f64, saturate: bool) -> u8 {
        let sign = if x.is_sign_negative() { self.sign_bit() } else { 0 };
        if x.is_nan() {
            return match self.specials {
                // A quiet NaN: the top mantissa bit set.
                Specials::Ieee => sign | (self.exp_max() << self.man_bits) | (1 << (self.man_bits - 1)),
                Specials::Fn => sign | (self.sign_bit() - 1),
                Specials::Fnuz => self.sign_bit(),
                // No NaN encoding: zero, as the ONNX reference implementation (ml_dtypes) does.
                Specials::Finite => 0,
            };
        }
        let a = x.abs();
        if a.is_infinite() {
            return self.overflow(sign, saturate);
        }
        let zero = if self.specials == Specials::Fnuz { 0 } else { sign };
        if a == 0.0 {
            return zero;
        }
        // Subnormals share the smallest normal exponent's quantum.
        let m = self.man_bits as i32;
        let emin = 1 - self.bias;
        let mut e = exponent_of(a).max(emin);
        // Scaling by a power of two is exact; `n` is below 2^(m+1).
        let mut q = round_half_even(a * pow2(m - e));
        if q == 0 {
            return zero;
        }
        if q == 1 << (m + 1) {
            q >>= 1;
            e += 1;
        }
        let code = if q < 1 << m {
            q // subnormal (only at emin)
        } else {
            (((e + self.bias) as u64) << m) | (q - (1 << m))
        };
        if code > self.max_bits() as u64 {
            return self.overflow(sign, saturate);
        }
        sign | code as u8
    }
}

/// A float8/float4 format with ONNX's saturating conversions.
pub trait MiniFloat: Copy {
    /// From an f64, rounding to nearest even. Out-of-range values and infinities saturate to the
    /// largest finite value when `saturate`, otherwise they become Inf (E5M2) or NaN.
    fn from_f64_with(x: f64, saturate: bool) -> Self;
    /// The exact value.
    fn to_f64(self) -> f64;
    /// The exact value (every code of these formats is an f32).
    fn to_f32(self) -> f32 {
        self.to_f64() as f32
    }
    /// [`MiniFloat::from_f64_with`] from an f32 (exact widening first).
    fn from_f32_with(x: f32, saturate: bool) -> Self {
        Self::from_f64_with(x as f64, saturate)
    }
}

macro_rules! minifloat {
    ($(#[$doc:meta])* $name:ident, $fmt:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Default)]
        pub struct $name(pub u8);

        impl $name {
            /// The value with this bit pattern (extra high bits are dropped).
            pub const fn from_bits(bits: u8) -> Self {
                $name(bits & ((($fmt).sign_bit() as u16 * 2 - 1) as u8))
            }
            pub const fn to_bits(self) -> u8 {
                self.0
            }
            /// The largest finite value.
            pub const MAX: $name = $name(($fmt).max_bits());
            /// From an f64, rounding to nearest even; see [`MiniFloat::from_f64_with`].
            pub fn from_f64_with(x: f64, saturate: bool) -> Self {
                $name(($fmt).encode(x, saturate))
            }
            /// [`Self::from_f64_with`] from an f32 (exact widening first).
            pub fn from_f32_with(x: f32, saturate: bool) -> Self {
                Self::from_f64_with(x as f64, saturate)
            }
            /// Saturating conversion (ONNX `Cast` default).
            pub fn from_f32(x: f32) -> Self {
                Self::from_f32_with(x, true)
            }
            /// The exact value.
            pub fn to_f64(self) -> f64 {
                ($fmt).decode(self.0)
            }
            /// The exact value (every code of these formats is an f32).
            pub fn to_f32(self) -> f32 {
                self.to_f64() as f32
            }
            pub fn is_nan(self) -> bool {
                self.to_f64().is_nan()
            }
        }

        impl MiniFloat for $name {
            fn from_f64_with(x: f64, saturate: bool) -> Self {
                $name::from_f64_with(x, saturate)
            }
            fn to_f64(self) -> f64 {
                $name::to_f64(self)
            }
        }

        impl PartialEq for $name {
            /// Compares values: `-0 == +0`, NaN equals nothing.
            fn eq(&self, other: &Self) -> bool {
                self.to_f64() == other.to_f64()
            }
        }

        impl PartialOrd for $name {
            fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
                self.to_f64().partial_cmp(&other.to_f64())
            }
        }

        impl fmt::Debug for $name {
            /// Prints the value like an `f32`.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.to_f32(), f)
            }
        }
    };
}

minifloat!(
    /// float8 E4M3FN: 4 exponent bits (bias 7), 3 mantissa bits, no infinities, NaN = `S.1111.111`.
    /// Largest value 448, smallest subnormal 2^-9.
    F8E4M3Fn,
    E4M3FN
);
minifloat!(
    /// float8 E4M3FNUZ: bias 8, no infinities, no negative zero, NaN = `0x80`. Largest value 240.
    F8E4M3Fnuz,
    E4M3FNUZ
);
minifloat!(
    /// float8 E5M2: IEEE-style (bias 15) with infinities and NaNs. Largest value 57344.
    F8E5M2,
    E5M2
);
minifloat!(
    /// float8 E5M2FNUZ: bias 16, no infinities, no negative zero, NaN = `0x80`. Largest value 57344.
    F8E5M2Fnuz,
    E5M2FNUZ
);
minifloat!(
    /// float4 E2M1 (low 4 bits): bias 1, no infinities, no NaN. Values ±{0, 0.5, 1, 1.5, 2, 3, 4, 6}.
    /// NaN converts to 0.
    F4E2M1,
    E2M1
);

/// How a conversion to [`F8E8M0`] rounds (ONNX `Cast`'s `round_mode`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum RoundMode {
    /// Away from zero to the next power of two (ONNX's default).
    #[default]
    Up,
    /// Toward zero.
    Down,
    /// To the nearest power of two; a mantissa of exactly 1.5 rounds up.
    Nearest,
}

/// float8 E8M0 (the OCP MX scale type): an unsigned power of two `2^(bits - 127)`, from 2^-127
/// (bits 0) to 2^127 (bits 254); 255 is NaN. There is no zero: the default value (bits 0) is
/// 2^-127.
#[derive(Clone, Copy, Default)]
pub struct F8E8M0(pub u8);

impl F8E8M0 {
    /// NaN.
    pub const NAN: F8E8M0 = F8E8M0(0xff);
    /// The largest value, 2^127.
    pub const MAX: F8E8M0 = F8E8M0(0xfe);
    /// The smallest value, 2^-127.
    pub const MIN: F8E8M0 = F8E8M0(0);

    pub const fn from_bits(bits: u8) -> Self {
        F8E8M0(bits)
    }
    pub const fn to_bits(self) -> u8 {
        self.0
    }
    pub fn is_nan(self) -> bool {
        self.0 == 0xff
    }

    /// The exact value.
    pub fn to_f64(self) -> f64 {
        if self.is_nan() { f64::NAN } else { pow2(self.0 as i32 - 127) }
    }

    /// The exact value (2^-127 is an f32 subnormal).
    pub fn to_f32(self) -> f32 {
        self.to_f64() as f32
    }

    /// Converts following the ONNX `Cast` table: the magnitude rounds to a power of two per
    /// `mode` (the sign is ignored: negative inputs are unspecified). Zero, infinities and values
    /// outside [2^-127, 2^127] after rounding clamp to the nearest end when `saturate`, else
    /// become NaN. NaN stays NaN. (The ONNX reference implementation works on f32 bit fields
    /// instead and differs for f32 subnormal inputs and for saturated infinities, which it maps
    /// to NaN.)
    pub fn from_f64_with(x: f64, saturate: bool, mode: RoundMode) -> Self {
        if x.is_nan() {
            return F8E8M0::NAN;
        }
        let a = x.abs();
        let out_of_range = |high: bool| match (saturate, high) {
            (false, _) => F8E8M0::NAN,
            (true, true) => F8E8M0::MAX,
            (true, false) => F8E8M0::MIN,
        };
        if a.is_infinite() {
            return out_of_range(true);
        }
        if a == 0.0 {
            return out_of_range(false);
        }
        // a = 1.f * 2^e; subnormal f64s are far below the range, so `e` is only a bound there.
        let bits = a.to_bits();
        let frac = bits & ((1u64 << 52) - 1);
        let e = exponent_of(a);
        let up = match mode {
            RoundMode::Down => false,
            RoundMode::Up => frac != 0,
            RoundMode::Nearest => frac >> 51 == 1,
        };
        let e = e + up as i32;
        if e > 127 {
            out_of_range(true)
        } else if e < -127 {
            out_of_range(false)
        } else {
            F8E8M0((e + 127) as u8)
        }
    }

    /// [`F8E8M0::from_f64_with`] from an f32 (exact widening first).
    pub fn from_f32_with(x: f32, saturate: bool, mode: RoundMode) -> Self {
        Self::from_f64_with(x as f64, saturate, mode)
    }
}

impl PartialEq for F8E8M0 {
    /// Compares values: NaN equals nothing.
    fn eq(&self, other: &Self) -> bool {
        !self.is_nan() && self.0 == other.0
    }
}

impl PartialOrd for F8E8M0 {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        if self.is_nan() || other.is_nan() { None } else { self.0.partial_cmp(&other.0) }
    }
}

impl fmt::Debug for F8E8M0 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.to_f32(), f)
    }
}

macro_rules! small_int {
    ($(#[$doc:meta])* $name:ident($repr:ty), $bits:expr, $signed:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name($repr);

        impl $name {
            /// Width in bits.
            pub const BITS: u32 = $bits;
            pub const MIN: $name = $name(if $signed { -(1 << ($bits - 1)) } else { 0 } as $repr);
            pub const MAX: $name = $name(if $signed { (1 << ($bits - 1)) - 1 } else { (1 << $bits) - 1 } as $repr);

            /// The value if it is in range.
            pub fn new(v: i64) -> Option<Self> {
                (Self::MIN.0 as i64..=Self::MAX.0 as i64).contains(&v).then(|| $name(v as $repr))
            }

            /// The value wrapped to the type's width (two's complement), like a narrowing
            /// integer cast: 9 -> -7 for int4.
            pub const fn wrapping_from(v: i64) -> Self {
                Self::from_bits(v as u8)
            }

            /// The value of the low bits of `bits` (sign-extended for signed types).
            pub const fn from_bits(bits: u8) -> Self {
                let low = bits & ((1u16 << $bits) - 1) as u8;
                if $signed {
                    // Shift the sign bit to bit 7, then back with sign extension.
                    $name((((low << (8 - $bits)) as i8) >> (8 - $bits)) as $repr)
                } else {
                    $name(low as $repr)
                }
            }

            /// The low `BITS` bits.
            pub const fn to_bits(self) -> u8 {
                (self.0 as u8) & ((1u16 << $bits) - 1) as u8
            }

            pub const fn get(self) -> $repr {
                self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }
    };
}

small_int!(
    /// A signed 4-bit integer, -8..=7.
    I4(i8),
    4,
    true
);
small_int!(
    /// An unsigned 4-bit integer, 0..=15.
    U4(u8),
    4,
    false
);
small_int!(
    /// A signed 2-bit integer, -2..=1.
    I2(i8),
    2,
    true
);
small_int!(
    /// An unsigned 2-bit integer, 0..=3.
    U2(u8),
    2,
    false
);

/// Packing sizes that do not fit: `out` has the wrong length, or `bits` is not 1, 2, 4 or 8.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PackError {
    /// Bytes `out` should have (0 when `bits` is invalid).
    pub expected: usize,
    pub got: usize,
}

impl fmt::Display for PackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "packed buffer has {} bytes but needs {}", self.got, self.expected)
    }
}

fn packing(bits: u32) -> Option<(usize, u8)> {
    matches!(bits, 1 | 2 | 4 | 8).then(|| ((8 / bits) as usize, ((1u16 << bits) - 1) as u8))
}

/// Packs `codes` (bit patterns of `bits` = 1, 2, 4 or 8 bits; higher bits are ignored) into
/// `out` as ONNX stores them: `8 / bits` values per byte, the first in the lowest bits; the
/// padding bits of the last byte are zero. `out` must have `ceil(codes.len() * bits / 8)` bytes.
pub fn pack_codes(codes: &[u8], bits: u32, out: &mut [u8]) -> Result<(), PackError> {
    let Some((per, mask)) = packing(bits) else { return Err(PackError { expected: 0, got: out.len() }) };
    if out.len() != codes.len().div_ceil(per) {
        return Err(PackError { expected: codes.len().div_ceil(per), got: out.len() });
    }
    out.fill(0);
    for (i, &c) in codes.iter().enumerate() {
        out[i / per] |= (c & mask) << ((i % per) as u32 * bits);
    }
    Ok(())
}

/// The inverse of [`pack_codes`]: fills `out` with the values of `packed`, which must have
/// `ceil(out.len() * bits / 8)` bytes (padding bits are ignored).
pub fn unpack_codes(packed: &[u8], bits: u32, out: &mut [u8]) -> Result<(), PackError> {
    let Some((per, mask)) = packing(bits) else { return Err(PackError { expected: 0, got: packed.len() }) };
    if packed.len() != out.len().div_ceil(per) {
        return Err(PackError { expected: out.len().div_ceil(per), got: packed.len() });
    }
    for (i, o) in out.iter_mut().enumerate() {
        *o = (packed[i / per] >> ((i % per) as u32 * bits)) & mask;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
