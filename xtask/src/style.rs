//! The house's room sizes, checked: in the engine crate (`sim-core/src`),
//! no file over 800 lines of code (its unit tests aside) and no function
//! over 100 lines. A longer one is usually two things; TIGER_STYLE's limit
//! is about 70 lines, so 100 leaves room for a long `match` and no more.

use std::path::{Path, PathBuf};

use syn::visit::Visit;

use crate::util::{root, Result};

/// Lines a function may span, and a file may hold outside `mod tests`.
pub const MAX_FN_LINES: usize = 100;
pub const MAX_FILE_LINES: usize = 800;

/// Checks every `.rs` file under `sim-core/src`; lists what is too long.
pub fn check() -> Result {
    let mut problems = Vec::new();
    for file in rust_files(&root().join("sim-core/src")) {
        let text = std::fs::read_to_string(&file)
            .map_err(|e| crate::util::Error(format!("{}: {e}", file.display())))?;
        let rel = file
            .strip_prefix(root())
            .unwrap_or(&file)
            .display()
            .to_string();
        problems.extend(check_text(&rel, &text));
    }
    if problems.is_empty() {
        println!("style: sim-core functions <= {MAX_FN_LINES} lines, files <= {MAX_FILE_LINES} lines: ok");
        return Ok(());
    }
    Err(crate::util::Error(format!(
        "room sizes exceeded (split what is two things):\n  {}",
        problems.join("\n  ")
    )))
}

/// The problems of one file's text.
pub fn check_text(path: &str, text: &str) -> Vec<String> {
    let Ok(file) = syn::parse_file(text) else {
        return vec![format!("{path}: does not parse")];
    };
    let mut v = Lengths::default();
    v.visit_file(&file);
    let mut out: Vec<String> = v
        .long
        .into_iter()
        .map(|(name, line, n)| {
            format!("{path}:{line}: fn {name} spans {n} lines (> {MAX_FN_LINES})")
        })
        .collect();
    let code = text.lines().count() - v.test_lines;
    if code > MAX_FILE_LINES {
        out.push(format!(
            "{path}: {code} lines outside its tests (> {MAX_FILE_LINES})"
        ));
    }
    out
}

#[derive(Default)]
struct Lengths {
    long: Vec<(String, usize, usize)>,
    test_lines: usize,
}

impl Lengths {
    fn measure(&mut self, name: &syn::Ident, span: proc_macro2::Span) {
        let (start, end) = (span.start().line, span.end().line);
        let n = end + 1 - start;
        if n > MAX_FN_LINES {
            self.long.push((name.to_string(), start, n));
        }
    }
}

impl<'ast> Visit<'ast> for Lengths {
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        self.measure(&f.sig.ident, syn::spanned::Spanned::span(f));
        syn::visit::visit_item_fn(self, f);
    }
    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        self.measure(&f.sig.ident, syn::spanned::Spanned::span(f));
        syn::visit::visit_impl_item_fn(self, f);
    }
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        let is_test = m.ident == "tests" && m.attrs.iter().any(|a| a.path().is_ident("cfg"));
        if is_test {
            let s = syn::spanned::Spanned::span(m);
            self.test_lines += s.end().line + 1 - s.start().line;
            return;
        }
        syn::visit::visit_item_mod(self, m);
    }
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_functions_and_files_are_named() {
        let body = "    let x = 1;\n".repeat(MAX_FN_LINES);
        let text = format!("fn short() {{}}\nfn long() {{\n{body}}}\n");
        let p = check_text("a.rs", &text);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].starts_with("a.rs:2: fn long spans 102 lines"), "{p:?}");
        // Unit tests do not count toward the file's size.
        let tests = format!(
            "#[cfg(test)]\nmod tests {{\n{}}}\n",
            "fn t() {}\n".repeat(MAX_FILE_LINES)
        );
        assert!(check_text("b.rs", &format!("fn a() {{}}\n{tests}")).is_empty());
        let code = "fn a() {}\n".repeat(MAX_FILE_LINES + 1);
        assert_eq!(check_text("c.rs", &code).len(), 1);
    }
}
