//! Recurrent cells: LSTM, GRU and simple RNN, one direction at a time.
//!
//! Layouts (row-major): the input projection `pre` is `[seq, batch, gates * hidden]` and already
//! holds `X W^T` plus the biases that are simply added; `r` is `[gates * hidden, hidden]`;
//! states are `[batch, hidden]`; `y` is `[seq, batch, hidden]`. Steps past a batch entry's
//! sequence length leave `y` untouched (the caller zero-fills it) and do not change its state.
//! A reverse direction walks each batch entry from its own last valid step back to 0.

use num_traits::Float;

/// A cell activation function with its parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Act {
    Relu,
    Tanh,
    Sigmoid,
    /// `alpha * x + beta`
    Affine(f32, f32),
    LeakyRelu(f32),
    ThresholdedRelu(f32),
    /// `alpha * tanh(beta * x)`
    ScaledTanh(f32, f32),
    /// `clamp(alpha * x + beta, 0, 1)`
    HardSigmoid(f32, f32),
    Elu(f32),
    Softsign,
    Softplus,
}

fn c<T: Float>(x: f32) -> T {
    T::from(x).expect("f32 constants fit every float type")
}

impl Act {
    #[inline]
    pub fn apply<T: Float>(self, x: T) -> T {
        let (zero, one) = (T::zero(), T::one());
        match self {
            Act::Relu => x.max(zero),
            Act::Tanh => x.tanh(),
            Act::Sigmoid => {
                if x >= zero {
                    one / (one + (-x).exp())
                } else {
                    let e = x.exp();
                    e / (one + e)
                }
            }
            Act::Affine(a, b) => c::<T>(a) * x + c(b),
            Act::LeakyRelu(a) => {
                if x >= zero {
                    x
                } else {
                    c::<T>(a) * x
                }
            }
            Act::ThresholdedRelu(a) => {
                if x >= c(a) {
                    x
                } else {
                    zero
                }
            }
            Act::ScaledTanh(a, b) => c::<T>(a) * (c::<T>(b) * x).tanh(),
            Act::HardSigmoid(a, b) => (c::<T>(a) * x + c(b)).max(zero).min(one),
            Act::Elu(a) => {
                if x >= zero {
                    x
                } else {
                    c::<T>(a) * (x.exp() - one)
                }
            }
            Act::Softsign => x / (one + x.abs()),
            Act::Softplus => x.max(zero) + (-x.abs()).exp().ln_1p(),
        }
    }
}

/// Sizes of one recurrent layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RnnDims {
    pub seq: usize,
    pub batch: usize,
    pub input: usize,
    pub hidden: usize,
}

/// `out[row, g] = dot(x[row, :], w[g, :]) + bias[g]` for `rows` rows of `input` values and
/// `w` of shape `[out_cols, input]` (the input projection of every time step at once).
pub fn input_projection<T: Float>(x: &[T], w: &[T], bias: Option<&[T]>, input: usize, out_cols: usize, out: &mut [T]) {
    for (xr, or) in x.chunks_exact(input.max(1)).zip(out.chunks_exact_mut(out_cols)) {
        for (g, o) in or.iter_mut().enumerate() {
            let acc = dot(xr, &w[g * input..(g + 1) * input]);
            *o = acc + bias.map_or(T::zero(), |b| b[g]);
        }
    }
    if input == 0 {
        for or in out.chunks_exact_mut(out_cols) {
            for (g, o) in or.iter_mut().enumerate() {
                *o = bias.map_or(T::zero(), |b| b[g]);
            }
        }
    }
}

/// `out[j] = v . w[j * cols..][..cols]` for every `j < out.len()` (in order, one product at a
/// time): the recurrences' product.
pub fn matvec<T: Float>(w: &[T], cols: usize, v: &[T], out: &mut [T]) {
    for (j, o) in out.iter_mut().enumerate() {
        *o = dot(v, &w[j * cols..(j + 1) * cols]);
    }
}

/// `out[j] = out[j] + v . w[j * cols..][..cols]` (as [`matvec`], added).
pub fn matvec_add<T: Float>(w: &[T], cols: usize, v: &[T], out: &mut [T]) {
    for (j, o) in out.iter_mut().enumerate() {
        *o = *o + dot(v, &w[j * cols..(j + 1) * cols]);
    }
}

#[inline]
fn dot<T: Float>(a: &[T], b: &[T]) -> T {
    let mut acc = T::zero();
    for (&x, &y) in a.iter().zip(b) {
        acc = acc + x * y;
    }
    acc
}

#[inline]
fn clip<T: Float>(x: T, clip: Option<T>) -> T {
    match clip {
        Some(c) => x.max(-c).min(c),
        None => x,
    }
}

/// The time index of step `s` for a batch entry of length `len`, or `None` past its end.
#[inline]
fn time_index(s: usize, len: usize, reverse: bool) -> Option<usize> {
    if s >= len {
        None
    } else if reverse {
        Some(len - 1 - s)
    } else {
        Some(s)
    }
}

/// Options of an LSTM direction.
#[derive(Clone, Copy, Debug)]
pub struct LstmCfg<T> {
    pub reverse: bool,
    /// `f`, `g`, `h` activations.
    pub acts: [Act; 3],
    pub clip: Option<T>,
    pub input_forget: bool,
}

/// One LSTM direction. Gate order is `[i, o, f, c]`; `p` is the peephole `[i, o, f]` (3 * hidden).
/// `h` and `c` hold the initial states on entry and the final states on return.
/// `gates` is scratch of `4 * hidden`.
/// `recur(h_b, gates)` adds `R h_b` to `gates` (`4 * hidden` values holding the input
/// projection on entry): [`matvec_add`] over `R`, or a faster product.
#[allow(clippy::too_many_arguments)]
pub fn lstm<T: Float>(
    d: RnnDims,
    cfg: LstmCfg<T>,
    pre: &[T],
    p: Option<&[T]>,
    seq_lens: &[usize],
    h: &mut [T],
    cst: &mut [T],
    y: &mut [T],
    gates: &mut [T],
    mut recur: impl FnMut(&[T], &mut [T]),
) {
    let hs = d.hidden;
    let [f, g, hact] = cfg.acts;
    let zero = T::zero();
    for s in 0..d.seq {
        for b in 0..d.batch {
            let Some(t) = time_index(s, seq_lens[b], cfg.reverse) else { continue };
            gates[..4 * hs].copy_from_slice(&pre[(t * d.batch + b) * 4 * hs..][..4 * hs]);
            recur(&h[b * hs..(b + 1) * hs], &mut gates[..4 * hs]);
            let yrow = &mut y[(t * d.batch + b) * hs..][..hs];
            for j in 0..hs {
                let cp = cst[b * hs + j];
                let peep = |k: usize| p.map_or(zero, |p| p[k * hs + j]);
                let i = f.apply(clip(gates[j] + peep(0) * cp, cfg.clip));
                let fg = if cfg.input_forget {
                    T::one() - i
                } else {
                    f.apply(clip(gates[2 * hs + j] + peep(2) * cp, cfg.clip))
                };
                let cc = g.apply(clip(gates[3 * hs + j], cfg.clip));
                let cn = fg * cp + i * cc;
                let o = f.apply(clip(gates[hs + j] + peep(1) * cn, cfg.clip));
                let hn = o * hact.apply(cn);
                cst[b * hs + j] = cn;
                h[b * hs + j] = hn;
                yrow[j] = hn;
            }
        }
    }
}

/// Options of a GRU direction.
#[derive(Clone, Copy, Debug)]
pub struct GruCfg<T> {
    pub reverse: bool,
    /// `f`, `g` activations.
    pub acts: [Act; 2],
    pub clip: Option<T>,
    pub linear_before_reset: bool,
}

/// One GRU direction. Gate order is `[z, r, h]`. `pre` must include `Wb` for all gates and `Rb`
/// for `z` and `r` only; `rbh` is the recurrent bias of the hidden gate (hidden values).
/// `scratch` holds `4 * hidden` values.
/// `mv(w, cols, v, out)` sets `out[j]` to the dot product of `v` with row `j` of `w`:
/// [`matvec`], or a faster product.
#[allow(clippy::too_many_arguments)]
pub fn gru<T: Float>(
    d: RnnDims,
    cfg: GruCfg<T>,
    pre: &[T],
    r: &[T],
    rbh: &[T],
    seq_lens: &[usize],
    h: &mut [T],
    y: &mut [T],
    scratch: &mut [T],
    mut mv: impl FnMut(&[T], usize, &[T], &mut [T]),
) {
    let hs = d.hidden;
    let [f, g] = cfg.acts;
    let (gates, rh) = scratch.split_at_mut(3 * hs);
    for s in 0..d.seq {
        for b in 0..d.batch {
            let Some(t) = time_index(s, seq_lens[b], cfg.reverse) else { continue };
            let row = &pre[(t * d.batch + b) * 3 * hs..][..3 * hs];
            let hb = &h[b * hs..(b + 1) * hs];
            // z and r gates.
            mv(&r[..2 * hs * hs], hs, hb, &mut gates[..2 * hs]);
            for k in 0..2 * hs {
                gates[k] = f.apply(clip(row[k] + gates[k], cfg.clip));
            }
            let rh_w = &r[2 * hs * hs..3 * hs * hs];
            if cfg.linear_before_reset {
                mv(rh_w, hs, hb, &mut rh[..hs]);
                for j in 0..hs {
                    let lin = rh[j] + rbh[j];
                    gates[2 * hs + j] = g.apply(clip(row[2 * hs + j] + gates[hs + j] * lin, cfg.clip));
                }
            } else {
                for j in 0..hs {
                    rh[j] = gates[hs + j] * hb[j];
                }
                let hg = &mut gates[2 * hs..3 * hs];
                mv(rh_w, hs, &rh[..hs], hg);
                for j in 0..hs {
                    let lin = hg[j] + rbh[j];
                    hg[j] = g.apply(clip(row[2 * hs + j] + lin, cfg.clip));
                }
            }
            let yrow = &mut y[(t * d.batch + b) * hs..][..hs];
            for j in 0..hs {
                let z = gates[j];
                let hn = (T::one() - z) * gates[2 * hs + j] + z * h[b * hs + j];
                h[b * hs + j] = hn;
                yrow[j] = hn;
            }
        }
    }
}

/// One simple-RNN direction: `H = f(pre + H R^T)`. `scratch` holds `hidden` values.
/// `mv` as in [`gru`].
#[allow(clippy::too_many_arguments)]
pub fn rnn<T: Float>(
    d: RnnDims,
    reverse: bool,
    act: Act,
    clip_at: Option<T>,
    pre: &[T],
    r: &[T],
    seq_lens: &[usize],
    h: &mut [T],
    y: &mut [T],
    scratch: &mut [T],
    mut mv: impl FnMut(&[T], usize, &[T], &mut [T]),
) {
    let hs = d.hidden;
    for s in 0..d.seq {
        for b in 0..d.batch {
            let Some(t) = time_index(s, seq_lens[b], reverse) else { continue };
            let row = &pre[(t * d.batch + b) * hs..][..hs];
            let hb = &h[b * hs..(b + 1) * hs];
            mv(&r[..hs * hs], hs, hb, &mut scratch[..hs]);
            for j in 0..hs {
                scratch[j] = act.apply(clip(row[j] + scratch[j], clip_at));
            }
            h[b * hs..(b + 1) * hs].copy_from_slice(&scratch[..hs]);
            y[(t * d.batch + b) * hs..][..hs].copy_from_slice(&scratch[..hs]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activations() {
        assert_eq!(Act::Relu.apply(-2.0f32), 0.0);
        assert!((Act::Sigmoid.apply(0.0f64) - 0.5).abs() < 1e-12);
        assert_eq!(Act::HardSigmoid(0.2, 0.5).apply(10.0f32), 1.0);
        assert_eq!(Act::LeakyRelu(0.1).apply(-2.0f32), -0.2);
        assert_eq!(Act::Affine(2.0, 1.0).apply(3.0f32), 7.0);
    }

    #[test]
    fn rnn_reverse_respects_sequence_lengths() {
        // hidden 1, input projection is the input itself, R = 0, identity-like activation.
        let d = RnnDims { seq: 3, batch: 2, input: 1, hidden: 1 };
        let pre = [1.0f32, 10.0, 2.0, 20.0, 3.0, 30.0]; // [t][b]
        let mut h = [0.0f32; 2];
        let mut y = [0.0f32; 6];
        let mut s = [0.0f32; 1];
        rnn(d, true, Act::Relu, None, &pre, &[0.0], &[3, 2], &mut h, &mut y, &mut s, matvec);
        // Batch 0 ends at t = 0, batch 1 (length 2) at t = 0 too; step t = 2 of batch 1 stays 0.
        assert_eq!(y, [1.0, 10.0, 2.0, 20.0, 3.0, 0.0]);
        assert_eq!(h, [1.0, 10.0]);
    }

    #[test]
    fn lstm_single_step_by_hand() {
        let d = RnnDims { seq: 1, batch: 1, input: 1, hidden: 1 };
        // Pre-activations for [i, o, f, c]; R = 0.
        let pre = [0.0f64, 0.0, 0.0, 1.0];
        let (mut h, mut c, mut y, mut g) = ([0.0], [2.0], [0.0], [0.0; 4]);
        let cfg =
            LstmCfg { reverse: false, acts: [Act::Sigmoid, Act::Tanh, Act::Tanh], clip: None, input_forget: false };
        let r = [0.0; 4];
        lstm(d, cfg, &pre, None, &[1], &mut h, &mut c, &mut y, &mut g, |hb, g| matvec_add(&r, 1, hb, g));
        let cn = 0.5 * 2.0 + 0.5 * 1.0f64.tanh();
        assert!((c[0] - cn).abs() < 1e-12);
        assert!((h[0] - 0.5 * cn.tanh()).abs() < 1e-12);
        assert_eq!(y[0], h[0]);
    }
}
