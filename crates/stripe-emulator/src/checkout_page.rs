//! The hosted checkout page at each session's `url`: plain server-rendered HTML forms (no
//! JavaScript), so it works in any browser and in end-to-end tests.
//!
//! - `GET /checkout/{id}`: line items, amount due, card fields, Pay (or Save card) button.
//! - `POST /checkout/{id}/pay` (`card_number`, `expiry`, `cvc`): completes and redirects (303)
//!   to the success URL, shows the decline on the page, or shows the 3-D Secure step.
//! - `POST /checkout/{id}/authenticate` (`outcome=complete|fail`): the 3-D Secure step.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use super::checkout::{authenticate, pay, PayOutcome};
use super::money::format_amount;
use super::state::{CheckoutSession, SessionMode};
use super::EmulatorState;

pub(super) fn routes() -> Router<EmulatorState> {
    Router::new()
        .route("/checkout/{id}", get(show))
        .route("/checkout/{id}/pay", post(submit_payment))
        .route("/checkout/{id}/authenticate", post(submit_authentication))
}

async fn show(State(state): State<EmulatorState>, Path(id): Path<String>) -> Response {
    let session = state.read(|store| store.sessions.get(&id).cloned());
    match session {
        None => notice(
            StatusCode::NOT_FOUND,
            "Checkout not found",
            "This checkout link is not valid.",
            None,
        ),
        Some(session) => match session.status {
            super::state::SessionStatus::Complete => already_complete(&session),
            super::state::SessionStatus::Expired => expired(&session),
            super::state::SessionStatus::Open if session.expires_at <= super::state::now() => {
                expired(&session)
            }
            super::state::SessionStatus::Open if session.pending_authentication.is_some() => {
                authentication_page(&session)
            }
            super::state::SessionStatus::Open => payment_page(&session, None, "").into_response(),
        },
    }
}

/// The hosted page's forms are posted from the page itself: a post from another origin (a page
/// elsewhere submitting a form here) is refused.
fn from_the_page(state: &EmulatorState, headers: &axum::http::HeaderMap) -> Option<Response> {
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    match origin {
        Some(origin) if !origin.eq_ignore_ascii_case(state.page_origin()) => Some(notice(
            StatusCode::FORBIDDEN,
            "Not from this page",
            "This form can only be submitted from the checkout page itself. Open the checkout link again.",
            None,
        )),
        _ => None,
    }
}

async fn submit_payment(
    State(state): State<EmulatorState>,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(refused) = from_the_page(&state, &headers) {
        return refused;
    }
    let fields: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let card_number = fields.get("card_number").map(String::as_str).unwrap_or("");
    let expiry = fields.get("expiry").map(String::as_str).unwrap_or("");
    let outcome = state.write(None, |store| pay(store, &id, card_number, expiry));
    respond(&state, &id, outcome, card_number)
}

async fn submit_authentication(
    State(state): State<EmulatorState>,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(refused) = from_the_page(&state, &headers) {
        return refused;
    }
    let fields: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let approved = fields.get("outcome").map(String::as_str) == Some("complete");
    let outcome = state.write(None, |store| authenticate(store, &id, approved));
    respond(&state, &id, outcome, "")
}

fn respond(state: &EmulatorState, id: &str, outcome: PayOutcome, card_number: &str) -> Response {
    let session = state.read(|store| store.sessions.get(id).cloned());
    let Some(session) = session else {
        return notice(
            StatusCode::NOT_FOUND,
            "Checkout not found",
            "This checkout link is not valid.",
            None,
        );
    };
    match outcome {
        PayOutcome::Completed {
            redirect_url: Some(url),
        } => (StatusCode::SEE_OTHER, [(header::LOCATION, url)]).into_response(),
        PayOutcome::Completed { redirect_url: None } => notice(
            StatusCode::OK,
            "Thanks for your order",
            if session.mode == SessionMode::Setup {
                "Your card has been saved."
            } else {
                "Your payment was successful."
            },
            None,
        ),
        PayOutcome::Declined { message } => (
            StatusCode::PAYMENT_REQUIRED,
            payment_page(&session, Some(&message), card_number),
        )
            .into_response(),
        PayOutcome::AuthenticationRequired => authentication_page(&session),
        PayOutcome::AlreadyComplete => already_complete(&session),
        PayOutcome::Expired => expired(&session),
        PayOutcome::NotFound => notice(
            StatusCode::NOT_FOUND,
            "Checkout not found",
            "This checkout link is not valid.",
            None,
        ),
    }
}

fn already_complete(session: &CheckoutSession) -> Response {
    let back = session
        .success_url
        .as_ref()
        .map(|url| url.replace("{CHECKOUT_SESSION_ID}", &session.id));
    notice(
        StatusCode::OK,
        "This checkout is already complete",
        "Nothing more to pay: this checkout is already complete and will not be charged again.",
        back.as_deref().map(|url| (url, "Continue")),
    )
}

fn expired(session: &CheckoutSession) -> Response {
    notice(
        StatusCode::GONE,
        "This checkout has expired",
        "The time to complete this checkout is over. Go back and start again.",
        session.cancel_url.as_deref().map(|url| (url, "Go back")),
    )
}

/// Escapes text for HTML content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
*{box-sizing:border-box}body{margin:0;font-family:-apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;background:#f6f9fc;color:#1a1f36}
.wrap{max-width:920px;margin:0 auto;padding:48px 24px;display:flex;gap:48px;flex-wrap:wrap}
.summary{flex:1 1 320px}.pay{flex:1 1 360px;background:#fff;border-radius:12px;box-shadow:0 2px 12px rgba(50,50,93,.12);padding:32px}
.badge{display:inline-block;font-size:12px;font-weight:600;background:#ffde92;color:#7a4b00;border-radius:4px;padding:2px 8px;margin-bottom:16px}
.due{font-size:36px;font-weight:700;margin:8px 0 24px}.muted{color:#697386;font-size:14px}
table{width:100%;border-collapse:collapse}td{padding:10px 0;border-bottom:1px solid #e3e8ee;font-size:14px}td.amt{text-align:right;white-space:nowrap}
tr.total td{font-weight:600;border-bottom:none}
label{display:block;font-size:13px;font-weight:500;color:#3c4257;margin:16px 0 6px}
input{width:100%;font-size:16px;padding:10px 12px;border:1px solid #cfd7df;border-radius:6px}
input:focus{outline:2px solid #635bff;border-color:#635bff}.row{display:flex;gap:12px}.row>div{flex:1}
button{width:100%;margin-top:24px;font-size:16px;font-weight:600;color:#fff;background:#635bff;border:0;border-radius:6px;padding:12px;cursor:pointer}
button.secondary{background:#fff;color:#c0123c;border:1px solid #c0123c;margin-top:12px}
.error{background:#fff0f0;color:#c0123c;border:1px solid #f5c2c7;border-radius:6px;padding:10px 12px;margin-top:16px;font-size:14px}
a{color:#635bff;text-decoration:none;font-size:14px}.back{display:inline-block;margin-top:24px}
.hint{font-size:12px;color:#8792a2;margin-top:16px;line-height:1.6}
"#;

fn layout(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{title}</title><style>{STYLE}</style></head><body>{body}</body></html>",
        title = escape(title),
    )
}

fn payment_page(session: &CheckoutSession, error: Option<&str>, card_number: &str) -> Html<String> {
    let currency = session.currency.clone().unwrap_or_else(|| "usd".into());
    let setup = session.mode == SessionMode::Setup;
    let mut summary = String::from("<span class=\"badge\">TEST MODE</span>");
    if setup {
        summary.push_str("<h1>Save your card</h1><p class=\"muted\">Your card will be saved for future payments. You will not be charged now.</p>");
    } else {
        let total = format_amount(session.amount_total(), &currency);
        summary.push_str(&format!(
            "<div class=\"muted\">Amount due</div><div class=\"due\" id=\"amount-due\">{}</div>",
            escape(&total)
        ));
        summary.push_str("<table><tbody>");
        for item in &session.line_items {
            let interval = item
                .recurring_interval
                .as_deref()
                .map(|i| format!(" / {i}"))
                .unwrap_or_default();
            summary.push_str(&format!(
                "<tr><td>{name}<div class=\"muted\">Qty {quantity} × {unit}{interval}</div></td><td class=\"amt\">{amount}</td></tr>",
                name = escape(&item.name),
                quantity = item.quantity,
                unit = escape(&format_amount(item.unit_amount, &item.currency)),
                interval = escape(&interval),
                amount = escape(&format_amount(item.amount(), &item.currency)),
            ));
        }
        summary.push_str(&format!(
            "<tr class=\"total\"><td>Total due</td><td class=\"amt\">{}</td></tr></tbody></table>",
            escape(&total)
        ));
    }
    if let Some(cancel_url) = &session.cancel_url {
        summary.push_str(&format!(
            "<a class=\"back\" href=\"{}\">&larr; Cancel and go back</a>",
            escape(cancel_url)
        ));
    }
    let error_html = error
        .map(|message| {
            format!(
                "<div class=\"error\" role=\"alert\">{}</div>",
                escape(message)
            )
        })
        .unwrap_or_default();
    let button = if setup {
        "Save card".to_owned()
    } else {
        format!("Pay {}", format_amount(session.amount_total(), &currency))
    };
    let form = format!(
        "<form method=\"post\" action=\"{action}\">\
         <h2>Pay with card</h2>\
         <label for=\"card_number\">Card number</label>\
         <input id=\"card_number\" name=\"card_number\" inputmode=\"numeric\" autocomplete=\"cc-number\" placeholder=\"1234 1234 1234 1234\" value=\"{card}\" required>\
         <div class=\"row\"><div><label for=\"expiry\">Expiry</label><input id=\"expiry\" name=\"expiry\" autocomplete=\"cc-exp\" placeholder=\"MM / YY\"></div>\
         <div><label for=\"cvc\">CVC</label><input id=\"cvc\" name=\"cvc\" autocomplete=\"cc-csc\" placeholder=\"CVC\"></div></div>\
         {error_html}\
         <button type=\"submit\" id=\"submit\">{button}</button>\
         <p class=\"hint\">Test cards: 4242 4242 4242 4242 succeeds · 4000 0000 0000 0002 is declined · \
         4000 0000 0000 9995 has insufficient funds · 4000 0000 0000 0341 saves but charges fail · \
         4000 0027 6000 3184 asks for authentication. Any expiry and CVC.</p>\
         </form>",
        action = escape(&format!("{}/pay", session.url)),
        card = escape(card_number),
        button = escape(&button),
    );
    Html(layout(
        if setup { "Save card" } else { "Checkout" },
        &format!("<main class=\"wrap\"><section class=\"summary\">{summary}</section><section class=\"pay\">{form}</section></main>"),
    ))
}

fn authentication_page(session: &CheckoutSession) -> Response {
    let currency = session.currency.clone().unwrap_or_else(|| "usd".into());
    let what = if session.mode == SessionMode::Setup {
        "saving this card".to_owned()
    } else {
        format!(
            "a payment of {}",
            format_amount(session.amount_total(), &currency)
        )
    };
    let action = escape(&format!("{}/authenticate", session.url));
    let body = format!(
        "<main class=\"wrap\"><section class=\"pay\"><span class=\"badge\">TEST MODE</span>\
         <h1>3D Secure authentication</h1>\
         <p class=\"muted\">Your bank asks you to confirm {what}. This is a test authentication page.</p>\
         <form method=\"post\" action=\"{action}\"><input type=\"hidden\" name=\"outcome\" value=\"complete\">\
         <button type=\"submit\" id=\"complete-authentication\">Complete authentication</button></form>\
         <form method=\"post\" action=\"{action}\"><input type=\"hidden\" name=\"outcome\" value=\"fail\">\
         <button type=\"submit\" class=\"secondary\" id=\"fail-authentication\">Fail authentication</button></form>\
         </section></main>",
        what = escape(&what),
    );
    Html(layout("Authenticate payment", &body)).into_response()
}

fn notice(status: StatusCode, title: &str, message: &str, link: Option<(&str, &str)>) -> Response {
    let link_html = link
        .map(|(href, text)| {
            format!(
                "<a class=\"back\" href=\"{}\">{}</a>",
                escape(href),
                escape(text)
            )
        })
        .unwrap_or_default();
    let body = format!(
        "<main class=\"wrap\"><section class=\"pay\"><h1>{}</h1><p class=\"muted\">{}</p>{link_html}</section></main>",
        escape(title),
        escape(message)
    );
    (status, Html(layout(title, &body))).into_response()
}
