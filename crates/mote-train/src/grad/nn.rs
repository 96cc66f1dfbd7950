//! Conv (1-D and 2-D, grouped and depthwise), Gemm, MatMul, Softmax and LogSoftmax.

use mote_ir::ops::nn::{ConvAttrs, NnOp, SoftmaxKind};

use super::{Ctx, unbroadcast};

pub fn backward(op: &NnOp, cx: &Ctx<'_>, gy: &[f32]) -> Result<Vec<Option<Vec<f32>>>, String> {
    match op {
        NnOp::Conv(a) => conv(a, cx, gy),
        NnOp::Gemm { alpha, beta, trans_a, trans_b } => gemm(*alpha, *beta, *trans_a, *trans_b, cx, gy),
        NnOp::MatMul => matmul(cx, gy),
        NnOp::Softmax(s) if !s.coerce_2d => softmax(s.kind, s.axis, cx, gy),
        _ => Err("no backward rule for this op".into()),
    }
}

/// A convolution's geometry as 2-D (a 1-D one has height 1).
struct Geom {
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    m: usize,
    cg: usize,
    kh: usize,
    kw: usize,
    oh: usize,
    ow: usize,
    s: [usize; 2],
    d: [usize; 2],
    p: [isize; 2],
    group: usize,
}

fn geom(a: &ConvAttrs, x: &[usize], wsh: &[usize]) -> Result<Geom, String> {
    let (spatial, kernel) = (&x[2..], &wsh[2..]);
    if !(1..=2).contains(&spatial.len()) || wsh.len() != x.len() {
        return Err(format!("Conv gradients cover 1-D and 2-D convolutions, not input {x:?} with weight {wsh:?}"));
    }
    let r = a.window.resolve(spatial, kernel).map_err(|e| e.to_string())?;
    let two = |v: &[usize], one: usize| if v.len() == 2 { [v[0], v[1]] } else { [one, v[0]] };
    let (hw, k, o) = (two(spatial, 1), two(&r.kernel, 1), two(&r.out, 1));
    let (s, d) = (two(&r.strides, 1), two(&r.dilations, 1));
    let p = if r.pads_begin.len() == 2 { [r.pads_begin[0], r.pads_begin[1]] } else { [0, r.pads_begin[0]] };
    Ok(Geom {
        n: x[0],
        c: x[1],
        h: hw[0],
        w: hw[1],
        m: wsh[0],
        cg: wsh[1],
        kh: k[0],
        kw: k[1],
        oh: o[0],
        ow: o[1],
        s,
        d,
        p,
        group: a.group.max(1),
    })
}

fn conv(a: &ConvAttrs, cx: &Ctx<'_>, gy: &[f32]) -> Result<Vec<Option<Vec<f32>>>, String> {
    let (x, xs) = cx.input(0)?;
    let (w, ws) = cx.input(1)?;
    let g = geom(a, xs, ws)?;
    let mg = g.m / g.group;
    let mut gx = vec![0.0f32; x.len()];
    let mut gw = vec![0.0f32; w.len()];
    let mut gb = vec![0.0f32; g.m];
    for n in 0..g.n {
        for m in 0..g.m {
            let c0 = (m / mg) * g.cg;
            for oy in 0..g.oh {
                for ox in 0..g.ow {
                    let go = gy[((n * g.m + m) * g.oh + oy) * g.ow + ox];
                    if go == 0.0 {
                        continue;
                    }
                    gb[m] += go;
                    for c in 0..g.cg {
                        let xb = (n * g.c + c0 + c) * g.h;
                        let wb = (m * g.cg + c) * g.kh;
                        for ky in 0..g.kh {
                            let iy = (oy * g.s[0] + ky * g.d[0]) as isize - g.p[0];
                            if iy < 0 || iy as usize >= g.h {
                                continue;
                            }
                            let xr = (xb + iy as usize) * g.w;
                            let wr = (wb + ky) * g.kw;
                            for kx in 0..g.kw {
                                let ix = (ox * g.s[1] + kx * g.d[1]) as isize - g.p[1];
                                if ix < 0 || ix as usize >= g.w {
                                    continue;
                                }
                                let xi = xr + ix as usize;
                                gx[xi] += w[wr + kx] * go;
                                gw[wr + kx] += x[xi] * go;
                            }
                        }
                    }
                }
            }
        }
    }
    Ok(vec![Some(gx), Some(gw), cx.ins.get(2).copied().flatten().map(|_| gb)])
}

/// `c = a b` for row-major `a [m, k]` and `b [k, n]`, with either read transposed.
#[allow(clippy::too_many_arguments)]
fn matmul_into(c: &mut [f32], a: &[f32], b: &[f32], m: usize, k: usize, n: usize, ta: bool, tb: bool, scale: f32) {
    for i in 0..m {
        for p in 0..k {
            let av = if ta { a[p * m + i] } else { a[i * k + p] } * scale;
            if av == 0.0 {
                continue;
            }
            let row = &mut c[i * n..(i + 1) * n];
            if tb {
                for (j, r) in row.iter_mut().enumerate() {
                    *r += av * b[j * k + p];
                }
            } else {
                for (r, &bv) in row.iter_mut().zip(&b[p * n..(p + 1) * n]) {
                    *r += av * bv;
                }
            }
        }
    }
}

fn gemm(alpha: f32, beta: f32, ta: bool, tb: bool, cx: &Ctx<'_>, gy: &[f32]) -> Result<Vec<Option<Vec<f32>>>, String> {
    let (a, sa) = cx.input(0)?;
    let (b, sb) = cx.input(1)?;
    if sa.len() != 2 || sb.len() != 2 {
        return Err("Gemm inputs must be 2-D".into());
    }
    let (m, k) = if ta { (sa[1], sa[0]) } else { (sa[0], sa[1]) };
    let n = if tb { sb[0] } else { sb[1] };
    // Y = alpha op(A) op(B) + beta C.
    let mut ga = vec![0.0f32; a.len()];
    let mut gb = vec![0.0f32; b.len()];
    // dop(A) = alpha dY op(B)^T  [m, k]; dA is that, transposed back when ta.
    let mut d_opa = vec![0.0f32; m * k];
    matmul_into(&mut d_opa, gy, b, m, n, k, false, !tb, alpha);
    let mut d_opb = vec![0.0f32; k * n];
    matmul_into(&mut d_opb, a, gy, k, m, n, !ta, false, alpha);
    transpose_into(&mut ga, &d_opa, m, k, ta);
    transpose_into(&mut gb, &d_opb, k, n, tb);
    let gc = match cx.input(2) {
        Ok((_, sc)) => Some(unbroadcast(&gy.iter().map(|g| g * beta).collect::<Vec<_>>(), &[m, n], sc)),
        Err(_) => None,
    };
    Ok(vec![Some(ga), Some(gb), gc])
}

/// `dst = src` (`[r, c]`), or its transpose when `t`.
fn transpose_into(dst: &mut [f32], src: &[f32], r: usize, c: usize, t: bool) {
    if !t {
        dst.copy_from_slice(src);
        return;
    }
    for i in 0..r {
        for j in 0..c {
            dst[j * r + i] = src[i * c + j];
        }
    }
}

/// MatMul of `[.., m, k]` by `[k, n]` (or a matching batch of them); 1-D operands are not covered.
fn matmul(cx: &Ctx<'_>, gy: &[f32]) -> Result<Vec<Option<Vec<f32>>>, String> {
    let (a, sa) = cx.input(0)?;
    let (b, sb) = cx.input(1)?;
    if sa.len() < 2 || sb.len() < 2 {
        return Err("MatMul gradients need operands of rank 2 or more".into());
    }
    let (m, k, n) = (sa[sa.len() - 2], sa[sa.len() - 1], sb[sb.len() - 1]);
    let batch_a: usize = sa[..sa.len() - 2].iter().product();
    let batch_b: usize = sb[..sb.len() - 2].iter().product();
    if batch_b != 1 && batch_b != batch_a {
        return Err(format!("MatMul gradients: batch dims of {sa:?} and {sb:?} must match or B be 2-D"));
    }
    let mut ga = vec![0.0f32; a.len()];
    let mut gb = vec![0.0f32; b.len()];
    for i in 0..batch_a {
        let gyi = &gy[i * m * n..(i + 1) * m * n];
        let ai = &a[i * m * k..(i + 1) * m * k];
        let bo = if batch_b == 1 { 0 } else { i * k * n };
        matmul_into(&mut ga[i * m * k..(i + 1) * m * k], gyi, &b[bo..bo + k * n], m, n, k, false, true, 1.0);
        matmul_into(&mut gb[bo..bo + k * n], ai, gyi, k, m, n, true, false, 1.0);
    }
    Ok(vec![Some(ga), Some(gb)])
}

fn softmax(kind: SoftmaxKind, axis: i64, cx: &Ctx<'_>, gy: &[f32]) -> Result<Vec<Option<Vec<f32>>>, String> {
    let (y, shape) = cx.output(0)?;
    let r = shape.len() as i64;
    let a = if axis < 0 { axis + r } else { axis };
    if !(0..r).contains(&a) {
        return Err(format!("axis {axis} is out of range"));
    }
    let a = a as usize;
    let len = shape[a];
    let inner: usize = shape[a + 1..].iter().product();
    let outer: usize = shape[..a].iter().product();
    let mut gx = vec![0.0f32; y.len()];
    for o in 0..outer {
        for i in 0..inner {
            let at = |j: usize| (o * len + j) * inner + i;
            match kind {
                // dx = y * (dy - sum(dy * y))
                SoftmaxKind::Softmax => {
                    let dot: f32 = (0..len).map(|j| gy[at(j)] * y[at(j)]).sum();
                    (0..len).for_each(|j| gx[at(j)] = y[at(j)] * (gy[at(j)] - dot));
                }
                // dx = dy - exp(y) * sum(dy)
                SoftmaxKind::LogSoftmax => {
                    let sum: f32 = (0..len).map(|j| gy[at(j)]).sum();
                    (0..len).for_each(|j| gx[at(j)] = gy[at(j)] - y[at(j)].exp() * sum);
                }
                SoftmaxKind::Hardmax => return Err("Hardmax is not differentiable".into()),
            }
        }
    }
    Ok(vec![Some(gx)])
}
