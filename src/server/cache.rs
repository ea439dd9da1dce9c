//! Caches kept in the process.

use crate::domain::ids::OrgId;
use crate::wire::usage::Entitlements;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Entitlements cached per organisation. An entry is used while it is younger than its time to
/// live and the subscription's version is the one it was computed at; recording usage for the
/// organisation (on this instance) drops it at once. Another instance's usage is seen within the
/// time to live.
pub struct EntitlementCache {
    ttl: Duration,
    entries: Mutex<HashMap<OrgId, CachedEntitlements>>,
}

/// When an entry was computed, at which subscription version, and the answer.
type CachedEntitlements = (Instant, Option<i64>, Entitlements);

/// The most organisations kept; past it the cache starts again empty.
const MAX_ENTRIES: usize = 100_000;

impl EntitlementCache {
    pub fn new(ttl: Duration) -> EntitlementCache {
        EntitlementCache {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    pub fn invalidate(&self, org_id: &OrgId) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(org_id);
        }
    }

    /// Drops every entry (a catalog publish may change any plan's entitlements).
    pub fn clear(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.clear();
        }
    }

    /// The cached answer for the organisation, if it is younger than the time to live and was
    /// computed at the subscription's current `version`.
    pub fn fresh(&self, org_id: &OrgId, version: Option<i64>) -> Option<Entitlements> {
        let entries = self.entries.lock().ok()?;
        let (at, v, cached) = entries.get(org_id)?;
        (at.elapsed() < self.ttl && *v == version).then(|| cached.clone())
    }

    pub fn put(&self, org_id: &OrgId, version: Option<i64>, entitlements: Entitlements) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() > MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(org_id.clone(), (Instant::now(), version, entitlements));
        }
    }
}
