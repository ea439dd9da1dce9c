//! What a plain form post did, said on the page it returns to.
//!
//! A form posted without a script (and every form outside an island) lands back on its page
//! through a redirect, which carries no answer. On success a server function names the outcome
//! with [`redirect_back_with`]: the page's address gains `notice` and `sig`, and the page shows
//! the sentence through [`on_this_page`]. The signature is an HMAC keyed by the browser's own
//! session token over the page's path and the sentence, so a link made by anyone else (who does
//! not hold that cookie) shows nothing, and a notice cannot be moved to another page.

use crate::store::sessions::SessionKind;
use hmac::{Hmac, Mac};
use http::header::{ACCEPT, REFERER};
use http::HeaderMap;
use leptos::prelude::use_context;
use sha2::Sha256;

/// Query parameters a notice replaces when the page is visited again (the last form's answer
/// and error, both from the server).
const OWN_PARAMS: [&str; 4] = ["notice", "sig", "__err", "__path"];

/// Redirects a plain form post back to the page it came from with `message` as its notice. Does
/// nothing for a script's request (it reads the answer itself) or without a session.
pub fn redirect_back_with(message: &str) {
    let Some(parts) = use_context::<http::request::Parts>() else {
        return;
    };
    let accepts_html = parts
        .headers
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    if !accepts_html {
        return;
    }
    let Some((path, query)) = parts
        .headers
        .get(REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(local_target)
    else {
        return;
    };
    let Some(token) = session_token(&parts.headers) else {
        return;
    };
    let mut address = form_urlencoded::Serializer::new(String::new());
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if !OWN_PARAMS.contains(&name.as_ref()) {
            address.append_pair(&name, &value);
        }
    }
    address.append_pair("notice", message);
    address.append_pair("sig", &signature(&token, &path, message));
    leptos_axum::redirect(&format!("{path}?{}", address.finish()));
}

/// The notice in the address of the page being rendered, when its signature is this browser's
/// and no later form's error came back after it.
pub fn on_this_page() -> Option<String> {
    let parts = use_context::<http::request::Parts>()?;
    let (mut notice, mut sig) = (None, None);
    for (name, value) in form_urlencoded::parse(parts.uri.query()?.as_bytes()) {
        match name.as_ref() {
            "notice" => notice = Some(value.into_owned()),
            "sig" => sig = Some(value.into_owned()),
            // A later form failed on this page: its error is what the page says now.
            "__err" => return None,
            _ => {}
        }
    }
    let (notice, sig) = (notice?, sig?);
    let token = session_token(&parts.headers)?;
    let expected = hex::decode(sig).ok()?;
    mac(&token, parts.uri.path(), &notice)
        .verify_slice(&expected)
        .ok()
        .map(|()| notice)
}

/// The path and query of a referring address on this site.
fn local_target(referer: &str) -> Option<(String, String)> {
    let uri: http::Uri = referer.parse().ok()?;
    let path = uri.path();
    if !path.starts_with('/') || path.starts_with("//") {
        return None;
    }
    Some((path.to_string(), uri.query().unwrap_or("").to_string()))
}

/// The customer's session token, else the staff member's.
fn session_token(headers: &HeaderMap) -> Option<String> {
    let https = crate::server::state()
        .map(|s| s.config.is_https())
        .unwrap_or(false);
    [SessionKind::Customer, SessionKind::Staff]
        .into_iter()
        .find_map(|kind| crate::server::auth::session_cookie(headers, kind, https))
        .filter(|token| !token.is_empty())
        .map(str::to_string)
}

fn mac(token: &str, path: &str, message: &str) -> Hmac<Sha256> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(token.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(b"notice\n");
    mac.update(path.as_bytes());
    mac.update(b"\n");
    mac.update(message.as_bytes());
    mac
}

fn signature(token: &str, path: &str, message: &str) -> String {
    hex::encode(mac(token, path, message).finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notice_is_bound_to_its_session_and_page() {
        let sig = hex::decode(signature("token-a", "/billing/plan", "Done.")).unwrap();
        let verifies = |token, path, message| mac(token, path, message).verify_slice(&sig).is_ok();
        assert!(verifies("token-a", "/billing/plan", "Done."));
        assert!(!verifies("token-b", "/billing/plan", "Done."));
        assert!(!verifies("token-a", "/billing/usage", "Done."));
        assert!(!verifies("token-a", "/billing/plan", "Done!"));
    }

    #[test]
    fn only_local_addresses_are_returned_to() {
        assert_eq!(
            local_target("http://127.0.0.1:3000/billing/plan?seats=5"),
            Some(("/billing/plan".into(), "seats=5".into()))
        );
        assert_eq!(
            local_target("https://portal.example/billing/usage"),
            Some(("/billing/usage".into(), String::new()))
        );
        assert_eq!(local_target("not an address"), None);
    }
}
