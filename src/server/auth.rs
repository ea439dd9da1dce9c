//! Passwords, session tokens and cookies.
//!
//! Passwords are hashed with argon2id. A session token is 32 random bytes sent only in an HttpOnly,
//! SameSite=Lax cookie (`__Host-` prefixed and `Secure` over https); the database keeps its SHA-256.
//! A new token is issued at every sign-in.

use super::AppState;
use crate::domain::ids::{Id, OrgId, StaffId, UserId};
use crate::error::AppError;
use crate::store::audit::AuditEntry;
use crate::store::sessions::{self, SessionKind};
use crate::store::{accounts, staff};
use crate::wire::{CustomerSession, StaffSession};
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use http::header::{COOKIE, SET_COOKIE};
use http::HeaderMap;
use sha2::{Digest, Sha256};

/// At most this many argon2 computations (about 19 MiB and tens of milliseconds each) run at
/// once; more sign-ins wait their turn instead of exhausting memory.
const HASHING_SLOTS: usize = 4;

/// Counts the argon2 computations running. Slots are taken and given back on the blocking
/// thread that hashes, so a slot is always returned however the request that asked ends.
struct HashingSlots {
    busy: std::sync::Mutex<usize>,
    freed: std::sync::Condvar,
}

static HASHING: HashingSlots = HashingSlots {
    busy: std::sync::Mutex::new(0),
    freed: std::sync::Condvar::new(),
};

/// Runs `work` (on a blocking thread) once a hashing slot is free.
fn in_hashing_slot<T>(work: impl FnOnce() -> T) -> T {
    struct Slot;
    impl Drop for Slot {
        fn drop(&mut self) {
            let mut busy = HASHING.busy.lock().unwrap_or_else(|e| e.into_inner());
            *busy -= 1;
            HASHING.freed.notify_one();
        }
    }
    let mut busy = HASHING.busy.lock().unwrap_or_else(|e| e.into_inner());
    while *busy >= HASHING_SLOTS {
        busy = HASHING.freed.wait(busy).unwrap_or_else(|e| e.into_inner());
    }
    *busy += 1;
    drop(busy);
    let _slot = Slot;
    work()
}

/// Hashes a new password off the async runtime (argon2 is deliberately slow).
pub async fn hash_password(password: String) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || {
        in_hashing_slot(|| {
            let salt = SaltString::generate(&mut OsRng);
            Argon2::default()
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
        })
    })
    .await
    .map_err(AppError::internal)?
    .map_err(AppError::internal)
}

/// Checks a password against a stored hash. With no hash (unknown account) it still does the same
/// work against a fixed hash, so response time does not reveal which emails exist.
pub async fn verify_password(password: String, hash: Option<String>) -> Result<bool, AppError> {
    tokio::task::spawn_blocking(move || {
        in_hashing_slot(|| {
            let known = hash.is_some();
            let hash = hash.unwrap_or_else(|| DUMMY_HASH.to_string());
            let parsed = PasswordHash::new(&hash).map_err(AppError::internal)?;
            let ok = Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok();
            Ok(known && ok)
        })
    })
    .await
    .map_err(AppError::internal)?
}

/// argon2id hash of a random string nobody knows; verified against when an email is unknown.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Wr0Qz1OZMX6bu7ujyGkOzzYzODTlA6CTCsF0WcZS0y4";

/// A new random session token (hex) and the hash stored for it.
pub fn new_session_token() -> (String, String) {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    let hash = hash_token(&token);
    (token, hash)
}

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The cookie name for a kind of session; `__Host-` needs https.
pub fn cookie_name(kind: SessionKind, https: bool) -> &'static str {
    match (kind, https) {
        (SessionKind::Customer, true) => "__Host-bp_session",
        (SessionKind::Customer, false) => "bp_session",
        (SessionKind::Staff, true) => "__Host-bp_staff",
        (SessionKind::Staff, false) => "bp_staff",
    }
}

/// Customer cookies are `SameSite=Lax` so links from email land signed in; staff cookies are
/// `Strict`, as nothing outside the console should ever open it signed in.
fn set_cookie_value(kind: SessionKind, value: &str, max_age: i64, https: bool) -> String {
    let name = cookie_name(kind, https);
    let same_site = match kind {
        SessionKind::Customer => "Lax",
        SessionKind::Staff => "Strict",
    };
    let secure = if https { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; HttpOnly; SameSite={same_site}; Max-Age={max_age}{secure}")
}

/// The value of cookie `name` in request headers.
pub fn read_cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The token in the session cookie of `kind`, if the request carries one.
pub fn session_cookie(headers: &HeaderMap, kind: SessionKind, https: bool) -> Option<&str> {
    read_cookie(headers, cookie_name(kind, https))
}

fn request_headers() -> HeaderMap {
    leptos::prelude::use_context::<http::request::Parts>()
        .map(|parts| parts.headers)
        .unwrap_or_default()
}

fn append_set_cookie(value: String) -> Result<(), AppError> {
    let response = leptos::prelude::use_context::<leptos_axum::ResponseOptions>()
        .ok_or_else(|| AppError::internal("no response options in context"))?;
    let value = http::HeaderValue::from_str(&value).map_err(AppError::internal)?;
    response.append_header(SET_COOKIE, value);
    Ok(())
}

async fn start_session(
    state: &AppState,
    kind: SessionKind,
    principal_id: &str,
    org_id: Option<&OrgId>,
    audit: &AuditEntry<'_>,
) -> Result<(), AppError> {
    let https = state.config.is_https();
    let name = cookie_name(kind, https);
    // Rotation: whatever token the browser held before is retired.
    let headers = request_headers();
    let replaces = read_cookie(&headers, name).map(hash_token);
    let (token, hash) = new_session_token();
    let now = state.now();
    let ttl = state.config.session_ttl_secs;
    sessions::create(
        &state.db,
        &sessions::NewSession {
            token_hash: &hash,
            kind,
            principal_id,
            org_id,
            expires_at: now + ttl,
            viewed_by: None,
            replaces: replaces.as_deref(),
        },
        audit,
        now,
    )
    .await?;
    append_set_cookie(set_cookie_value(kind, &token, ttl, https))
}

/// Signs a customer in to `org_id`; `audit` records how (a sign-in, a confirmed sign-up, an
/// accepted invitation) in the same transaction.
pub async fn start_customer_session(
    state: &AppState,
    user_id: &UserId,
    org_id: &OrgId,
    audit: &AuditEntry<'_>,
) -> Result<(), AppError> {
    start_session(
        state,
        SessionKind::Customer,
        user_id.as_str(),
        Some(org_id),
        audit,
    )
    .await
}

/// Opens a read-only customer session for a staff member viewing the portal as `user_id` of
/// `org_id`; it lasts an hour. The viewing is audited with the session.
pub async fn start_view_session(
    state: &AppState,
    user_id: &UserId,
    org_id: &OrgId,
    staff_email: &str,
    audit: &AuditEntry<'_>,
) -> Result<(), AppError> {
    let https = state.config.is_https();
    let (token, hash) = new_session_token();
    let now = state.now();
    let ttl = 3600;
    let headers = request_headers();
    let replaces = read_cookie(&headers, cookie_name(SessionKind::Customer, https)).map(hash_token);
    sessions::create(
        &state.db,
        &sessions::NewSession {
            token_hash: &hash,
            kind: SessionKind::Customer,
            principal_id: user_id.as_str(),
            org_id: Some(org_id),
            expires_at: now + ttl,
            viewed_by: Some(staff_email),
            replaces: replaces.as_deref(),
        },
        audit,
        now,
    )
    .await?;
    append_set_cookie(set_cookie_value(SessionKind::Customer, &token, ttl, https))
}

pub async fn start_staff_session(
    state: &AppState,
    staff_id: &StaffId,
    audit: &AuditEntry<'_>,
) -> Result<(), AppError> {
    start_session(state, SessionKind::Staff, staff_id.as_str(), None, audit).await
}

/// Deletes the current session of `kind` (auditing the sign-out) and clears its cookie.
pub async fn end_session(state: &AppState, kind: SessionKind) -> Result<(), AppError> {
    let https = state.config.is_https();
    let name = cookie_name(kind, https);
    let headers = request_headers();
    if let Some(token) = read_cookie(&headers, name) {
        let actor = match kind {
            SessionKind::Customer => customer_of(state, &headers).await?.map(|c| c.actor()),
            SessionKind::Staff => staff_of(state, &headers).await?.map(|s| s.actor()),
        };
        if let Some(actor) = actor {
            let target = format!("session:{}", &hash_token(token)[..12]);
            sessions::delete(
                &state.db,
                &hash_token(token),
                &actor.did("sign_out", &target),
                state.now(),
            )
            .await?;
        }
    }
    append_set_cookie(set_cookie_value(kind, "", 0, https))
}

async fn live_session_of(
    state: &AppState,
    kind: SessionKind,
    headers: &HeaderMap,
) -> Result<Option<sessions::SessionRow>, AppError> {
    let Some(token) = session_cookie(headers, kind, state.config.is_https()) else {
        return Ok(None);
    };
    Ok(sessions::find(&state.db, &hash_token(token), kind, state.now()).await?)
}

/// The signed-in customer and their current organisation, if the session and membership hold.
pub async fn customer(state: &AppState) -> Result<Option<CustomerSession>, AppError> {
    customer_of(state, &request_headers()).await
}

/// The signed-in customer of a plain (non-Leptos) request, from its cookie.
pub async fn customer_of(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<CustomerSession>, AppError> {
    let Some(session) = live_session_of(state, SessionKind::Customer, headers).await? else {
        return Ok(None);
    };
    let Some(org_id) = session.org_id else {
        return Ok(None);
    };
    // A customer session's principal is a user.
    let user_id = UserId::from_trusted(session.principal_id);
    let Some(membership) = accounts::membership(&state.db, &user_id, &org_id).await? else {
        return Ok(None);
    };
    let email = accounts::user_email(&state.db, &user_id)
        .await?
        .unwrap_or_default();
    Ok(Some(CustomerSession {
        email,
        org_id: membership.org_id,
        org_name: membership.org_name,
        role: membership.role,
        viewed_by: session.viewed_by,
    }))
}

/// The signed-in customer, or `Unauthenticated`.
pub async fn require_customer(state: &AppState) -> Result<CustomerSession, AppError> {
    customer(state).await?.ok_or(AppError::Unauthenticated)
}

/// The signed-in customer, who must be allowed to manage billing (an owner or billing admin).
pub async fn require_billing_manager(state: &AppState) -> Result<CustomerSession, AppError> {
    let customer = require_customer(state).await?;
    if !customer.role.can_manage_billing() {
        return Err(AppError::Forbidden);
    }
    Ok(customer)
}

pub async fn staff(state: &AppState) -> Result<Option<StaffSession>, AppError> {
    staff_of(state, &request_headers()).await
}

/// The signed-in staff member of a request outside a server function (a plain route).
pub async fn staff_of(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<StaffSession>, AppError> {
    let Some(session) = live_session_of(state, SessionKind::Staff, headers).await? else {
        return Ok(None);
    };
    Ok(staff::find(&state.db, &session.principal_id)
        .await?
        .map(|s| StaffSession {
            email: s.email,
            name: s.name,
            role: s.role,
        }))
}

impl crate::wire::CustomerSession {
    /// This customer as the audit log names them; a staff member viewing as the customer is
    /// named as themselves (their session writes nothing, but its reads are theirs).
    pub fn actor(&self) -> crate::store::audit::Actor {
        match &self.viewed_by {
            Some(staff) => crate::store::audit::Actor {
                name: staff.clone(),
                role: "staff:view_as".into(),
            },
            None => crate::store::audit::Actor::customer(&self.email, self.role),
        }
    }
}

impl crate::wire::StaffSession {
    pub fn actor(&self) -> crate::store::audit::Actor {
        crate::store::audit::Actor::staff(&self.email, self.role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_stored_hashed() {
        let (a, ha) = new_session_token();
        let (b, _) = new_session_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_eq!(ha, hash_token(&a));
        assert_ne!(ha, a);
    }

    #[test]
    fn cookies_are_read_from_any_cookie_header() {
        let mut h = HeaderMap::new();
        h.append(COOKIE, "a=1; bp_session=tok".parse().unwrap());
        h.append(COOKIE, "bp_staff=s".parse().unwrap());
        assert_eq!(read_cookie(&h, "bp_session"), Some("tok"));
        assert_eq!(read_cookie(&h, "bp_staff"), Some("s"));
        assert_eq!(read_cookie(&h, "missing"), None);
    }

    #[test]
    fn https_cookies_are_host_prefixed_and_secure() {
        let v = set_cookie_value(SessionKind::Customer, "t", 60, true);
        assert!(v.starts_with("__Host-bp_session=t; Path=/; HttpOnly; SameSite=Lax"));
        assert!(v.ends_with("; Secure"));
        let staff = set_cookie_value(SessionKind::Staff, "t", 60, false);
        assert_eq!(
            staff,
            "bp_staff=t; Path=/; HttpOnly; SameSite=Strict; Max-Age=60"
        );
    }

    #[test]
    fn dummy_hash_parses() {
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }
}
