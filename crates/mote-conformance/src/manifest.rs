//! The checked-in expectations: which tests pass, why the others fail, and the few tests whose
//! tolerance differs from the default (with the reason).

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::compare::Tolerance;

/// `expected.tsv`: `test<TAB>pass`, `test<TAB>fail<TAB>reason` or `test<TAB>any<TAB>reason`.
pub const EXPECTED_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/expected.tsv");
/// The same for the compiled path (`--compiled`): compile to `.mote`, run in the runtime.
pub const EXPECTED_COMPILED_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/expected_compiled.tsv");
/// `tolerances.tsv`: `test-name-prefix<TAB>atol<TAB>rtol<TAB>int_steps<TAB>reason`.
pub const TOLERANCES: &str = include_str!("../tolerances.tsv");

/// Expected status of one test.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expected {
    Pass,
    Fail(String),
    /// Run, but either outcome is accepted (results drawn from a random generator), with the
    /// reason.
    Any(String),
}

/// The manifest of an engine.
pub fn expected_path(engine: crate::suite::Engine) -> &'static str {
    match engine {
        crate::suite::Engine::Interp => EXPECTED_PATH,
        crate::suite::Engine::Compiled => EXPECTED_COMPILED_PATH,
    }
}

/// Reads `expected.tsv` (an empty map if it does not exist).
pub fn load_expected() -> Result<BTreeMap<String, Expected>, String> {
    load_expected_from(EXPECTED_PATH)
}

/// Reads a manifest (an empty map if it does not exist).
pub fn load_expected_from(path: &str) -> Result<BTreeMap<String, Expected>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(format!("{path}: {e}")),
    };
    let mut m = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.splitn(3, '\t').collect();
        let e = match cols.as_slice() {
            [name, "pass"] => (name.to_string(), Expected::Pass),
            [name, "fail", reason] if !reason.trim().is_empty() => {
                (name.to_string(), Expected::Fail(reason.to_string()))
            }
            [name, "any", reason] if !reason.trim().is_empty() => (name.to_string(), Expected::Any(reason.to_string())),
            _ => {
                return Err(format!(
                    "{path}:{}: expected `test<TAB>pass`, `test<TAB>fail<TAB>reason` or `test<TAB>any<TAB>reason`",
                    n + 1
                ));
            }
        };
        m.insert(e.0, e.1);
    }
    Ok(m)
}

/// Writes a manifest atomically (temp file + rename).
pub fn save_expected(m: &BTreeMap<String, Expected>, path: &str) -> Result<(), String> {
    let which = if path == EXPECTED_PATH {
        "the reference interpreter"
    } else {
        "the compiled path (compile, then the runtime)"
    };
    let mut s = format!(
        "# Expected conformance results of {which} (mote-conformance).\n\
         # Every failure has a one-line reason; `any` marks tests whose outcome is not checked (random draws).\n\
         # Regenerate with `cargo run -p mote-conformance --release -- [--compiled] --update` (reasons of\n\
         # tests that still fail are kept).\n",
    );
    for (name, e) in m {
        match e {
            Expected::Pass => s.push_str(&format!("{name}\tpass\n")),
            Expected::Fail(r) => s.push_str(&format!("{name}\tfail\t{r}\n")),
            Expected::Any(r) => s.push_str(&format!("{name}\tany\t{r}\n")),
        }
    }
    let tmp = PathBuf::from(format!("{path}.tmp"));
    std::fs::write(&tmp, s).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("{path}: {e}"))
}

/// A one-line manifest reason from a failure message: import failures become the list of
/// unsupported element types or ops; anything else is the message, shortened.
pub fn reason_for(msg: &str) -> String {
    if msg.starts_with("import:") {
        let mut types: Vec<&str> =
            msg.split("element type ").skip(1).filter_map(|rest| rest.split_whitespace().next()).collect();
        types.sort();
        types.dedup();
        if !types.is_empty() {
            return format!("unsupported element type(s): {}", types.join(", "));
        }
        if let Some(ops) = msg.split("unsupported op types: ").nth(1) {
            let ops = ops.split(" | ").next().unwrap_or(ops);
            return format!("unsupported op(s): {ops}");
        }
    }
    let r = msg.replace('\t', " ");
    if r.chars().count() > 160 { format!("{}...", r.chars().take(157).collect::<String>()) } else { r }
}

/// The tolerance for a test: the longest matching prefix in `tolerances.tsv`, else the default.
pub fn tolerance_for(test: &str) -> Tolerance {
    let mut best: Option<(usize, Tolerance)> = None;
    for line in TOLERANCES.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() < 5 || !test.starts_with(cols[0]) {
            continue;
        }
        let (Ok(atol), Ok(rtol), Ok(steps)) = (cols[1].parse(), cols[2].parse(), cols[3].parse()) else {
            continue;
        };
        if best.is_none_or(|(len, _)| cols[0].len() > len) {
            best = Some((cols[0].len(), Tolerance { atol, rtol, int_steps: steps }));
        }
    }
    best.map(|(_, t)| t).unwrap_or(Tolerance::DEFAULT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_summarize_import_failures() {
        let m = "import: `x.onnx` uses 2 unsupported node(s); unsupported op types: Cast, output | - Cast (ai.onnx opset 25): attribute `to`: element type FLOAT8E4M3FN is not supported at node `c` | - output (ai.onnx opset 25): element type FLOAT8E4M3FN is not supported at node `y`";
        assert_eq!(reason_for(m), "unsupported element type(s): FLOAT8E4M3FN");
        let m = "import: `x.onnx` uses 1 unsupported node(s); unsupported op types: ImageDecoder | - ImageDecoder (ai.onnx opset 20) at node `d`";
        assert_eq!(reason_for(m), "unsupported op(s): ImageDecoder");
        assert_eq!(reason_for("run: boom"), "run: boom");
    }

    #[test]
    fn tolerance_file_parses_and_every_line_has_a_reason() {
        for line in TOLERANCES.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
            let cols: Vec<&str> = line.split('\t').collect();
            assert_eq!(cols.len(), 5, "bad line: {line}");
            assert!(
                cols[1].parse::<f64>().is_ok() && cols[2].parse::<f64>().is_ok() && cols[3].parse::<u64>().is_ok(),
                "{line}"
            );
            assert!(cols[4].len() > 10, "reason missing: {line}");
        }
        assert_eq!(tolerance_for("test_definitely_not_listed"), Tolerance::DEFAULT);
    }
}
