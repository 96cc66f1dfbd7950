//! Recurrent ops: LSTM, GRU, RNN.
//!
//! f16/bf16 compute in f32, f64 in f64. Batch-major layouts are transposed to time-major, the
//! input projection of all steps is one matrix product, and the cells run per direction in
//! `mote_kernels::reference::rnn`.

use mote_ir::ops::rnn::{Activation, Direction, RnnOp};
use mote_ir::{DType, Elem, Tensor, Value};
use mote_kernels::reference::rnn::{
    Act, GruCfg, LstmCfg, RnnDims, gru, input_projection, lstm, matvec, matvec_add, rnn,
};
use num_traits::Float;

use super::{EvalCx, Inputs, downcast, numel, upcast};
use crate::error::OpError;
use crate::{bail, op_err};

pub fn eval(op: &RnnOp, inputs: &Inputs<'_>, _cx: &EvalCx<'_>, _n: usize) -> Result<Vec<Value>, OpError> {
    let dtype = inputs.tensor(0)?.dtype();
    let outs = match dtype {
        DType::F32 | DType::F16 | DType::BF16 => run::<f32>(op, inputs)?,
        DType::F64 => run::<f64>(op, inputs)?,
        other => bail!("{} needs float inputs, got {other}", op_name(op)),
    };
    outs.into_iter().map(|t| Ok(Value::Tensor(downcast(t, dtype)?))).collect()
}

fn op_name(op: &RnnOp) -> &'static str {
    use mote_ir::ops::OpFamily;
    op.name()
}

fn act(a: Activation) -> Act {
    a.kernel_act()
}

/// Optional float input `i`, upcast, checked to be `T` and of `shape`.
fn param<T: Elem>(inputs: &Inputs<'_>, i: usize, what: &str, shape: &[usize]) -> Result<Option<Tensor>, OpError> {
    let Some(t) = inputs.opt_tensor(i)? else { return Ok(None) };
    let t = upcast(t)?;
    if t.dtype() != T::DTYPE {
        bail!("{what} must have the same float dtype as X, got {}", t.dtype());
    }
    if t.shape() != shape {
        bail!("{what} must have shape {shape:?}, got {:?}", t.shape());
    }
    Ok(Some(t))
}

/// `[a, b, h]` -> `[b, a, h]`.
fn swap01<T: Copy + Default>(x: &[T], a: usize, b: usize, h: usize) -> Vec<T> {
    let mut out = vec![T::default(); x.len()];
    for i in 0..a {
        for j in 0..b {
            out[(j * a + i) * h..][..h].copy_from_slice(&x[(i * b + j) * h..][..h]);
        }
    }
    out
}

fn run<T: Float + Elem>(op: &RnnOp, inputs: &Inputs<'_>) -> Result<Vec<Tensor>, OpError> {
    let a = op.attrs();
    let (hs, g) = (a.hidden_size, op.gates());
    let nd = a.direction.num_directions();
    let x = upcast(inputs.tensor(0)?)?;
    if x.dtype() != T::DTYPE {
        bail!("X must be float, got {}", x.dtype());
    }
    if x.rank() != 3 {
        bail!("X must have rank 3, got shape {:?}", x.shape());
    }
    if hs == 0 || hs > mote_ir::tensor::MAX_ELEMENTS {
        bail!("hidden_size {hs} is out of range");
    }
    let (seq, batch, input) = if a.batch_first {
        (x.shape()[1], x.shape()[0], x.shape()[2])
    } else {
        (x.shape()[0], x.shape()[1], x.shape()[2])
    };
    let gh = g * hs;
    let w = param::<T>(inputs, 1, "W", &[nd, gh, input])?.ok_or_else(|| op_err!("W is required"))?;
    let r = param::<T>(inputs, 2, "R", &[nd, gh, hs])?.ok_or_else(|| op_err!("R is required"))?;
    let b = param::<T>(inputs, 3, "B", &[nd, 2 * gh])?;
    let state_shape = if a.batch_first { [batch, nd, hs] } else { [nd, batch, hs] };
    let h0 = param::<T>(inputs, 5, "initial_h", &state_shape)?;
    let (c0, p) = if matches!(op, RnnOp::Lstm { .. }) {
        (param::<T>(inputs, 6, "initial_c", &state_shape)?, param::<T>(inputs, 7, "P", &[nd, 3 * hs])?)
    } else {
        (None, None)
    };
    let seq_lens: Vec<usize> = match inputs.opt_tensor(4)? {
        None => vec![seq; batch],
        Some(t) => {
            if t.shape() != [batch] {
                bail!("sequence_lens must have shape [{batch}], got {:?}", t.shape());
            }
            let v = t.to_i64_vec().map_err(|e| op_err!("sequence_lens: {e}"))?;
            v.iter()
                .map(|&l| {
                    usize::try_from(l)
                        .ok()
                        .filter(|&l| l <= seq)
                        .ok_or_else(|| op_err!("sequence_lens value {l} is outside [0, {seq}]"))
                })
                .collect::<Result<_, _>>()?
        }
    };
    numel(&[seq, batch, gh])?;
    let acts: Vec<Act> = a.activations.iter().map(|&x| act(x)).collect();
    let per_dir = op.activations_per_direction();
    if acts.len() != per_dir * nd {
        bail!("expected {} activations, got {}", per_dir * nd, acts.len());
    }

    let xs = x.typed::<T>()?;
    let x_tm = if a.batch_first { swap01(xs, batch, seq, input) } else { xs.to_vec() };
    let to_dir_major = |t: &Tensor| -> Result<Vec<T>, OpError> {
        let v = t.typed::<T>()?;
        Ok(if a.batch_first { swap01(v, batch, nd, hs) } else { v.to_vec() })
    };
    let h_init = h0.as_ref().map(to_dir_major).transpose()?;
    let c_init = c0.as_ref().map(to_dir_major).transpose()?;
    let clip = a.clip.map(|c| T::from(c).expect("f32 fits"));
    let d = RnnDims { seq, batch, input, hidden: hs };

    let mut y = vec![T::zero(); numel(&[seq, nd, batch, hs])?];
    let mut yh = vec![T::zero(); nd * batch * hs];
    let mut yc = vec![T::zero(); nd * batch * hs];
    let mut pre = vec![T::zero(); seq * batch * gh];
    let mut ydir = vec![T::zero(); seq * batch * hs];
    for dir in 0..nd {
        let reverse = a.direction == Direction::Reverse || dir == 1;
        let wd = &w.typed::<T>()?[dir * gh * input..(dir + 1) * gh * input];
        let rd = &r.typed::<T>()?[dir * gh * hs..(dir + 1) * gh * hs];
        let bd: Option<&[T]> =
            b.as_ref().map(|b| b.typed::<T>().map(|v| &v[dir * 2 * gh..(dir + 1) * 2 * gh])).transpose()?;
        // Combined bias Wb + Rb (GRU keeps the hidden gate's Rb apart).
        let mut bias = vec![T::zero(); gh];
        let mut rbh = vec![T::zero(); hs];
        if let Some(bd) = bd {
            let is_gru = matches!(op, RnnOp::Gru { .. });
            for k in 0..gh {
                let rb = bd[gh + k];
                if is_gru && k >= 2 * hs {
                    bias[k] = bd[k];
                    rbh[k - 2 * hs] = rb;
                } else {
                    bias[k] = bd[k] + rb;
                }
            }
        }
        input_projection(&x_tm, wd, Some(&bias), input, gh, &mut pre);
        let mut h = h_init
            .as_ref()
            .map_or_else(|| vec![T::zero(); batch * hs], |v| v[dir * batch * hs..][..batch * hs].to_vec());
        ydir.fill(T::zero());
        let dacts = &acts[dir * per_dir..(dir + 1) * per_dir];
        match op {
            RnnOp::Lstm { input_forget, .. } => {
                let mut c = c_init
                    .as_ref()
                    .map_or_else(|| vec![T::zero(); batch * hs], |v| v[dir * batch * hs..][..batch * hs].to_vec());
                let pd =
                    p.as_ref().map(|p| p.typed::<T>().map(|v| &v[dir * 3 * hs..(dir + 1) * 3 * hs])).transpose()?;
                let cfg = LstmCfg { reverse, acts: [dacts[0], dacts[1], dacts[2]], clip, input_forget: *input_forget };
                let mut gates = vec![T::zero(); gh];
                let recur = |hb: &[_], g: &mut [_]| matvec_add(rd, hs, hb, g);
                lstm(d, cfg, &pre, pd, &seq_lens, &mut h, &mut c, &mut ydir, &mut gates, recur);
                yc[dir * batch * hs..][..batch * hs].copy_from_slice(&c);
            }
            RnnOp::Gru { linear_before_reset, .. } => {
                let cfg =
                    GruCfg { reverse, acts: [dacts[0], dacts[1]], clip, linear_before_reset: *linear_before_reset };
                let mut scratch = vec![T::zero(); 4 * hs];
                gru(d, cfg, &pre, rd, &rbh, &seq_lens, &mut h, &mut ydir, &mut scratch, matvec);
            }
            RnnOp::Rnn { .. } => {
                let mut scratch = vec![T::zero(); hs];
                rnn(d, reverse, dacts[0], clip, &pre, rd, &seq_lens, &mut h, &mut ydir, &mut scratch, matvec);
            }
        }
        yh[dir * batch * hs..][..batch * hs].copy_from_slice(&h);
        // Y is [seq, nd, batch, hidden].
        for t in 0..seq {
            y[(t * nd + dir) * batch * hs..][..batch * hs].copy_from_slice(&ydir[t * batch * hs..][..batch * hs]);
        }
    }

    let (y, y_shape) = if a.batch_first {
        // [seq, nd, batch, hidden] -> [batch, seq, nd, hidden].
        let mut out = vec![T::zero(); y.len()];
        for (k, row) in y.chunks_exact(hs.max(1)).enumerate() {
            let (t, d, b) = (k / (nd * batch), k / batch % nd, k % batch);
            out[((b * seq + t) * nd + d) * hs..][..hs].copy_from_slice(row);
        }
        (out, vec![batch, seq, nd, hs])
    } else {
        (y, vec![seq, nd, batch, hs])
    };
    let state = |v: Vec<T>| -> Result<Tensor, OpError> {
        Ok(if a.batch_first {
            Tensor::from_vec(vec![batch, nd, hs], swap01(&v, nd, batch, hs))?
        } else {
            Tensor::from_vec(vec![nd, batch, hs], v)?
        })
    };
    let mut outs = vec![Tensor::from_vec(y_shape, y)?, state(yh)?];
    if matches!(op, RnnOp::Lstm { .. }) {
        outs.push(state(yc)?);
    }
    Ok(outs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mote_ir::ops::rnn::RnnAttrs;

    fn t(shape: &[usize], v: Vec<f32>) -> Value {
        Value::Tensor(Tensor::from_vec(shape.to_vec(), v).unwrap())
    }

    #[test]
    fn bidirectional_lstm_with_peepholes_and_lengths_matches_onnxruntime() {
        // Expected values computed by onnxruntime 1.32 (LSTM-14, hidden 2, sequence_lens [3, 1]).
        let h = 2;
        let op = RnnOp::Lstm {
            attrs: RnnAttrs {
                hidden_size: h,
                direction: Direction::Bidirectional,
                batch_first: false,
                activations: [Activation::Sigmoid, Activation::Tanh, Activation::Tanh].repeat(2),
                clip: None,
            },
            input_forget: false,
        };
        let x = t(&[3, 2, 1], vec![-0.8, -1.32, -0.25, 0.42, 1.14, 0.11]);
        let w = t(
            &[2, 8, 1],
            vec![
                -0.55, -0.78, 0.75, 1.63, 0.27, -1.23, -0.96, 1.6, 0.2, -1.73, -0.08, -1.16, -0.63, -0.49, -0.71, 0.55,
            ],
        );
        let r = t(
            &[2, 8, 2],
            vec![
                -0.06, -0.59, 0.41, 0.83, -1.64, -0.26, -0.98, -0.17, -1.29, 0.02, -0.04, -0.3, -1.05, -0.4, -1.09,
                -1.36, 0.22, -1.11, 1.17, 0.72, -2.0, 0.27, -1.1, 0.03, 0.04, -1.99, -0.23, -0.26, 0.96, -1.18, 0.74,
                -1.1,
            ],
        );
        let b = t(
            &[2, 16],
            vec![
                -0.33, -0.84, 1.45, 0.57, 2.43, 0.64, 0.84, 0.84, -0.61, -0.07, 1.35, -0.4, 0.19, -0.02, 0.61, -0.36,
                -0.15, 0.24, 0.1, -0.86, 0.9, -1.3, -1.2, -1.28, 0.97, -0.36, -0.97, -1.14, 0.42, -1.05, -1.27, 0.61,
            ],
        );
        let sl = Value::Tensor(Tensor::from_vec(vec![2], vec![3i32, 1]).unwrap());
        let p = t(&[2, 6], vec![-1.2, -0.32, -0.01, -0.45, -0.05, 1.34, -0.52, -1.26, -1.84, -0.2, -0.35, 0.27]);
        let vals = [Some(&x), Some(&w), Some(&r), Some(&b), Some(&sl), None, None, Some(&p)];
        let out = run::<f32>(&op, &Inputs::new(vals.to_vec())).unwrap();
        let expect_y = [
            0.317542, -0.074287, 0.357255, -0.066731, -0.955435, -0.286286, -0.299882, -0.279355, 0.432962, -0.093183,
            0.0, 0.0, -0.805014, -0.081361, 0.0, 0.0, 0.422468, 0.081044, 0.0, 0.0, -0.375631, -0.000164, 0.0, 0.0,
        ];
        let expect_c = [0.477531, 0.098125, 0.442821, -0.490838, -2.027452, -0.675246, -0.578903, -0.793323];
        let close = |got: &[f32], want: &[f32]| {
            assert_eq!(got.len(), want.len());
            for (g, w) in got.iter().zip(want) {
                assert!((g - w).abs() < 2e-6, "got {got:?}, want {want:?}");
            }
        };
        assert_eq!(out[0].shape(), &[3, 2, 2, h]);
        close(out[0].typed::<f32>().unwrap(), &expect_y);
        close(
            out[1].typed::<f32>().unwrap(),
            &[0.422468, 0.081044, 0.357255, -0.066731, -0.955435, -0.286286, -0.299882, -0.279355],
        );
        close(out[2].typed::<f32>().unwrap(), &expect_c);
    }

    #[test]
    fn bidirectional_rnn_batch_first_matches_manual() {
        // hidden 1, input 1, W = 1, R = 0, identity via Relu on positive inputs.
        let attrs = RnnAttrs {
            hidden_size: 1,
            direction: Direction::Bidirectional,
            batch_first: true,
            activations: vec![Activation::Relu, Activation::Relu],
            clip: None,
        };
        let op = RnnOp::Rnn { attrs };
        let x = t(&[2, 3, 1], vec![1.0, 2.0, 3.0, 10.0, 20.0, 30.0]);
        let w = t(&[2, 1, 1], vec![1.0, 2.0]);
        let r = t(&[2, 1, 1], vec![1.0, 0.0]);
        let vals = [Some(&x), Some(&w), Some(&r)];
        let inputs = Inputs::new(vals.to_vec());
        let out = run::<f32>(&op, &inputs).unwrap();
        // Forward: h = x + h_prev -> 1, 3, 6. Reverse: h = 2x -> (t=2) 6, (t=1) 4, (t=0) 2.
        // The second batch entry is ten times the first. Y is [batch, seq, dirs, hidden].
        assert_eq!(out[0].shape(), &[2, 3, 2, 1]);
        let y = [1.0, 2.0, 3.0, 4.0, 6.0, 6.0, 10.0, 20.0, 30.0, 40.0, 60.0, 60.0];
        assert_eq!(out[0].typed::<f32>().unwrap(), &y);
        assert_eq!(out[1].shape(), &[2, 2, 1]);
        assert_eq!(out[1].typed::<f32>().unwrap(), &[6.0, 2.0, 60.0, 20.0]);
    }
}
