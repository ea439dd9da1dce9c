//! `/support/sign-in`: staff sign in with their password and a code.

use super::layout::ConsoleLayout;
use crate::api::support::StaffSignIn;
use crate::ui::components::{AuthCard, Field, FormError, SubmitButton};
use leptos::prelude::*;
use leptos_meta::Title;

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
                    <Field label="Code from your authenticator app" name="code" autocomplete="one-time-code" hint="6 digits; a new one every 30 seconds."/>
                    <SubmitButton label="Sign in to the console" pending=action.pending().into()/>
                </ActionForm>
                <p class="mt-6 text-center text-xs text-slate-500">"Staff accounts and their authenticator secrets are made by an administrator with billing-portal create-staff."</p>
            </AuthCard>
        </ConsoleLayout>
    }
}
