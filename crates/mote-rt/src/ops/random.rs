//! `Random` (78): uniform or normal draws (RandomUniform/Normal and their `Like` forms; Bernoulli
//! and training-mode Dropout are built on it by the compiler).
//!
//! No inputs. Outputs `y` (f32 or f64, any shape) and `state [1]` (i64): a run counter in an
//! arena buffer the compiler keeps for the whole run (pinned), so it survives between runs;
//! each run reads it and writes it plus one. Attributes `[mode (0 uniform on [p0, p1), 1 normal
//! with mean p0 and standard deviation p1), seed low, seed high, p0, p1]`.
//!
//! Element `i` of run `c` is a counter-based draw: SplitMix64's finalizer of
//! `seed, c, i` mixed together, so a draw depends only on the seed, the run and the position
//! (the same on every ISA and thread count). A fresh arena (all zero) starts at run 0, so a
//! model gives the same sequence of draws every time it is loaded into a zeroed arena.

use mote_core::DType;
use mote_format::StepRef;

use super::{Io, out, want, want_numel};
use crate::error::StepFault;
use crate::mem::Mem;
use crate::words::Words;

#[derive(Clone, Copy, Debug)]
pub struct Random {
    normal: bool,
    seed: u64,
    p: [f32; 2],
    wide: bool,
}

/// SplitMix64's output function.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Draw `i` of run `run`: a uniform value in `[0, 1)` with 53 random bits.
fn unit(seed: u64, run: u64, i: u64) -> f64 {
    let k = mix(seed ^ mix(run.wrapping_add(0x9E37_79B9_7F4A_7C15)));
    (mix(k ^ i.wrapping_mul(0xD1B5_4A32_D192_ED03)) >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

impl Random {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<Random, StepFault> {
        io.arity(0, 0, 2)?;
        let mut w = Words::new(step);
        let normal = w.upto(1)? == 1;
        let seed = w.u32()? as u64 | (w.u32()? as u64) << 32;
        let p = [w.f32()?, w.f32()?];
        w.end()?;
        let (y, state) = (io.output(0)?, io.output(1)?);
        let wide = match y.dtype {
            DType::F32 => false,
            DType::F64 => true,
            _ => return Err(StepFault::DType),
        };
        want_numel(&y, y.numel())?;
        want(&state, DType::I64)?;
        want_numel(&state, 1)?;
        Ok(Random { normal, seed, p, wide })
    }

    /// The value of draw `i` of run `run`.
    fn draw(&self, run: u64, i: u64) -> f64 {
        let [a, b] = [self.p[0] as f64, self.p[1] as f64];
        if self.normal {
            // Box-Muller from two draws; 1 - u keeps the logarithm's argument in (0, 1].
            let (u1, u2) = (1.0 - unit(self.seed, run, 2 * i), unit(self.seed, run, 2 * i + 1));
            a + b * libm::sqrt(-2.0 * libm::log(u1)) * libm::cos(2.0 * core::f64::consts::PI * u2)
        } else {
            a + (b - a) * unit(self.seed, run, i)
        }
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>) {
        let (Ok(y), Ok(state)) = (io.output(0), io.output(1)) else { return };
        let st = out::<i64>(mem, &state);
        let run = st[0] as u64;
        st[0] = run.wrapping_add(1) as i64;
        if self.wide {
            for (i, v) in out::<f64>(mem, &y).iter_mut().enumerate() {
                *v = self.draw(run, i as u64);
            }
        } else {
            for (i, v) in out::<f32>(mem, &y).iter_mut().enumerate() {
                let d = self.draw(run, i as u64) as f32;
                // Rounding to f32 must not reach the open upper bound of a uniform draw.
                *v = if !self.normal && d >= self.p[1] && self.p[1] > self.p[0] {
                    self.p[0].max(prev(self.p[1]))
                } else {
                    d
                };
            }
        }
    }
}

/// The largest f32 below `x` (finite, positive or negative).
fn prev(x: f32) -> f32 {
    let b = x.to_bits();
    f32::from_bits(if x > 0.0 {
        b - 1
    } else if x == 0.0 {
        0x8000_0001
    } else {
        b + 1
    })
}

/// Attribute words of [`Random`].
#[cfg(feature = "alloc")]
pub fn encode_random(normal: bool, seed: u64, p0: f32, p1: f32) -> alloc::vec::Vec<u32> {
    alloc::vec![normal as u32, seed as u32, (seed >> 32) as u32, p0.to_bits(), p1.to_bits()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_uniform_enough_and_depend_on_seed_run_and_position() {
        let n = 100_000;
        let mean = (0..n).map(|i| unit(7, 0, i)).sum::<f64>() / n as f64;
        assert!((mean - 0.5).abs() < 0.005, "mean {mean}");
        let below = (0..n).filter(|&i| unit(7, 0, i) < 0.25).count() as f64 / n as f64;
        assert!((below - 0.25).abs() < 0.005, "P(u < 0.25) = {below}");
        assert_ne!(unit(7, 0, 3), unit(8, 0, 3));
        assert_ne!(unit(7, 0, 3), unit(7, 1, 3));
        assert_ne!(unit(7, 0, 3), unit(7, 0, 4));
        assert_eq!(unit(7, 5, 3), unit(7, 5, 3));
        assert!((0..n).all(|i| (0.0..1.0).contains(&unit(1, 2, i))));
    }

    #[test]
    fn normal_draws_have_the_requested_mean_and_deviation() {
        let r = Random { normal: true, seed: 3, p: [2.0, 0.5], wide: true };
        let n = 100_000;
        let mean = (0..n).map(|i| r.draw(0, i)).sum::<f64>() / n as f64;
        let var = (0..n).map(|i| (r.draw(0, i) - mean) * (r.draw(0, i) - mean)).sum::<f64>() / n as f64;
        let sd = libm::sqrt(var);
        assert!((mean - 2.0).abs() < 0.01 && (sd - 0.5).abs() < 0.01, "mean {mean} sd {sd}");
    }

    #[test]
    fn f32_rounding_stays_below_the_upper_bound() {
        assert!(prev(1.0) < 1.0 && prev(-1.0) < -1.0 && prev(0.0) < 0.0);
    }
}
