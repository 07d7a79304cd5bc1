//! The CPU convolution paths side by side on the layer shapes of yolov8n / yolo11n at 640×640
//! (bias and SiLU fused, as the executor runs them): the best GEMM-based path (im2col or
//! shifted views) against the AVX-512 direct kernel where the CPU has it. Prints, per layer,
//! the median of interleaved runs of each and their ratio, then criterion's own measurement.

use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use sightline_vision::kernels::{Activation, ConvGeometry, ConvPath, Prepared, conv2d_by};

/// `(name, c_in, c_out, kernel, stride, input side, group)`.
const LAYERS: [(&str, usize, usize, usize, usize, usize, usize); 20] = [
    ("model.0 stem", 3, 16, 3, 2, 640, 1),
    ("model.1", 16, 32, 3, 2, 320, 1),
    ("model.3", 32, 64, 3, 2, 160, 1),
    ("model.5", 64, 128, 3, 2, 80, 1),
    ("model.7", 128, 256, 3, 2, 40, 1),
    ("c2f 16 @160", 16, 16, 3, 1, 160, 1),
    ("c2f 32 @80", 32, 32, 3, 1, 80, 1),
    ("head 64 @80", 64, 64, 3, 1, 80, 1),
    ("head 80 @80", 80, 80, 3, 1, 80, 1),
    ("c2f 128 @20", 128, 128, 3, 1, 20, 1),
    ("head 256>64 @20", 256, 64, 3, 1, 20, 1),
    ("1x1 48>32 @160", 48, 32, 1, 1, 160, 1),
    ("1x1 192>64 @80", 192, 64, 1, 1, 80, 1),
    ("1x1 384>256 @20", 384, 256, 1, 1, 20, 1),
    ("1x1 512>256 @20", 512, 256, 1, 1, 20, 1),
    ("1x1 384>128 @40", 384, 128, 1, 1, 40, 1),
    ("1x1 256>128 @40", 256, 128, 1, 1, 40, 1),
    ("1x1 128>64 @80", 128, 64, 1, 1, 80, 1),
    ("1x1 64>64 @80", 64, 64, 1, 1, 80, 1),
    ("depthwise 64 @80", 64, 64, 3, 1, 80, 64),
];

fn geometry(
    c_in: usize,
    c_out: usize,
    k: usize,
    s: usize,
    side: usize,
    group: usize,
) -> ConvGeometry {
    let pad = k / 2;
    ConvGeometry {
        input: [1, c_in, side, side],
        c_out,
        kernel: [k, k],
        strides: [s, s],
        pads: [pad; 4],
        dilations: [1, 1],
        group,
    }
}

fn values(len: usize) -> Vec<f32> {
    (0..len)
        .map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5)
        .collect()
}

fn median(mut times: Vec<f64>) -> f64 {
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn conv(c: &mut Criterion) {
    let mut group = c.benchmark_group("conv");
    group.sample_size(10);
    group.warm_up_time(std::time::Duration::from_millis(300));
    group.measurement_time(std::time::Duration::from_secs(1));
    // `cargo bench --bench conv -- model.1`: only the layers whose name contains it.
    let filter = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .unwrap_or_default();
    let (mut gemm_total, mut best_total) = (0.0, 0.0);
    for (name, c_in, c_out, k, s, side, groups) in LAYERS {
        if !name.contains(&filter) {
            continue;
        }
        let g = geometry(c_in, c_out, k, s, side, groups);
        let x = values(c_in * side * side);
        let weight = values(c_out * c_in / groups * k * k);
        let bias = values(c_out);
        // The weights repacked once, as a model's node keeps them.
        let prepared = Prepared::new();
        let run = |path: ConvPath| {
            std::hint::black_box(conv2d_by(
                path,
                &x,
                &weight,
                Some(&bias),
                &g,
                Activation::Silu,
                Some(&prepared),
            ))
        };
        let (gemm, best) = (ConvPath::gemm(&g), ConvPath::best(&g));
        let mut times = [Vec::new(), Vec::new()];
        for _ in 0..9 {
            for (slot, path) in times.iter_mut().zip([gemm, best]) {
                let start = Instant::now();
                run(path);
                slot.push(start.elapsed().as_secs_f64() * 1e3);
            }
        }
        let [gemm_ms, best_ms] = times.map(median);
        gemm_total += gemm_ms;
        best_total += best_ms;
        println!(
            "{name:18} {gemm:?} {gemm_ms:7.3} ms   {best:?} {best_ms:7.3} ms   {:.2}× the GEMM path's time",
            best_ms / gemm_ms
        );
        group.bench_function(format!("{name}/{best:?}"), |b| b.iter(|| run(best)));
    }
    println!(
        "all layers: GEMM paths {gemm_total:.2} ms, best paths {best_total:.2} ms ({:.2}×)",
        best_total / gemm_total
    );
    group.finish();
}

criterion_group!(benches, conv);
criterion_main!(benches);
