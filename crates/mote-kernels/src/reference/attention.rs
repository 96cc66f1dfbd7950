//! Attention kernels: scaled dot-product attention of one head, rotary embedding of one head
//! vector, one step of linear attention, depthwise causal convolution with state.

use num_traits::Float;

/// Shape and options of one attention head.
#[derive(Clone, Copy, Debug)]
pub struct HeadCfg<T> {
    /// Query rows.
    pub sq: usize,
    /// Key/value rows.
    pub skv: usize,
    /// Query/key head size.
    pub dk: usize,
    /// Value head size.
    pub dv: usize,
    /// Applied to both Q and K, so that `QK^T` is scaled by its square.
    pub sqrt_scale: T,
    /// `softcap * tanh(x / softcap)` when positive.
    pub softcap: T,
    /// What `qk_out` receives: 0 raw scores, 1 after softcap, 2 plus bias, 3 probabilities.
    pub qk_mode: u8,
    /// Rounds to a lower softmax precision (applied to the softmax input and output).
    pub softmax_round: Option<fn(T) -> T>,
}

/// Attention of one head: `y = softmax(softcap(Q K^T * scale) + bias) V`.
///
/// `q` is `[sq, dk]`, `k` is `[skv, dk]`, `v` is `[skv, dv]`, `bias` is `[sq, skv]` (`-inf` marks
/// a disallowed key). A query row whose bias is `-inf` everywhere yields zero probabilities and
/// a zero output row. `probs` is scratch of `[sq, skv]`; `y` is `[sq, dv]`.
pub fn attention_head<T: Float>(
    cfg: HeadCfg<T>,
    q: &[T],
    k: &[T],
    v: &[T],
    bias: &[T],
    probs: &mut [T],
    mut qk_out: Option<&mut [T]>,
    y: &mut [T],
) {
    let HeadCfg { sq, skv, dk, dv, sqrt_scale, softcap, qk_mode, softmax_round } = cfg;
    let zero = T::zero();
    for i in 0..sq {
        let qi = &q[i * dk..(i + 1) * dk];
        let row = &mut probs[i * skv..(i + 1) * skv];
        let brow = &bias[i * skv..(i + 1) * skv];
        for j in 0..skv {
            let kj = &k[j * dk..(j + 1) * dk];
            let mut s = zero;
            for (&a, &b) in qi.iter().zip(kj) {
                s = s + (a * sqrt_scale) * (b * sqrt_scale);
            }
            if let Some(o) = qk_out.as_deref_mut()
                && qk_mode == 0
            {
                o[i * skv + j] = s;
            }
            if softcap > zero {
                s = softcap * (s / softcap).tanh();
            }
            if let Some(o) = qk_out.as_deref_mut()
                && qk_mode == 1
            {
                o[i * skv + j] = s;
            }
            s = s + brow[j];
            if let Some(o) = qk_out.as_deref_mut()
                && qk_mode == 2
            {
                o[i * skv + j] = s;
            }
            row[j] = s;
        }
        let all_masked = brow.iter().all(|&b| b == T::neg_infinity());
        match softmax_round {
            Some(r) => softmax_row_rounded(row, all_masked, r),
            None => softmax_row(row, all_masked),
        }
        if let Some(o) = qk_out.as_deref_mut()
            && qk_mode == 3
        {
            o[i * skv..(i + 1) * skv].copy_from_slice(row);
        }
        let yi = &mut y[i * dv..(i + 1) * dv];
        yi.fill(zero);
        for j in 0..skv {
            let p = row[j];
            if p == zero {
                continue;
            }
            for (o, &x) in yi.iter_mut().zip(&v[j * dv..(j + 1) * dv]) {
                *o = *o + p * x;
            }
        }
    }
}

/// In-place softmax that maps an all `-inf` row to zeros (not NaN); `force_zero` zeroes it.
pub fn softmax_row<T: Float>(row: &mut [T], force_zero: bool) {
    let zero = T::zero();
    if force_zero {
        row.fill(zero);
        return;
    }
    let mut max = T::neg_infinity();
    for &x in row.iter() {
        if x > max || x.is_nan() {
            max = x;
        }
    }
    let shift = if max == T::neg_infinity() { zero } else { max };
    let mut sum = zero;
    for x in row.iter_mut() {
        *x = (*x - shift).exp();
        sum = sum + *x;
    }
    if sum == zero {
        sum = T::one();
    }
    for x in row.iter_mut() {
        *x = *x / sum;
    }
}

/// [`softmax_row`] in a lower precision: inputs, exponentials, the sum and the quotients are
/// rounded with `r`.
pub fn softmax_row_rounded<T: Float>(row: &mut [T], force_zero: bool, r: fn(T) -> T) {
    let zero = T::zero();
    if force_zero {
        row.fill(zero);
        return;
    }
    row.iter_mut().for_each(|x| *x = r(*x));
    let mut max = T::neg_infinity();
    for &x in row.iter() {
        if x > max || x.is_nan() {
            max = x;
        }
    }
    let shift = if max == T::neg_infinity() { zero } else { max };
    let mut sum = zero;
    for x in row.iter_mut() {
        *x = r(r(*x - shift).exp());
        sum = sum + *x;
    }
    // numpy sums half-precision rows in f32 and rounds once.
    sum = r(sum);
    if sum == zero {
        sum = T::one();
    }
    for x in row.iter_mut() {
        *x = r(*x / sum);
    }
}

/// Rotates the first `rot` values of one head vector `x` by the angles whose cosines and sines
/// are `cos`/`sin` (`rot / 2` values each). Interleaved pairs are `(x[2i], x[2i+1])`; otherwise
/// `(x[i], x[i + rot/2])`.
pub fn rotary<T: Float>(x: &mut [T], cos: &[T], sin: &[T], rot: usize, interleaved: bool) {
    let half = rot / 2;
    for i in 0..half {
        let (a, b) = if interleaved { (2 * i, 2 * i + 1) } else { (i, i + half) };
        let (x1, x2) = (x[a], x[b]);
        x[a] = cos[i] * x1 - sin[i] * x2;
        x[b] = sin[i] * x1 + cos[i] * x2;
    }
}

/// One step of linear attention on one key/value head's state `[dk, dv]`:
/// optional decay `state *= exp(g)` (`g` has 1 or `dk` values), optional delta rule
/// `v <- beta * (v - state^T k)`, then `state += k v^T`. `v` is overwritten by the value used.
pub fn linear_attention_update<T: Float>(state: &mut [T], k: &[T], v: &mut [T], decay: Option<&[T]>, beta: Option<T>) {
    let (dk, dv) = (k.len(), v.len());
    if let Some(g) = decay {
        for d in 0..dk {
            let f = if g.len() == 1 { g[0] } else { g[d] }.exp();
            for x in &mut state[d * dv..(d + 1) * dv] {
                *x = *x * f;
            }
        }
    }
    if let Some(beta) = beta {
        for m in 0..dv {
            let mut r = T::zero();
            for d in 0..dk {
                r = r + state[d * dv + m] * k[d];
            }
            v[m] = beta * (v[m] - r);
        }
    }
    for d in 0..dk {
        let kd = k[d];
        for (s, &vm) in state[d * dv..(d + 1) * dv].iter_mut().zip(v.iter()) {
            *s = *s + kd * vm;
        }
    }
}

/// Linear attention readout: `out[m] = scale * sum_d q[d] * state[d, m]`.
pub fn linear_attention_read<T: Float>(state: &[T], q: &[T], scale: T, out: &mut [T]) {
    let dv = out.len();
    out.fill(T::zero());
    for (d, &qd) in q.iter().enumerate() {
        for (o, &s) in out.iter_mut().zip(&state[d * dv..(d + 1) * dv]) {
            *o = *o + qd * s;
        }
    }
    for o in out.iter_mut() {
        *o = *o * scale;
    }
}

/// Depthwise causal convolution of one channel: `padded` is the `k - 1` state values followed
/// by the input; `out[t] = bias + sum_j w[j] * padded[t + j]`, then SiLU when `silu`.
pub fn causal_conv_channel<T: Float>(padded: &[T], w: &[T], bias: T, silu: bool, out: &mut [T]) {
    for (t, o) in out.iter_mut().enumerate() {
        let mut acc = T::zero();
        for (j, &wj) in w.iter().enumerate() {
            acc = acc + wj * padded[t + j];
        }
        let s = acc + bias;
        *o = if silu { s / (T::one() + (-s).exp()) } else { s };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fully_masked_rows_are_zero() {
        let cfg =
            HeadCfg { sq: 2, skv: 2, dk: 1, dv: 1, sqrt_scale: 1.0f32, softcap: 0.0, qk_mode: 3, softmax_round: None };
        let ninf = f32::NEG_INFINITY;
        let (mut p, mut qk, mut y) = ([0.0; 4], [9.0; 4], [9.0; 2]);
        attention_head(
            cfg,
            &[1.0, 1.0],
            &[0.0, 0.0],
            &[2.0, 4.0],
            &[0.0, 0.0, ninf, ninf],
            &mut p,
            Some(&mut qk),
            &mut y,
        );
        assert_eq!(y, [3.0, 0.0]);
        assert_eq!(qk, [0.5, 0.5, 0.0, 0.0]);
    }

    #[test]
    fn softcap_and_raw_modes() {
        let cfg =
            HeadCfg { sq: 1, skv: 1, dk: 1, dv: 1, sqrt_scale: 2.0f64, softcap: 1.0, qk_mode: 0, softmax_round: None };
        let (mut p, mut qk, mut y) = ([0.0; 1], [0.0; 1], [0.0; 1]);
        attention_head(cfg, &[1.0], &[1.0], &[5.0], &[0.0], &mut p, Some(&mut qk), &mut y);
        assert_eq!(qk[0], 4.0);
        let cfg = HeadCfg { qk_mode: 1, ..cfg };
        attention_head(cfg, &[1.0], &[1.0], &[5.0], &[0.0], &mut p, Some(&mut qk), &mut y);
        assert!((qk[0] - 4.0f64.tanh()).abs() < 1e-12);
        assert_eq!(y[0], 5.0);
    }

    #[test]
    fn rotary_pairs() {
        let mut x = [1.0f32, 2.0, 3.0, 4.0];
        // 90 degrees on pair 0, 0 degrees on pair 1 (non-interleaved pairs: (0,2), (1,3)).
        rotary(&mut x, &[0.0, 1.0], &[1.0, 0.0], 4, false);
        assert_eq!(x, [-3.0, 2.0, 1.0, 4.0]);
        let mut x = [1.0f32, 2.0, 3.0, 4.0];
        rotary(&mut x, &[0.0, 1.0], &[1.0, 0.0], 4, true);
        assert_eq!(x, [-2.0, 1.0, 3.0, 4.0]);
    }

    #[test]
    fn delta_rule_step() {
        // dk = dv = 1: state 2, k 1, v 5, beta 0.5 -> v' = 0.5 * (5 - 2) = 1.5, state 3.5.
        let mut s = [2.0f32];
        let mut v = [5.0f32];
        linear_attention_update(&mut s, &[1.0], &mut v, None, Some(0.5));
        assert_eq!((s[0], v[0]), (3.5, 1.5));
        let mut out = [0.0f32];
        linear_attention_read(&s, &[2.0], 0.5, &mut out);
        assert_eq!(out[0], 3.5);
    }

    #[test]
    fn causal_conv() {
        let mut out = [0.0f32; 3];
        causal_conv_channel(&[1.0, 2.0, 3.0, 4.0], &[1.0, 10.0], 0.5, false, &mut out);
        assert_eq!(out, [21.5, 32.5, 43.5]);
    }
}
