//! Entry of the worker bin that Trunk builds from `index.html` (`data-type="worker"`).

#[cfg(target_arch = "wasm32")]
fn main() {
    sightline_worker::start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("the Sightline worker runs only inside a browser; build it with `cargo xtask serve`");
    std::process::exit(2);
}
