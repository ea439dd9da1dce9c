//! Same-origin check for every state-changing request from a browser.
//!
//! A POST (or PUT, PATCH, DELETE) must carry an `Origin` (or, only when there is none, a
//! `Referer`) whose origin is the configured `PUBLIC_BASE_URL`. The request's `Host` is never
//! trusted for this: a DNS-rebinding page is served from the portal's own address under another
//! name, and its requests carry that name as both `Host` and `Origin`. An opaque `Origin: null`
//! and a browser's `Sec-Fetch-Site: cross-site` are refused outright. Machine-to-machine routes
//! that authenticate otherwise (Stripe webhooks by signature, the REST API by key) are exempt.

use crate::server::AppState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{header, HeaderName, Method, StatusCode};

const EXEMPT_PREFIXES: [&str; 2] = ["/webhooks/", "/api/v1/"];

pub async fn same_origin(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if is_safe_method(request.method())
        || EXEMPT_PREFIXES
            .iter()
            .any(|p| request.uri().path().starts_with(p))
    {
        return next.run(request).await;
    }
    let headers = request.headers();
    let header_text = |name| {
        headers
            .get(name)
            .and_then(|v: &http::HeaderValue| v.to_str().ok())
    };
    let claimed = match header_text(header::ORIGIN) {
        Some(origin) => Some(origin.to_string()),
        None => header_text(header::REFERER).and_then(origin_of),
    };
    let cross_site = header_text(HeaderName::from_static("sec-fetch-site")) == Some("cross-site");
    if !cross_site && origin_allowed(claimed.as_deref(), &state.config.public_base_url) {
        next.run(request).await
    } else {
        tracing::warn!(
            path = %request.uri().path(),
            origin = claimed.as_deref().unwrap_or("-"),
            "cross-origin write refused"
        );
        (
            StatusCode::FORBIDDEN,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            Body::from(format!(
                "This request did not come from the billing portal's own pages, so it was refused. \
                 Open the portal at {} and submit the form again.",
                state.config.public_base_url
            )),
        )
            .into_response()
    }
}

fn is_safe_method(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    (!host.is_empty()).then(|| format!("{scheme}://{host}"))
}

/// Whether a request claiming `origin` may write: only the configured public origin may.
pub fn origin_allowed(origin: Option<&str>, public_base_url: &str) -> bool {
    origin
        .and_then(origin_of)
        .is_some_and(|origin| origin.eq_ignore_ascii_case(public_base_url))
}

/// Server functions a staff member viewing as a customer may call: they only read (and sign out).
pub const VIEW_READS: [&str; 11] = [
    "/api/auth/session",
    "/api/auth/sign-out",
    "/api/billing/overview",
    "/api/billing/plan",
    "/api/billing/invoices",
    "/api/billing/invoice",
    "/api/billing/payment-methods",
    "/api/billing/checkout-status",
    "/api/catalog/plans",
    "/api/members/list",
    "/api/billing/usage",
];

/// A staff member viewing the portal as a customer may look but not change anything: every
/// other server function is refused, whatever it is.
pub async fn read_only_views(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    if is_safe_method(request.method())
        || !path.starts_with("/api/")
        || path.starts_with("/api/support/")
        || VIEW_READS.contains(&path)
    {
        return next.run(request).await;
    }
    let viewer = match crate::server::auth::customer_of(&state, request.headers()).await {
        Ok(Some(session)) => session.viewed_by,
        _ => None,
    };
    match viewer {
        None => next.run(request).await,
        Some(staff) => {
            tracing::warn!(%path, %staff, "write refused in a view-as-customer session");
            (
                StatusCode::FORBIDDEN,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                Body::from(
                    "You are viewing the portal as this customer, read-only: nothing can be changed here. \
                     Act from the support console instead.",
                ),
            )
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_portals_own_origin_may_write() {
        let public = "http://127.0.0.1:3000";
        assert!(origin_allowed(Some("http://127.0.0.1:3000"), public));
        assert!(origin_allowed(
            Some("http://127.0.0.1:3000/billing"),
            public
        ));
        // Another name for the same server (DNS rebinding sends it as Host and Origin alike).
        assert!(!origin_allowed(Some("http://localhost:3000"), public));
        assert!(!origin_allowed(
            Some("http://rebind.attacker.example:3000"),
            public
        ));
        assert!(!origin_allowed(Some("http://evil.example"), public));
        assert!(!origin_allowed(Some("https://127.0.0.1:3000"), public));
        assert!(!origin_allowed(Some("http://127.0.0.1:30000"), public));
        assert!(!origin_allowed(None, public));
        assert!(!origin_allowed(Some("null"), public));
        assert_eq!(
            origin_of("http://127.0.0.1:3000/sign-in?next=/x").as_deref(),
            Some("http://127.0.0.1:3000")
        );
    }
}
