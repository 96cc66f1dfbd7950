use mote_ir::ops::random::{Distribution, RandomOp};
use mote_ir::{DType, Op, Tensor};

use super::{Rng, run_cases, vals};

#[test]
fn random_random_cases() {
    let names = ["RandomUniform", "RandomNormalLike", "Bernoulli", "Multinomial"];
    run_cases(0x7a4d_000b, 12000, 10, &names, |rng: &Rng| {
        let dist = if rng.coin() {
            Distribution::Uniform { low: rng.float(), high: rng.float() }
        } else {
            Distribution::Normal { mean: rng.float(), scale: rng.float() }
        };
        let seed = rng.coin().then(|| rng.float());
        let dtype = rng.coin().then(|| rng.dtype());
        let s = rng.shape(3);
        let (op, inputs): (RandomOp, Vec<Option<Tensor>>) = match rng.below(4) {
            0 => {
                let shape = if rng.one_in(10) { vec![rng.size(3), rng.size(3)] } else { s };
                (RandomOp::Sample { dist, shape: Some(shape), dtype, seed }, vec![])
            }
            1 => {
                let dt = rng.dtype();
                (RandomOp::Sample { dist, shape: None, dtype, seed }, vec![Some(rng.tensor(dt, &s))])
            }
            2 => {
                let dt = rng.dtype();
                (RandomOp::Bernoulli { dtype, seed }, vec![Some(rng.tensor(dt, &s))])
            }
            _ => {
                let dt = if rng.one_in(5) { rng.dtype() } else { rng.float_dtype() };
                let ls = if rng.one_in(5) { s } else { vec![rng.dim(), rng.dim()] };
                let op = RandomOp::Multinomial {
                    dtype: rng.pick(&[DType::I32, DType::I64, DType::F32]),
                    sample_size: if rng.one_in(10) { rng.size(3) } else { rng.below(4) },
                    seed,
                };
                (op, vec![Some(rng.tensor(dt, &ls))])
            }
        };
        (Op::Random(op), vals(inputs), 1)
    });
}
