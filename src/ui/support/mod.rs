//! The support console (staff only), at `/support`.

use crate::api::support::{current_staff, StaffSignIn, StaffSignOut};
use crate::ui::components::{AuthCard, Field, FormError, SubmitButton};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;

/// The console's frame: a dark bar that makes it plain this is not the customer portal.
#[component]
fn ConsoleLayout(children: Children) -> impl IntoView {
    view! {
        <header class="bg-slate-900 text-white">
            <div class="mx-auto flex max-w-6xl items-center justify-between px-4 py-3 sm:px-6">
                <a href="/support" class="flex items-center gap-2 font-semibold tracking-tight">
                    <span class="inline-block h-5 w-5 rounded bg-amber-400"></span>
                    "Support console"
                </a>
                <span class="rounded bg-slate-700 px-2 py-0.5 text-xs font-medium uppercase tracking-wide text-slate-200">"Staff only"</span>
            </div>
        </header>
        <main class="mx-auto max-w-6xl px-4 py-10 sm:px-6">{children()}</main>
    }
}

#[component]
pub fn SupportSignInPage() -> impl IntoView {
    let action = ServerAction::<StaffSignIn>::new();
    let error = Signal::derive(move || action.value().get().and_then(Result::err));
    view! {
        <Title text="Staff sign-in · Support console"/>
        <ConsoleLayout>
            <AuthCard title="Staff sign-in">
                <ActionForm action=action attr:class="space-y-4" attr:novalidate=true>
                    <FormError error/>
                    <Field label="Staff email" name="email" kind="email" autocomplete="username"/>
                    <Field label="Password" name="password" kind="password" autocomplete="current-password"/>
                    <SubmitButton label="Sign in to the console" pending=action.pending().into()/>
                </ActionForm>
                <p class="mt-6 text-center text-xs text-slate-500">"Staff accounts are created by an administrator with billing-portal create-staff."</p>
            </AuthCard>
        </ConsoleLayout>
    }
}

#[component]
pub fn SupportHome() -> impl IntoView {
    let staff = Resource::new(|| (), |_| current_staff());
    let sign_out = ServerAction::<StaffSignOut>::new();
    view! {
        <Title text="Support console"/>
        <ConsoleLayout>
            <Suspense fallback=|| view! { <p class="text-slate-500">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match staff.await {
                        Ok(Some(s)) => view! {
                            <div class="flex flex-wrap items-center justify-between gap-4">
                                <div>
                                    <h1 class="text-2xl font-semibold tracking-tight" data-testid="staff-name">{format!("Welcome, {}", s.name)}</h1>
                                    <p class="mt-1 text-slate-600">{format!("{} · {}", s.email, s.role.label())}</p>
                                </div>
                                <ActionForm action=sign_out>
                                    <button type="submit" class="rounded-md border border-slate-300 px-3 py-1.5 text-sm font-medium text-slate-700 hover:bg-slate-100">"Sign out"</button>
                                </ActionForm>
                            </div>
                        }.into_any(),
                        Ok(None) => view! { <Redirect path="/support/sign-in"/> }.into_any(),
                        Err(e) => view! { <p role="alert" class="text-red-700">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </ConsoleLayout>
    }
}
