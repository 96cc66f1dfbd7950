//! Images (PNG, JPEG, BMP) -> model input tensors, by a small declared preprocessing spec.
//!
//! Steps, in order: decode; optional center square crop of a fraction of the short side; optional
//! resize (bilinear, half-pixel centers, no antialiasing); channel order; `x * scale`, then
//! `(x - mean) / std` per channel; layout; dtype.
//!
//! The spec is a comma-separated list, e.g. the EfficientNet-Lite recipe
//! `crop=0.875,size=224x224,channels=rgb,mean=127,std=128,layout=nchw`, or PP-OCR detection's
//! `round=32,channels=gray3,scale=1/255,mean=0.5,std=0.5`.

use std::path::Path;

use anyhow::{Context, Result, bail};
use mote_ir::Tensor;

/// Channel order of the produced tensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channels {
    Rgb,
    Bgr,
    /// One luminance channel.
    Gray,
    /// Luminance replicated into three channels.
    Gray3,
}

/// Axis order of the produced tensor; the `N` layouts add a batch axis of 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    Nchw,
    Nhwc,
    Chw,
    Hwc,
}

/// Element type of the produced tensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PixelType {
    F32,
    /// Raw pixel values 0..=255 (scale/mean/std must be left at their defaults).
    U8,
    /// Pixel values minus 128 (TFLite int8 image models).
    I8,
}

/// How to turn an image into a tensor.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageSpec {
    /// Center square crop of this fraction of the short side, before resizing.
    pub crop: Option<f32>,
    /// Resize to exactly (height, width).
    pub size: Option<(usize, usize)>,
    /// Resize each side up to a multiple of this.
    pub round: Option<usize>,
    pub channels: Channels,
    pub scale: f32,
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
    pub layout: Layout,
    pub dtype: PixelType,
}

impl Default for ImageSpec {
    fn default() -> Self {
        ImageSpec {
            crop: None,
            size: None,
            round: None,
            channels: Channels::Rgb,
            scale: 1.0,
            mean: vec![0.0],
            std: vec![1.0],
            layout: Layout::Nchw,
            dtype: PixelType::F32,
        }
    }
}

impl ImageSpec {
    /// Parses `key=value,...` (keys: crop, size, round, channels, scale, mean, std, layout,
    /// dtype; per-channel lists use `:`, e.g. `mean=0.485:0.456:0.406`).
    pub fn parse(s: &str) -> Result<ImageSpec> {
        let mut spec = ImageSpec::default();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').with_context(|| format!("image spec: `{part}` is not key=value"))?;
            match k {
                "crop" => {
                    spec.crop = Some(
                        number(v)
                            .filter(|f| *f > 0.0 && *f <= 1.0)
                            .with_context(|| format!("crop={v}: expected a fraction in (0, 1]"))?,
                    )
                }
                "size" => {
                    let (h, w) = v.split_once('x').with_context(|| format!("size={v}: expected HxW, e.g. 224x224"))?;
                    spec.size = Some((h.parse().context("size: bad height")?, w.parse().context("size: bad width")?));
                }
                "round" => {
                    spec.round = Some(
                        v.parse()
                            .ok()
                            .filter(|&m: &usize| m > 0)
                            .with_context(|| format!("round={v}: expected a positive integer"))?,
                    )
                }
                "channels" => {
                    spec.channels = match v {
                        "rgb" => Channels::Rgb,
                        "bgr" => Channels::Bgr,
                        "gray" => Channels::Gray,
                        "gray3" => Channels::Gray3,
                        _ => bail!("channels={v}: expected rgb, bgr, gray or gray3"),
                    }
                }
                "scale" => {
                    spec.scale = number(v).with_context(|| format!("scale={v}: expected a number like 1/255"))?
                }
                "mean" => {
                    spec.mean = list(v).with_context(|| format!("mean={v}: expected numbers separated by `:`"))?
                }
                "std" => spec.std = list(v).with_context(|| format!("std={v}: expected numbers separated by `:`"))?,
                "layout" => {
                    spec.layout = match v {
                        "nchw" => Layout::Nchw,
                        "nhwc" => Layout::Nhwc,
                        "chw" => Layout::Chw,
                        "hwc" => Layout::Hwc,
                        _ => bail!("layout={v}: expected nchw, nhwc, chw or hwc"),
                    }
                }
                "dtype" => {
                    spec.dtype = match v {
                        "f32" => PixelType::F32,
                        "u8" => PixelType::U8,
                        "i8" => PixelType::I8,
                        _ => bail!("dtype={v}: expected f32, u8 or i8"),
                    }
                }
                _ => bail!(
                    "image spec: unknown key `{k}` (known: crop, size, round, channels, scale, mean, std, layout, dtype)"
                ),
            }
        }
        if spec.std.contains(&0.0) {
            bail!("image spec: std must not be 0");
        }
        Ok(spec)
    }

    fn channel_count(&self) -> usize {
        if self.channels == Channels::Gray { 1 } else { 3 }
    }
}

fn number(v: &str) -> Option<f32> {
    match v.split_once('/') {
        Some((a, b)) => Some(a.parse::<f32>().ok()? / b.parse::<f32>().ok()?),
        None => v.parse().ok(),
    }
}

fn list(v: &str) -> Option<Vec<f32>> {
    v.split(':').map(number).collect()
}

/// True for file names this module can read.
pub fn is_image(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref(),
        Some("png" | "jpg" | "jpeg" | "bmp")
    )
}

/// Reads and preprocesses an image file.
pub fn read_image(path: &Path, spec: &ImageSpec) -> Result<Tensor> {
    let img = image::open(path).with_context(|| format!("cannot decode image `{}`", path.display()))?.to_rgb8();
    let (w, h) = (img.width() as usize, img.height() as usize);
    let rgb: Vec<f32> = img.into_raw().into_iter().map(f32::from).collect();
    preprocess(&rgb, h, w, spec)
}

/// Preprocesses an RGB image given as `h * w * 3` values in 0..=255.
pub fn preprocess(rgb: &[f32], h: usize, w: usize, spec: &ImageSpec) -> Result<Tensor> {
    if h == 0 || w == 0 || rgb.len() != h * w * 3 {
        bail!("image has {} values, not {h}x{w}x3", rgb.len());
    }
    let (mut img, mut h, mut w) = (rgb.to_vec(), h, w);
    if let Some(f) = spec.crop {
        let side = ((h.min(w) as f32 * f).round() as usize).max(1);
        let (top, left) = ((h - side) / 2, (w - side) / 2);
        img = (0..side)
            .flat_map(|y| img[((top + y) * w + left) * 3..((top + y) * w + left + side) * 3].to_vec())
            .collect();
        h = side;
        w = side;
    }
    let target = match (spec.size, spec.round) {
        (Some(s), _) => Some(s),
        (None, Some(m)) => Some((h.div_ceil(m) * m, w.div_ceil(m) * m)),
        (None, None) => None,
    };
    if let Some((th, tw)) = target
        && (th, tw) != (h, w)
    {
        if th == 0 || tw == 0 {
            bail!("resize target {th}x{tw} is empty");
        }
        img = resize_bilinear(&img, h, w, th, tw);
        h = th;
        w = tw;
    }
    let c = spec.channel_count();
    let mut planes = vec![0f32; c * h * w];
    for p in 0..h * w {
        let (r, g, b) = (img[p * 3], img[p * 3 + 1], img[p * 3 + 2]);
        let gray = 0.299 * r + 0.587 * g + 0.114 * b;
        let px: [f32; 3] = match spec.channels {
            Channels::Rgb => [r, g, b],
            Channels::Bgr => [b, g, r],
            Channels::Gray | Channels::Gray3 => [gray; 3],
        };
        for ch in 0..c {
            planes[ch * h * w + p] = px[ch];
        }
    }
    let shape = match spec.layout {
        Layout::Nchw => vec![1, c, h, w],
        Layout::Nhwc => vec![1, h, w, c],
        Layout::Chw => vec![c, h, w],
        Layout::Hwc => vec![h, w, c],
    };
    let hwc = matches!(spec.layout, Layout::Nhwc | Layout::Hwc);
    let at = |ch: usize, p: usize| if hwc { p * c + ch } else { ch * h * w + p };
    match spec.dtype {
        PixelType::F32 => {
            let mut out = vec![0f32; c * h * w];
            for ch in 0..c {
                let mean = spec.mean.get(ch).or(spec.mean.first()).copied().unwrap_or(0.0);
                let std = spec.std.get(ch).or(spec.std.first()).copied().unwrap_or(1.0);
                for p in 0..h * w {
                    out[at(ch, p)] = (planes[ch * h * w + p] * spec.scale - mean) / std;
                }
            }
            Ok(Tensor::from_vec(shape, out)?)
        }
        PixelType::U8 | PixelType::I8 => {
            let mut q = vec![0i16; c * h * w];
            for ch in 0..c {
                for p in 0..h * w {
                    q[at(ch, p)] = planes[ch * h * w + p].round().clamp(0.0, 255.0) as i16;
                }
            }
            if spec.dtype == PixelType::U8 {
                Ok(Tensor::from_vec(shape, q.into_iter().map(|v| v as u8).collect::<Vec<u8>>())?)
            } else {
                Ok(Tensor::from_vec(shape, q.into_iter().map(|v| (v - 128) as i8).collect::<Vec<i8>>())?)
            }
        }
    }
}

/// Bilinear resize of an `h x w x 3` image with half-pixel centers (as OpenCV's INTER_LINEAR).
fn resize_bilinear(src: &[f32], h: usize, w: usize, th: usize, tw: usize) -> Vec<f32> {
    let mut out = vec![0f32; th * tw * 3];
    let coord = |o: usize, scale: f32, n: usize| {
        let x = ((o as f32 + 0.5) * scale - 0.5).max(0.0);
        let i0 = (x.floor() as usize).min(n - 1);
        let i1 = (i0 + 1).min(n - 1);
        (i0, i1, x - i0 as f32)
    };
    let (sy, sx) = (h as f32 / th as f32, w as f32 / tw as f32);
    for y in 0..th {
        let (y0, y1, fy) = coord(y, sy, h);
        for x in 0..tw {
            let (x0, x1, fx) = coord(x, sx, w);
            for c in 0..3 {
                let p = |yy: usize, xx: usize| src[(yy * w + xx) * 3 + c];
                let top = p(y0, x0) * (1.0 - fx) + p(y0, x1) * fx;
                let bottom = p(y1, x0) * (1.0 - fx) + p(y1, x1) * fx;
                out[(y * tw + x) * 3 + c] = top * (1.0 - fy) + bottom * fy;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_recipes() {
        let s = ImageSpec::parse("crop=0.875,size=224x224,channels=rgb,mean=127,std=128,layout=nchw").unwrap();
        assert_eq!(s.size, Some((224, 224)));
        assert_eq!(s.crop, Some(0.875));
        let s = ImageSpec::parse("round=32,channels=gray3,scale=1/255,mean=0.5,std=0.5").unwrap();
        assert!((s.scale - 1.0 / 255.0).abs() < 1e-9);
        assert!(ImageSpec::parse("size=224").is_err());
        assert!(ImageSpec::parse("colour=rgb").unwrap_err().to_string().contains("unknown key"));
        assert!(ImageSpec::parse("std=0").is_err());
    }

    #[test]
    fn normalizes_and_lays_out() {
        // 1x2 image: a red and a blue pixel.
        let rgb = [255.0, 0.0, 0.0, 0.0, 0.0, 255.0];
        let spec = ImageSpec::parse("scale=1/255,mean=0.5,std=0.5,layout=nchw").unwrap();
        let t = preprocess(&rgb, 1, 2, &spec).unwrap();
        assert_eq!(t.shape(), &[1, 3, 1, 2]);
        assert_eq!(t.typed::<f32>().unwrap(), &[1.0, -1.0, -1.0, -1.0, -1.0, 1.0]);
        let t = preprocess(&rgb, 1, 2, &ImageSpec::parse("layout=hwc,channels=bgr,dtype=i8").unwrap()).unwrap();
        assert_eq!(t.typed::<i8>().unwrap(), &[-128, -128, 127, 127, -128, -128]);
    }

    #[test]
    fn round_and_crop_change_the_size() {
        let rgb = vec![100.0; 5 * 7 * 3];
        let t = preprocess(&rgb, 5, 7, &ImageSpec::parse("round=4,layout=chw").unwrap()).unwrap();
        assert_eq!(t.shape(), &[3, 8, 8]);
        assert!(
            t.typed::<f32>().unwrap().iter().all(|&v| (v - 100.0).abs() < 1e-4),
            "resizing a flat image keeps it flat"
        );
        let t = preprocess(&rgb, 5, 7, &ImageSpec::parse("crop=0.6,layout=hwc,channels=gray").unwrap()).unwrap();
        assert_eq!(t.shape(), &[3, 3, 1]);
    }
}
