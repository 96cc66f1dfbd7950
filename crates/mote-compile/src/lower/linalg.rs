//! Linear algebra: Det (its own step) and Einsum, lowered to existing steps: every operand
//! becomes a strided view over the equation's label space (repeated labels sum their strides,
//! a diagonal; absent or broadcast labels get stride 0), the operands are multiplied with
//! broadcasting `Binary` steps into a tensor over all labels (output labels first), and the
//! contracted labels are summed by one `Reduce`. A single operand without contraction is one
//! `Copy` (transpose, diagonal). Two f32 operands whose labels are each batch (both operands and
//! the output), row (first operand and output), column (second and output) or contracted
//! (both operands only) run as one batched `Gemm` instead, with a `Copy` for an operand or the
//! output that is not already in `[batch, rows, contracted]` / `[batch, contracted, columns]` /
//! `[batch, rows, columns]` order; the product is never materialized over all labels.

use mote_core::DType;
use mote_format::OpCode;
use mote_ir::Node;
use mote_ir::ops::nn::einsum::{Equation, Label};
use mote_kernels::reference::reduce::Reduction;
use mote_rt::ops::{Act, BinaryCode, encode};

use super::{Lowerer, R, bail};

/// Lowers Det (f32).
pub fn det(l: &mut Lowerer<'_>, n: &Node) -> R<()> {
    let x = l.input(n, 0)?;
    if l.p.tensors[x].dtype != DType::F32 {
        bail!("Det on {} is not supported by the compiled path (f32 only)", l.p.tensors[x].dtype);
    }
    let y = l.output(n, 0)?;
    l.p.step(OpCode::Det, vec![Some(x)], vec![y], vec![], &n.name);
    Ok(())
}

/// The label space of an equation over operands of `dims`: per label its size, per operand
/// its element stride for every label, and the output's labels.
struct Space {
    size: Vec<usize>,
    strides: Vec<Vec<isize>>,
    out: Vec<usize>,
}

fn space(eq: &Equation, dims: &[Vec<usize>]) -> R<Space> {
    let mut letters: Vec<u8> = Vec::new();
    for l in eq.inputs.iter().flatten() {
        if let Label::Letter(c) = l
            && !letters.contains(c)
        {
            letters.push(*c);
        }
    }
    let eranks = dims
        .iter()
        .enumerate()
        .map(|(i, d)| eq.ellipsis_rank(i, d.len()).map_err(|e| e.0))
        .collect::<R<Vec<usize>>>()?;
    let erank = eranks.iter().copied().max().unwrap_or(0);
    let nl = letters.len() + erank;
    let mut size: Vec<Option<usize>> = vec![None; nl];
    let mut axes = Vec::new();
    for (i, d) in dims.iter().enumerate() {
        let mut ids = Vec::new();
        for l in &eq.inputs[i] {
            match l {
                Label::Letter(c) => ids.push(letters.iter().position(|x| x == c).ok_or("Einsum: bad label")?),
                Label::Ellipsis => ids.extend((0..eranks[i]).map(|j| letters.len() + erank - eranks[i] + j)),
            }
        }
        let mut ax = vec![(0, 0, 0); ids.len()];
        let mut stride = 1;
        for (j, &id) in ids.iter().enumerate().rev() {
            ax[j] = (id, d[j], stride);
            stride *= d[j];
        }
        for &(id, d, _) in &ax {
            let ell = id >= letters.len();
            size[id] = match size[id] {
                None => Some(d),
                Some(s) if s == d => Some(s),
                Some(1) if ell => Some(d),
                Some(s) if ell && d == 1 => Some(s),
                Some(s) => bail!("Einsum: a subscript has sizes {s} and {d}"),
            };
        }
        axes.push(ax);
    }
    let size: Vec<usize> = size.into_iter().map(|s| s.unwrap_or(1)).collect();
    let strides = axes
        .iter()
        .map(|ax| {
            let mut st = vec![0isize; nl];
            for &(id, d, s) in ax {
                if d != 1 || size[id] == 1 {
                    st[id] += s as isize;
                }
            }
            st
        })
        .collect();
    let mut out = Vec::new();
    for l in &eq.output {
        match l {
            Label::Letter(c) => out.push(letters.iter().position(|d| d == c).ok_or("Einsum: bad output label")?),
            Label::Ellipsis => out.extend(letters.len()..nl),
        }
    }
    Ok(Space { size, strides, out })
}

fn dense(dims: &[usize]) -> Vec<isize> {
    let mut s = vec![0isize; dims.len()];
    let mut acc = 1isize;
    for k in (0..dims.len()).rev() {
        s[k] = acc;
        acc *= dims[k] as isize;
    }
    s
}

/// Lowers Einsum over any number of operands of one numeric type (f32 or f64 when labels are
/// contracted).
pub fn einsum(l: &mut Lowerer<'_>, n: &Node, eq: &Equation) -> R<()> {
    let xs = (0..n.inputs.len()).map(|i| l.input(n, i)).collect::<R<Vec<usize>>>()?;
    if xs.is_empty() || xs.len() != eq.inputs.len() {
        bail!("Einsum: the equation has {} operands, got {}", eq.inputs.len(), xs.len());
    }
    let dtype = l.p.tensors[xs[0]].dtype;
    if xs.iter().any(|&x| l.p.tensors[x].dtype != dtype) {
        bail!("Einsum operands differ in type");
    }
    let dims: Vec<Vec<usize>> = xs.iter().map(|&x| l.p.tensors[x].dims.clone()).collect();
    let sp = space(eq, &dims)?;
    // Label order of the intermediate: output labels, then the contracted ones.
    let mut order = sp.out.clone();
    order.extend((0..sp.size.len()).filter(|id| !sp.out.contains(id)));
    let full: Vec<usize> = order.iter().map(|&id| sp.size[id]).collect();
    let contracted = order.len() - sp.out.len();
    let view = |k: usize| -> Vec<isize> { order.iter().map(|&id| sp.strides[k][id]).collect() };
    let y = l.output(n, 0)?;
    let name = &n.name;
    if xs.len() == 2 && dtype == DType::F32 && as_gemm(l, &sp, [xs[0], xs[1]], y, name)? {
        return Ok(());
    }
    if contracted > 0 && !matches!(dtype, DType::F32 | DType::F64) {
        bail!("Einsum contracting labels on {dtype} is not supported by the compiled path (f32, f64)");
    }
    if full.len() > mote_rt::ops::MAX_VIEW_RANK || (contracted > 0 && full.len() > mote_format::MAX_RANK) {
        bail!("Einsum over {} labels is not supported by the compiled path", full.len());
    }
    // The product over all labels, or (one operand) its view.
    let prod = if xs.len() == 1 {
        let v = view(0);
        if contracted > 0 && v == dense(&full) {
            xs[0]
        } else {
            let t = if contracted == 0 { y } else { l.p.arena(dtype, full.clone(), format!("{name}.terms")) };
            super::shape::copy(l, xs[0], t, &full, (0, &v), (0, &dense(&full)), name);
            t
        }
    } else {
        if BinaryCode::Mul.output_type(dtype) != Some(dtype) {
            bail!("Einsum of several {dtype} operands is not supported by the compiled path");
        }
        let (mut acc, mut acc_strides) = (xs[0], view(0));
        for k in 1..xs.len() {
            let last = k + 1 == xs.len();
            let t =
                if last && contracted == 0 { y } else { l.p.arena(dtype, full.clone(), format!("{name}.terms{k}")) };
            let ys = dense(&full);
            let attrs = encode::binary(BinaryCode::Mul, &full, &acc_strides, &view(k), &ys, Act::NONE);
            l.p.step(OpCode::Binary, vec![Some(acc), Some(xs[k])], vec![t], attrs, name);
            (acc, acc_strides) = (t, ys);
        }
        acc
    };
    if contracted > 0 {
        let flags: Vec<bool> = (0..full.len()).map(|a| a >= sp.out.len()).collect();
        l.p.step(OpCode::Reduce, vec![Some(prod)], vec![y], encode::reduce(Reduction::Sum, &full, &flags), name);
    }
    Ok(())
}

/// A tensor holding operand `x`'s view `strides` over `dims` densely: `x` itself when the view
/// already is dense, else a copy.
fn dense_operand(l: &mut Lowerer<'_>, x: usize, dims: &[usize], strides: &[isize], name: &str) -> usize {
    if strides == dense(dims) {
        return x;
    }
    let t = l.p.arena(DType::F32, dims.to_vec(), format!("{name}.operand"));
    super::shape::copy(l, x, t, dims, (0, strides), (0, &dense(dims)), name);
    t
}

/// Lowers a two-operand f32 einsum as one batched Gemm when its labels allow (see the module
/// doc); returns false (nothing emitted) when they do not.
fn as_gemm(l: &mut Lowerer<'_>, sp: &Space, xs: [usize; 2], y: usize, name: &str) -> R<bool> {
    let nl = sp.size.len();
    // A label is in an operand when it has a stride there or, of size 1, appears anyway; size-1
    // labels carry no data, so they can go to any group: treat them as batch.
    let (mut batch, mut rows, mut cols, mut inner) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for id in 0..nl {
        let (a, b, o) = (sp.strides[0][id] != 0, sp.strides[1][id] != 0, sp.out.contains(&id));
        match (a, b, o) {
            _ if sp.size[id] == 1 => {
                if o {
                    batch.push(id)
                }
            }
            (true, true, true) => batch.push(id),
            (true, false, true) => rows.push(id),
            (false, true, true) => cols.push(id),
            (true, true, false) => inner.push(id),
            // A label broadcast in both operands, or summed within one operand only.
            _ => return Ok(false),
        }
    }
    let size = |ids: &[usize]| ids.iter().map(|&i| sp.size[i]).product::<usize>();
    let (nb, m, k, nn) = (size(&batch), size(&rows), size(&inner), size(&cols));
    let view = |op: usize, ids: &[&[usize]]| -> (Vec<usize>, Vec<isize>) {
        let all: Vec<usize> = ids.iter().flat_map(|g| g.iter().copied()).collect();
        (all.iter().map(|&i| sp.size[i]).collect(), all.iter().map(|&i| sp.strides[op][i]).collect())
    };
    let (ad, ast) = view(0, &[&batch, &rows, &inner]);
    let (bd, bst) = view(1, &[&batch, &inner, &cols]);
    // Gemm sees `[batch?, rows, cols]` matrices: views of the dense operands and product.
    let mat = |r: usize, c: usize| if nb > 1 { vec![nb, r, c] } else { vec![r, c] };
    let a = dense_operand(l, xs[0], &ad, &ast, name);
    let a = l.p.alias(a, mat(m, k), format!("{name}.a"));
    let b = dense_operand(l, xs[1], &bd, &bst, name);
    let b = l.p.alias(b, mat(k, nn), format!("{name}.b"));
    let order: Vec<usize> = batch.iter().chain(&rows).chain(&cols).copied().collect();
    let direct = order == sp.out;
    let prod = if direct {
        l.p.alias(y, mat(m, nn), format!("{name}.product"))
    } else {
        l.p.arena(DType::F32, mat(m, nn), format!("{name}.product"))
    };
    let g = encode::GemmAttrs {
        m,
        n: nn,
        k,
        trans_a: false,
        trans_b: false,
        alpha: 1.0,
        beta: 0.0,
        bias: mote_rt::ops::BiasKind::None,
        batch: if nb > 1 { vec![nb] } else { vec![] },
        a_strides: if nb > 1 { vec![m * k] } else { vec![] },
        b_strides: if nb > 1 { vec![k * nn] } else { vec![] },
        act: Act::NONE,
    };
    l.p.step(OpCode::Gemm, vec![Some(a), Some(b)], vec![prod], encode::gemm(&g), name);
    if !direct {
        // The product's [batch.., rows.., cols..] walked in the output's label order.
        let pd: Vec<usize> = order.iter().map(|&i| sp.size[i]).collect();
        let ps = dense(&pd);
        let od: Vec<usize> = sp.out.iter().map(|&i| sp.size[i]).collect();
        let src: Vec<isize> = sp.out.iter().map(|&i| order.iter().position(|&j| j == i).map_or(0, |p| ps[p])).collect();
        super::shape::copy(l, prod, y, &od, (0, &src), (0, &dense(&od)), name);
    }
    Ok(true)
}
