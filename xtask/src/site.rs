//! The release build of the web app with trunk, into `dist/`.

use std::path::PathBuf;
use std::time::Instant;

use crate::util::{self, bail, cargo, root, run, Result};

pub fn dist_dir() -> PathBuf {
    root().join("dist")
}

/// `cargo fetch` (trunk runs cargo `--offline`), then `trunk build --release`.
/// Settings (offline mode, cargo profile, dist dir) live in `Trunk.toml`.
/// `wasm-opt` comes from `tests/e2e/node_modules/.bin`, which
/// [`util::prepare_path`] put on `PATH`.
pub fn build_release() -> Result<PathBuf> {
    let start = Instant::now();
    run(cargo().arg("fetch"))?;
    let mut trunk = util::cmd("trunk");
    trunk.args(["build", "--release"]);
    run(&mut trunk)?;
    let dist = dist_dir();
    let has_wasm = std::fs::read_dir(&dist)
        .map(|rd| {
            rd.flatten()
                .any(|e| e.path().extension().is_some_and(|x| x == "wasm"))
        })
        .unwrap_or(false);
    if !dist.join("index.html").is_file() || !has_wasm {
        bail!(
            "trunk finished but {} has no index.html or .wasm file",
            dist.display()
        );
    }
    println!(
        "site: release build in {} ({:.0} s)",
        dist.display(),
        util::secs(start)
    );
    Ok(dist)
}
