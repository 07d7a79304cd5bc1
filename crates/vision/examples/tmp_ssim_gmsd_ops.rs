use burn::tensor::{Tensor, Distribution};
use burn::tensor::module::{avg_pool2d, conv2d};
use burn::tensor::ops::{AvgPoolOptions, ConvOptions};
use sightline_vision::ComputeDevice;
fn sync(t: &Tensor<4>) { let _ = t.clone().slice([0..1,0..1,0..1,0..1]).into_data(); }
fn time(name: &str, f: impl Fn() -> Tensor<4>) {
    let mut best = f64::MAX;
    for _ in 0..20 { let t = std::time::Instant::now(); let r = f(); sync(&r); best = best.min(t.elapsed().as_secs_f64()); }
    println!("{name:30} {:.3} ms", best * 1e3);
}
fn main() {
    let dev = ComputeDevice::cpu().unwrap().device;
    let x: Tensor<4> = Tensor::random([1, 3, 512, 512], Distribution::Default, &dev);
    sync(&x);
    time("clone", || x.clone());
    time("slice c0", || x.clone().slice([0..1, 0..1, 0..512, 0..512]));
    time("narrow c1", || x.clone().narrow(1, 1, 1));
    time("mul scalar", || x.clone() * 0.3);
    time("add", || x.clone() + x.clone());
    time("round", || x.clone().round());
    time("mix", || { let c = |i: usize| x.clone().narrow(1, i, 1); c(0) * 0.299 + c(1) * 0.587 + c(2) * 0.114 });
    time("magic round", || (x.clone() * 255.0).add_scalar(12582912.0).sub_scalar(12582912.0));
    time("mix+round", || { let c = |i: usize| x.clone().narrow(1, i, 1); ((c(0) * 0.299 + c(1) * 0.587 + c(2) * 0.114) * 255.0).round() });
    let w4: Tensor<4> = Tensor::ones([1, 1, 2, 2], &dev) * 0.25;
    let xr1 = x.clone().reshape([3, 1, 512, 512]);
    time("avg conv s2", || conv2d(xr1.clone(), w4.clone(), None, ConvOptions::new([2, 2], [0, 0], [1, 1], 1)));
    time("avg conv s2 pad1", || conv2d(xr1.clone(), w4.clone(), None, ConvOptions::new([2, 2], [1, 1], [1, 1], 1)));
    time("avgpool pad1", || avg_pool2d(x.clone(), AvgPoolOptions::new([2, 2]).with_padding([1, 1])));
    time("avgpool", || avg_pool2d(x.clone(), AvgPoolOptions::new([2, 2])));
    let w: Tensor<4> = Tensor::random([1, 3, 1, 1], Distribution::Default, &dev);
    time("conv1x1", || conv2d(x.clone(), w.clone(), None, ConvOptions::new([1, 1], [0, 0], [1, 1], 1)));
    let w: Tensor<4> = Tensor::random([3, 1, 11, 11], Distribution::Default, &dev);
    time("conv11 dw 3ch", || conv2d(x.clone(), w.clone(), None, ConvOptions::new([1, 1], [0, 0], [1, 1], 3)));
    let w1: Tensor<4> = Tensor::random([3, 1, 1, 11], Distribution::Default, &dev);
    let w2: Tensor<4> = Tensor::random([3, 1, 11, 1], Distribution::Default, &dev);
    time("conv sep dw 3ch", || conv2d(conv2d(x.clone(), w1.clone(), None, ConvOptions::new([1, 1], [0, 0], [1, 1], 3)), w2.clone(), None, ConvOptions::new([1, 1], [0, 0], [1, 1], 3)));
    let xr = x.clone().reshape([3, 1, 512, 512]);
    let w: Tensor<4> = Tensor::random([1, 1, 11, 11], Distribution::Default, &dev);
    time("conv11 batch 6x1ch", || conv2d(xr.clone(), w.clone(), None, ConvOptions::new([1, 1], [0, 0], [1, 1], 1)));
    let w1: Tensor<4> = Tensor::random([1, 1, 1, 11], Distribution::Default, &dev);
    let w2: Tensor<4> = Tensor::random([1, 1, 11, 1], Distribution::Default, &dev);
    time("conv sep batch 6x1ch", || conv2d(conv2d(xr.clone(), w1.clone(), None, ConvOptions::new([1, 1], [0, 0], [1, 1], 1)), w2.clone(), None, ConvOptions::new([1, 1], [0, 0], [1, 1], 1)));
}
