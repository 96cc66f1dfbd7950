//! MaxPool, AveragePool (1-D and 2-D), GlobalAveragePool and GlobalMaxPool.

use mote_ir::Op;
use mote_ir::ops::nn::{GlobalPool, NnOp, PoolAttrs, PoolKind};

use super::Ctx;

pub fn backward(op: &Op, cx: &Ctx<'_>, gy: &[f32]) -> Result<Vec<Option<Vec<f32>>>, String> {
    let (x, xs) = cx.input(0)?;
    if xs.len() < 3 {
        return Err(format!("pooling needs an [N, C, spatial...] input, got {xs:?}"));
    }
    let planes = xs[0] * xs[1];
    let area: usize = xs[2..].iter().product();
    let mut gx = vec![0.0f32; x.len()];
    match op {
        Op::Nn(NnOp::GlobalPool(GlobalPool::Average)) => {
            for p in 0..planes {
                let g = gy[p] / area as f32;
                gx[p * area..(p + 1) * area].iter_mut().for_each(|v| *v = g);
            }
        }
        Op::Nn(NnOp::GlobalPool(GlobalPool::Max)) => {
            for p in 0..planes {
                let plane = &x[p * area..(p + 1) * area];
                let best = first_max(plane.iter().copied().enumerate());
                if let Some(i) = best {
                    gx[p * area + i] = gy[p];
                }
            }
        }
        Op::Nn(NnOp::Pool(a)) => window(a, x, xs, gy, &mut gx)?,
        _ => return Err("no backward rule for this pooling op".into()),
    }
    Ok(vec![Some(gx)])
}

/// Index of the first largest value (NaN counts as largest, as the forward kernel does).
fn first_max(it: impl Iterator<Item = (usize, f32)>) -> Option<usize> {
    let mut best: Option<(usize, f32)> = None;
    for (i, v) in it {
        match best {
            Some((_, b)) if !(v > b || (v.is_nan() && !b.is_nan())) => {}
            _ => best = Some((i, v)),
        }
    }
    best.map(|(i, _)| i)
}

fn window(a: &PoolAttrs, x: &[f32], xs: &[usize], gy: &[f32], gx: &mut [f32]) -> Result<(), String> {
    let spatial = &xs[2..];
    if spatial.len() > 2 {
        return Err("pooling gradients cover 1-D and 2-D pools".into());
    }
    let kernel = a.window.kernel_shape.clone().ok_or("pool without kernel_shape")?;
    let r = a.window.resolve(spatial, &kernel).map_err(|e| e.to_string())?;
    let two = |v: &[usize]| if v.len() == 2 { [v[0], v[1]] } else { [1, v[0]] };
    let twoi = |v: &[isize]| if v.len() == 2 { [v[0], v[1]] } else { [0, v[0]] };
    let ([h, w], [kh, kw], [oh, ow]) = (two(spatial), two(&r.kernel), two(&r.out));
    let ([sh, sw], [dh, dw]) = (two(&r.strides), two(&r.dilations));
    let ([ph, pw], [eh, ew]) = (twoi(&r.pads_begin), twoi(&r.pads_end));
    let planes = xs[0] * xs[1];
    for p in 0..planes {
        let plane = &x[p * h * w..(p + 1) * h * w];
        for oy in 0..oh {
            for ox in 0..ow {
                let g = gy[(p * oh + oy) * ow + ox];
                let taps = (0..kh)
                    .flat_map(|ky| (0..kw).map(move |kx| (ky, kx)))
                    .map(|(ky, kx)| ((oy * sh + ky * dh) as isize - ph, (ox * sw + kx * dw) as isize - pw));
                let inside = |&(iy, ix): &(isize, isize)| iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < w;
                match a.kind {
                    PoolKind::Max { .. } => {
                        let cands = taps.filter(inside).map(|(iy, ix)| {
                            let i = iy as usize * w + ix as usize;
                            (i, plane[i])
                        });
                        if let Some(i) = first_max(cands) {
                            gx[p * h * w + i] += g;
                        }
                    }
                    PoolKind::Average { count_include_pad } => {
                        let all: Vec<(isize, isize)> = taps.collect();
                        let count = if count_include_pad {
                            // Padded taps count, taps past the padding (ceil mode) do not.
                            let lim = |v: isize, n: usize, e: isize| v < n as isize + e;
                            all.iter().filter(|&&(iy, ix)| lim(iy, h, eh) && lim(ix, w, ew)).count()
                        } else {
                            all.iter().filter(|t| inside(t)).count()
                        };
                        if count == 0 {
                            continue;
                        }
                        let share = g / count as f32;
                        for t in all.iter().filter(|t| inside(t)) {
                            gx[p * h * w + t.0 as usize * w + t.1 as usize] += share;
                        }
                    }
                    PoolKind::Lp { .. } => return Err("LpPool has no gradient here".into()),
                }
            }
        }
    }
    Ok(())
}
