//! The rollout engine: from a rollout's reports and metric samples, whether its current stage
//! halts, holds or advances. Pure functions; the caller commits the decision to the database
//! before changing the state in memory.
//!
//! A rate gate (install or gate failures) halts when, with `n` reports and `f` failures,
//! either `n >= min(min_reports, stage devices)` and `f / n` exceeds the threshold, or `f`
//! alone already exceeds the threshold's share of the whole stage (`f / stage devices`), which
//! no later report can undo. So a model that fails on 30% of devices is caught within the
//! first 1% stage of 1,000 devices (10 devices: one failure is 10% of the stage), while a
//! stage of 1,000 devices needs `min_reports` reports before its rate is trusted.
//! The latency and confidence gates compare the check-in metrics of devices on the new model
//! with those still on another (the baseline), once each side has enough samples.

use std::collections::HashMap;

use mote_fleet::api::{Halt, Metrics, Outcome, RolloutState};

use crate::state::{Rollout, stage_size};

/// What to do with a rollout.
#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    Stay,
    Halt(Halt),
    /// To the next stage.
    Advance,
    Complete,
}

/// The median of `v` (0 when empty).
pub fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 { v[m] } else { (v[m - 1] + v[m]) / 2.0 }
}

/// The population stability index between two histograms (each bucket smoothed by half a count
/// so an empty bucket does not make it infinite).
pub fn psi(new: &[u64; 10], base: &[u64; 10]) -> f64 {
    let (tn, tb) = (new.iter().sum::<u64>() as f64, base.iter().sum::<u64>() as f64);
    new.iter()
        .zip(base)
        .map(|(&a, &b)| {
            let p = (a as f64 + 0.5) / (tn + 5.0);
            let q = (b as f64 + 0.5) / (tb + 5.0);
            (p - q) * (p / q).ln()
        })
        .sum()
}

fn hist_sum(samples: &HashMap<String, Metrics>) -> [u64; 10] {
    let mut h = [0u64; 10];
    for m in samples.values() {
        for (a, &b) in h.iter_mut().zip(&m.confidence_hist) {
            *a += u64::from(b);
        }
    }
    h
}

fn halt(gate: &str, what: String, value: f64, threshold: f64, n: u64) -> Decision {
    Decision::Halt(Halt {
        gate: gate.to_string(),
        reason: format!("{what} exceeds {gate} {threshold}"),
        value,
        threshold,
        n,
    })
}

/// Evaluates `r`'s current stage of `stage_devices` devices (of `n_target`) at `now` (ms).
pub fn evaluate(r: &Rollout, n_target: usize, stage_devices: usize, now: i64) -> Decision {
    if r.state != RolloutState::Running {
        return Decision::Stay;
    }
    let g = &r.gates;
    let min_n = g.min_reports.min(stage_devices as u64).max(1);
    let n = r.reports.len() as u64;
    let count = |o: Outcome| r.reports.values().filter(|x| x.outcome == o).count() as u64;
    for (gate, outcome, max, what) in [
        ("max_install_failure_rate", Outcome::InstallFailed, g.max_install_failure_rate, "install failures"),
        ("max_gate_failure_rate", Outcome::GateFailed, g.max_gate_failure_rate, "gate failures"),
    ] {
        let f = count(outcome);
        let rate = f as f64 / n.max(1) as f64;
        if n >= min_n && rate > max {
            return halt(gate, format!("{what} {f} of {n} reports = {:.1}%", 100.0 * rate), rate, max, n);
        }
        let of_stage = f as f64 / stage_devices.max(1) as f64;
        if of_stage > max {
            let w = format!("{what} {f} of the stage's {stage_devices} devices = {:.1}%", 100.0 * of_stage);
            return halt(gate, w, of_stage, max, n);
        }
    }
    let base_min = g.min_reports.clamp(1, 5) as usize;
    if r.new_samples.len() as u64 >= min_n && r.base_samples.len() >= base_min {
        let lat = |s: &HashMap<String, Metrics>| median(s.values().map(|m| m.latency_ms).collect());
        let (new, base) = (lat(&r.new_samples), lat(&r.base_samples));
        let ratio = if base > 0.0 { new / base } else { 1.0 };
        if ratio > g.max_latency_regression {
            let w = format!("median latency {new:.3} ms vs {base:.3} ms on the previous model = x{ratio:.2}");
            return halt("max_latency_regression", w, ratio, g.max_latency_regression, r.new_samples.len() as u64);
        }
        let (hn, hb) = (hist_sum(&r.new_samples), hist_sum(&r.base_samples));
        if hn.iter().sum::<u64>() > 0 && hb.iter().sum::<u64>() > 0 {
            let p = psi(&hn, &hb);
            if p > g.max_confidence_shift {
                let w = format!("top-1 confidence PSI {p:.3} between the new and the previous model");
                return halt("max_confidence_shift", w, p, g.max_confidence_shift, r.new_samples.len() as u64);
            }
        }
    }
    let prev = if r.stage == 0 { 0 } else { stage_size(r.stages[r.stage - 1], n_target) };
    let need = g.min_reports.min(stage_devices.saturating_sub(prev) as u64);
    let good = r.reports.values().filter(|x| x.stage == r.stage && x.outcome == Outcome::Installed).count() as u64;
    let waited = now - r.stage_started >= (g.min_stage_seconds as i64).saturating_mul(1000);
    if good >= need && waited {
        return if r.stage + 1 == r.stages.len() { Decision::Complete } else { Decision::Advance };
    }
    Decision::Stay
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::ReportRec;
    use mote_fleet::api::Gates;

    fn rollout(reports: &[(Outcome, usize)]) -> Rollout {
        Rollout {
            id: 1,
            model: "m".into(),
            version: 2,
            target: "t".into(),
            sha256: String::new(),
            payload_sha256: String::new(),
            stages: vec![1.0, 10.0, 50.0, 100.0],
            gates: Gates::default(),
            state: RolloutState::Running,
            stage: 0,
            stage_started: 0,
            halt: None,
            assigned: HashMap::new(),
            reports: reports
                .iter()
                .enumerate()
                .map(|(i, &(outcome, stage))| (format!("d{i}"), ReportRec { outcome, stage }))
                .collect(),
            new_samples: HashMap::new(),
            base_samples: HashMap::new(),
        }
    }

    #[test]
    fn one_gate_failure_halts_a_stage_of_ten_but_not_one_of_a_thousand() {
        let r = rollout(&[(Outcome::GateFailed, 0)]);
        let Decision::Halt(h) = evaluate(&r, 1000, 10, 0) else { panic!("halts") };
        assert_eq!((h.gate.as_str(), h.value, h.n), ("max_gate_failure_rate", 0.1, 1));
        assert_eq!(evaluate(&r, 1000, 1000, 0), Decision::Stay);
        // 19 good reports and the failure: 5% is not above 5%; a second failure is.
        let mut reports = vec![(Outcome::Installed, 0); 19];
        reports.push((Outcome::GateFailed, 0));
        assert_eq!(evaluate(&rollout(&reports), 1000, 1000, 0), Decision::Stay);
        reports.push((Outcome::InstallFailed, 0));
        reports.push((Outcome::InstallFailed, 0));
        assert!(
            matches!(evaluate(&rollout(&reports), 1000, 1000, 0), Decision::Halt(h) if h.gate == "max_install_failure_rate")
        );
    }

    #[test]
    fn a_stage_advances_after_its_reports_and_its_time() {
        let good = rollout(&[(Outcome::Installed, 0); 10]);
        assert_eq!(evaluate(&good, 1000, 10, 59_999), Decision::Stay, "min_stage_seconds not yet passed");
        assert_eq!(evaluate(&good, 1000, 10, 60_000), Decision::Advance);
        let few = rollout(&[(Outcome::Installed, 0); 9]);
        assert_eq!(evaluate(&few, 1000, 10, 60_000), Decision::Stay, "one device of the stage has not reported");
        let mut last = rollout(&[(Outcome::Installed, 3); 20]);
        last.stage = 3;
        assert_eq!(evaluate(&last, 1000, 1000, 60_000), Decision::Complete);
    }

    #[test]
    fn latency_and_confidence_gates_wait_for_samples() {
        let mut r = rollout(&[]);
        let m = |latency_ms: f64, confidence_hist: [u32; 10]| Metrics { latency_ms, confidence_hist, inferences: 1 };
        let hist = [0, 0, 0, 0, 0, 1, 2, 4, 8, 5];
        for i in 0..5 {
            r.base_samples.insert(format!("b{i}"), m(10.0, hist));
        }
        for i in 0..9 {
            r.new_samples.insert(format!("n{i}"), m(20.0, hist));
        }
        assert_eq!(evaluate(&r, 1000, 10, 0), Decision::Stay, "9 of the stage's 10 devices sent metrics");
        r.new_samples.insert("n9".into(), m(20.0, hist));
        assert!(
            matches!(evaluate(&r, 1000, 10, 0), Decision::Halt(h) if h.gate == "max_latency_regression" && h.value == 2.0)
        );
        for s in r.new_samples.values_mut() {
            *s = m(10.0, [5, 8, 4, 2, 1, 0, 0, 0, 0, 0]);
        }
        assert!(matches!(evaluate(&r, 1000, 10, 0), Decision::Halt(h) if h.gate == "max_confidence_shift"));
    }

    #[test]
    fn psi_is_zero_for_equal_and_large_for_shifted_histograms() {
        let a = [0, 0, 0, 0, 0, 0, 10, 20, 40, 30];
        assert!(psi(&a, &a).abs() < 1e-12);
        let b = [30, 40, 20, 10, 0, 0, 0, 0, 0, 0];
        assert!(psi(&b, &a) > 1.0, "{}", psi(&b, &a));
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(vec![]), 0.0);
    }
}
