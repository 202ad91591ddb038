//! The app entry point trunk builds: mounts the live page.
fn main() {
    #[cfg(target_arch = "wasm32")]
    web::start();
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!(
        "tailsim's web front end runs in the browser: build it with `cargo xtask serve` (trunk)."
    );
}
