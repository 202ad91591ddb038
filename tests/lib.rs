//! Cross-crate tests live in `cross/` (one test binary of modules); browser
//! end-to-end tests live in `e2e/` (Playwright).
