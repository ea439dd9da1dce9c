use crate::api::auth::{SignIn, SignUp};
use crate::ui::components::{AuthCard, Field, FormError, PortalLayout, SubmitButton};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// Kept beside `MIN_PASSWORD_LEN`'s value; a test checks the two agree.
const PASSWORD_HINT: &str = "At least 10 characters; avoid common words and your email.";

#[component]
pub fn SignUpPage() -> impl IntoView {
    let action = ServerAction::<SignUp>::new();
    let error = Signal::derive(move || action.value().get().and_then(Result::err));
    view! {
        <Title text="Create your account · Billing portal"/>
        <PortalLayout>
            <AuthCard title="Create your account">
                <ActionForm action=action attr:class="space-y-4" attr:novalidate=true>
                    <FormError error/>
                    <Field label="Work email" name="email" kind="email" autocomplete="email"/>
                    <Field label="Password" name="password" kind="password" autocomplete="new-password" hint=PASSWORD_HINT/>
                    <Field label="Organisation name" name="org_name" autocomplete="organization"/>
                    <SubmitButton label="Create account" pending=action.pending().into()/>
                </ActionForm>
                <p class="mt-6 text-center text-sm text-slate-600">
                    "Already have an account? "
                    <a href="/sign-in" class="font-medium text-indigo-600 hover:underline">"Sign in"</a>
                </p>
            </AuthCard>
        </PortalLayout>
    }
}

#[component]
pub fn SignInPage() -> impl IntoView {
    let action = ServerAction::<SignIn>::new();
    let error = Signal::derive(move || action.value().get().and_then(Result::err));
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    view! {
        <Title text="Sign in · Billing portal"/>
        <PortalLayout>
            <AuthCard title="Sign in">
                <ActionForm action=action attr:class="space-y-4" attr:novalidate=true>
                    <FormError error/>
                    <input type="hidden" name="next" value=next/>
                    <Field label="Email" name="email" kind="email" autocomplete="email"/>
                    <Field label="Password" name="password" kind="password" autocomplete="current-password"/>
                    <SubmitButton label="Sign in" pending=action.pending().into()/>
                </ActionForm>
                <p class="mt-6 text-center text-sm text-slate-600">
                    "New here? "
                    <a href="/sign-up" class="font-medium text-indigo-600 hover:underline">"Create an account"</a>
                </p>
            </AuthCard>
        </PortalLayout>
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_password_hint_states_the_minimum() {
        let min = crate::api::auth::MIN_PASSWORD_LEN.to_string();
        assert!(super::PASSWORD_HINT.starts_with(&format!("At least {min} characters")));
    }
}
