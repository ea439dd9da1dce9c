use crate::api::auth::{load_sign_up, ConfirmSignUp, SignIn, SignUp, SIGN_UP_LINK_HOURS};
use crate::ui::components::{AuthCard, Field, FormError, PortalLayout, SubmitButton};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

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

/// `/sign-up/sent`: what happens after the sign-up form, the same whoever signed up.
#[component]
pub fn SignUpSentPage() -> impl IntoView {
    view! {
        <Title text="Check your email · Billing portal"/>
        <PortalLayout>
            <AuthCard title="Check your email">
                <p class="text-slate-700" data-testid="sign-up-sent">{format!("We sent a link to the address you gave. Open it to finish creating your account; it works for {SIGN_UP_LINK_HOURS} hours.")}</p>
                <p class="mt-4 text-sm text-slate-600">"Nothing arrived? Check your spam folder, or sign up again to get a new link. If you already have an account, the email says so: "
                    <a href="/sign-in" class="font-medium text-indigo-600 hover:underline">"sign in"</a>"."</p>
            </AuthCard>
        </PortalLayout>
    }
}

/// `/sign-up/confirm/:token`: the emailed link; the button (not the link alone, which mail
/// scanners open) creates the account.
#[component]
pub fn SignUpConfirmPage() -> impl IntoView {
    let params = use_params_map();
    let token = move || params.read().get("token").unwrap_or_default();
    let details = Resource::new(token, load_sign_up);
    let action = ServerAction::<ConfirmSignUp>::new();
    let error = Signal::derive(move || action.value().get().and_then(Result::err));
    view! {
        <Title text="Finish signing up · Billing portal"/>
        <PortalLayout>
            <Suspense fallback=|| view! { <p class="text-slate-500">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match details.await {
                        Err(e) => view! {
                            <AuthCard title="Finish signing up">
                                <p role="alert" class="text-red-700" data-testid="sign-up-link-error">{e.to_string()}</p>
                                <p class="mt-4 text-sm text-slate-600">{format!("Links work once, for {SIGN_UP_LINK_HOURS} hours. ")}
                                    <a href="/sign-up" class="font-medium text-indigo-600 hover:underline">"Sign up again"</a>" to get a new one."</p>
                            </AuthCard>
                        }.into_any(),
                        Ok(d) => view! {
                            <AuthCard title="Finish signing up">
                                <p class="mb-4 text-slate-700" data-testid="sign-up-summary">{format!("Create the account {} and its organisation {}.", d.email, d.org_name)}</p>
                                <ActionForm action=action attr:class="space-y-4">
                                    <FormError error/>
                                    <input type="hidden" name="token" value=token()/>
                                    <SubmitButton label="Create my account" pending=action.pending().into()/>
                                </ActionForm>
                            </AuthCard>
                        }.into_any(),
                    }
                })}
            </Suspense>
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
        let min = crate::domain::access::MIN_PASSWORD_LEN.to_string();
        assert!(super::PASSWORD_HINT.starts_with(&format!("At least {min} characters")));
    }
}
