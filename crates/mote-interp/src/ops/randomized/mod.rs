//! Randomized robustness tests, one file per op family: single ops with random attributes
//! (extreme and negative values included), ranks (scalars, zero-sized dims, more than
//! `MAX_RANK`), shapes and dtypes. Each case must (a) not panic and (b) when it runs, agree with
//! what static inference claims — with constant inputs, with types only, and with part of the
//! types forgotten; inference may not reject inputs that evaluate. Inference, MACs and
//! `infer_value` also run on the input types with every dim made huge (no panic allowed).
//! Seeded, so a failure names a reproducible case; `regressions.rs` keeps one named test per
//! bug found.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};

use mote_ir::{DType, Fact, InferCx, Op, Tensor, Value, ValueType, bf16, f16};

use super::{EvalCx, Inputs, eval};

mod attention;
mod control;
mod elementwise;
mod image;
mod loss;
mod ml;
mod nn;
mod quant;
mod random;
mod reduce;
mod regressions;
mod rnn;
mod shape;
mod signal;
mod text;

/// xorshift64*: deterministic, so a failure names a reproducible case.
/// The state is a `Cell` so that generators can draw while building an argument list.
pub(crate) struct Rng(std::cell::Cell<u64>);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(std::cell::Cell::new(seed | 1))
    }

    pub fn next(&self) -> u64 {
        let mut x = self.0.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0.set(x);
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub fn below(&self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// True with probability `1 / n`.
    pub fn one_in(&self, n: usize) -> bool {
        self.below(n) == 0
    }

    pub fn coin(&self) -> bool {
        self.one_in(2)
    }

    pub fn pick<T: Clone>(&self, v: &[T]) -> T {
        v[self.below(v.len())].clone()
    }

    /// Mostly in `lo..=hi`, sometimes an extreme value.
    pub fn int(&self, lo: i64, hi: i64) -> i64 {
        match self.below(25) {
            0 => i64::MIN,
            1 => i64::MAX,
            2 => -(1 << 40),
            3 => 1 << 40,
            _ => lo + self.below((hi - lo + 1) as usize) as i64,
        }
    }

    /// Mostly in `0..=hi`, sometimes huge.
    pub fn size(&self, hi: usize) -> usize {
        match self.below(30) {
            0 => usize::MAX,
            1 => 1 << 40,
            2 => i64::MAX as usize,
            _ => self.below(hi + 1),
        }
    }

    /// A float attribute: mostly small, sometimes zero, negative, huge, infinite or NaN.
    pub fn float(&self) -> f32 {
        match self.below(16) {
            0 => 0.0,
            1 => f32::NAN,
            2 => f32::INFINITY,
            3 => -1e30,
            4 => 1e30,
            _ => (self.below(2001) as f32 - 1000.0) / 250.0,
        }
    }

    /// A random shape of rank `0..=max_rank` (sometimes `MAX_RANK + 1`) with small dims, some 0.
    pub fn shape(&self, max_rank: usize) -> Vec<usize> {
        let rank = if self.one_in(40) { mote_core::MAX_RANK + 1 } else { self.below(max_rank + 1) };
        (0..rank).map(|_| self.dim()).collect()
    }

    /// A small dimension, sometimes 0.
    pub fn dim(&self) -> usize {
        if self.one_in(10) { 0 } else { 1 + self.below(3) }
    }

    /// A random dtype (every dtype, floats more often).
    pub fn dtype(&self) -> DType {
        self.pick(&[
            DType::F32,
            DType::F32,
            DType::F32,
            DType::F64,
            DType::F16,
            DType::BF16,
            DType::I8,
            DType::U8,
            DType::I16,
            DType::U16,
            DType::I32,
            DType::U32,
            DType::I64,
            DType::I64,
            DType::U64,
            DType::Bool,
            DType::String,
        ])
    }

    /// A float dtype, mostly f32.
    pub fn float_dtype(&self) -> DType {
        self.pick(&[DType::F32, DType::F32, DType::F32, DType::F64, DType::F16, DType::BF16])
    }

    /// A tensor of `dtype` and `shape` with random values (NaN, infinities, extremes included).
    pub fn tensor(&self, dtype: DType, shape: &[usize]) -> Tensor {
        let n: usize = shape.iter().product();
        let shape = shape.to_vec();
        let f: Vec<f64> = (0..n)
            .map(|_| match self.below(20) {
                0 => f64::NAN,
                1 => f64::INFINITY,
                2 => f64::NEG_INFINITY,
                3 => 1e300,
                4 => -1e10,
                _ => (self.below(81) as f64 - 40.0) / 8.0,
            })
            .collect();
        let i: Vec<i64> = (0..n)
            .map(|_| match self.below(20) {
                0 => i64::MIN,
                1 => i64::MAX,
                2 => -1,
                _ => self.below(7) as i64 - 2,
            })
            .collect();
        let t = match dtype {
            DType::F32 => Tensor::from_vec(shape, f.iter().map(|&x| x as f32).collect()),
            DType::F64 => Tensor::from_vec(shape, f),
            DType::F16 => Tensor::from_vec(shape, f.iter().map(|&x| f16::from_f64(x)).collect()),
            DType::BF16 => Tensor::from_vec(shape, f.iter().map(|&x| bf16::from_f64(x)).collect()),
            DType::I8 => Tensor::from_vec(shape, i.iter().map(|&x| x as i8).collect()),
            DType::U8 => Tensor::from_vec(shape, i.iter().map(|&x| x as u8).collect()),
            DType::I16 => Tensor::from_vec(shape, i.iter().map(|&x| x as i16).collect()),
            DType::U16 => Tensor::from_vec(shape, i.iter().map(|&x| x as u16).collect()),
            DType::I32 => Tensor::from_vec(shape, i.iter().map(|&x| x as i32).collect()),
            DType::U32 => Tensor::from_vec(shape, i.iter().map(|&x| x as u32).collect()),
            DType::I64 => Tensor::from_vec(shape, i),
            DType::U64 => Tensor::from_vec(shape, i.iter().map(|&x| x as u64).collect()),
            DType::Bool => Tensor::from_vec(shape, i.iter().map(|&x| x > 0).collect()),
            DType::String => Tensor::from_strings(shape, i.iter().map(|x| format!("s{x}")).collect()),
            low => {
                let empty = mote_ir::Data::zeros(low, 0);
                mote_ir::dispatch_low_precision!(empty, _v => {
                    Tensor::from_vec(shape, f.iter().map(|&x| <T as mote_ir::Elem>::from_f64(x)).collect::<Vec<T>>())
                }, else unreachable!("every other dtype is matched above"))
            }
        };
        t.expect("length matches the shape")
    }

    /// Small non-negative int64 values (some out of range) shaped `shape`.
    pub fn indices(&self, shape: &[usize], hi: i64) -> Tensor {
        let n: usize = shape.iter().product();
        let v: Vec<i64> = (0..n).map(|_| self.int(-hi, hi)).collect();
        Tensor::from_vec(shape.to_vec(), v).expect("length matches the shape")
    }

    /// A 1-D int64 tensor of `len` values from [`Rng::int`].
    pub fn ints(&self, len: usize, lo: i64, hi: i64) -> Tensor {
        let v: Vec<i64> = (0..len).map(|_| self.int(lo, hi)).collect();
        Tensor::from_vec(vec![len], v).expect("length matches the shape")
    }

    /// A float tensor (random float dtype) of `shape`.
    pub fn floats(&self, shape: &[usize]) -> Tensor {
        let d = self.float_dtype();
        self.tensor(d, shape)
    }
}

/// Tensors as optional input values.
pub(crate) fn vals(ts: Vec<Option<Tensor>>) -> Vec<Option<Value>> {
    ts.into_iter().map(|t| t.map(Value::Tensor)).collect()
}

/// Checks that what inference claims about each output holds for `got`.
fn agrees(inferred: &[ValueType], got: &[Value]) -> Result<(), String> {
    for (k, (ty, v)) in inferred.iter().zip(got).enumerate() {
        let kind_ok = match ty {
            _ if ty.is_unknown() => true,
            ValueType::Tensor(_) => matches!(v, Value::Tensor(_)),
            ValueType::Sequence(_) => matches!(v, Value::Sequence(_)),
            ValueType::Map(..) => matches!(v, Value::Map { .. }),
            ValueType::Optional(_) => matches!(v, Value::Optional(_)),
            ValueType::Unknown => true,
        };
        if !kind_ok {
            return Err(format!("output {k}: inferred {ty}, got a {}", v.kind()));
        }
        let (Some(tt), Some(t)) = (ty.as_tensor(), v.as_tensor()) else { continue };
        if tt.dtype.is_some_and(|d| d != t.dtype()) {
            return Err(format!("output {k}: inferred {ty}, got {t:?}"));
        }
        if let Some(s) = &tt.shape {
            let ok = s.len() == t.rank() && s.iter().zip(t.shape()).all(|(d, &a)| d.known().is_none_or(|k| k == a));
            if !ok {
                return Err(format!("output {k}: inferred {ty}, got shape {:?}", t.shape()));
            }
        }
    }
    Ok(())
}

thread_local! {
    /// Where the last panic on this thread happened (set by [`quiet_panics`]'s hook).
    static PANIC_AT: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
    /// True while [`check`] runs an op: its panics are caught and reported as a failure.
    static CATCHING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Replaces the panic hook (once) by one that records the location instead of printing a
/// backtrace for every caught panic.
fn quiet_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if CATCHING.with(|c| c.get()) {
                let at = info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
                PANIC_AT.with(|p| *p.borrow_mut() = at);
            } else {
                default(info);
            }
        }))
    });
}

/// `ty` with every known dim `d` replaced by `d * huge` (saturating; 0 stays 0).
fn enlarge(ty: &ValueType, huge: usize) -> ValueType {
    match ty {
        ValueType::Tensor(t) => {
            let shape = t.shape.as_ref().map(|s| {
                s.iter().map(|d| d.known().map_or(d.clone(), |k| mote_ir::Dim::Known(k.saturating_mul(huge)))).collect()
            });
            ValueType::Tensor(mote_ir::TensorType { dtype: t.dtype, shape })
        }
        ValueType::Sequence(e) => ValueType::Sequence(Box::new(enlarge(e, huge))),
        ValueType::Optional(e) => ValueType::Optional(Box::new(enlarge(e, huge))),
        other => other.clone(),
    }
}

fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    let msg = p
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    format!("{msg} at {}", PANIC_AT.with(|p| p.borrow().clone()))
}

/// Runs one case (see the module doc). Returns whether evaluation succeeded, or what went
/// wrong.
pub(crate) fn check(op: &Op, inputs: &[Option<Value>], n: usize) -> Result<bool, String> {
    check_opts(op, inputs, n, true)
}

/// [`check`], optionally without the inference pass on huge declared dims.
pub(crate) fn check_opts(op: &Op, inputs: &[Option<Value>], n: usize, huge_dims: bool) -> Result<bool, String> {
    quiet_panics();
    CATCHING.with(|c| c.set(true));
    let r = check_inner(op, inputs, n, huge_dims);
    CATCHING.with(|c| c.set(false));
    r
}

fn check_inner(op: &Op, inputs: &[Option<Value>], n: usize, huge_dims: bool) -> Result<bool, String> {
    let refs: Vec<Option<&Value>> = inputs.iter().map(Option::as_ref).collect();
    let empty = mote_ir::Graph::default();
    let cx = EvalCx { graph: &empty, env: &[] };
    let result = catch_unwind(AssertUnwindSafe(|| eval(op, &Inputs::new(refs), &cx, n)))
        .map_err(|p| format!("evaluation panicked: {}", panic_message(p)))?;
    let consts: Vec<Option<Fact>> = inputs
        .iter()
        .map(|v| {
            v.as_ref().map(|v| match v {
                Value::Tensor(t) => Fact::of_value(t.clone()),
                other => Fact::of_type(other.value_type()),
            })
        })
        .collect();
    let types: Vec<Option<Fact>> = consts.iter().map(|f| f.as_ref().map(|f| Fact::of_type(f.ty.clone()))).collect();
    // Declared dims can be absurd (a model may say anything about its inputs): inference,
    // MACs and constant shapes must not overflow on them. Nothing to compare against.
    for huge in [1usize << 40, usize::MAX / 3].into_iter().filter(|_| huge_dims) {
        let facts: Vec<Option<Fact>> =
            types.iter().map(|f| f.as_ref().map(|f| Fact::of_type(enlarge(&f.ty, huge)))).collect();
        let cx = InferCx::new(&facts, n);
        catch_unwind(AssertUnwindSafe(|| {
            if let Ok(tys) = op.infer(&cx) {
                let _ = (op.macs(&cx, &tys), op.infer_value(&cx));
            }
        }))
        .map_err(|p| format!("inference on huge declared dims panicked: {}", panic_message(p)))?;
    }
    // Partial knowledge: what inference still claims must hold.
    let forget = |keep: &dyn Fn(usize) -> (bool, bool)| -> Vec<Option<Fact>> {
        types
            .iter()
            .enumerate()
            .map(|(i, f)| {
                f.as_ref().map(|f| {
                    let (dtype, shape) = keep(i);
                    Fact::of_type(match &f.ty {
                        ValueType::Tensor(t) => ValueType::Tensor(mote_ir::TensorType {
                            dtype: t.dtype.filter(|_| dtype),
                            shape: t.shape.clone().filter(|_| shape),
                        }),
                        other => other.clone(),
                    })
                })
            })
            .collect()
    };
    let first_unknown = forget(&|i| (i != 0, i != 0));
    let no_dtypes = forget(&|_| (false, true));
    let no_shapes = forget(&|_| (true, false));
    for (what, facts) in [
        ("constant inputs", &consts),
        ("input types", &types),
        ("input 0 unknown", &first_unknown),
        ("no input dtypes", &no_dtypes),
        ("no input shapes", &no_shapes),
    ] {
        let cx = InferCx::new(facts, n);
        let inferred = catch_unwind(AssertUnwindSafe(|| op.infer(&cx)))
            .map_err(|p| format!("inference ({what}) panicked: {}", panic_message(p)))?;
        if let Ok(tys) = &inferred {
            catch_unwind(AssertUnwindSafe(|| (op.macs(&cx, tys), op.infer_value(&cx), op.describe())))
                .map_err(|p| format!("macs/infer_value/describe ({what}) panicked: {}", panic_message(p)))?;
        }
        match (&result, inferred) {
            (Ok(got), Ok(tys)) => agrees(&tys, got).map_err(|e| format!("inference ({what}) is wrong: {e}"))?,
            (Ok(got), Err(e)) => {
                return Err(format!("evaluated ({got:?}) but inference ({what}) rejected the inputs: {e}"));
            }
            (Err(_), _) => {}
        }
    }
    Ok(result.is_ok())
}

/// Runs `cases` random cases from `gen` (seeded by `seed`), panicking with the failures.
/// Every op name in `expect_ok` must have run successfully at least `min_ok` times.
/// `MOTE_RANDOMIZED_SCALE=k` runs `k` times as many cases (with other seeds for `k > 1`);
/// `MOTE_TRACE_CASES=1` prints every case before running it (with `--nocapture`).
pub(crate) fn run_cases(
    seed: u64,
    cases: usize,
    min_ok: usize,
    expect_ok: &[&str],
    r#gen: impl FnMut(&Rng) -> (Op, Vec<Option<Value>>, usize),
) {
    run_cases_opts(seed, cases, min_ok, expect_ok, true, r#gen)
}

/// [`run_cases`], optionally without the inference pass on huge declared dims.
pub(crate) fn run_cases_opts(
    seed: u64,
    cases: usize,
    min_ok: usize,
    expect_ok: &[&str],
    huge_dims: bool,
    mut r#gen: impl FnMut(&Rng) -> (Op, Vec<Option<Value>>, usize),
) {
    quiet_panics();
    let scale: usize = std::env::var("MOTE_RANDOMIZED_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(1);
    let cases = cases * scale.max(1);
    let rng = Rng::new(if scale > 1 { seed ^ (scale as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) } else { seed });
    let mut ok: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for case in 0..cases {
        let (op, inputs, n) = r#gen(&rng);
        if std::env::var_os("MOTE_TRACE_CASES").is_some() {
            eprintln!("case {case}: {op:?} {inputs:?}");
        }
        match check_opts(&op, &inputs, n, huge_dims) {
            Ok(ran) => *ok.entry(op.name()).or_default() += ran as usize,
            Err(e) => {
                if failures.len() < 10 {
                    failures.push(format!("case {case}: {op:?}\n  inputs {inputs:?}\n  {e}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} failure(s):\n{}", failures.len(), failures.join("\n"));
    let rare: Vec<_> = expect_ok.iter().filter(|n| ok.get(*n).copied().unwrap_or(0) < min_ok).collect();
    assert!(rare.is_empty(), "ops that rarely ran successfully: {rare:?} (successes: {ok:?})");
}
