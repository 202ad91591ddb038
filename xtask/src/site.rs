//! The release build of the web app with trunk, into `dist/`.

use std::path::{Path, PathBuf};
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
    build_embed(&dist)?;
    println!(
        "site: release build in {} ({:.0} s)",
        dist.display(),
        util::secs(start)
    );
    Ok(dist)
}

/// `cargo xtask dist`: the release build, then what a host serves and
/// what a reader downloads (gzip, as static hosts compress).
pub fn dist() -> Result {
    let dist = build_release()?;
    let mut files = Vec::new();
    list_files(&dist, &mut files)?;
    files.sort();
    let (mut raw, mut packed) = (0u64, 0u64);
    println!("{:>10} {:>10}  file", "bytes", "gzip");
    for f in &files {
        let bytes = std::fs::read(f)?;
        let gz = gzip_len(&bytes)?;
        raw += bytes.len() as u64;
        packed += gz;
        if bytes.len() > 50_000 {
            let name = f.strip_prefix(&dist).unwrap_or(f).display();
            println!("{:>10} {gz:>10}  {name}", bytes.len());
        }
    }
    println!(
        "{raw:>10} {packed:>10}  in all ({} files; those under 50 kB not listed)",
        files.len()
    );
    println!(
        "dist: {} is the whole site: copy it to any static host (a folder of a \
         web server, GitHub Pages, Netlify, S3); it needs no server code.",
        dist.display()
    );
    Ok(())
}

fn list_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result {
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        if p.is_dir() {
            list_files(&p, out)?;
        } else {
            out.push(p);
        }
    }
    Ok(())
}

fn gzip_len(bytes: &[u8]) -> Result<u64> {
    use std::io::Write;
    let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(bytes)?;
    Ok(z.finish()?.len() as u64)
}

/// The light embed into `dist/embed/`: the `embed` crate's wasm (built for
/// size, bound with `wasm-bindgen --target web`, shrunk by `wasm-opt -Oz`),
/// the `<tailsim-embed>` element, and the lesson and scenario files it
/// fetches (a lesson embed downloads only its own two files).
fn build_embed(dist: &Path) -> Result {
    run(cargo().args([
        "build",
        "--offline",
        "-p",
        "tailsim-embed",
        "--lib",
        "--target",
        "wasm32-unknown-unknown",
        "--profile",
        "release-embed",
    ]))?;
    let wasm = root()
        .join("target/wasm32-unknown-unknown/release-embed")
        .join("tailsim_embed.wasm");
    let out = dist.join("embed");
    if out.exists() {
        std::fs::remove_dir_all(&out)?;
    }
    std::fs::create_dir_all(&out)?;
    run(util::cmd("wasm-bindgen")
        // (weak refs: a run the page drops is freed by the browser's GC)
        .args([
            "--target",
            "web",
            "--no-typescript",
            "--weak-refs",
            "--out-dir",
        ])
        .arg(&out)
        .arg(&wasm))?;
    let bound = out.join("tailsim_embed_bg.wasm");
    // The features Rust's wasm32 target enables by default (wasm-opt must
    // be told; it would otherwise refuse or undo them).
    run(util::cmd("wasm-opt")
        .args(["-Oz", "--strip-debug", "--strip-producers"])
        .args([
            "--enable-bulk-memory",
            "--enable-nontrapping-float-to-int",
            "--enable-sign-ext",
            "--enable-mutable-globals",
            "--enable-reference-types",
            "--enable-multivalue",
        ])
        .arg(&bound)
        .arg("-o")
        .arg(&bound))?;
    std::fs::copy(
        root().join("embed/tailsim-embed.js"),
        out.join("tailsim-embed.js"),
    )?;
    copy_tree(&root().join("assets/lessons"), &out.join("lessons"))?;
    copy_tree(&root().join("assets/scenarios"), &out.join("scenarios"))?;
    Ok(())
}

/// Copies the `.toml` files under `from` to `to`, keeping sub-folders.
fn copy_tree(from: &Path, to: &Path) -> Result {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let p = e?.path();
        let dest = to.join(p.file_name().expect("a directory entry has a name"));
        if p.is_dir() {
            copy_tree(&p, &dest)?;
        } else if p.extension().is_some_and(|x| x == "toml") {
            std::fs::copy(&p, &dest)?;
        }
    }
    Ok(())
}
