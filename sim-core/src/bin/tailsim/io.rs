//! The CLI's input and output: scenario files or standard input, outputs
//! written whole (a temporary file renamed into place, so an error never
//! leaves half a file), and the progress bar.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sim_core::study::Progress;
use sim_core::{Edit, Format, ScenarioDoc};
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

/// The text of a scenario file, or of standard input for `-`, and the name
/// to show in messages.
pub fn read_scenario(file: &Path) -> Result<(String, String), String> {
    if file == Path::new("-") {
        let text = read_capped(std::io::stdin(), "<stdin>")?;
        return Ok((text, "<stdin>".into()));
    }
    Ok((read_text(file)?, file.display().to_string()))
}

/// The largest scenario or lesson file read: the largest shipped one is a
/// few KB; a bigger file is a mistake (or `/dev/urandom`), refused before
/// parsing.
pub const MAX_FILE_BYTES: u64 = 4 << 20;

/// Reads a text file of at most [`MAX_FILE_BYTES`], refusing a larger one
/// (without reading it all) and naming the byte offset of invalid UTF-8.
pub fn read_text(file: &Path) -> Result<String, String> {
    let name = file.display().to_string();
    let f = std::fs::File::open(file).map_err(|e| format!("cannot read {name}: {e}"))?;
    read_capped(f, &name)
}

fn read_capped(from: impl Read, name: &str) -> Result<String, String> {
    let mut bytes = Vec::new();
    from.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {name}: {e}"))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(format!(
            "{name}: larger than {} MiB: not a scenario file",
            MAX_FILE_BYTES >> 20
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "{name}: not UTF-8 text: invalid byte at offset {}",
            e.utf8_error().valid_up_to()
        )
    })
}

/// The scenario's format: by extension, else sniffed from the text.
pub fn format_of(file: &Path, text: &str) -> Format {
    match file.extension().and_then(|e| e.to_str()) {
        Some("json") => Format::Json,
        Some("toml") => Format::Toml,
        _ => Format::sniff(text),
    }
}

/// Reads a scenario document and applies `--set` overrides.
pub fn load_doc(file: &Path, sets: &[String]) -> Result<(ScenarioDoc, String), String> {
    let (text, name) = read_scenario(file)?;
    let mut doc =
        ScenarioDoc::parse(&text, format_of(file, &text)).map_err(|e| format!("{name}: {e}"))?;
    for s in sets {
        Edit::parse(s)
            .and_then(|edit| doc.apply(&edit))
            .map_err(|e| format!("--set {s:?}: {e}"))?;
    }
    Ok((doc, name))
}

/// Writes `text` to `path` whole: into a temporary file beside it, then
/// renamed over it.
pub fn write_atomic(path: &Path, text: &[u8]) -> Result<(), String> {
    let tmp = temp_beside(path, "");
    let res = std::fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(text).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::rename(&tmp, path));
    res.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("cannot write {}: {e}", path.display())
    })
}

/// `DIR/.NAME.tmp-PID<ext>`: a file beside `path` that a rename can move
/// into place.
pub fn temp_beside(path: &Path, ext: &str) -> PathBuf {
    let name = path
        .file_name()
        .map_or("out".into(), |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(".{name}.tmp-{}{ext}", std::process::id()))
}

/// Writes an output to `--out`, or to standard output.
pub fn emit(out: Option<&Path>, text: &str) -> Result<(), String> {
    match out {
        Some(p) => write_atomic(p, text.as_bytes()),
        None => {
            let mut so = std::io::stdout().lock();
            so.write_all(text.as_bytes())
                .and_then(|()| so.flush())
                .map_err(|e| format!("cannot write to standard output: {e}"))
        }
    }
}

/// A progress bar with an ETA on standard error when it is a terminal;
/// nothing at all when it is not (a pipe, a log file, a batch job).
pub struct Bar(ProgressBar);

impl Bar {
    pub fn new() -> Bar {
        let target = if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(Some(0), target);
        bar.set_style(
            ProgressStyle::with_template(
                "{msg} [{wide_bar}] {pos}/{len} runs, {elapsed} elapsed, ETA {eta}",
            )
            .expect("a valid template")
            .progress_chars("=> "),
        );
        Bar(bar)
    }

    pub fn finish(&self) {
        self.0.finish_and_clear();
    }
}

impl Progress for Bar {
    fn add_total(&self, runs: u64) {
        self.0.inc_length(runs);
    }
    fn finished(&self) {
        self.0.inc(1);
    }
    fn phase(&self, what: &str) {
        self.0.set_message(what.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str, bytes: &[u8]) -> PathBuf {
        let p = std::env::temp_dir().join(format!("tailsim-{}-{name}", std::process::id()));
        std::fs::write(&p, bytes).unwrap();
        p
    }

    #[test]
    fn files_are_size_capped_and_non_utf8_names_the_offset() {
        // One byte over the cap: refused without parsing (reading
        // /dev/urandom stops here too).
        let big = temp("big.toml", &vec![b'#'; MAX_FILE_BYTES as usize + 1]);
        let e = read_text(&big).unwrap_err();
        assert!(e.contains("larger than 4 MiB"), "{e}");
        let bad = temp("bad.toml", b"version = 1\nname = \"\xff\"\n");
        let e = read_text(&bad).unwrap_err();
        assert!(e.contains("invalid byte at offset 20"), "{e}");
        let ok = temp("ok.toml", b"version = 1\n");
        assert_eq!(read_text(&ok).unwrap(), "version = 1\n");
        for p in [big, bad, ok] {
            std::fs::remove_file(p).unwrap();
        }
    }
}
