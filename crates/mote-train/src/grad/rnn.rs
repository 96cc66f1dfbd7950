//! LSTM, GRU and RNN: backpropagation through time. The backward pass runs each direction's
//! recurrence again (in f64) from the node's inputs to recover the gates, then walks the steps
//! in reverse. Covers both layouts, every direction, sequence lengths, initial states,
//! peepholes, coupled gates, `linear_before_reset`, clipping and every activation.
//!
//! Inputs `X, W, R, B, sequence_lens, initial_h, initial_c, P`; outputs `Y, Y_h, Y_c` (see
//! `mote_ir::ops::rnn`).

use mote_ir::ops::rnn::{Activation, Direction, RnnOp};

use super::Ctx;

/// `act(x)` and its derivative at `x`.
fn act(a: Activation, x: f64) -> (f64, f64) {
    let sig = |x: f64| 1.0 / (1.0 + (-x).exp());
    match a {
        Activation::Relu => (x.max(0.0), f64::from(u8::from(x > 0.0))),
        Activation::Tanh => {
            let t = x.tanh();
            (t, 1.0 - t * t)
        }
        Activation::Sigmoid => {
            let s = sig(x);
            (s, s * (1.0 - s))
        }
        Activation::Affine { alpha, beta } => (f64::from(alpha) * x + f64::from(beta), f64::from(alpha)),
        Activation::LeakyRelu { alpha } => {
            if x >= 0.0 {
                (x, 1.0)
            } else {
                (f64::from(alpha) * x, f64::from(alpha))
            }
        }
        Activation::ThresholdedRelu { alpha } => {
            if x >= f64::from(alpha) {
                (x, 1.0)
            } else {
                (0.0, 0.0)
            }
        }
        Activation::ScaledTanh { alpha, beta } => {
            let t = (f64::from(beta) * x).tanh();
            (f64::from(alpha) * t, f64::from(alpha) * f64::from(beta) * (1.0 - t * t))
        }
        Activation::HardSigmoid { alpha, beta } => {
            let v = f64::from(alpha) * x + f64::from(beta);
            (v.clamp(0.0, 1.0), if v > 0.0 && v < 1.0 { f64::from(alpha) } else { 0.0 })
        }
        Activation::Elu { alpha } => {
            if x >= 0.0 {
                (x, 1.0)
            } else {
                let e = f64::from(alpha) * x.exp();
                (e - f64::from(alpha), e)
            }
        }
        Activation::Softsign => (x / (1.0 + x.abs()), 1.0 / (1.0 + x.abs()).powi(2)),
        Activation::Softplus => (x.max(0.0) + (-x.abs()).exp().ln_1p(), sig(x)),
    }
}

/// `act(clip(x))` and its derivative with respect to `x` (0 where clipped).
fn gate(a: Activation, clip: Option<f64>, x: f64) -> (f64, f64) {
    match clip {
        Some(c) if x.abs() > c => (act(a, x.clamp(-c, c)).0, 0.0),
        _ => act(a, x),
    }
}

/// Row-major `[rows, cols]` matrix times vector.
fn mv(w: &[f64], cols: usize, v: &[f64], out: &mut [f64]) {
    for (j, o) in out.iter_mut().enumerate() {
        *o = w[j * cols..(j + 1) * cols].iter().zip(v).map(|(a, b)| a * b).sum();
    }
}

/// `out += w^T v` for `w` `[rows, cols]` and `v` of `rows`.
fn mtv_add(w: &[f64], cols: usize, v: &[f64], out: &mut [f64]) {
    for (j, &vj) in v.iter().enumerate() {
        if vj != 0.0 {
            out.iter_mut().zip(&w[j * cols..(j + 1) * cols]).for_each(|(o, a)| *o += a * vj);
        }
    }
}

/// `m += u v^T` for `m` `[u.len(), v.len()]`.
fn outer_add(m: &mut [f64], u: &[f64], v: &[f64]) {
    for (j, &uj) in u.iter().enumerate() {
        if uj != 0.0 {
            m[j * v.len()..(j + 1) * v.len()].iter_mut().zip(v).for_each(|(o, b)| *o += uj * b);
        }
    }
}

/// One direction's parameters (f64) and their gradients.
struct Params {
    w: Vec<f64>,
    r: Vec<f64>,
    wb: Vec<f64>,
    rb: Vec<f64>,
    p: Vec<f64>,
    dw: Vec<f64>,
    dr: Vec<f64>,
    dwb: Vec<f64>,
    drb: Vec<f64>,
    dp: Vec<f64>,
}

/// What one step kept for its backward pass.
struct Step {
    t: usize,
    x: Vec<f64>,
    h: Vec<f64>,
    c: Vec<f64>,
    /// The gates' pre-activations, as the cell computed them (before activation and clip).
    a: Vec<f64>,
    /// GRU: `R_h h + Rb_h` (`linear_before_reset`) or `r ⊙ h`.
    extra: Vec<f64>,
}

/// The cell of one op, for one direction.
struct Cell<'a> {
    op: &'a RnnOp,
    acts: &'a [Activation],
    clip: Option<f64>,
    hs: usize,
    input: usize,
}

impl Cell<'_> {
    /// One step forward from `(h, c)` on `x`; returns the new `(h, c)` and what the backward needs.
    fn forward(&self, pr: &Params, t: usize, x: &[f64], h: &[f64], c: &[f64]) -> (Vec<f64>, Vec<f64>, Step) {
        let hs = self.hs;
        let g = self.op.gates();
        let mut a = vec![0.0; g * hs];
        mv(&pr.w, self.input, x, &mut a);
        a.iter_mut().zip(&pr.wb).for_each(|(v, b)| *v += b);
        let mut extra = Vec::new();
        let (hn, cn) = match self.op {
            RnnOp::Lstm { input_forget, .. } => {
                let mut rh = vec![0.0; 4 * hs];
                mv(&pr.r, hs, h, &mut rh);
                a.iter_mut().zip(rh.iter().zip(&pr.rb)).for_each(|(v, (r, b))| *v += r + b);
                let (f, gg, ha) = (self.acts[0], self.acts[1], self.acts[2]);
                let (mut hn, mut cn) = (vec![0.0; hs], vec![0.0; hs]);
                for j in 0..hs {
                    let i = gate(f, self.clip, a[j] + pr.p[j] * c[j]).0;
                    let fg = if *input_forget {
                        1.0 - i
                    } else {
                        gate(f, self.clip, a[2 * hs + j] + pr.p[2 * hs + j] * c[j]).0
                    };
                    cn[j] = fg * c[j] + i * gate(gg, self.clip, a[3 * hs + j]).0;
                    let o = gate(f, self.clip, a[hs + j] + pr.p[hs + j] * cn[j]).0;
                    hn[j] = o * act(ha, cn[j]).0;
                }
                (hn, cn)
            }
            RnnOp::Gru { linear_before_reset, .. } => {
                let (f, gg) = (self.acts[0], self.acts[1]);
                let mut rz = vec![0.0; 2 * hs];
                mv(&pr.r[..2 * hs * hs], hs, h, &mut rz);
                for k in 0..2 * hs {
                    a[k] += rz[k] + pr.rb[k];
                }
                let r: Vec<f64> = (0..hs).map(|j| gate(f, self.clip, a[hs + j]).0).collect();
                let rh_w = &pr.r[2 * hs * hs..];
                let mut lin = vec![0.0; hs];
                if *linear_before_reset {
                    mv(rh_w, hs, h, &mut lin);
                    lin.iter_mut().zip(&pr.rb[2 * hs..]).for_each(|(v, b)| *v += b);
                    (0..hs).for_each(|j| a[2 * hs + j] += r[j] * lin[j]);
                    extra = lin;
                } else {
                    let rhv: Vec<f64> = (0..hs).map(|j| r[j] * h[j]).collect();
                    mv(rh_w, hs, &rhv, &mut lin);
                    (0..hs).for_each(|j| a[2 * hs + j] += lin[j] + pr.rb[2 * hs + j]);
                    extra = rhv;
                }
                let hn = (0..hs)
                    .map(|j| {
                        let z = gate(f, self.clip, a[j]).0;
                        (1.0 - z) * gate(gg, self.clip, a[2 * hs + j]).0 + z * h[j]
                    })
                    .collect();
                (hn, Vec::new())
            }
            RnnOp::Rnn { .. } => {
                let mut rh = vec![0.0; hs];
                mv(&pr.r, hs, h, &mut rh);
                (0..hs).for_each(|j| a[j] += rh[j] + pr.rb[j]);
                ((0..hs).map(|j| gate(self.acts[0], self.clip, a[j]).0).collect(), Vec::new())
            }
        };
        (hn, cn, Step { t, x: x.to_vec(), h: h.to_vec(), c: c.to_vec(), a, extra })
    }

    /// One step backward: from the gradients of the step's new `(h, c)`, accumulates the
    /// parameters' gradients and returns those of `x` and the old `(h, c)`.
    fn backward(&self, pr: &mut Params, s: &Step, dh: &[f64], dc: &[f64]) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let hs = self.hs;
        let g = self.op.gates();
        let mut da = vec![0.0; g * hs];
        let mut dh_prev = vec![0.0; hs];
        let mut dc_prev = vec![0.0; hs];
        let (a, h, c) = (&s.a, &s.h, &s.c);
        match self.op {
            RnnOp::Lstm { input_forget, .. } => {
                let (f, gg, ha) = (self.acts[0], self.acts[1], self.acts[2]);
                for j in 0..hs {
                    let (i, di_da) = gate(f, self.clip, a[j] + pr.p[j] * c[j]);
                    let (fg, df_da) = if *input_forget {
                        (1.0 - i, 0.0)
                    } else {
                        gate(f, self.clip, a[2 * hs + j] + pr.p[2 * hs + j] * c[j])
                    };
                    let (gc, dg_da) = gate(gg, self.clip, a[3 * hs + j]);
                    let cn = fg * c[j] + i * gc;
                    let (o, do_da) = gate(f, self.clip, a[hs + j] + pr.p[hs + j] * cn);
                    let (hc, dhc) = act(ha, cn);
                    let dao = dh[j] * hc * do_da;
                    let dcn = dc[j] + dh[j] * o * dhc + dao * pr.p[hs + j];
                    let mut di = dcn * gc;
                    let dfg = dcn * c[j];
                    let daf = if *input_forget {
                        di -= dfg;
                        0.0
                    } else {
                        dfg * df_da
                    };
                    let dai = di * di_da;
                    da[j] = dai;
                    da[hs + j] = dao;
                    da[2 * hs + j] = daf;
                    da[3 * hs + j] = dcn * i * dg_da;
                    dc_prev[j] = dcn * fg + dai * pr.p[j] + daf * pr.p[2 * hs + j];
                    pr.dp[j] += dai * c[j];
                    pr.dp[hs + j] += dao * cn;
                    pr.dp[2 * hs + j] += daf * c[j];
                }
                outer_add(&mut pr.dr, &da, h);
                mtv_add(&pr.r, hs, &da, &mut dh_prev);
                pr.drb.iter_mut().zip(&da).for_each(|(d, v)| *d += v);
            }
            RnnOp::Gru { linear_before_reset, .. } => {
                let (f, gg) = (self.acts[0], self.acts[1]);
                let mut dr = vec![0.0; hs];
                let mut dhead = vec![0.0; hs];
                for j in 0..hs {
                    let (z, dz_da) = gate(f, self.clip, a[j]);
                    let (hh, dhh_da) = gate(gg, self.clip, a[2 * hs + j]);
                    da[j] = dh[j] * (h[j] - hh) * dz_da;
                    dhead[j] = dh[j] * (1.0 - z) * dhh_da;
                    dh_prev[j] = dh[j] * z;
                }
                da[2 * hs..].copy_from_slice(&dhead);
                let rh_w = &pr.r[2 * hs * hs..];
                let r: Vec<f64> = (0..hs).map(|j| gate(f, self.clip, a[hs + j]).0).collect();
                if *linear_before_reset {
                    // a_h += r ⊙ (R_h h + Rb_h)
                    let dlin: Vec<f64> = (0..hs).map(|j| dhead[j] * r[j]).collect();
                    (0..hs).for_each(|j| dr[j] = dhead[j] * s.extra[j]);
                    outer_add(&mut pr.dr[2 * hs * hs..], &dlin, h);
                    mtv_add(rh_w, hs, &dlin, &mut dh_prev);
                    pr.drb[2 * hs..].iter_mut().zip(&dlin).for_each(|(d, v)| *d += v);
                } else {
                    // a_h += R_h (r ⊙ h) + Rb_h
                    outer_add(&mut pr.dr[2 * hs * hs..], &dhead, &s.extra);
                    let mut drh = vec![0.0; hs];
                    mtv_add(rh_w, hs, &dhead, &mut drh);
                    (0..hs).for_each(|j| {
                        dr[j] = drh[j] * h[j];
                        dh_prev[j] += drh[j] * r[j];
                    });
                    pr.drb[2 * hs..].iter_mut().zip(&dhead).for_each(|(d, v)| *d += v);
                }
                for j in 0..hs {
                    da[hs + j] = dr[j] * gate(f, self.clip, a[hs + j]).1;
                }
                outer_add(&mut pr.dr[..2 * hs * hs], &da[..2 * hs], h);
                mtv_add(&pr.r[..2 * hs * hs], hs, &da[..2 * hs], &mut dh_prev);
                pr.drb[..2 * hs].iter_mut().zip(&da[..2 * hs]).for_each(|(d, v)| *d += v);
            }
            RnnOp::Rnn { .. } => {
                for j in 0..hs {
                    da[j] = dh[j] * gate(self.acts[0], self.clip, a[j]).1;
                }
                outer_add(&mut pr.dr, &da, h);
                mtv_add(&pr.r, hs, &da, &mut dh_prev);
                pr.drb.iter_mut().zip(&da).for_each(|(d, v)| *d += v);
            }
        }
        outer_add(&mut pr.dw, &da, &s.x);
        pr.dwb.iter_mut().zip(&da).for_each(|(d, v)| *d += v);
        let mut dx = vec![0.0; self.input];
        mtv_add(&pr.w, self.input, &da, &mut dx);
        (dx, dh_prev, dc_prev)
    }
}

fn f64s(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| f64::from(x)).collect()
}

fn f32s(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

/// The gradients of `X, W, R, B, sequence_lens, initial_h, initial_c, P`.
pub fn backward(op: &RnnOp, cx: &Ctx<'_>, gy: &[Option<Vec<f32>>]) -> Result<Vec<Option<Vec<f32>>>, String> {
    let at = op.attrs();
    let (x, xs) = cx.input(0)?;
    let (w, ws) = cx.input(1)?;
    let (r, _) = cx.input(2)?;
    if xs.len() != 3 || ws.len() != 3 {
        return Err(format!("X {xs:?} and W {ws:?} must be 3-D"));
    }
    let (seq, batch) = if at.batch_first { (xs[1], xs[0]) } else { (xs[0], xs[1]) };
    let (input, hs, g) = (xs[2], at.hidden_size, op.gates());
    let dirs = at.direction.num_directions();
    if ws != [dirs, g * hs, input] || r.len() != dirs * g * hs * hs {
        return Err(format!("W {ws:?} or R does not fit {dirs} direction(s) of {g} gates of {hs}"));
    }
    let opt = |i: usize, n: usize, what: &str| -> Result<Option<&[f32]>, String> {
        match cx.ins.get(i).copied().flatten() {
            None => Ok(None),
            Some(_) => {
                let (v, _) = cx.input(i)?;
                if v.len() == n { Ok(Some(v)) } else { Err(format!("{what} has {} values, expected {n}", v.len())) }
            }
        }
    };
    let b = opt(3, dirs * 2 * g * hs, "B")?;
    let h0 = opt(5, dirs * batch * hs, "initial_h")?;
    let c0 = opt(6, dirs * batch * hs, "initial_c")?;
    let p = opt(7, dirs * 3 * hs, "P")?;
    let lens: Vec<usize> = match cx.ins.get(4).copied().flatten() {
        Some(t) => {
            t.to_i64_vec().map_err(|e| e.to_string())?.into_iter().map(|v| (v.max(0) as usize).min(seq)).collect()
        }
        None => vec![seq; batch],
    };
    if lens.len() != batch {
        return Err(format!("sequence_lens has {} values for a batch of {batch}", lens.len()));
    }
    let per_dir = op.activations_per_direction();
    if at.activations.len() < dirs * per_dir {
        return Err(format!("{} activations for {dirs} direction(s)", at.activations.len()));
    }
    let grad = |k: usize| gy.get(k).and_then(Option::as_deref);
    let (gy_y, gy_h, gy_c) = (grad(0), grad(1), grad(2));
    // Offsets in X, Y and the [dirs, batch, hidden] states for either layout.
    let xoff = |t: usize, bi: usize| if at.batch_first { (bi * seq + t) * input } else { (t * batch + bi) * input };
    let yoff = |t: usize, d: usize, bi: usize| {
        if at.batch_first { ((bi * seq + t) * dirs + d) * hs } else { ((t * dirs + d) * batch + bi) * hs }
    };
    let soff = |d: usize, bi: usize| if at.batch_first { (bi * dirs + d) * hs } else { (d * batch + bi) * hs };

    let mut dx = vec![0.0f64; x.len()];
    let (mut dw, mut dr, mut db) = (Vec::new(), Vec::new(), Vec::new());
    let (mut dh0, mut dc0, mut dp) = (vec![0.0f64; dirs * batch * hs], vec![0.0f64; dirs * batch * hs], Vec::new());
    for d in 0..dirs {
        let reverse = at.direction == Direction::Reverse || d == 1;
        let gh = g * hs;
        let bias = |k: usize| b.map_or(vec![0.0; gh], |b| f64s(&b[(d * 2 + k) * gh..][..gh]));
        let mut pr = Params {
            w: f64s(&w[d * gh * input..][..gh * input]),
            r: f64s(&r[d * gh * hs..][..gh * hs]),
            wb: bias(0),
            rb: bias(1),
            p: p.map_or(vec![0.0; 3 * hs], |p| f64s(&p[d * 3 * hs..][..3 * hs])),
            dw: vec![0.0; gh * input],
            dr: vec![0.0; gh * hs],
            dwb: vec![0.0; gh],
            drb: vec![0.0; gh],
            dp: vec![0.0; 3 * hs],
        };
        let cell =
            Cell { op, acts: &at.activations[d * per_dir..][..per_dir], clip: at.clip.map(f64::from), hs, input };
        for (bi, &len) in lens.iter().enumerate() {
            let so = soff(d, bi);
            let mut h = h0.map_or(vec![0.0; hs], |v| f64s(&v[so..so + hs]));
            let mut c = c0.map_or(vec![0.0; hs], |v| f64s(&v[so..so + hs]));
            let mut steps = Vec::with_capacity(len);
            for s in 0..len {
                let t = if reverse { len - 1 - s } else { s };
                let (hn, cn, st) = cell.forward(&pr, t, &f64s(&x[xoff(t, bi)..][..input]), &h, &c);
                steps.push(st);
                (h, c) = (hn, cn);
            }
            let mut dh: Vec<f64> = gy_h.map_or(vec![0.0; hs], |v| f64s(&v[so..so + hs]));
            let mut dc: Vec<f64> = gy_c.map_or(vec![0.0; hs], |v| f64s(&v[so..so + hs]));
            for st in steps.iter().rev() {
                if let Some(gy) = gy_y {
                    dh.iter_mut().zip(&gy[yoff(st.t, d, bi)..][..hs]).for_each(|(a, &v)| *a += f64::from(v));
                }
                let (gx, gh_prev, gc_prev) = cell.backward(&mut pr, st, &dh, &dc);
                dx[xoff(st.t, bi)..][..input].iter_mut().zip(&gx).for_each(|(a, v)| *a += v);
                (dh, dc) = (gh_prev, gc_prev);
            }
            dh0[so..so + hs].copy_from_slice(&dh);
            if matches!(op, RnnOp::Lstm { .. }) {
                dc0[so..so + hs].copy_from_slice(&dc);
            }
        }
        dw.extend(pr.dw);
        dr.extend(pr.dr);
        db.extend(pr.dwb);
        db.extend(pr.drb);
        dp.extend(pr.dp);
    }
    let present = |i: usize| cx.ins.get(i).copied().flatten().is_some();
    let lstm = matches!(op, RnnOp::Lstm { .. });
    Ok(vec![
        Some(f32s(&dx)),
        Some(f32s(&dw)),
        Some(f32s(&dr)),
        present(3).then(|| f32s(&db)),
        None,
        present(5).then(|| f32s(&dh0)),
        (lstm && present(6)).then(|| f32s(&dc0)),
        (lstm && present(7)).then(|| f32s(&dp)),
    ])
}
