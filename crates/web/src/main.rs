//! Entry of the app bin that Trunk builds from `index.html`: it only mounts the app.

#[cfg(target_arch = "wasm32")]
fn main() {
    sightline_web::mount();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("the Sightline app runs only in a browser; start it with `cargo xtask serve`");
    std::process::exit(2);
}
