//! The layers of `src/`: each top-level module may use only the modules below it, so the import
//! graph has no edge upwards and no circle. Read from the source: every `crate::module` path
//! outside tests and comments.

use std::collections::BTreeSet;
use std::path::Path;

/// Top to bottom.
const LAYERS: [&str; 13] = [
    "http", "app", "ui", "api", "jobs", "services", "server", "payments", "store", "wire",
    "domain", "error", "lib",
];

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The modules a line names as `crate::module`.
fn crate_paths(line: &str) -> Vec<&str> {
    line.match_indices("crate::")
        .filter(|(at, _)| {
            // `billing_portal::` and other crates' paths do not count, only `crate::` itself.
            !line[..*at].ends_with(|c: char| c.is_alphanumeric() || c == '_')
        })
        .map(|(at, _)| {
            let rest = &line[at + "crate::".len()..];
            let end = rest
                .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .collect()
}

#[test]
fn no_module_of_src_uses_one_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let rank = |module: &str| LAYERS.iter().position(|m| *m == module);
    let mut upwards = BTreeSet::new();
    let mut seen = 0;
    for file in &files {
        let relative = file.strip_prefix(&src).unwrap();
        let first = relative
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let module = first.trim_end_matches(".rs").to_string();
        if module == "main" || module == "cli" {
            continue; // the binary: it may use everything
        }
        let from = rank(&module)
            .unwrap_or_else(|| panic!("src/{first} is not in LAYERS: add it where it belongs"));
        let text = std::fs::read_to_string(file).unwrap();
        for (number, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("#[cfg(test)]") {
                break; // test modules close a file and may reach anything
            }
            if line.trim_start().starts_with("//") {
                continue;
            }
            for to in crate_paths(line) {
                seen += 1;
                let Some(to_rank) = rank(to) else { continue };
                if to != module && to_rank < from {
                    upwards.insert(format!(
                        "src/{}:{}: {module} uses {to}",
                        relative.display(),
                        number + 1
                    ));
                }
            }
        }
    }
    assert!(
        seen > 500,
        "only {seen} crate:: paths were read; is src/ where it should be?"
    );
    assert!(
        upwards.is_empty(),
        "these lines use a module above their own:\n{}",
        upwards.into_iter().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn the_path_reader_finds_crate_paths_and_skips_other_crates() {
    assert_eq!(
        crate_paths("use crate::domain::Money; let x = crate::store::lock(db);"),
        ["domain", "store"]
    );
    assert!(crate_paths("use billing_portal::server::AppState;").is_empty());
}
