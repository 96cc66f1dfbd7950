//! Convolution throughput on efficientnet_lite0's conv layers (batch 1, NCHW, f32, bias +
//! ReLU6 fused), GFLOP/s per distinct layer (2 flops per MAC), and all 49 conv layers of the
//! model run back to back (`effnet_lite0_all_convs`: the conv part of one inference).

#[path = "common/effnet.rs"]
mod effnet;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use effnet::{HEAD, LAYERS, Layer, geometry};
use mote_kernels::fast::{Conv2d, Cpu};

fn name(g: &Conv2d) -> String {
    let kind = if g.is_depthwise() { "dw" } else { "conv" };
    format!(
        "{kind}{}x{}s{}_{}x{}_{}to{}",
        g.kernel[0], g.kernel[1], g.strides[0], g.input[0], g.input[1], g.in_channels, g.out_channels
    )
}

fn bench_layers(c: &mut Criterion) {
    let cpu = Cpu::detect();
    let mut group = c.benchmark_group(format!("conv_{}", cpu.isa().name()));
    for l in LAYERS.iter().chain([&HEAD]) {
        let mut layer = Layer::new(geometry(*l));
        group.throughput(Throughput::Elements(layer.flops()));
        group.bench_function(BenchmarkId::from_parameter(name(&layer.g)), |b| b.iter(|| layer.run(cpu)));
    }
    group.finish();
}

fn bench_model(c: &mut Criterion) {
    for cpu in Cpu::available() {
        let mut layers: Vec<(Layer, usize)> =
            LAYERS.iter().chain([&HEAD]).map(|l| (Layer::new(geometry(*l)), l.8)).collect();
        let flops: u64 = layers.iter().map(|(l, n)| l.flops() * *n as u64).sum();
        let mut group = c.benchmark_group("effnet_lite0_all_convs");
        group.throughput(Throughput::Elements(flops));
        group.bench_function(cpu.isa().name(), |b| {
            b.iter(|| {
                for (layer, count) in layers.iter_mut() {
                    for _ in 0..*count {
                        layer.run(cpu);
                    }
                }
            })
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .measurement_time(std::time::Duration::from_secs(2))
        .warm_up_time(std::time::Duration::from_millis(300));
    targets = bench_model, bench_layers
}
criterion_main!(benches);
