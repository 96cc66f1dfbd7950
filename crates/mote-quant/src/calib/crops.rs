//! Random square crops of photos, as calibration or evaluation samples.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use mote_data::ImageSpec;
use mote_ir::{Data, Tensor};

use crate::rng::Rng;

/// A decoded photo: `h * w * 3` RGB values in 0..=255.
#[derive(Debug)]
pub struct Photo {
    pub path: PathBuf,
    pub rgb: Vec<f32>,
    pub h: usize,
    pub w: usize,
}

/// One crop: a square of `side` pixels at (`top`, `left`), optionally mirrored.
#[derive(Clone, Debug)]
pub struct Crop {
    pub photo: Arc<Photo>,
    pub top: usize,
    pub left: usize,
    pub side: usize,
    pub flip: bool,
}

/// True for files [`load_photo`] may read.
pub fn is_photo_file(path: &Path) -> bool {
    mote_data::image::is_image(path) || path.extension().is_some_and(|e| e == "npy")
}

/// Reads an image file (PNG, JPEG, BMP) or a `.npy` photo (u8 `HxW` gray or `HxWx3` RGB).
pub fn load_photo(path: &Path) -> Result<Photo> {
    if mote_data::image::is_image(path) {
        // Decode without any preprocessing: HWC RGB in 0..=255.
        let spec = ImageSpec::parse("layout=hwc")?;
        let t = mote_data::read_image(path, &spec)?;
        let (h, w) = (t.shape()[0], t.shape()[1]);
        return Ok(Photo { path: path.to_path_buf(), rgb: t.to_f32_vec()?, h, w });
    }
    let t = mote_data::read_npy(path)?;
    let Data::U8(px) = t.data() else {
        bail!("`{}` is not a photo: crops need u8 pixels (HxW or HxWx3), it holds {}", path.display(), t.dtype());
    };
    let rgb: Vec<f32> = match t.shape() {
        [_, _] => px.iter().flat_map(|&v| [v as f32; 3]).collect(),
        [_, _, 3] => px.iter().map(|&v| v as f32).collect(),
        [_, _, 1] => px.iter().flat_map(|&v| [v as f32; 3]).collect(),
        s => bail!("`{}` is not a photo: crops need HxW or HxWx3 pixels, its shape is {s:?}", path.display()),
    };
    let (h, w) = (t.shape()[0], t.shape()[1]);
    if h == 0 || w == 0 {
        bail!("`{}` is an empty image", path.display());
    }
    Ok(Photo { path: path.to_path_buf(), rgb, h, w })
}

/// `n` random crops of `photos` (each of a random photo; side 40-100% of its short side at a
/// random place; mirrored half of the time), reproducible from `seed`.
pub fn random_crops(photos: &[Arc<Photo>], n: usize, seed: u64) -> Vec<Crop> {
    let mut rng = Rng::new(seed);
    (0..n)
        .filter(|_| !photos.is_empty())
        .map(|_| {
            let photo = photos[rng.range(0, photos.len() - 1)].clone();
            let short = photo.h.min(photo.w);
            let side = ((short as f64 * (0.4 + 0.6 * rng.uniform())).round() as usize).clamp(1, short);
            let top = rng.range(0, photo.h - side);
            let left = rng.range(0, photo.w - side);
            let flip = rng.uniform() < 0.5;
            Crop { photo, top, left, side, flip }
        })
        .collect()
}

impl Crop {
    /// The crop preprocessed by `spec` (its own center crop is not applied: the crop replaces it).
    pub fn tensor(&self, spec: &ImageSpec) -> Result<Tensor> {
        let p = &self.photo;
        let mut rgb = Vec::with_capacity(self.side * self.side * 3);
        for y in self.top..self.top + self.side {
            for x in 0..self.side {
                let sx = if self.flip { self.left + self.side - 1 - x } else { self.left + x };
                let at = (y * p.w + sx) * 3;
                rgb.extend_from_slice(&p.rgb[at..at + 3]);
            }
        }
        let spec = ImageSpec { crop: None, ..spec.clone() };
        mote_data::image::preprocess(&rgb, self.side, self.side, &spec)
            .with_context(|| format!("crop of `{}`", p.path.display()))
    }

    /// Where the crop comes from, for messages.
    pub fn describe(&self) -> String {
        format!(
            "{} [{}x{} at {},{}{}]",
            self.photo.path.display(),
            self.side,
            self.side,
            self.top,
            self.left,
            if self.flip { ", mirrored" } else { "" }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn photo(h: usize, w: usize) -> Arc<Photo> {
        let rgb = (0..h * w * 3).map(|i| (i % 256) as f32).collect();
        Arc::new(Photo { path: "p".into(), rgb, h, w })
    }

    #[test]
    fn crops_fit_and_repeat_with_the_seed() {
        let photos = vec![photo(30, 50), photo(40, 20)];
        let a = random_crops(&photos, 50, 3);
        let b = random_crops(&photos, 50, 3);
        let c = random_crops(&photos, 50, 4);
        assert_eq!(a.len(), 50);
        for k in &a {
            assert!(k.top + k.side <= k.photo.h && k.left + k.side <= k.photo.w);
            assert!(k.side * 10 >= k.photo.h.min(k.photo.w) * 4 - 10);
        }
        let key = |v: &[Crop]| v.iter().map(|k| (k.top, k.left, k.side, k.flip)).collect::<Vec<_>>();
        assert_eq!(key(&a), key(&b));
        assert_ne!(key(&a), key(&c));
        let spec = ImageSpec::parse("size=8x8,layout=nchw").unwrap();
        assert_eq!(a[0].tensor(&spec).unwrap().shape(), &[1, 3, 8, 8]);
    }

    #[test]
    fn mirrored_crop_reverses_rows() {
        let p = photo(4, 4);
        let spec = ImageSpec::parse("layout=hwc").unwrap();
        let plain = Crop { photo: p.clone(), top: 0, left: 0, side: 4, flip: false }.tensor(&spec).unwrap();
        let flip = Crop { photo: p, top: 0, left: 0, side: 4, flip: true }.tensor(&spec).unwrap();
        let (a, b) = (plain.to_f32_vec().unwrap(), flip.to_f32_vec().unwrap());
        assert_eq!(&a[0..3], &b[9..12]);
    }
}
