//! `mote`: the command-line tool. Every subcommand has `--json` for scripts; errors go to stderr
//! with a non-zero exit code.

mod agent_cmd;
mod agent_run;
mod agent_serve;
mod bench;
mod compile_cmd;
mod compiled;
mod convert_cmd;
mod delta_cmd;
mod distill_cmd;
mod fit;
mod fleet_cmd;
mod inspect;
mod inspect_mote;
mod model_file;
mod ops_cmd;
mod pkg_cmd;
mod profile;
mod prune_cmd;
mod qat_cmd;
mod quantize_cmd;
mod run;
mod show;
mod train_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

const ABOUT: &str = "Mote takes trained ML models to the devices where people use them.";

const EXAMPLES: &str = "\
Examples:
  mote inspect model.onnx                      inputs, outputs, ops, parameters, MACs, memory
  mote inspect model.onnx --shape x=1,3,640,640 --json
  mote compile model.onnx -o model.mote        static shapes, fused ops, planned memory
  mote run model.onnx --input x=image.npy      run once, print a summary of each output
  mote run model.mote --input-dir test_data_set_0 --expect test_data_set_0
  mote run model.tflite --input-dir test_data_set_0    .tflite files import directly
  mote run model.onnx --input-dir test_data_set_0 --output-dir out/ --expect test_data_set_0
  mote bench model.mote --runs 50 --json       load time and latency percentiles
  mote profile model.mote                      per-step time, GFLOP/s, memory timeline
  mote ops                                     list the supported ONNX ops
  mote quantize model.onnx --calib data/ -o model.int8.mote   int8 with calibration, report
  mote convert model.tflite -o model.onnx      write a model (.onnx or .tflite) as ONNX
  mote train --arch cnn:16,32 --data X.npy --labels y.npy -o model.onnx   train a classifier
  mote distill --teacher big.onnx --student cnn:8,16 --data X.npy -o small.onnx   distill
  mote prune model.onnx --structured channels --sparsity 0.5 --data X.npy --labels y.npy -o p.onnx
  mote qat model.onnx --data X.npy --labels y.npy --epochs 3 -o model.int8.mote   quantization-aware
  mote keygen -o keys/root1                    an ed25519 key pair for signing packages
  mote pack model.mote --name kws --model-version 3 --target cortex-m4 --root root.meta ... -o kws.motepkg
  mote verify kws.motepkg --root root.meta --name kws --target cortex-m4   as a device checks it
  mote delta kws-2.motepkg kws-3.motepkg -o kws-2-3.motedelta   a tensor-aware update
  mote agent install kws-3.motepkg --store /var/lib/mote --root root.meta --name kws --target x86_64
  mote fleet serve --data fleet/                the update server: packages, devices, staged rollouts

Run `mote <command> --help` for the details of a command.";

#[derive(Parser, Debug)]
#[command(name = "mote", version, about = ABOUT, after_help = EXAMPLES, arg_required_else_help = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    Inspect(inspect::Args),
    Compile(compile_cmd::Args),
    Run(run::Args),
    Bench(bench::Args),
    Profile(profile::Args),
    Ops(ops_cmd::Args),
    Quantize(quantize_cmd::Args),
    Convert(convert_cmd::Args),
    Train(train_cmd::Args),
    Distill(distill_cmd::Args),
    Prune(prune_cmd::Args),
    Qat(qat_cmd::Args),
    Keygen(pkg_cmd::KeygenArgs),
    Sign(pkg_cmd::SignArgs),
    Pack(pkg_cmd::PackArgs),
    Verify(pkg_cmd::VerifyArgs),
    Delta(delta_cmd::Args),
    Agent(agent_cmd::Args),
    Fleet(fleet_cmd::Args),
}

fn main() -> ExitCode {
    restore_sigpipe();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Inspect(a) => inspect::main(a),
        Command::Compile(a) => compile_cmd::main(a),
        Command::Run(a) => run::main(a),
        Command::Bench(a) => bench::main(a),
        Command::Profile(a) => profile::main(a),
        Command::Ops(a) => ops_cmd::main(a),
        Command::Quantize(a) => quantize_cmd::main(a),
        Command::Convert(a) => convert_cmd::main(a),
        Command::Train(a) => train_cmd::main(a),
        Command::Distill(a) => distill_cmd::main(a),
        Command::Prune(a) => prune_cmd::main(a),
        Command::Qat(a) => qat_cmd::main(a),
        Command::Keygen(a) => pkg_cmd::keygen(a),
        Command::Sign(a) => pkg_cmd::sign(a),
        Command::Pack(a) => pkg_cmd::pack(a),
        Command::Verify(a) => pkg_cmd::verify(a),
        Command::Delta(a) => delta_cmd::main(a),
        Command::Agent(a) => agent_cmd::main(a),
        Command::Fleet(a) => fleet_cmd::main(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Lets `mote ... | head` end quietly: Rust ignores SIGPIPE, which turns a closed pipe into a
/// panic on the next print; the default action ends the process like other Unix tools.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any thread exists; SIG_DFL is a valid handler.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
