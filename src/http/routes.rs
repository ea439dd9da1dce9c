//! The router: pages and server functions (Leptos), plain routes for operations, and the layers
//! every request passes through.

use super::guard;
use crate::app::{shell, App};
use crate::domain::ids::InvoiceId;
use crate::server::AppState;
use axum::extract::State;
use axum::http::{HeaderName, Request, StatusCode};
use axum::routing::get;
use axum::{middleware, Json, Router};
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, AxumRouteListing, LeptosRoutes};
use serde_json::json;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Every plain HTTP route (beside the pages and server functions Leptos mounts): its method and
/// path. The router is built from this table, so it is the list of doors; the authorization
/// matrix test walks it.
pub const HTTP_ROUTES: [(&str, &str); 9] = [
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("POST", "/webhooks/stripe"),
    ("GET", "/billing/invoices/{id}/pdf"),
    ("GET", "/support/audit.csv"),
    ("POST", "/api/v1/usage-events"),
    ("GET", "/api/v1/customers/{id}/entitlements"),
    ("GET", "/api/v1/customers/{id}/usage"),
    ("GET", "/api/v1/openapi.json"),
];

/// The handler of one row of [`HTTP_ROUTES`].
fn handler(method: &str, path: &str) -> axum::routing::MethodRouter<AppState> {
    match (method, path) {
        ("GET", "/healthz") => get(healthz),
        ("GET", "/readyz") => get(readyz),
        ("POST", "/webhooks/stripe") => axum::routing::post(super::webhooks::stripe),
        ("GET", "/billing/invoices/{id}/pdf") => get(invoice_pdf),
        ("GET", "/support/audit.csv") => get(audit_csv),
        ("POST", "/api/v1/usage-events") => super::api_v1::ingest_route(),
        ("GET", "/api/v1/customers/{id}/entitlements") => super::api_v1::entitlements_route(),
        ("GET", "/api/v1/customers/{id}/usage") => super::api_v1::usage_route(),
        ("GET", "/api/v1/openapi.json") => super::api_v1::openapi_route(),
        _ => unreachable!("HTTP_ROUTES lists {method} {path} without a handler"),
    }
}

/// The app's pages, worked out once per process. Working them out renders the app with resource
/// loading switched off for the whole process (a global flag in leptos_server), so a page being
/// served at that moment by another router in the same process (the integration tests run many)
/// could wait forever for a resource; after the first call nothing renders that way again.
pub fn page_routes() -> &'static [AxumRouteListing] {
    static ROUTES: std::sync::OnceLock<Vec<AxumRouteListing>> = std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App))
}

/// Builds the whole application for `state`.
pub fn router(state: AppState) -> Router {
    let routes = page_routes().to_vec();
    let context = {
        let state = state.clone();
        move || provide_context(state.clone())
    };
    let app_shell = {
        let options = state.leptos_options.clone();
        move || shell(options.clone())
    };
    let plain = HTTP_ROUTES
        .iter()
        .fold(Router::new(), |router, (method, path)| {
            router.route(path, handler(method, path))
        });
    plain
        .leptos_routes_with_context(&state, routes, context.clone(), app_shell)
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(context, shell))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            guard::read_only_views,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            guard::same_origin,
        ))
        .layer(middleware::from_fn(super::statuses::server_fn_statuses))
        .layer(middleware::from_fn(security_headers))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
                let request_id = request
                    .headers()
                    .get(&REQUEST_ID)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!(
                    "request",
                    request_id = %request_id,
                    method = %request.method(),
                    path = %request.uri().path(),
                )
            }),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .with_state(state)
}

/// Headers every response carries: no framing (clickjacking), no content sniffing, no full
/// URLs leaked to other sites, and no caching of pages that may show account data. Built assets
/// whose names carry their content's hash are cached for a year; other static files are cached
/// but checked again (by their `ETag`/`Last-Modified`) before each use.
async fn security_headers(
    request: axum::extract::Request,
    next: middleware::Next,
) -> axum::response::Response {
    use axum::http::{header, HeaderValue};
    let path = request.uri().path();
    let cache = if is_hashed_asset(path) {
        "public, max-age=31536000, immutable"
    } else if path.starts_with("/pkg/") || path == "/favicon.svg" {
        "no-cache"
    } else {
        "no-store"
    };
    let mut response = next.run(request).await;
    let status = response.status();
    let headers = response.headers_mut();
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("frame-ancestors 'none'"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if status.is_success() || status == StatusCode::NOT_MODIFIED {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    } else {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Whether `path` is a built asset named after its content (`/pkg/billing-portal.<hash>.wasm`, as
/// a release build with hashed file names writes them): a new build gives it a new name, so the
/// old one never changes and may be kept as long as a browser likes.
fn is_hashed_asset(path: &str) -> bool {
    let Some(name) = path.strip_prefix("/pkg/") else {
        return false;
    };
    let mut parts = name.split('.');
    let (Some(stem), Some(hash), Some(ext), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    !stem.is_empty()
        && matches!(ext, "wasm" | "js" | "css")
        && hash.len() >= 8
        && hash
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Liveness: the process answers.
async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// Readiness: the database answers.
async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<serde_json::Value>) {
    if crate::store::db::ping(&state.db).await {
        (
            StatusCode::OK,
            Json(json!({ "status": "ready", "database": "ok" })),
        )
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "unavailable", "database": "unreachable" })),
        )
    }
}

/// The invoice as a PDF file, for its organisation's signed-in members only.
/// Query of the audit export: the console's audit filters.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct AuditQuery {
    org_id: String,
    actor: String,
    action: String,
    from: String,
    until: String,
}

/// `/support/audit.csv`: every audit entry matching the console's filters, for staff. Amounts are
/// in minor units beside their currency, so a spreadsheet sums them exactly.
async fn audit_csv(
    State(state): State<AppState>,
    axum::extract::Query(q): axum::extract::Query<AuditQuery>,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match crate::server::auth::staff_of(&state, &headers).await {
        Ok(Some(staff)) if crate::services::console::READERS.contains(&staff.role) => {}
        Ok(Some(_)) => return StatusCode::FORBIDDEN.into_response(),
        Ok(None) => return axum::response::Redirect::to("/support/sign-in").into_response(),
        Err(e) => {
            tracing::warn!(error = ?e, "audit export: session lookup failed");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    }
    let (from, until) = match crate::api::console::audit_dates(&q.from, &q.until) {
        Ok(dates) => dates,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    let filter = crate::store::audit::AuditFilter {
        org_id: q.org_id.trim(),
        actor: q.actor.trim(),
        action: q.action.trim(),
        from,
        until,
    };
    let rows = match crate::store::audit::search(&state.db, &filter, i64::MAX).await {
        Ok(rows) => rows,
        Err(e) => {
            tracing::warn!(error = %e, "audit export: database error");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let mut csv = String::from(
        "seq,at_utc,actor,role,action,target,org_id,amount_minor,currency,reason,note,request_id\r\n",
    );
    for r in rows.iter().rev() {
        let at = chrono::DateTime::from_timestamp(r.at, 0)
            .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
            .unwrap_or_default();
        let fields = [
            r.seq.to_string(),
            at,
            r.actor.clone(),
            r.actor_role.clone(),
            r.action.clone(),
            r.target.clone(),
            r.org_id
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            r.amount.map(|a| a.to_string()).unwrap_or_default(),
            r.currency.clone().unwrap_or_default(),
            r.reason_code.clone().unwrap_or_default(),
            r.note.clone(),
            r.request_id.clone().unwrap_or_default(),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        csv.push_str(&line.join(","));
        csv.push_str("\r\n");
    }
    (
        [
            (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                axum::http::header::CONTENT_DISPOSITION,
                "attachment; filename=\"audit-log.csv\"",
            ),
        ],
        csv,
    )
        .into_response()
}

/// One CSV field (RFC 4180), with text that a spreadsheet would run as a formula made inert.
fn csv_field(value: &str) -> String {
    let numeric = value.parse::<i64>().is_ok();
    let value = if !numeric && value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_string()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

async fn invoice_pdf(
    State(state): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<String>,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let customer = match crate::server::auth::customer_of(&state, &headers).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            return axum::response::Redirect::to(&format!("/sign-in?next=/billing/invoices/{id}"))
                .into_response()
        }
        Err(e) => {
            tracing::warn!(error = ?e, "invoice PDF: session lookup failed");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let Ok(id) = InvoiceId::parse(&id) else {
        return (StatusCode::NOT_FOUND, "No such invoice.").into_response();
    };
    let found = crate::store::invoices::find_for_org(&state.db, &customer.org_id, &id).await;
    let (invoice, lines) = match found {
        Ok(Some(found)) => found,
        Ok(None) => return (StatusCode::NOT_FOUND, "No such invoice.").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "invoice PDF: database error");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let view = crate::api::invoices::server::view(customer.org_name.clone(), invoice, lines);
    let date = crate::domain::period::format_date;
    let doc = crate::server::pdf::InvoiceDocument {
        seller: "Billing portal".into(),
        customer: format!("{} ({})", customer.org_name, customer.email),
        number: view.number.clone(),
        status: crate::api::invoices::status_label(view.status).into(),
        issued: date(view.created_at),
        period: format!("{} – {}", date(view.period_start), date(view.period_end)),
        lines: view
            .lines
            .iter()
            .map(|l| crate::server::pdf::DocumentLine {
                description: l.description.clone(),
                explanation: l.explanation.clone(),
                amount: l.amount.clone(),
            })
            .collect(),
        totals: view.totals.clone(),
    };
    let bytes = crate::server::pdf::invoice_pdf(&doc);
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/pdf".to_string(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"invoice-{}.pdf\"", view.number),
            ),
        ],
        bytes,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::is_hashed_asset;

    #[test]
    fn only_built_assets_named_after_their_content_are_immutable() {
        assert!(is_hashed_asset("/pkg/billing-portal.Yq3F0bK2mZ8x.wasm"));
        assert!(is_hashed_asset("/pkg/billing-portal.a1b2c3d4e5f6a7b8.css"));
        assert!(!is_hashed_asset("/pkg/billing-portal.wasm"));
        assert!(!is_hashed_asset("/pkg/billing-portal.short.js"));
        assert!(!is_hashed_asset("/pkg/billing-portal.Yq3F0bK2mZ8x.html"));
        assert!(!is_hashed_asset("/pkg/a.b.Yq3F0bK2mZ8x.js"));
        assert!(!is_hashed_asset("/billing/invoices.Yq3F0bK2mZ8x.css"));
        assert!(!is_hashed_asset("/pkg/.Yq3F0bK2mZ8x.css"));
    }
}
