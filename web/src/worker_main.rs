//! The engine's web worker entry point that trunk builds: registers the
//! engine host, which then answers the page's commands off the main thread.
fn main() {
    #[cfg(target_arch = "wasm32")]
    web::transport::register_worker();
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("tailsim's engine worker runs in the browser: build it with `cargo xtask serve`.");
}
