//! A monotonic millisecond clock: `performance.now()` in the browser,
//! `std::time::Instant` natively (so the frame-budget logic is testable).

#[cfg(target_arch = "wasm32")]
pub fn now_ms() -> f64 {
    thread_local! {
        static PERF: Option<web_sys::Performance> = {
            use wasm_bindgen::JsCast;
            js_sys::Reflect::get(&js_sys::global(), &"performance".into())
                .ok()
                .and_then(|p| p.dyn_into::<web_sys::Performance>().ok())
        };
    }
    PERF.with(|p| match p {
        Some(p) => p.now(),
        None => js_sys::Date::now(),
    })
}

#[cfg(not(target_arch = "wasm32"))]
pub fn now_ms() -> f64 {
    use std::sync::OnceLock;
    use std::time::Instant;
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_secs_f64() * 1e3
}
