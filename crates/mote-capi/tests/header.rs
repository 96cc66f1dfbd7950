//! `include/mote.h` is exactly what cbindgen makes of `src/lib.rs` (so the header cannot drift
//! from the functions); `MOTE_UPDATE_HEADER=1` rewrites it.

#[test]
fn the_header_is_what_cbindgen_makes_of_the_source() {
    let dir = env!("CARGO_MANIFEST_DIR");
    let config = cbindgen::Config::from_file(format!("{dir}/cbindgen.toml")).expect("cbindgen.toml");
    let mut made = Vec::new();
    cbindgen::Builder::new()
        .with_src(format!("{dir}/src/lib.rs"))
        .with_config(config)
        .generate()
        .expect("cbindgen")
        .write(&mut made);
    let path = format!("{dir}/include/mote.h");
    if std::env::var_os("MOTE_UPDATE_HEADER").is_some() {
        std::fs::write(&path, &made).expect("write the header");
    }
    let have = std::fs::read(&path).unwrap_or_default();
    assert!(have == made, "{path} is stale: run `MOTE_UPDATE_HEADER=1 cargo test -p mote-capi --test header`");
    let text = String::from_utf8(made).expect("utf-8");
    for f in ["mote_model_load", "mote_set_input", "mote_invoke", "mote_output", "mote_model_free"] {
        assert!(text.contains(f), "{f} missing from the header");
    }
}
