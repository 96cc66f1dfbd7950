use mote_ir::ops::rnn::{Activation, Direction, RnnAttrs, RnnOp};
use mote_ir::{DType, Op, Tensor};

use super::{Rng, run_cases, vals};

fn activation(rng: &Rng) -> Activation {
    let (a, b) = (rng.float(), rng.float());
    rng.pick(&[
        Activation::Relu,
        Activation::Tanh,
        Activation::Sigmoid,
        Activation::Affine { alpha: a, beta: b },
        Activation::LeakyRelu { alpha: a },
        Activation::ThresholdedRelu { alpha: a },
        Activation::ScaledTanh { alpha: a, beta: b },
        Activation::HardSigmoid { alpha: a, beta: b },
        Activation::Elu { alpha: a },
        Activation::Softsign,
        Activation::Softplus,
    ])
}

/// `shape`, with one dim sometimes off by one.
fn perturb(rng: &Rng, mut shape: Vec<usize>) -> Vec<usize> {
    if rng.one_in(12) && !shape.is_empty() {
        let i = rng.below(shape.len());
        shape[i] += 1;
    }
    shape
}

#[test]
fn rnn_random_cases() {
    run_cases(0x3311_0004, 12000, 10, &["LSTM", "GRU", "RNN"], |rng: &Rng| {
        let dir = rng.pick(&[Direction::Forward, Direction::Reverse, Direction::Bidirectional]);
        let nd = dir.num_directions();
        let h = if rng.one_in(15) { rng.size(3) } else { 1 + rng.below(3) };
        let hs = h.min(4);
        let kind = rng.below(3);
        let gates = [4, 3, 1][kind];
        let per_dir = [3, 2, 1][kind];
        let n_act = if rng.one_in(8) { rng.below(7) } else { per_dir * nd };
        let attrs = RnnAttrs {
            hidden_size: h,
            direction: dir,
            batch_first: rng.coin(),
            activations: (0..n_act).map(|_| activation(rng)).collect(),
            clip: rng.coin().then(|| rng.float()),
        };
        let op = match kind {
            0 => RnnOp::Lstm { attrs, input_forget: rng.coin() },
            1 => RnnOp::Gru { attrs, linear_before_reset: rng.coin() },
            _ => RnnOp::Rnn { attrs },
        };
        let dt = if rng.one_in(10) { rng.dtype() } else { rng.float_dtype() };
        let (seq, batch, input) = (rng.dim(), rng.dim(), 1 + rng.below(3));
        let xs = if op.attrs().batch_first { vec![batch, seq, input] } else { vec![seq, batch, input] };
        let xs = perturb(rng, xs);
        let ws = perturb(rng, vec![nd, gates * hs, input]);
        let rs = perturb(rng, vec![nd, gates * hs, hs]);
        let bs = perturb(rng, vec![nd, 2 * gates * hs]);
        let hs0 = if op.attrs().batch_first { vec![batch, nd, hs] } else { vec![nd, batch, hs] };
        let hs0 = perturb(rng, hs0);
        let mut inputs: Vec<Option<Tensor>> =
            vec![Some(rng.tensor(dt, &xs)), Some(rng.tensor(dt, &ws)), Some(rng.tensor(dt, &rs))];
        inputs.push(rng.coin().then(|| rng.tensor(dt, &bs)));
        inputs.push(rng.coin().then(|| {
            let v: Vec<i32> = (0..batch).map(|_| rng.int(-1, seq as i64 + 1) as i32).collect();
            Tensor::from_vec(vec![batch], v).unwrap()
        }));
        inputs.push(rng.coin().then(|| rng.tensor(dt, &hs0)));
        if kind == 0 {
            inputs.push(rng.coin().then(|| rng.tensor(dt, &hs0)));
            let ps = perturb(rng, vec![nd, 3 * hs]);
            inputs.push(rng.coin().then(|| rng.tensor(dt, &ps)));
        }
        if rng.one_in(10) {
            inputs[0] = Some(rng.tensor(DType::I64, &xs));
        }
        let n = 1 + rng.below(op.max_outputs());
        (Op::Rnn(op), vals(inputs), n)
    });
}
