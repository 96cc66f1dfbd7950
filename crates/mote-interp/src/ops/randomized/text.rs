use mote_ir::ops::text::{CaseChange, Pool, TextOp, TfIdfAttrs, TfIdfMode};
use mote_ir::{DType, Op, Tensor};

use super::{Rng, run_cases, vals};

const WORDS: &[&str] = &["", " ", "a", "B", "a b", "  x  y ", "été", "ß", "aXa", "\t", "ab,cd", "İ"];

fn strings(rng: &Rng, shape: &[usize]) -> Tensor {
    let n: usize = shape.iter().product();
    let v = (0..n).map(|_| rng.pick(WORDS).to_string()).collect();
    Tensor::from_strings(shape.to_vec(), v).unwrap()
}

fn tfidf(rng: &Rng, ints: bool) -> TfIdfAttrs {
    let pool_len = rng.below(6);
    let pool = if ints {
        Pool::Ints((0..pool_len).map(|_| rng.int(-2, 3)).collect())
    } else {
        Pool::Strings((0..pool_len).map(|_| rng.pick(WORDS).to_string()).collect())
    };
    // As imported: increasing offsets into the pool.
    let mut counts: Vec<usize> = (0..rng.below(3)).map(|_| rng.below(pool_len + 1)).collect();
    counts.sort();
    let n_idx = if rng.one_in(6) { rng.below(6) } else { pool_len };
    TfIdfAttrs {
        mode: rng.pick(&[TfIdfMode::Tf, TfIdfMode::Idf, TfIdfMode::TfIdf]),
        min_gram_length: if rng.one_in(10) { rng.size(3) } else { rng.below(3) },
        max_gram_length: if rng.one_in(10) { rng.size(3) } else { rng.below(4) },
        max_skip_count: if rng.one_in(10) { rng.size(3) } else { rng.below(3) },
        ngram_counts: counts,
        ngram_indexes: (0..n_idx).map(|_| if rng.one_in(15) { rng.size(4) } else { rng.below(6) }).collect(),
        pool,
        weights: (0..rng.pick(&[0, 1, 6])).map(|_| rng.float()).collect(),
    }
}

#[test]
fn text_random_cases() {
    let names = ["StringNormalizer", "StringSplit", "StringConcat", "RegexFullMatch", "TfIdfVectorizer"];
    run_cases(0x7e47_000a, 12000, 10, &names, |rng: &Rng| {
        let s = rng.shape(3);
        let x = if rng.one_in(8) { rng.tensor(DType::I64, &s) } else { strings(rng, &s) };
        let (op, inputs, n): (TextOp, Vec<Option<Tensor>>, usize) = match rng.below(5) {
            0 => {
                let xs = rng.pick(&[vec![rng.dim()], vec![1, rng.dim()], s.clone()]);
                let stopwords = (0..rng.below(3)).map(|_| rng.pick(WORDS).to_string()).collect();
                let op = TextOp::StringNormalizer {
                    case: rng.pick(&[CaseChange::None, CaseChange::Lower, CaseChange::Upper]),
                    case_sensitive: rng.coin(),
                    stopwords,
                };
                (op, vec![Some(strings(rng, &xs))], 1)
            }
            1 => {
                let op = TextOp::StringSplit {
                    delimiter: rng.coin().then(|| rng.pick(&["", " ", ",", "ab", "é"]).to_string()),
                    maxsplit: rng.coin().then(|| rng.size(3)),
                };
                (op, vec![Some(x)], 2)
            }
            2 => {
                let other = if rng.coin() { s.clone() } else { rng.shape(3) };
                (TextOp::StringConcat, vec![Some(x), Some(strings(rng, &other))], 1)
            }
            3 => {
                let pattern = rng.pick(&["a.*", "", "(", "[a-z]+", "\\s*", "é|ß", "(a|b)*c{2,3}"]).to_string();
                (TextOp::RegexFullMatch { pattern }, vec![Some(x)], 1)
            }
            _ => {
                let ints = rng.coin();
                let xs = rng.pick(&[vec![rng.dim()], vec![rng.dim(), rng.dim()], rng.shape(3)]);
                let xt = if ints { rng.indices(&xs, 3) } else { strings(rng, &xs) };
                let xt = if rng.one_in(8) { rng.tensor(DType::I32, &xs) } else { xt };
                (TextOp::TfIdfVectorizer(tfidf(rng, ints)), vec![Some(xt)], 1)
            }
        };
        (Op::Text(op), vals(inputs), n)
    });
}
