use mote_conformance::compare::Tolerance;
fn main() {
    for d in std::env::args().skip(1) {
        let t = std::time::Instant::now();
        let r = mote_conformance::suite::run_test(
            std::path::Path::new(&d),
            Tolerance { atol: 1e-3, rtol: 1e-3, int_steps: 1 },
        );
        println!("{d}: {:?} in {:.2?}", r, t.elapsed());
    }
}
