//! Calibration data: files and folders turned into model input samples.
//!
//! A sample is one set of named model inputs. Sources:
//! - a file for a one-input model: `.npy`, TensorProto `.pb`, an image (PNG, JPEG, BMP; by the
//!   declared image spec), or a 16 kHz mono `.wav` (one sample per chunk);
//! - an `.npz` archive: its arrays named after the inputs (or its only array, one input);
//! - a folder of files: every file is a sample; a folder of folders: every subfolder is a sample
//!   holding `input_<i>.pb` / `<name>.npy` / `<name>.pb` / `<name>.png` per input;
//! - with `crops`, photos (images or u8 `.npy` HxW / HxWx3 arrays) give random square crops.
//!
//! Samples are read when used ([`CalibSet::load`]), so a large set never sits in memory.

pub mod config;
pub mod crops;
mod files;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use mote_data::ImageSpec;
use mote_ir::{Dim, Graph, Value, ValueType};

pub use config::{CalibConfig, InputConfig};
pub use crops::{Crop, Photo};

/// A model input a sample must provide.
#[derive(Clone, Debug)]
pub struct InputInfo {
    pub name: String,
    pub ty: ValueType,
    /// How to read images for this input.
    pub image: Option<ImageSpec>,
}

/// Where one sample comes from.
#[derive(Clone, Debug)]
pub enum Source {
    /// One file for a one-input model.
    File(PathBuf),
    /// An `.npz` archive with an array per input.
    Npz(PathBuf),
    /// A folder with a file per input.
    Dir(PathBuf),
    /// Samples `start..start + len` of a mono `.wav` (zero-padded past its end).
    Wav { path: PathBuf, start: usize, len: usize },
    /// A random crop of a photo.
    Crop(Crop),
}

impl Source {
    /// Where the sample comes from, for messages.
    pub fn describe(&self) -> String {
        match self {
            Source::File(p) | Source::Npz(p) | Source::Dir(p) => p.display().to_string(),
            Source::Wav { path, start, len } => format!("{} [samples {start}..{}]", path.display(), start + len),
            Source::Crop(c) => c.describe(),
        }
    }
}

/// The calibration (or evaluation) samples of a model.
#[derive(Clone, Debug)]
pub struct CalibSet {
    pub inputs: Vec<InputInfo>,
    pub samples: Vec<Source>,
}

impl CalibSet {
    /// Lists the samples of `cfg.files` for the runtime inputs of `graph`.
    pub fn build(graph: &Graph, cfg: &CalibConfig) -> Result<CalibSet> {
        let mut inputs = Vec::new();
        for id in graph.runtime_inputs() {
            let v = graph.value(id);
            let image = match cfg.image_spec_for(&v.name) {
                Some(s) => Some(ImageSpec::parse(s).with_context(|| format!("image spec of input `{}`", v.name))?),
                None => None,
            };
            inputs.push(InputInfo { name: v.name.clone(), ty: v.ty.clone(), image });
        }
        for name in cfg.inputs.keys() {
            if !inputs.iter().any(|i| &i.name == name) {
                let names: Vec<&str> = inputs.iter().map(|i| i.name.as_str()).collect();
                bail!("--input {name}=...: the model has no input `{name}` (its inputs: {})", names.join(", "));
            }
        }
        if inputs.is_empty() {
            bail!("the model has no runtime inputs: there is nothing to calibrate on");
        }
        if cfg.files.is_empty() {
            bail!("no calibration data: give files or folders with --calib");
        }
        let mut set = CalibSet { inputs, samples: Vec::new() };
        match cfg.crops {
            Some(n) => set.add_crops(&cfg.files, n, cfg.seed.unwrap_or(0))?,
            None => {
                for f in &cfg.files {
                    set.add_path(f, cfg)?;
                }
            }
        }
        if let Some(m) = cfg.max_samples {
            set.samples.truncate(m);
        }
        if set.samples.is_empty() {
            bail!("no calibration samples found in {}", list_paths(&cfg.files));
        }
        Ok(set)
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// True when there is no sample.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// Reads sample `i` as named inputs, checked against the declared types.
    pub fn load(&self, i: usize) -> Result<Vec<(String, Value)>> {
        let src = &self.samples[i];
        let values = files::read_sample(&self.inputs, src).with_context(|| format!("sample {}", src.describe()))?;
        for ((name, v), info) in values.iter().zip(&self.inputs) {
            check(info, v).with_context(|| format!("{}: input `{name}`", src.describe()))?;
        }
        Ok(values)
    }

    fn add_path(&mut self, path: &Path, cfg: &CalibConfig) -> Result<()> {
        if path.is_dir() {
            let entries = files::sorted_entries(path)?;
            if entries.iter().any(|e| e.is_dir()) {
                self.samples.extend(entries.into_iter().filter(|e| e.is_dir()).map(Source::Dir));
            } else {
                for e in entries.into_iter().filter(|e| files::is_data_file(e)) {
                    self.add_file(&e, cfg)?;
                }
            }
            return Ok(());
        }
        if !path.exists() {
            bail!("calibration data `{}` does not exist", path.display());
        }
        self.add_file(path, cfg)
    }

    fn add_file(&mut self, path: &Path, cfg: &CalibConfig) -> Result<()> {
        let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).unwrap_or_default();
        if ext == "npz" {
            self.samples.push(Source::Npz(path.to_path_buf()));
            return Ok(());
        }
        if !files::is_data_file(path) {
            bail!("`{}`: calibration files must be .npy, .npz, .pb, .png, .jpg, .bmp or .wav", path.display());
        }
        if self.inputs.len() != 1 {
            bail!(
                "`{}`: the model has {} inputs; give each sample as a folder (input_<i>.pb or <name>.npy per input) or an .npz with an array per input",
                path.display(),
                self.inputs.len()
            );
        }
        if ext == "wav" {
            let chunk = cfg.wav_chunk.or_else(|| last_dim(&self.inputs[0].ty));
            self.samples.extend(files::wav_chunks(path, chunk)?);
            return Ok(());
        }
        if mote_data::image::is_image(path) && self.inputs[0].image.is_none() {
            bail!(
                "`{}` is an image: say how it becomes input `{}` with --image-spec, e.g. crop=0.875,size=224x224,channels=rgb,mean=127,std=128,layout=nchw",
                path.display(),
                self.inputs[0].name
            );
        }
        self.samples.push(Source::File(path.to_path_buf()));
        Ok(())
    }

    fn add_crops(&mut self, paths: &[PathBuf], n: usize, seed: u64) -> Result<()> {
        if self.inputs.len() != 1 || self.inputs[0].image.is_none() {
            bail!("random crops need a one-input image model and an image spec (--image-spec)");
        }
        let mut photos = Vec::new();
        for p in paths {
            let list = if p.is_dir() {
                files::sorted_entries(p)?.into_iter().filter(|e| crops::is_photo_file(e)).collect()
            } else {
                vec![p.clone()]
            };
            for f in list {
                photos.push(Arc::new(crops::load_photo(&f)?));
            }
        }
        if photos.is_empty() {
            bail!("no photos to crop in {}", list_paths(paths));
        }
        self.samples.extend(crops::random_crops(&photos, n, seed).into_iter().map(Source::Crop));
        Ok(())
    }
}

fn list_paths(paths: &[PathBuf]) -> String {
    paths.iter().map(|p| format!("`{}`", p.display())).collect::<Vec<_>>().join(", ")
}

/// The static last dimension of a tensor input.
fn last_dim(ty: &ValueType) -> Option<usize> {
    ty.as_tensor()?.shape.as_ref()?.last()?.known()
}

/// A sample's value must have the input's dtype and known dims.
fn check(info: &InputInfo, v: &Value) -> Result<()> {
    let (Some(tt), Value::Tensor(t)) = (info.ty.as_tensor(), v) else {
        return Ok(());
    };
    if let Some(d) = tt.dtype
        && d != t.dtype()
    {
        bail!("holds {} values but the input is {d} (convert the file, e.g. arr.astype(np.float32))", t.dtype());
    }
    if let Some(shape) = &tt.shape {
        let fits = shape.len() == t.rank()
            && shape.iter().zip(t.shape()).all(|(d, &n)| !matches!(d, Dim::Known(k) if *k != n));
        if !fits {
            bail!("has shape {:?} but the input is {}", t.shape(), info.ty);
        }
    }
    Ok(())
}
