//! How calibration files become model inputs: command-line options or a small TOML file.
//!
//! ```toml
//! # calib.toml (paths are relative to this file)
//! files = ["photos/"]
//! image_spec = "crop=0.875,size=224x224,channels=rgb,mean=127,std=128,layout=nchw"
//! crops = 64          # random crops of the photos instead of the files themselves
//! seed = 1
//! wav_chunk = 16000   # samples per model input for .wav files
//! max_samples = 500
//! [inputs.image]      # per-input image spec (multi-input models)
//! image_spec = "size=96x96,layout=nhwc"
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Deserialize;

/// Per-input settings.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct InputConfig {
    /// Image preprocessing for this input (`mote_data::ImageSpec` syntax).
    pub image_spec: Option<String>,
}

/// Everything that says how to read the calibration data.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CalibConfig {
    /// Files and folders of samples.
    #[serde(default)]
    pub files: Vec<PathBuf>,
    /// Image preprocessing for every image input without its own.
    pub image_spec: Option<String>,
    /// Per input name.
    #[serde(default)]
    pub inputs: BTreeMap<String, InputConfig>,
    /// Samples per chunk of a `.wav` file (default: the input's static last dimension).
    pub wav_chunk: Option<usize>,
    /// Take this many random square crops of the photos instead of the photos themselves.
    pub crops: Option<usize>,
    /// Seed of the random crops.
    pub seed: Option<u64>,
    /// Use at most this many samples (the first ones).
    pub max_samples: Option<usize>,
}

impl CalibConfig {
    /// Reads a TOML file; relative `files` are resolved against its folder.
    pub fn load(path: &Path) -> Result<CalibConfig> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read calibration config `{}`", path.display()))?;
        let mut c: CalibConfig =
            toml::from_str(&text).with_context(|| format!("calibration config `{}` is not valid", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        for f in &mut c.files {
            if f.is_relative() {
                *f = base.join(&*f);
            }
        }
        Ok(c)
    }

    /// `other`'s settings where given, `self`'s otherwise (the command line over the file).
    pub fn overlay(mut self, other: CalibConfig) -> CalibConfig {
        self.files.extend(other.files);
        self.image_spec = other.image_spec.or(self.image_spec);
        self.inputs.extend(other.inputs);
        self.wav_chunk = other.wav_chunk.or(self.wav_chunk);
        self.crops = other.crops.or(self.crops);
        self.seed = other.seed.or(self.seed);
        self.max_samples = other.max_samples.or(self.max_samples);
        self
    }

    /// The image spec string for input `name`.
    pub fn image_spec_for(&self, name: &str) -> Option<&str> {
        self.inputs.get(name).and_then(|i| i.image_spec.as_deref()).or(self.image_spec.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_round() {
        let dir = std::env::temp_dir().join(format!("mote-quant-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("calib.toml");
        std::fs::write(
            &p,
            "files = [\"imgs\"]\nimage_spec = \"size=8x8\"\ncrops = 4\n[inputs.b]\nimage_spec = \"size=4x4\"\n",
        )
        .unwrap();
        let c = CalibConfig::load(&p).unwrap();
        assert_eq!(c.files, vec![dir.join("imgs")]);
        assert_eq!(c.crops, Some(4));
        assert_eq!(c.image_spec_for("a"), Some("size=8x8"));
        assert_eq!(c.image_spec_for("b"), Some("size=4x4"));
        let c = c.overlay(CalibConfig { crops: Some(9), ..Default::default() });
        assert_eq!(c.crops, Some(9));
        std::fs::write(&p, "crop = 3\n").unwrap();
        let e = format!("{:#}", CalibConfig::load(&p).unwrap_err());
        assert!(e.contains("calib.toml") && e.contains("crop"), "{e}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
