//! LabelEncoder, CategoryMapper and OneHotEncoder with string keys or values (`ai.onnx.ml`),
//! on the string table steps (`mote_rt::ops::text`): string keys become a `StringLookup` in a
//! sorted key table (each key once: LabelEncoder keeps its first occurrence, CategoryMapper and
//! OneHotEncoder their last, as the interpreter's maps do; the values permuted to match), then
//! the value is picked from `values ++ default` by a `Gather` (numbers) or a `StringGather`
//! (strings). Numeric keys with string values use the numeric `Lookup` step then a
//! `StringGather`.
//!
//! A `StringGather` result's pool holds the table's longest string at every element, so it
//! never overflows.

use std::collections::BTreeMap;

use mote_core::DType;
use mote_format::OpCode;
use mote_ir::{Node, Tensor};
use mote_rt::ops::encode;

use super::{Lowerer, R, bail};

/// Which of a repeated key's positions a map keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Repeated {
    First,
    Last,
}

/// The keys sorted, each once: `(key, its kept position)`.
fn sorted_keys<K: Ord + Clone>(keys: &[K], keep: Repeated) -> Vec<(K, usize)> {
    let mut map = BTreeMap::new();
    for (i, k) in keys.iter().enumerate() {
        let e = map.entry(k.clone()).or_insert(i);
        if keep == Repeated::Last {
            *e = i;
        }
    }
    map.into_iter().collect()
}

/// A `StringLookup` of string tensor `x` in `keys`: the int64 positions in the sorted key
/// table (its length for a miss; a run-time data error when `strict`), and for each sorted
/// position the key's position in `keys`.
pub fn string_lookup(
    l: &mut Lowerer<'_>,
    n: &Node,
    x: usize,
    keys: &[String],
    keep: Repeated,
    strict: bool,
) -> (usize, Vec<usize>) {
    let sorted = sorted_keys(keys, keep);
    let table: Vec<String> = sorted.iter().map(|(k, _)| k.clone()).collect();
    let kt = l.p.string_weight(vec![table.len()], &table, format!("{}.keys", n.name));
    let idx = l.p.arena(DType::I64, l.p.tensors[x].dims.clone(), format!("{}.positions", n.name));
    l.p.step(OpCode::StringLookup, vec![Some(x), Some(kt)], vec![idx], encode::string_lookup(strict), &n.name);
    (idx, sorted.into_iter().map(|(_, i)| i).collect())
}

/// LabelEncoder with string keys: `y = (values ++ default)[position of x in keys]`.
pub fn label_encoder(l: &mut Lowerer<'_>, n: &Node, keys: &Tensor, values: &Tensor, default: &Tensor) -> R<()> {
    let x = l.input(n, 0)?;
    if l.p.tensors[x].dtype != DType::String {
        bail!("LabelEncoder input is {} but its keys are strings", l.p.tensors[x].dtype);
    }
    let keys = keys.strings().ok_or("LabelEncoder keys are not strings")?;
    if keys.len() != values.len() {
        bail!("LabelEncoder has {} keys and {} values", keys.len(), values.len());
    }
    let (idx, order) = string_lookup(l, n, x, keys, Repeated::First, false);
    values_at(l, n, idx, values, default, &order)
}

/// CategoryMapper: string `x` to int64 (`ints[position of x in strings]`, else `default_int`)
/// or int64 `x` to strings (the other way); the pairs are `zip(strings, ints)`, a repeated key
/// keeps its last pair.
pub fn category_mapper(
    l: &mut Lowerer<'_>,
    n: &Node,
    ints: &[i64],
    strings: &[String],
    default_int: i64,
    default_string: &str,
) -> R<()> {
    let x = l.input(n, 0)?;
    let pairs = ints.len().min(strings.len());
    let (ints, strings) = (&ints[..pairs], &strings[..pairs]);
    let t = |v: Vec<String>| Tensor::from_strings(vec![v.len()], v).map_err(|e| e.to_string());
    match l.p.tensors[x].dtype {
        DType::String => {
            let (idx, order) = string_lookup(l, n, x, strings, Repeated::Last, false);
            let values = Tensor::from_vec(vec![pairs], ints.to_vec()).map_err(|e| e.to_string())?;
            let default = Tensor::from_vec(vec![1], vec![default_int]).map_err(|e| e.to_string())?;
            values_at(l, n, idx, &values, &default, &order)
        }
        DType::I64 => {
            let sorted = sorted_keys(ints, Repeated::Last);
            let keys: Vec<i64> = sorted.iter().map(|&(k, _)| k).collect();
            let idx = super::ml::lookup(l, n, x, &keys, false);
            let order: Vec<usize> = sorted.iter().map(|&(_, i)| i).collect();
            values_at(l, n, idx, &t(strings.to_vec())?, &t(vec![default_string.to_string()])?, &order)
        }
        other => bail!("CategoryMapper needs a string or int64 tensor, got {other}"),
    }
}

/// OneHotEncoder's category positions of string `x`: int64, the position of the category in
/// `cats` (its last occurrence), or `cats.len()` for a miss (a run-time data error when
/// `strict`).
pub fn category_positions(l: &mut Lowerer<'_>, n: &Node, x: usize, cats: &[String], strict: bool) -> usize {
    let (sorted, order) = string_lookup(l, n, x, cats, Repeated::Last, strict);
    let table: Vec<u8> =
        order.iter().map(|&i| i as i64).chain([cats.len() as i64]).flat_map(i64::to_le_bytes).collect();
    let len = order.len() + 1;
    let t = l.p.weight(DType::I64, vec![len], table, format!("{}.categories", n.name));
    let idx = l.p.arena(DType::I64, l.p.tensors[x].dims.clone(), format!("{}.category_positions", n.name));
    l.p.step(OpCode::Gather, vec![Some(t), Some(sorted)], vec![idx], encode::gather(1, len, 1), &n.name);
    idx
}

/// `y = (values ++ default)[idx]`, where position `p < order.len()` of `idx` means value
/// `order[p]` and `order.len()` the default.
pub fn values_at(
    l: &mut Lowerer<'_>,
    n: &Node,
    idx: usize,
    values: &Tensor,
    default: &Tensor,
    order: &[usize],
) -> R<()> {
    let vt = values.dtype();
    if default.dtype() != vt || default.len() != 1 {
        bail!("LabelEncoder default must be one {vt} value");
    }
    let len = order.len() + 1;
    if vt == DType::String {
        let (v, d) = (values.strings().unwrap_or_default(), default.strings().unwrap_or_default());
        let mut table: Vec<String> = order.iter().map(|&i| v[i].clone()).collect();
        table.extend(d.iter().cloned());
        let t = l.p.string_weight(vec![len], &table, format!("{}.values", n.name));
        let ov = n.outputs.first().copied().flatten().ok_or("LabelEncoder's output is missing")?;
        let dims = l.value_shape(ov)?.1;
        let longest = table.iter().map(String::len).max().unwrap_or(0);
        let pool = dims.iter().product::<usize>() * longest;
        let y = l.p.string_arena(dims, pool, &l.g.value(ov).name);
        l.bind(n, 0, y)?;
        l.p.step(OpCode::StringGather, vec![Some(t), Some(idx)], vec![y], encode::string_gather(), &n.name);
    } else {
        let bytes = super::tensor_bytes(values)?;
        let size = bytes.len().checked_div(values.len()).unwrap_or(0);
        let mut table: Vec<u8> = order.iter().flat_map(|&i| bytes[i * size..(i + 1) * size].iter().copied()).collect();
        table.extend(super::tensor_bytes(default)?);
        let t = l.p.weight(vt, vec![len], table, format!("{}.values", n.name));
        let y = l.output(n, 0)?;
        l.p.step(OpCode::Gather, vec![Some(t), Some(idx)], vec![y], encode::gather(1, len, 1), &n.name);
    }
    Ok(())
}
