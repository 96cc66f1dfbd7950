//! Prints each int8 path's output hash next to the reference's; exits 1 on any difference.

fn main() {
    let mut ok = true;
    for (name, fast, reference) in mote_int8_identity::check() {
        let same = fast == reference;
        ok &= same;
        println!(
            "int8 identity {name:12} {fast:016x} reference {reference:016x} {}",
            if same { "ok" } else { "DIFFERENT" }
        );
    }
    if !ok {
        std::process::exit(1);
    }
}
