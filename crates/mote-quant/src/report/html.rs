//! The report as one self-contained HTML page: summary, an inline SVG bar plot of per-tensor
//! SQNR, and the tables. No script and nothing fetched from the network.

use std::fmt::Write;

use super::{EndToEnd, Report};

/// Bars at or above this SQNR are drawn green, below [`POOR_DB`] red, amber between.
const GOOD_DB: f64 = 30.0;
const POOR_DB: f64 = 15.0;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn e2e_row(out: &mut String, what: &str, e: &EndToEnd) {
    let top1 = e.top1_agreement_pct.map_or("–".to_string(), |t| format!("{t:.2}%"));
    let _ = writeln!(
        out,
        "<tr><td>{what}</td><td>{}</td><td>{top1}</td><td>{:.5}</td><td>{:.3}%</td></tr>",
        e.samples, e.max_abs_error, e.rel_rms_error_pct
    );
}

/// SVG bar plot: one bar per tensor in graph order, height = SQNR (exact tensors at the top).
fn plot(r: &Report) -> String {
    let n = r.tensors.len().max(1);
    let top = r.tensors.iter().filter_map(|t| t.sqnr_db).fold(GOOD_DB + 10.0, f64::max).min(120.0);
    let (w, h, left, bottom) = (960.0, 300.0, 44.0, 24.0);
    let bw = (w - left) / n as f64;
    let y = |db: f64| (h - bottom) * (1.0 - (db.clamp(0.0, top) / top));
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"100%\" role=\"img\" aria-label=\"SQNR per tensor\">\n"
    );
    let mut tick = 0.0;
    while tick <= top {
        let _ = writeln!(
            s,
            "<line x1=\"{left}\" x2=\"{w}\" y1=\"{0:.1}\" y2=\"{0:.1}\" stroke=\"#ddd\"/><text x=\"{1}\" y=\"{2:.1}\" font-size=\"10\" text-anchor=\"end\">{tick:.0}</text>",
            y(tick),
            left - 4.0,
            y(tick) + 3.0
        );
        tick += 10.0;
    }
    for (i, t) in r.tensors.iter().enumerate() {
        let db = t.sqnr_db.unwrap_or(top);
        let color = if db >= GOOD_DB {
            "#3a7"
        } else if db >= POOR_DB {
            "#e93"
        } else {
            "#d33"
        };
        let x = left + i as f64 * bw;
        let label = t.sqnr_db.map_or("exact".to_string(), |d| format!("{d:.1} dB"));
        let _ = writeln!(
            s,
            "<rect x=\"{x:.2}\" y=\"{:.2}\" width=\"{:.2}\" height=\"{:.2}\" fill=\"{color}\"><title>{}: {label}, cosine {:.5}</title></rect>",
            y(db),
            (bw * 0.85).max(0.5),
            (h - bottom) - y(db),
            esc(&t.name),
            t.cosine
        );
    }
    let _ = writeln!(
        s,
        "<text x=\"{left}\" y=\"{}\" font-size=\"11\">tensors in graph order (hover a bar for its name) — SQNR dB</text></svg>",
        h - 6.0
    );
    s
}

/// The whole page.
pub fn render(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Mote quantization report: {}</title>\n<style>body{{font-family:system-ui,sans-serif;margin:2em;max-width:1100px}}table{{border-collapse:collapse;font-size:13px}}td,th{{border:1px solid #ccc;padding:2px 8px;text-align:left}}th{{background:#f4f4f4}}.bad{{color:#c22}}</style></head><body>",
        esc(&r.model)
    );
    let _ = writeln!(s, "<h1>Quantization report</h1>\n<p><b>{}</b></p>", esc(&r.model));
    let _ = writeln!(
        s,
        "<p>Method <b>{}</b>, weights {}, {} calibration samples, task {:?}. {} nodes quantized, {} left in f32.</p>",
        esc(&r.method),
        if r.per_channel { "per channel" } else { "per tensor" },
        r.calibration_samples,
        r.task,
        r.quantized_nodes.len(),
        r.float_nodes.len()
    );
    s += "<h2>End to end (QDQ vs f32)</h2>\n<table><tr><th>data</th><th>samples</th><th>top-1 agreement</th><th>max abs error</th><th>relative RMS error</th></tr>\n";
    e2e_row(&mut s, "calibration", &r.calibration);
    if let Some(e) = &r.evaluation {
        e2e_row(&mut s, "evaluation", e);
    }
    s += "</table>\n";
    if let Some(b) = r.accuracy_budget_pct {
        let _ = writeln!(
            s,
            "<h2>Accuracy budget {b}%: {}</h2>",
            if r.budget_met { "met" } else { "<span class=\"bad\">not met</span>" }
        );
        if r.kept_float.is_empty() {
            s += "<p>No layer needed to stay in f32.</p>\n";
        } else {
            s += "<table><tr><th>kept in f32</th><th>op</th><th>SQNR before</th><th>loss after</th></tr>\n";
            for k in &r.kept_float {
                let _ = writeln!(
                    s,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.2}%</td></tr>",
                    esc(&k.node),
                    esc(&k.op),
                    k.sqnr_db.map_or("–".into(), |d| format!("{d:.1} dB")),
                    k.loss_after_pct
                );
            }
            s += "</table>\n";
        }
    }
    s += "<h2>SQNR per quantized tensor</h2>\n";
    s += &plot(r);
    s += "<table><tr><th>#</th><th>tensor</th><th>node</th><th>SQNR dB</th><th>cosine</th><th>scale</th><th>zero point</th></tr>\n";
    for (i, t) in r.tensors.iter().enumerate() {
        let db = t.sqnr_db.map_or("exact".to_string(), |d| format!("{d:.2}"));
        let class = if t.sqnr_db.is_some_and(|d| d < POOR_DB) { " class=\"bad\"" } else { "" };
        let _ = writeln!(
            s,
            "<tr><td>{i}</td><td>{}</td><td>{}</td><td{class}>{db}</td><td>{:.6}</td><td>{:.6e}</td><td>{}</td></tr>",
            esc(&t.name),
            esc(t.owner.as_deref().unwrap_or("(input)")),
            t.cosine,
            t.scale,
            t.zero_point
        );
    }
    s += "</table>\n";
    if !r.float_nodes.is_empty() {
        s += "<h2>Nodes left in f32</h2>\n<p>";
        s += &r.float_nodes.iter().map(|(n, op)| format!("{} ({})", esc(n), esc(op))).collect::<Vec<_>>().join(", ");
        s += "</p>\n";
    }
    s += "</body></html>\n";
    s
}
