//! What the islands share. Pages render on the server; only `#[island]` components ship to the
//! browser and hydrate there, so a page without islands loads no script at all.
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

/// The error of a form that was posted without JavaScript, as the server put it in the address
/// it redirected back to; islands hydrate with it so they show what the server rendered.
#[cfg(feature = "hydrate")]
pub fn action_error_in_address() -> Option<leptos::server::ServerActionError> {
    let search = window().location().search().ok()?;
    let params = web_sys::UrlSearchParams::new_with_str(&search).ok()?;
    Some(leptos::server::ServerActionError::new(
        &params.get("__path")?,
        &params.get("__err")?,
    ))
}
