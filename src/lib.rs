//! Billing portal and billing engine: a customer portal, a support console and the rules that
//! decide money, in one crate that is server-rendered (`ssr`) and hydrated in the browser
//! (`hydrate`).

// The plan page's island is one deeply nested view type (branches as `Either`s rather than boxed
// `AnyView`s, which would ship an extra async hydration path per branch to the browser); laying
// it out on the server needs more than the default 128 levels.
#![recursion_limit = "256"]

pub mod api;
pub mod app;
pub mod domain;
pub mod error;
pub mod ui;
pub mod wire;

#[cfg(feature = "ssr")]
pub mod http;
#[cfg(feature = "ssr")]
pub mod jobs;
#[cfg(feature = "ssr")]
pub mod payments;
#[cfg(feature = "ssr")]
pub mod server;
#[cfg(feature = "ssr")]
pub mod services;
#[cfg(feature = "ssr")]
pub mod store;

/// Browser entry point, called by the islands script on pages that have islands: sets up the
/// reactive root, after which the script hydrates each `#[island]` on the page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
    // Islands hydrate right after this returns, each in its own microtask; a zero timeout runs
    // after all of them, so browser tests (and anyone curious) can tell when the page is live.
    leptos::prelude::set_timeout(
        || {
            if let Some(body) = leptos::prelude::document().body() {
                let _ = body.set_attribute("data-hydrated", "true");
            }
        },
        std::time::Duration::ZERO,
    );
}
