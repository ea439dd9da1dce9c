//! Widgets shared by the portal and the console.

use crate::api::auth::{current_customer, SignOut};
use crate::error::AppError;
use leptos::prelude::*;
use leptos_router::components::A;

/// The customer portal's frame: header with navigation and the signed-in organisation.
#[component]
pub fn PortalLayout(children: Children) -> impl IntoView {
    let session = Resource::new(|| (), |_| current_customer());
    let sign_out = ServerAction::<SignOut>::new();
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                session.await.ok().flatten().and_then(|s| s.viewed_by.map(|staff| view! {
                    <div class="bg-amber-400 px-4 py-2 text-center text-sm font-semibold text-amber-950" role="status" data-testid="viewing-banner">
                        {format!("Viewing as {} ({}), read-only. Signed in to support as {staff}.", s.email, s.org_name)}
                    </div>
                }))
            })}
        </Transition>
        <header class="border-b border-slate-200 bg-white">
            <nav class="mx-auto flex max-w-6xl items-center justify-between gap-4 px-4 py-3 sm:px-6">
                <a href="/" class="flex items-center gap-2 text-lg font-semibold tracking-tight text-slate-900">
                    <span class="inline-block h-6 w-6 rounded-md bg-indigo-600"></span>
                    "Billing portal"
                </a>
                <div class="flex items-center gap-1 text-sm sm:gap-3">
                    <A href="/pricing" attr:class="rounded-md px-3 py-2 font-medium text-slate-600 hover:bg-slate-100 hover:text-slate-900">"Pricing"</A>
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move {
                            match session.await {
                                Ok(Some(s)) => view! {
                                    <A href="/billing" attr:class="rounded-md px-3 py-2 font-medium text-slate-600 hover:bg-slate-100 hover:text-slate-900">"Billing"</A>
                                    <span class="hidden text-slate-500 md:inline" data-testid="nav-org">{s.org_name}</span>
                                    <ActionForm action=sign_out attr:class="inline">
                                        <button type="submit" class="rounded-md border border-slate-300 px-3 py-1.5 font-medium text-slate-700 hover:bg-slate-100">"Sign out"</button>
                                    </ActionForm>
                                }.into_any(),
                                _ => view! {
                                    <A href="/sign-in" attr:class="rounded-md px-3 py-2 font-medium text-slate-600 hover:bg-slate-100 hover:text-slate-900">"Sign in"</A>
                                    <A href="/sign-up" attr:class="rounded-md bg-indigo-600 px-3 py-1.5 font-medium text-white hover:bg-indigo-500">"Start free"</A>
                                }.into_any(),
                            }
                        })}
                    </Transition>
                </div>
            </nav>
        </header>
        <main class="mx-auto max-w-6xl px-4 py-10 sm:px-6">{children()}</main>
    }
}

/// A form field with its label.
#[component]
pub fn Field(
    label: &'static str,
    name: &'static str,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional)] autocomplete: &'static str,
    #[prop(optional)] hint: &'static str,
) -> impl IntoView {
    view! {
        <label class="block">
            <span class="mb-1 block text-sm font-medium text-slate-700">{label}</span>
            <input
                type=kind
                name=name
                autocomplete=autocomplete
                class="block w-full rounded-md border border-slate-300 bg-white px-3 py-2 text-slate-900 shadow-sm focus:border-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-200"
            />
            {(!hint.is_empty()).then(|| view! { <span class="mt-1 block text-xs text-slate-500">{hint}</span> })}
        </label>
    }
}

/// The error of the last submission of a form, if any; works with and without JavaScript.
#[component]
pub fn FormError(error: Signal<Option<AppError>>) -> impl IntoView {
    move || {
        error.get().map(|e| {
            view! {
                <p role="alert" data-testid="form-error" class="rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800">
                    {e.to_string()}
                </p>
            }
        })
    }
}

/// What the last form posted from this page did, as its server function said it (see
/// `server::notice`); rendered on the server only.
#[component]
pub fn Notice() -> impl IntoView {
    #[cfg(feature = "ssr")]
    let message = crate::server::notice::on_this_page();
    #[cfg(not(feature = "ssr"))]
    let message: Option<String> = None;
    message.map(|message| {
        view! {
            <p role="status" data-testid="notice" class="rounded-md border border-emerald-200 bg-emerald-50 px-3 py-2 text-sm text-emerald-900">
                {message}
            </p>
        }
    })
}

/// A primary submit button that shows when its action is running.
#[component]
pub fn SubmitButton(label: &'static str, pending: Signal<bool>) -> impl IntoView {
    view! {
        <button
            type="submit"
            disabled=move || pending.get()
            class="inline-flex w-full items-center justify-center rounded-md bg-indigo-600 px-4 py-2.5 text-sm font-semibold text-white shadow-sm hover:bg-indigo-500 disabled:opacity-60"
        >
            {move || if pending.get() { "Working…" } else { label }}
        </button>
    }
}

/// A centred card for sign-in style pages.
#[component]
pub fn AuthCard(title: &'static str, children: Children) -> impl IntoView {
    view! {
        <div class="mx-auto mt-6 w-full max-w-md rounded-xl border border-slate-200 bg-white p-6 shadow-sm sm:p-8">
            <h1 class="mb-6 text-2xl font-semibold tracking-tight">{title}</h1>
            {children()}
        </div>
    }
}

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <PortalLayout>
            <div class="py-16 text-center">
                <h1 class="text-2xl font-semibold">"Page not found"</h1>
                <p class="mt-2 text-slate-600">"The page you asked for does not exist."</p>
                <a href="/" class="mt-6 inline-block text-indigo-600 hover:underline">"Go to the start page"</a>
            </div>
        </PortalLayout>
    }
}
