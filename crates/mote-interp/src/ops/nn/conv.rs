//! Conv, ConvTranspose, DeformConv, Col2Im.

use mote_ir::Tensor;
use mote_ir::ops::nn::{ConvAttrs, ConvTransposeAttrs, DeformConvAttrs, Resolved, Window};
use mote_kernels::reference::nn::conv::{self as k, Channels};

use super::{buffer, float_kernel, opt_typed, spatial, split_nc};
use crate::error::OpError;
use crate::ops::{Inputs, downcast, shape_input, upcast};
use crate::{bail, op_err};

/// Checks X and W of a (grouped) convolution; returns `(N, C, spatial, kernel)`.
fn check_conv<'a>(
    op: &str,
    x: &'a Tensor,
    w: &'a Tensor,
    kernel_attr: &Option<Vec<usize>>,
) -> Result<(usize, usize, &'a [usize], &'a [usize]), OpError> {
    let (n, c, sp) = split_nc(x, op)?;
    if w.rank() != x.rank() {
        bail!("{op}: W has rank {} but X has rank {}", w.rank(), x.rank());
    }
    if sp.is_empty() {
        bail!("{op}: X must have at least one spatial dimension, got shape {:?}", x.shape());
    }
    let kernel = &w.shape()[2..];
    if let Some(ka) = kernel_attr
        && ka.as_slice() != kernel
    {
        bail!("{op}: kernel_shape {ka:?} does not match W's spatial shape {kernel:?}");
    }
    if x.dtype() != w.dtype() {
        bail!("{op}: X is {} but W is {}", x.dtype(), w.dtype());
    }
    Ok((n, c, sp, kernel))
}

fn check_bias(op: &str, b: Option<&Tensor>, m: usize) -> Result<(), OpError> {
    if let Some(b) = b
        && b.shape() != [m]
    {
        bail!("{op}: B must have shape [{m}], got {:?}", b.shape());
    }
    Ok(())
}

fn resolve(w: &Window, input: &[usize], kernel: &[usize]) -> Result<Resolved, OpError> {
    w.resolve(input, kernel).map_err(|e| op_err!("{e}"))
}

/// `Conv(X, W, B?)` for 1-D to 3-D inputs.
pub fn conv(a: &ConvAttrs, x: &Tensor, w: &Tensor, b: Option<&Tensor>) -> Result<Tensor, OpError> {
    let (n, c, sp, kernel) = check_conv("Conv", x, w, &a.window.kernel_shape)?;
    let (m, cig) = (w.shape()[0], w.shape()[1]);
    if a.group == 0 || cig.checked_mul(a.group) != Some(c) || m % a.group != 0 {
        bail!("Conv: W has {cig} input channels per group and {m} outputs, X has {c} channels, group is {}", a.group);
    }
    check_bias("Conv", b, m)?;
    let r = resolve(&a.window, sp, kernel)?;
    let (s, _) = spatial(sp, &r)?;
    let mut shape = vec![n, m];
    shape.extend(&r.out);
    let ch = Channels { batch: n, in_channels: c, out_channels: m, group: a.group };
    let dtype = x.dtype();
    let (x, w, b) = (upcast(x)?, upcast(w)?, b.map(upcast).transpose()?);
    let y = float_kernel!(dtype, "Conv", |T| {
        let mut y = buffer::<T>(&shape)?;
        k::conv(&ch, &s, x.typed::<T>()?, w.typed::<T>()?, opt_typed::<T>(b.as_ref())?, &mut y);
        Tensor::from_vec(shape, y)?
    });
    downcast(y, dtype)
}

/// `ConvTranspose(X, W, B?)`; `output_shape` may list all dims or only the spatial ones.
pub fn conv_transpose(a: &ConvTransposeAttrs, x: &Tensor, w: &Tensor, b: Option<&Tensor>) -> Result<Tensor, OpError> {
    let (n, c, sp, kernel) = check_conv("ConvTranspose", x, w, &a.window.kernel_shape)?;
    let m = w.shape()[1].checked_mul(a.group);
    let Some(m) = m.filter(|_| w.shape()[0] == c && a.group != 0 && c % a.group == 0) else {
        bail!("ConvTranspose: W has {} input channels, X has {c}, group is {}", w.shape()[0], a.group);
    };
    check_bias("ConvTranspose", b, m)?;
    let rank = sp.len();
    a.window.check(rank, kernel).map_err(|e| op_err!("ConvTranspose: {e}"))?;
    if !a.output_padding.is_empty() && a.output_padding.len() != rank {
        bail!("ConvTranspose: output_padding has {} values for {rank} spatial dims", a.output_padding.len());
    }
    let out_shape = a.output_shape.as_ref().map(|s| if s.len() > rank { &s[s.len() - rank..] } else { s.as_slice() });
    if let Some(s) = out_shape
        && s.len() != rank
    {
        bail!("ConvTranspose: output_shape has {} values for {rank} spatial dims", s.len());
    }
    let mut r = Resolved {
        kernel: kernel.to_vec(),
        strides: (0..rank).map(|i| a.window.stride(i)).collect(),
        dilations: (0..rank).map(|i| a.window.dilation(i)).collect(),
        pads_begin: vec![],
        pads_end: vec![],
        out: vec![],
    };
    for i in 0..rank {
        let op = a.output_padding.get(i).copied().unwrap_or(0);
        let (pb, pe, o) = a
            .window
            .transpose_axis(i, rank, sp[i], kernel[i], op, out_shape.map(|s| s[i]))
            .map_err(|e| op_err!("ConvTranspose: {e}"))?;
        r.pads_begin.push(pb);
        r.pads_end.push(pe);
        r.out.push(o);
    }
    let (s, _) = spatial(sp, &r)?;
    let mut shape = vec![n, m];
    shape.extend(&r.out);
    let ch = Channels { batch: n, in_channels: c, out_channels: m, group: a.group };
    let dtype = x.dtype();
    let (x, w, b) = (upcast(x)?, upcast(w)?, b.map(upcast).transpose()?);
    let y = float_kernel!(dtype, "ConvTranspose", |T| {
        let mut y = buffer::<T>(&shape)?;
        k::conv_transpose(&ch, &s, x.typed::<T>()?, w.typed::<T>()?, opt_typed::<T>(b.as_ref())?, &mut y);
        Tensor::from_vec(shape, y)?
    });
    downcast(y, dtype)
}

/// `DeformConv(X, W, offset, B?, mask?)`, 2-D only.
pub fn deform_conv(a: &DeformConvAttrs, inputs: &Inputs<'_>) -> Result<Tensor, OpError> {
    let (x, w, off) = (inputs.tensor(0)?, inputs.tensor(1)?, inputs.tensor(2)?);
    let (b, mask) = (inputs.opt_tensor(3)?, inputs.opt_tensor(4)?);
    let (n, c, sp, kernel) = check_conv("DeformConv", x, w, &a.window.kernel_shape)?;
    if sp.len() != 2 {
        bail!("DeformConv: only 2-D inputs are supported, got shape {:?}", x.shape());
    }
    let (m, cig) = (w.shape()[0], w.shape()[1]);
    let groups_ok = a.group != 0 && a.offset_group != 0 && a.offset_group <= c.max(1);
    if !groups_ok || cig.checked_mul(a.group) != Some(c) || m % a.group != 0 || c % a.offset_group != 0 {
        bail!(
            "DeformConv: W {:?} does not fit X with {c} channels, group {}, offset_group {}",
            w.shape(),
            a.group,
            a.offset_group
        );
    }
    check_bias("DeformConv", b, m)?;
    let r = resolve(&a.window, sp, kernel)?;
    let kvol = super::super::numel(kernel)?;
    let want = [n, a.offset_group * kvol * 2, r.out[0], r.out[1]];
    if off.shape() != want {
        bail!("DeformConv: offset must have shape {want:?}, got {:?}", off.shape());
    }
    if let Some(mk) = mask {
        let want = [n, a.offset_group * kvol, r.out[0], r.out[1]];
        if mk.shape() != want {
            bail!("DeformConv: mask must have shape {want:?}, got {:?}", mk.shape());
        }
    }
    let (s, _) = spatial(sp, &r)?;
    let shape = vec![n, m, r.out[0], r.out[1]];
    let ch = Channels { batch: n, in_channels: c, out_channels: m, group: a.group };
    let dtype = x.dtype();
    let up = |t: Option<&Tensor>| t.map(upcast).transpose();
    let (x, w, off, b, mask) = (upcast(x)?, upcast(w)?, upcast(off)?, up(b)?, up(mask)?);
    let y = float_kernel!(dtype, "DeformConv", |T| {
        let mut y = buffer::<T>(&shape)?;
        k::deform_conv2d(
            &ch,
            &s,
            a.offset_group,
            x.typed::<T>()?,
            w.typed::<T>()?,
            off.typed::<T>()?,
            opt_typed::<T>(mask.as_ref())?,
            opt_typed::<T>(b.as_ref())?,
            &mut y,
        );
        Tensor::from_vec(shape, y)?
    });
    downcast(y, dtype)
}

fn positive_dims(t: &Tensor, what: &str) -> Result<Vec<usize>, OpError> {
    shape_input(t, what)?
        .iter()
        .map(|&d| {
            usize::try_from(d)
                .ok()
                .filter(|&d| d > 0 && d <= 1 << 24)
                .ok_or_else(|| op_err!("{what} must be in 1..=2^24, got {d}"))
        })
        .collect()
}

/// `Col2Im(input, image_shape, block_shape)`.
pub fn col2im(w: &Window, x: &Tensor, image: &Tensor, block: &Tensor) -> Result<Tensor, OpError> {
    let image = positive_dims(image, "Col2Im: image_shape")?;
    let block = positive_dims(block, "Col2Im: block_shape")?;
    if image.len() != block.len() {
        bail!("Col2Im: image_shape has {} dims but block_shape has {}", image.len(), block.len());
    }
    let &[n, cb, l] = x.shape() else {
        bail!("Col2Im: input must be [N, C * prod(block_shape), L], got {:?}", x.shape());
    };
    let kvol = super::super::numel(&block)?;
    if cb % kvol != 0 {
        bail!("Col2Im: input dim 1 ({cb}) is not a multiple of prod(block_shape) = {kvol}");
    }
    let r = resolve(w, &image, &block)?;
    if r.out.iter().try_fold(1usize, |a, &o| a.checked_mul(o)) != Some(l) {
        bail!("Col2Im: input has {l} blocks but the geometry gives {:?}", r.out);
    }
    let (s, _) = spatial(&image, &r)?;
    let c = cb / kvol;
    let mut shape = vec![n, c];
    shape.extend(&image);
    let dtype = x.dtype();
    let x = upcast(x)?;
    let y = float_kernel!(dtype, "Col2Im", |T| {
        let mut y = buffer::<T>(&shape)?;
        k::col2im(n * c, &s, x.typed::<T>()?, &mut y);
        Tensor::from_vec(shape, y)?
    });
    downcast(y, dtype)
}
