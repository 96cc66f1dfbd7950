//! Sliding-window ops with their own runtime step (f32 unless noted): DeformConv, Col2Im and
//! MaxUnpool (any element type).

use mote_core::DType;
use mote_format::OpCode;
use mote_ir::Node;
use mote_ir::ops::nn::NnOp;
use mote_rt::ops::encode;

use super::{Lowerer, R, bail};

fn f32_only(l: &Lowerer<'_>, t: usize, n: &Node) -> R<()> {
    match l.p.tensors[t].dtype {
        DType::F32 => Ok(()),
        d => bail!("{} on {d} is not supported by the compiled path (f32 only)", n.op.name()),
    }
}

/// A constant input of positive sizes (Col2Im's image and block shapes).
fn sizes(l: &Lowerer<'_>, n: &Node, i: usize, what: &str) -> R<Vec<usize>> {
    let t = l.konst(l.in_value(n, i)?).ok_or_else(|| format!("{what} must be constant to compile"))?;
    let v = t.to_i64_vec().map_err(|e| e.to_string())?;
    v.iter()
        .map(|&d| usize::try_from(d).ok().filter(|&d| d > 0).ok_or_else(|| format!("{what} {v:?} must be positive")))
        .collect()
}

/// Lowers DeformConv, Col2Im and MaxUnpool.
pub fn lower(l: &mut Lowerer<'_>, n: &Node, op: &NnOp) -> R<()> {
    match op {
        NnOp::DeformConv(a) => {
            let (x, w, off) = (l.input(n, 0)?, l.input(n, 1)?, l.input(n, 2)?);
            let opt = |l: &mut Lowerer<'_>, i| n.input(i).map(|_| l.input(n, i)).transpose();
            let (b, mask) = (opt(l, 3)?, opt(l, 4)?);
            for t in [Some(x), Some(w), Some(off), b, mask].into_iter().flatten() {
                f32_only(l, t, n)?;
            }
            let (xd, wd) = (l.p.tensors[x].dims.clone(), l.p.tensors[w].dims.clone());
            if xd.len() != 4 || wd.len() != 4 {
                bail!("DeformConv is compiled in 2-D only, got X {xd:?}");
            }
            let r = a.window.resolve(&xd[2..], &wd[2..]).map_err(|e| e.0)?;
            let y = l.output(n, 0)?;
            let attrs = encode::deform_conv(
                a.group,
                a.offset_group,
                &r.kernel,
                &r.strides,
                &r.dilations,
                &r.pads_begin,
                &r.pads_end,
            );
            l.p.step(OpCode::DeformConv, vec![Some(x), Some(w), Some(off), b, mask], vec![y], attrs, &n.name);
        }
        NnOp::Col2Im(win) => {
            let x = l.input(n, 0)?;
            f32_only(l, x, n)?;
            let image = sizes(l, n, 1, "Col2Im image_shape")?;
            let block = sizes(l, n, 2, "Col2Im block_shape")?;
            if !(1..=3).contains(&image.len()) {
                bail!("Col2Im with {} image dims is not supported (1 to 3)", image.len());
            }
            let r = win.resolve(&image, &block).map_err(|e| e.0)?;
            let y = l.output(n, 0)?;
            let attrs = encode::col2im(&r.kernel, &r.strides, &r.dilations, &r.pads_begin, &r.pads_end);
            l.p.step(OpCode::Col2Im, vec![Some(x)], vec![y], attrs, &n.name);
        }
        NnOp::MaxUnpool(win) => {
            let (x, ind) = (l.input(n, 0)?, l.input(n, 1)?);
            if l.p.tensors[ind].dtype != DType::I64 {
                bail!("MaxUnpool indices must be int64 to compile");
            }
            let xd = l.p.tensors[x].dims.clone();
            if xd.len() < 3 {
                bail!("MaxUnpool needs X [N, C, spatial..], got {xd:?}");
            }
            let kernel = win.kernel_shape.as_deref().ok_or("MaxUnpool: kernel_shape is missing")?;
            let r = xd.len() - 2;
            win.check(r, kernel).map_err(|e| e.0)?;
            // The default output shape, which the indices address (as the interpreter).
            let mut full = xd[..2].to_vec();
            for i in 0..r {
                let pads = win.pads.get(i).copied().unwrap_or(0) + win.pads.get(i + r).copied().unwrap_or(0);
                let f = (xd[2 + i].max(1) - 1) * win.stride(i) + kernel[i];
                full.push(f.checked_sub(pads).ok_or("MaxUnpool: pads exceed the output size")?);
            }
            let y = l.output(n, 0)?;
            l.p.step(OpCode::MaxUnpool, vec![Some(x), Some(ind)], vec![y], encode::max_unpool(&full), &n.name);
        }
        _ => bail!("{} is not supported by the compiled path yet", n.op.name()),
    }
    Ok(())
}
