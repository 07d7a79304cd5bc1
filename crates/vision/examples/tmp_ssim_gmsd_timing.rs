use sightline_vision::ComputeDevice;
use sightline_vision::quality::{Metric, QualityImage, score};
fn main() {
    let dev = ComputeDevice::cpu().unwrap().device;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/iqa");
    for photo in ["astronaut", "coffee", "chelsea"] {
        let load = |d: &str| QualityImage::from_image(&image::open(format!("{dir}/{photo}_{d}.png")).unwrap().to_rgb8(), &dev).unwrap();
        let (x, y) = (load("blur_s2"), load("ref"));
        for m in std::env::args().skip(1).map(|a| Metric::from_name(&a).unwrap()) {
            score(m, &x, Some(&y)).unwrap();
            let mut v = 0.0;
            let mut best = f64::MAX;
            for _ in 0..15 { let t = std::time::Instant::now(); v = score(m, &x, Some(&y)).unwrap(); best = best.min(t.elapsed().as_secs_f64()); }
            println!("{photo:10} {:8} {v:.8} {:.2} ms", m.name(), best * 1000.0);
        }
    }
}
