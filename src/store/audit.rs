//! The audit log: append-only and hash-chained. Each row's hash covers its own fields and the
//! previous row's hash, so a changed, removed or inserted row breaks the chain from there on, and
//! [`verify`] names the first broken link.

use super::{Db, Dialect};
use sha2::{Digest, Sha256};
use sqlx::Row;

/// The hash the first row points back to.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One entry to append.
#[derive(Clone, Debug, Default)]
pub struct AuditEntry<'a> {
    pub actor: &'a str,
    pub actor_role: &'a str,
    pub action: &'a str,
    /// What was acted on, e.g. `invoice:inv_…`.
    pub target: &'a str,
    pub org_id: Option<&'a str>,
    /// Minor units, with `currency`, for money movements.
    pub amount: Option<i64>,
    pub currency: Option<&'a str>,
    pub reason_code: Option<&'a str>,
    pub note: &'a str,
    pub request_id: Option<&'a str>,
}

/// The hash version new entries are written with: 1 covered every field but the request id; 2
/// covers it too.
pub const HASH_VERSION: i64 = 2;

fn digest(prev_hash: &str, seq: i64, at: i64, fields: &[&str]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(seq.to_string().as_bytes());
    hasher.update([0x1f]);
    hasher.update(at.to_string().as_bytes());
    for field in fields {
        hasher.update([0x1f]);
        hasher.update(field.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// The fields a hash of `version` covers, in order.
fn fields<'a>(e: &'a AuditEntry<'a>, amount: &'a str, version: i64) -> Vec<&'a str> {
    let mut fields = vec![
        e.actor,
        e.actor_role,
        e.action,
        e.target,
        e.org_id.unwrap_or(""),
        amount,
        e.currency.unwrap_or(""),
        e.reason_code.unwrap_or(""),
        e.note,
    ];
    if version >= 2 {
        fields.push(e.request_id.unwrap_or(""));
    }
    fields
}

/// Appends an entry inside the caller's transaction (so it lands with what it records, or not at
/// all). Appends are serialised: SQLite's write transaction, or a transaction-scoped advisory lock
/// on PostgreSQL.
pub async fn append_in_tx(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    dialect: Dialect,
    entry: &AuditEntry<'_>,
    now: i64,
) -> Result<i64, sqlx::Error> {
    if dialect == Dialect::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock(727274) AS locked")
            .fetch_one(&mut **tx)
            .await?;
    }
    let last = sqlx::query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
        .fetch_optional(&mut **tx)
        .await?;
    let (seq, prev_hash) = match last {
        Some(r) => (
            r.try_get::<i64, _>("seq")? + 1,
            r.try_get::<String, _>("hash")?,
        ),
        None => (1, GENESIS.to_string()),
    };
    let amount = entry.amount.map(|a| a.to_string()).unwrap_or_default();
    let hash = digest(&prev_hash, seq, now, &fields(entry, &amount, HASH_VERSION));
    sqlx::query(
        "INSERT INTO audit_log (seq, at, actor, actor_role, action, target, org_id, amount, currency, reason_code, \
         note, request_id, prev_hash, hash, hash_version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(seq)
    .bind(now)
    .bind(entry.actor)
    .bind(entry.actor_role)
    .bind(entry.action)
    .bind(entry.target)
    .bind(entry.org_id)
    .bind(entry.amount)
    .bind(entry.currency)
    .bind(entry.reason_code)
    .bind(entry.note)
    .bind(entry.request_id)
    .bind(&prev_hash)
    .bind(&hash)
    .bind(HASH_VERSION)
    .execute(&mut **tx)
    .await?;
    Ok(seq)
}

/// Appends an entry in a transaction of its own.
pub async fn append(db: &Db, entry: &AuditEntry<'_>, now: i64) -> Result<i64, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let seq = append_in_tx(&mut tx, db.dialect, entry, now).await?;
    tx.commit().await?;
    Ok(seq)
}

/// What verifying the chain found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verification {
    Intact {
        entries: i64,
    },
    /// The first row whose hash or link does not match, and why.
    Broken {
        seq: i64,
        problem: String,
    },
}

/// Walks the whole chain in order and recomputes every hash.
pub async fn verify(db: &Db) -> Result<Verification, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT seq, at, actor, actor_role, action, target, org_id, amount, currency, reason_code, note, \
         request_id, prev_hash, hash, CAST(hash_version AS BIGINT) AS hash_version FROM audit_log ORDER BY seq",
    )
    .fetch_all(&db.pool)
    .await?;
    let mut expected_prev = GENESIS.to_string();
    for (expected_seq, r) in (1_i64..).zip(rows.iter()) {
        let seq: i64 = r.try_get("seq")?;
        if seq != expected_seq {
            return Ok(Verification::Broken {
                seq,
                problem: format!("entry {expected_seq} is missing"),
            });
        }
        let prev: String = r.try_get("prev_hash")?;
        if prev != expected_prev {
            return Ok(Verification::Broken {
                seq,
                problem: "it does not point to the previous entry's hash".into(),
            });
        }
        let (actor, role, action, target): (String, String, String, String) = (
            r.try_get("actor")?,
            r.try_get("actor_role")?,
            r.try_get("action")?,
            r.try_get("target")?,
        );
        let org_id: Option<String> = r.try_get("org_id")?;
        let amount: Option<i64> = r.try_get("amount")?;
        let currency: Option<String> = r.try_get("currency")?;
        let reason: Option<String> = r.try_get("reason_code")?;
        let note: String = r.try_get("note")?;
        let request_id: Option<String> = r.try_get("request_id")?;
        let version: i64 = r.try_get("hash_version")?;
        let entry = AuditEntry {
            actor: &actor,
            actor_role: &role,
            action: &action,
            target: &target,
            org_id: org_id.as_deref(),
            amount,
            currency: currency.as_deref(),
            reason_code: reason.as_deref(),
            note: &note,
            request_id: request_id.as_deref(),
        };
        let amount_text = amount.map(|a| a.to_string()).unwrap_or_default();
        let hash: String = r.try_get("hash")?;
        if digest(
            &prev,
            seq,
            r.try_get("at")?,
            &fields(&entry, &amount_text, version),
        ) != hash
        {
            return Ok(Verification::Broken {
                seq,
                problem: "its contents do not match its hash (the row was changed)".into(),
            });
        }
        expected_prev = hash;
    }
    Ok(Verification::Intact {
        entries: rows.len() as i64,
    })
}

/// One row as the console lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRow {
    pub seq: i64,
    pub at: i64,
    pub actor: String,
    pub actor_role: String,
    pub action: String,
    pub target: String,
    pub org_id: Option<String>,
    pub amount: Option<i64>,
    pub currency: Option<String>,
    pub reason_code: Option<String>,
    pub note: String,
    pub request_id: Option<String>,
}

/// Which entries to list; empty strings and `None` match everything.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter<'a> {
    pub org_id: &'a str,
    /// An actor's email, or a role (`agent`, `billing_admin`, `approver`, `system`).
    pub actor: &'a str,
    pub action: &'a str,
    /// Unix seconds, inclusive.
    pub from: Option<i64>,
    /// Unix seconds, exclusive.
    pub until: Option<i64>,
}

/// The newest entries that match `filter`, newest first.
pub async fn search(
    db: &Db,
    filter: &AuditFilter<'_>,
    limit: i64,
) -> Result<Vec<AuditRow>, sqlx::Error> {
    sqlx::query(
        "SELECT seq, at, actor, actor_role, action, target, org_id, amount, currency, reason_code, note, request_id \
         FROM audit_log WHERE ($1 = '' OR org_id = $1) AND ($2 = '' OR actor = $2 OR actor_role = $2) \
         AND ($3 = '' OR action = $3) AND at >= $4 AND at < $5 ORDER BY seq DESC LIMIT $6",
    )
    .bind(filter.org_id)
    .bind(filter.actor)
    .bind(filter.action)
    .bind(filter.from.unwrap_or(i64::MIN))
    .bind(filter.until.unwrap_or(i64::MAX))
    .bind(limit)
    .fetch_all(&db.pool)
    .await?
    .into_iter()
    .map(|r| {
        Ok(AuditRow {
            seq: r.try_get("seq")?,
            at: r.try_get("at")?,
            actor: r.try_get("actor")?,
            actor_role: r.try_get("actor_role")?,
            action: r.try_get("action")?,
            target: r.try_get("target")?,
            org_id: r.try_get("org_id")?,
            amount: r.try_get("amount")?,
            currency: r.try_get("currency")?,
            reason_code: r.try_get("reason_code")?,
            note: r.try_get("note")?,
            request_id: r.try_get("request_id")?,
        })
    })
    .collect()
}

/// Every action name in the log, for the console's filter.
pub async fn actions(db: &Db) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query("SELECT DISTINCT action FROM audit_log ORDER BY action")
        .fetch_all(&db.pool)
        .await?
        .into_iter()
        .map(|r| r.try_get("action"))
        .collect()
}
