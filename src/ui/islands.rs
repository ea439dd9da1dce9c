//! What the islands share. Pages render on the server; only `#[island]` components ship to the
//! browser and hydrate there, so a page without islands loads no script at all. Every island is
//! `#[island(lazy)]` and the release build splits the wasm (`--split`): a page fetches the shared
//! main wasm and then only its own islands' code. A form inside an island is a plain `<form
//! method="post">` to its server function (see `server::notice` for how its answer comes back);
//! `ActionForm` and `ServerAction` stay on server-rendered parts, which ship nothing.
//!
//! Every page that holds an island calls [`mark`] first thing, while the server renders it (its
//! islands sit inside `Suspense` and render later, after the shell has decided): the shell sends
//! the islands script only to pages that did.

use leptos::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Whether the page being rendered holds an island.
#[derive(Clone, Debug, Default)]
pub struct IslandsOnPage(Arc<AtomicBool>);

impl IslandsOnPage {
    pub fn present(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Records, while the server renders a page, that it holds an island (a no-op in the browser).
pub fn mark() {
    if let Some(flag) = use_context::<IslandsOnPage>() {
        flag.0.store(true, Ordering::Relaxed);
    }
}

/// Preload links for the split files of `island` (its name in snake case, e.g. `"calculator"`),
/// placed in the page's head: the browser fetches them beside the main wasm rather than after it
/// has started and asked for them. Renders nothing without a split build.
#[component]
pub fn PreloadIsland(island: &'static str) -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        use leptos_meta::Link;
        let split = split_files();
        let files = split.islands.get(island).cloned().unwrap_or_default();
        let loader = (!files.is_empty()).then(|| split.loader.clone()).flatten();
        view! {
            {files.into_iter().map(|file| view! {
                <Link rel="preload" href=format!("/pkg/{file}.wasm") as_="fetch" type_="application/wasm" crossorigin="anonymous"/>
            }).collect_view()}
            {loader.map(|js| view! { <Link rel="modulepreload" href=format!("/pkg/{js}")/> })}
        }
    }
    #[cfg(not(feature = "ssr"))]
    {
        let _ = island;
    }
}

/// The split build's files: per island (snake-case name), the wasm files it loads; and the script
/// that loads them.
#[cfg(feature = "ssr")]
#[derive(Debug, Default)]
struct SplitFiles {
    islands: std::collections::HashMap<String, Vec<String>>,
    loader: Option<String>,
}

/// Read once from the manifest the release build wrote (`__wasm_split_manifest.<hash>.json`,
/// named in `hash.txt` beside the server binary).
#[cfg(feature = "ssr")]
fn split_files() -> &'static SplitFiles {
    static FILES: std::sync::OnceLock<SplitFiles> = std::sync::OnceLock::new();
    FILES.get_or_init(|| {
        let Ok(state) = crate::server::state() else {
            return SplitFiles::default();
        };
        let hashes = std::env::current_exe()
            .ok()
            .and_then(|exe| std::fs::read_to_string(exe.parent()?.join("hash.txt")).ok())
            .unwrap_or_default();
        let hash_of = |kind: &str| {
            hashes.lines().find_map(|line| {
                let (k, v) = line.split_once(':')?;
                (k.trim() == kind).then(|| v.trim().to_string())
            })
        };
        let (Some(manifest), Some(split)) = (hash_of("manifest"), hash_of("split")) else {
            return SplitFiles::default();
        };
        let path = std::path::Path::new(state.leptos_options.site_root.as_ref())
            .join(state.leptos_options.site_pkg_dir.as_ref())
            .join(format!("__wasm_split_manifest.{manifest}.json"));
        let Some(loaders) = std::fs::read_to_string(&path)
            .ok()
            .and_then(|text| {
                serde_json::from_str::<std::collections::HashMap<String, Vec<String>>>(&text).ok()
            })
        else {
            tracing::warn!(path = %path.display(), "the split manifest could not be read; islands load without preloads");
            return SplitFiles::default();
        };
        SplitFiles {
            islands: loaders
                .into_iter()
                .filter_map(|(key, files)| Some((key.split_once("_loader_")?.0.to_string(), files)))
                .collect(),
            loader: Some(format!("__wasm_split.{split}.js")),
        }
    })
}
