//! The console's frame: its header, navigation and sign-out.

use leptos::prelude::*;

/// The console's frame: a dark bar that makes it plain this is not the customer portal.
#[component]
pub(super) fn ConsoleLayout(children: Children) -> impl IntoView {
    view! {
        <header class="bg-slate-900 text-white">
            <div class="mx-auto flex max-w-6xl items-center justify-between px-4 py-3 sm:px-6">
                <a href="/support" class="flex items-center gap-2 font-semibold tracking-tight">
                    <span class="inline-block h-5 w-5 rounded bg-amber-400"></span>
                    "Support console"
                </a>
                <nav class="flex items-center gap-4 text-sm">
                    <a href="/support" class="text-slate-200 hover:text-white">"Search"</a>
                    <a href="/support/approvals" class="text-slate-200 hover:text-white">"Approvals"</a>
                    <a href="/support/catalog" class="text-slate-200 hover:text-white">"Catalog"</a>
                    <a href="/support/audit" class="text-slate-200 hover:text-white">"Audit log"</a>
                    <span class="rounded bg-slate-700 px-2 py-0.5 text-xs font-medium uppercase tracking-wide text-slate-200">"Staff only"</span>
                </nav>
            </div>
        </header>
        <main class="mx-auto max-w-6xl px-4 py-10 sm:px-6">{children()}</main>
    }
}

/// The sentence a console page shows when its data cannot be loaded. A refusal also answers 403,
/// so a role that may not see the page is told so by the status too.
pub(super) fn refusal(error: &crate::error::AppError) -> String {
    #[cfg(feature = "ssr")]
    if matches!(error, crate::error::AppError::Forbidden) {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(http::StatusCode::FORBIDDEN);
        }
    }
    error.to_string()
}
