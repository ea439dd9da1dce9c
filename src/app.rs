//! The HTML shell and the routes of the customer portal and the support console.

use crate::ui::components::NotFound;
use crate::ui::islands::IslandsOnPage;
use crate::ui::portal::{
    BillingPage, CheckoutSuccessPage, DevMailboxPage, HomePage, InvitationPage, InvoicePage,
    InvoicesPage, MembersPage, PaymentMethodsPage, PlanChangePage, PricingPage, SignInPage,
    SignUpConfirmPage, SignUpPage, SignUpSentPage, UsagePage,
};
use crate::ui::support::{
    ApprovalsPage, AuditPage, CatalogPage, ConfirmPage, CustomerPage, SupportHome,
    SupportSignInPage, UsageEventsPage,
};
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{path, SsrMode};

/// The document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let islands = IslandsOnPage::default();
    provide_context(islands.clone());
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <HashedStylesheet options=options.clone() id="leptos"/>
                <MetaTags/>
            </head>
            <body class="min-h-screen bg-slate-50 text-slate-900 antialiased">
                <App/>
                // Rendered after the page component has run, and each page that holds islands
                // says so first thing: pages without islands get no script.
                {move || islands.present().then(|| view! { <HydrationScripts options=options.clone() islands=true/> })}
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <leptos_meta::Link rel="icon" type_="image/svg+xml" href="/favicon.svg"/>
        <Title text="Billing portal"/>
        // Pages render whole (SsrMode::Async): a sign-in redirect can still set the status, and
        // pages read without JavaScript carry their data in place.
        <Router>
            <Routes fallback=|| view! { <NotFound/> }>
                <Route path=path!("/") view=HomePage ssr=SsrMode::Async/>
                <Route path=path!("/pricing") view=PricingPage ssr=SsrMode::Async/>
                <Route path=path!("/sign-up") view=SignUpPage ssr=SsrMode::Async/>
                <Route path=path!("/sign-up/sent") view=SignUpSentPage ssr=SsrMode::Async/>
                <Route path=path!("/sign-up/confirm/:token") view=SignUpConfirmPage ssr=SsrMode::Async/>
                <Route path=path!("/sign-in") view=SignInPage ssr=SsrMode::Async/>
                <Route path=path!("/billing") view=BillingPage ssr=SsrMode::Async/>
                <Route path=path!("/billing/plan") view=PlanChangePage ssr=SsrMode::Async/>
                <Route path=path!("/billing/members") view=MembersPage ssr=SsrMode::Async/>
                <Route path=path!("/billing/invoices") view=InvoicesPage ssr=SsrMode::Async/>
                <Route path=path!("/billing/usage") view=UsagePage ssr=SsrMode::Async/>
                <Route path=path!("/billing/invoices/:id") view=InvoicePage ssr=SsrMode::Async/>
                <Route path=path!("/billing/payment-methods") view=PaymentMethodsPage ssr=SsrMode::Async/>
                <Route path=path!("/invite/:token") view=InvitationPage ssr=SsrMode::Async/>
                <Route path=path!("/dev/mailbox") view=DevMailboxPage ssr=SsrMode::Async/>
                <Route path=path!("/billing/checkout/success") view=CheckoutSuccessPage ssr=SsrMode::Async/>
                <Route path=path!("/support") view=SupportHome ssr=SsrMode::Async/>
                <Route path=path!("/support/sign-in") view=SupportSignInPage ssr=SsrMode::Async/>
                <Route path=path!("/support/customers/:id") view=CustomerPage ssr=SsrMode::Async/>
                <Route path=path!("/support/customers/:id/usage") view=UsageEventsPage ssr=SsrMode::Async/>
                <Route path=path!("/support/audit") view=AuditPage ssr=SsrMode::Async/>
                <Route path=path!("/support/catalog") view=CatalogPage ssr=SsrMode::Async/>
                <Route path=path!("/support/confirm") view=ConfirmPage ssr=SsrMode::Async/>
                <Route path=path!("/support/approvals") view=ApprovalsPage ssr=SsrMode::Async/>
            </Routes>
        </Router>
    }
}
