//! Fused activations: a code and two parameters, applied to a step's results as they are
//! stored. The codes are stable (docs/FORMAT.md); 0 means none.

use mote_kernels::reference::unary::{Unary, unary_float};

use crate::error::StepFault;
use crate::words::Words;

/// Activation codes usable as a fused epilogue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum ActCode {
    None = 0,
    Relu = 1,
    /// `min(max(x, p0), p1)` (Clip, ReLU6).
    Clip = 2,
    Sigmoid = 3,
    /// `clamp(p0 * x + p1, 0, 1)`.
    HardSigmoid = 4,
    HardSwish = 5,
    /// `p0 * x` for negative x.
    LeakyRelu = 6,
    Tanh = 7,
    /// `p0 * hardswish(x) + p1`.
    HardSwishAffine = 8,
}

/// A fused activation with its parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Act {
    pub code: ActCode,
    pub p0: f32,
    pub p1: f32,
}

impl Act {
    pub const NONE: Act = Act { code: ActCode::None, p0: 0.0, p1: 0.0 };

    pub fn decode(w: &mut Words<'_, '_>) -> Result<Act, StepFault> {
        let code = match w.u32()? {
            0 => ActCode::None,
            1 => ActCode::Relu,
            2 => ActCode::Clip,
            3 => ActCode::Sigmoid,
            4 => ActCode::HardSigmoid,
            5 => ActCode::HardSwish,
            6 => ActCode::LeakyRelu,
            7 => ActCode::Tanh,
            8 => ActCode::HardSwishAffine,
            _ => return Err(StepFault::Attrs),
        };
        Ok(Act { code, p0: w.f32()?, p1: w.f32()? })
    }

    #[cfg(feature = "alloc")]
    pub fn encode(&self, w: &mut crate::words::WordsOut) {
        w.u32(self.code as u32).f32(self.p0).f32(self.p1);
    }

    /// The fast kernels' form.
    pub fn fast(&self) -> mote_kernels::fast::Activation {
        use mote_kernels::fast::Activation as F;
        match self.code {
            ActCode::None => F::None,
            ActCode::Relu => F::Relu,
            ActCode::Clip => F::Clip { lo: self.p0, hi: self.p1 },
            ActCode::Sigmoid => F::Sigmoid,
            ActCode::HardSigmoid => F::HardSigmoid { alpha: self.p0, beta: self.p1 },
            ActCode::HardSwish => F::HardSwish,
            ActCode::LeakyRelu => F::LeakyRelu { alpha: self.p0 },
            ActCode::Tanh => F::Tanh,
            ActCode::HardSwishAffine => F::HardSwishAffine { scale: self.p0, shift: self.p1 },
        }
    }

    /// The activation of one value.
    #[inline(always)]
    pub fn apply(&self, x: f32) -> f32 {
        match self.code {
            ActCode::None => x,
            ActCode::Relu => x.max(0.0),
            ActCode::Clip => x.max(self.p0).min(self.p1),
            ActCode::Sigmoid => unary_float(Unary::Sigmoid, x),
            ActCode::HardSigmoid => (self.p0 * x + self.p1).clamp(0.0, 1.0),
            ActCode::HardSwish => x * (x * (1.0 / 6.0) + 0.5).clamp(0.0, 1.0),
            ActCode::LeakyRelu => {
                if x < 0.0 {
                    self.p0 * x
                } else {
                    x
                }
            }
            ActCode::Tanh => unary_float(Unary::Tanh, x),
            ActCode::HardSwishAffine => self.p0 * (x * (x * (1.0 / 6.0) + 0.5).clamp(0.0, 1.0)) + self.p1,
        }
    }

    /// Applies the activation to every value, with the match hoisted out of the loop.
    pub fn apply_all(&self, ys: &mut [f32]) {
        macro_rules! each {
            ($y:ident => $e:expr) => {
                for $y in ys.iter_mut() {
                    *$y = $e;
                }
            };
        }
        let (p0, p1) = (self.p0, self.p1);
        match self.code {
            ActCode::None => {}
            ActCode::Relu => each!(y => y.max(0.0)),
            ActCode::Clip => each!(y => y.max(p0).min(p1)),
            ActCode::HardSigmoid => each!(y => (p0 * *y + p1).clamp(0.0, 1.0)),
            ActCode::HardSwish => each!(y => *y * (*y * (1.0 / 6.0) + 0.5).clamp(0.0, 1.0)),
            ActCode::LeakyRelu => each!(y => if *y < 0.0 { p0 * *y } else { *y }),
            ActCode::HardSwishAffine => each!(y => self.apply(*y)),
            ActCode::Sigmoid | ActCode::Tanh => each!(y => self.apply(*y)),
        }
    }
}
