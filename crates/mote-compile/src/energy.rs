//! An energy estimate per inference from each step's multiply-accumulates and the bytes it
//! moves, with the target profile's coefficients ([`crate::target::Energy`]). An estimate, not
//! a measurement: docs/FOOTPRINT.md gives the coefficients and where they come from.

use mote_format::{Model, OpCode};

use crate::target::{Energy, Profile};

/// One step's estimate.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StepEnergy {
    pub macs: u64,
    /// Whether the MACs are 8-bit integer ones.
    pub int8: bool,
    /// Bytes the step reads and writes (activations and weights).
    pub bytes: u64,
    /// Microjoules.
    pub uj: f64,
}

/// Steps whose products are 8-bit integer ones.
const INT8_OPS: [OpCode; 4] = [OpCode::Q8Conv, OpCode::Q8Sparse, OpCode::QGemm, OpCode::QConv];

/// The estimate for every step of `model` on `profile`'s target.
pub fn estimate(model: &Model<'_>, profile: &Profile) -> Result<Vec<StepEnergy>, String> {
    (0..model.step_count())
        .map(|i| {
            let s = model.step(i).ok_or("a step record is missing")?;
            let macs = mote_rt::exec::step_macs(model, i).map_err(|e| e.to_string())?;
            let ts = (0..s.n_inputs()).filter_map(|k| s.input(k)).chain((0..s.n_outputs()).filter_map(|k| s.output(k)));
            let bytes = ts.filter_map(|t| model.tensor(t)).map(|t| t.nbytes).sum();
            let int8 = INT8_OPS.contains(&s.op);
            Ok(StepEnergy { macs, int8, bytes, uj: uj(&profile.energy, macs, int8, bytes) })
        })
        .collect()
}

fn uj(e: &Energy, macs: u64, int8: bool, bytes: u64) -> f64 {
    let pj = match e {
        Energy::Cycles(c) => {
            let per_mac = if int8 { c.per_mac_i8 } else { c.per_mac_f32 };
            (macs as f64 * per_mac + bytes as f64 * c.per_byte) * c.pj_per_cycle
        }
        Energy::PerOp { pj_per_mac_f32, pj_per_mac_i8, pj_per_byte } => {
            macs as f64 * if int8 { *pj_per_mac_i8 } else { *pj_per_mac_f32 } + bytes as f64 * pj_per_byte
        }
    };
    pj * 1e-6
}

/// The coefficients in words, for reports.
pub fn describe(e: &Energy) -> String {
    match e {
        Energy::Cycles(c) => format!(
            "{} cycles per int8 MAC, {} per f32 MAC, {} per byte moved, {} pJ per cycle",
            c.per_mac_i8, c.per_mac_f32, c.per_byte, c.pj_per_cycle
        ),
        Energy::PerOp { pj_per_mac_f32, pj_per_mac_i8, pj_per_byte } => {
            format!("{pj_per_mac_i8} pJ per int8 MAC, {pj_per_mac_f32} pJ per f32 MAC, {pj_per_byte} pJ per byte moved")
        }
    }
}
