//! Stripe's `Idempotency-Key` semantics for POST requests: the first request with a key runs
//! and its response is stored; a later request with the same key and the same method, path and
//! body gets that response again (with `Idempotent-Replayed: true`); the same key with another
//! request is a 400 `idempotency_error`; a request whose twin is still running is a 409.

use std::collections::HashMap;

use axum::http::StatusCode;
use sha2::{Digest, Sha256};

/// What was answered the first time, replayed byte for byte.
#[derive(Debug, Clone)]
pub(crate) struct StoredResponse {
    pub status: StatusCode,
    pub body: Vec<u8>,
}

#[derive(Debug)]
enum Slot {
    Running {
        fingerprint: String,
    },
    Done {
        fingerprint: String,
        response: StoredResponse,
    },
}

/// The outcome of presenting a key.
#[derive(Debug)]
pub(crate) enum Lookup {
    /// First use: run the request, then [`IdempotencyCache::finish`] or
    /// [`IdempotencyCache::abandon`].
    Fresh,
    Replay(StoredResponse),
    /// Same key, different request.
    Mismatch,
    /// Same key, same request, still running.
    InProgress,
}

#[derive(Debug, Default)]
pub(crate) struct IdempotencyCache {
    slots: HashMap<String, Slot>,
}

/// What makes two requests "the same": method, path and exact body.
pub(crate) fn fingerprint(method: &str, path: &str, body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(method.as_bytes());
    hasher.update(b" ");
    hasher.update(path.as_bytes());
    hasher.update(b"\n");
    hasher.update(body);
    hex::encode(hasher.finalize())
}

impl IdempotencyCache {
    pub fn begin(&mut self, key: &str, request_fingerprint: &str) -> Lookup {
        match self.slots.get(key) {
            None => {
                self.slots.insert(
                    key.to_owned(),
                    Slot::Running {
                        fingerprint: request_fingerprint.to_owned(),
                    },
                );
                Lookup::Fresh
            }
            Some(Slot::Running { fingerprint }) | Some(Slot::Done { fingerprint, .. })
                if fingerprint != request_fingerprint =>
            {
                Lookup::Mismatch
            }
            Some(Slot::Running { .. }) => Lookup::InProgress,
            Some(Slot::Done { response, .. }) => Lookup::Replay(response.clone()),
        }
    }

    pub fn finish(&mut self, key: &str, response: StoredResponse) {
        if let Some(slot) = self.slots.get_mut(key) {
            let fingerprint = match slot {
                Slot::Running { fingerprint } | Slot::Done { fingerprint, .. } => {
                    std::mem::take(fingerprint)
                }
            };
            *slot = Slot::Done {
                fingerprint,
                response,
            };
        }
    }

    /// Forgets a key whose request never ran, so a retry runs it.
    pub fn abandon(&mut self, key: &str) {
        if matches!(self.slots.get(key), Some(Slot::Running { .. })) {
            self.slots.remove(key);
        }
    }
}

/// Stripe's message for a key reused with other parameters.
pub(crate) fn mismatch_message(key: &str) -> String {
    format!(
        "Keys for idempotent requests can only be used with the same parameters they were first used with. \
         Try using a key other than '{key}' if you meant to execute a different request."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_request_replays_and_other_request_conflicts() {
        let mut cache = IdempotencyCache::default();
        let first = fingerprint("POST", "/v1/customers", b"email=a%40b.c");
        assert!(matches!(cache.begin("k", &first), Lookup::Fresh));
        assert!(matches!(cache.begin("k", &first), Lookup::InProgress));
        cache.finish(
            "k",
            StoredResponse {
                status: StatusCode::OK,
                body: b"{}".to_vec(),
            },
        );
        assert!(matches!(cache.begin("k", &first), Lookup::Replay(_)));
        let other = fingerprint("POST", "/v1/customers", b"email=x%40b.c");
        assert!(matches!(cache.begin("k", &other), Lookup::Mismatch));
        cache.abandon("k");
        assert!(
            matches!(cache.begin("k", &first), Lookup::Replay(_)),
            "finished keys are kept"
        );
    }
}
