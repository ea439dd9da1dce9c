//! The audit log: append-only and hash-chained. Each row's hash covers its own fields and the
//! previous row's hash, so a changed, removed or inserted row breaks the chain from there on, and
//! [`verify`] names the first broken link.

use super::{Db, Dialect};
use crate::domain::ids::OrgId;
use sha2::{Digest, Sha256};
use sqlx::Row;

/// The hash the first row points back to.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who did something, as the audit log names them: a customer (`customer:owner`,
/// `customer:billing_admin`, `customer:member`), a staff member (`agent`, `billing_admin`,
/// `approver`), an API key (`api`), or the system itself (`system`: the bill run, Stripe's
/// webhooks, the command line).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    pub name: String,
    pub role: String,
}

impl Actor {
    pub fn system() -> Actor {
        Actor {
            name: "system".into(),
            role: "system".into(),
        }
    }

    /// Stripe, through a verified webhook.
    pub fn stripe() -> Actor {
        Actor {
            name: "stripe".into(),
            role: "system".into(),
        }
    }

    /// An operator at the command line.
    pub fn cli() -> Actor {
        Actor {
            name: "cli".into(),
            role: "system".into(),
        }
    }

    pub fn customer(email: &str, role: crate::domain::access::Role) -> Actor {
        Actor {
            name: email.to_string(),
            role: format!("customer:{}", role.as_str()),
        }
    }

    pub fn staff(email: &str, role: crate::domain::access::StaffRole) -> Actor {
        Actor {
            name: email.to_string(),
            role: role.as_str().to_string(),
        }
    }

    /// Someone who is not signed in, named by what they gave (an email address, or "anonymous").
    pub fn visitor(name: &str) -> Actor {
        Actor {
            name: name.to_string(),
            role: "visitor".into(),
        }
    }

    pub fn api_key(key_id: &str) -> Actor {
        Actor {
            name: format!("api_key:{key_id}"),
            role: "api".into(),
        }
    }

    /// An entry by this actor; the caller fills in the rest.
    pub fn did<'a>(&'a self, action: &'a str, target: &'a str) -> AuditEntry<'a> {
        AuditEntry {
            actor: &self.name,
            actor_role: &self.role,
            action,
            target,
            ..AuditEntry::default()
        }
    }
}

/// One entry to append.
#[derive(Clone, Debug, Default)]
pub struct AuditEntry<'a> {
    pub actor: &'a str,
    pub actor_role: &'a str,
    pub action: &'a str,
    /// What was acted on, e.g. `invoice:inv_…`.
    pub target: &'a str,
    pub org_id: Option<&'a OrgId>,
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
        e.org_id.map_or("", OrgId::as_str),
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

/// Appends an entry inside the caller's transaction, whichever database it is on.
pub async fn record(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    entry: &AuditEntry<'_>,
    now: i64,
) -> Result<i64, sqlx::Error> {
    let dialect = if tx.backend_name() == "PostgreSQL" {
        Dialect::Postgres
    } else {
        Dialect::Sqlite
    };
    append_in_tx(tx, dialect, entry, now).await
}

/// Runs one write statement and its audit entry in one transaction; returns the rows affected.
pub async fn execute_audited<'q>(
    db: &Db,
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    entry: &AuditEntry<'_>,
    now: i64,
) -> Result<u64, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let affected = query.execute(&mut *tx).await?.rows_affected();
    record(&mut tx, entry, now).await?;
    tx.commit().await?;
    Ok(affected)
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

/// Walks the whole chain in order and recomputes every hash, then checks that every checkpoint's
/// entry is still there with the hash it anchored.
pub async fn verify(db: &Db) -> Result<Verification, sqlx::Error> {
    let chain = verify_from(db, 1, GENESIS).await?;
    if !matches!(chain, Verification::Intact { .. }) {
        return Ok(chain);
    }
    for checkpoint in checkpoints(db).await? {
        if let Some(broken) = check_anchor(db, &checkpoint).await? {
            return Ok(broken);
        }
    }
    Ok(chain)
}

/// Verifies from the last checkpoint on: its entry must still be there with the anchored hash
/// (so entries removed from the end since are noticed), and every later entry must chain from
/// it. With no checkpoint yet, the whole chain is verified.
pub async fn verify_since_checkpoint(db: &Db) -> Result<Verification, sqlx::Error> {
    let Some(last) = last_checkpoint(db).await? else {
        return verify(db).await;
    };
    if let Some(broken) = check_anchor(db, &last).await? {
        return Ok(broken);
    }
    verify_from(db, last.head_seq + 1, &last.head_hash).await
}

/// The checkpoint's entry, if it no longer matches.
async fn check_anchor(
    db: &Db,
    checkpoint: &Checkpoint,
) -> Result<Option<Verification>, sqlx::Error> {
    let at = chrono::DateTime::from_timestamp(checkpoint.created_at, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default();
    let row = sqlx::query("SELECT hash FROM audit_log WHERE seq = $1")
        .bind(checkpoint.head_seq)
        .fetch_optional(&db.pool)
        .await?;
    Ok(match row {
        None => Some(Verification::Broken {
            seq: checkpoint.head_seq,
            problem: format!(
                "entry {} was anchored by checkpoint {} ({at}) but is missing: entries were removed from the end",
                checkpoint.head_seq, checkpoint.id
            ),
        }),
        Some(r) if r.try_get::<String, _>("hash")? != checkpoint.head_hash => {
            Some(Verification::Broken {
                seq: checkpoint.head_seq,
                problem: format!(
                    "its hash differs from the one checkpoint {} ({at}) anchored",
                    checkpoint.id
                ),
            })
        }
        Some(_) => None,
    })
}

/// Recomputes every hash from entry `first` on, which must point back to `prev_hash`.
async fn verify_from(db: &Db, first: i64, prev_hash: &str) -> Result<Verification, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT seq, at, actor, actor_role, action, target, org_id, amount, currency, reason_code, note, \
         request_id, prev_hash, hash, CAST(hash_version AS BIGINT) AS hash_version FROM audit_log \
         WHERE seq >= $1 ORDER BY seq",
    )
    .bind(first)
    .fetch_all(&db.pool)
    .await?;
    let mut expected_prev = prev_hash.to_string();
    for (expected_seq, r) in (first..).zip(rows.iter()) {
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
        let org_id: Option<OrgId> = r.try_get("org_id")?;
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
            org_id: org_id.as_ref(),
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

/// A recorded head of the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub id: String,
    pub head_seq: i64,
    pub head_hash: String,
    pub created_by: String,
    pub created_at: i64,
}

fn checkpoint_from(r: &sqlx::any::AnyRow) -> Result<Checkpoint, sqlx::Error> {
    Ok(Checkpoint {
        id: r.try_get("id")?,
        head_seq: r.try_get("head_seq")?,
        head_hash: r.try_get("head_hash")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
    })
}

/// Records the chain's head as a checkpoint, after an entry saying who took it (so the
/// checkpoint anchors its own record). Returns the checkpoint.
pub async fn checkpoint(db: &Db, created_by: &str, now: i64) -> Result<Checkpoint, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let id = super::new_id("ckpt");
    let target = format!("audit_checkpoint:{id}");
    append_in_tx(
        &mut tx,
        db.dialect,
        &AuditEntry {
            actor: created_by,
            actor_role: "system",
            action: "audit_checkpoint",
            target: &target,
            note: "the chain's head was recorded",
            ..Default::default()
        },
        now,
    )
    .await?;
    let head = sqlx::query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
        .fetch_one(&mut *tx)
        .await?;
    let checkpoint = Checkpoint {
        id,
        head_seq: head.try_get("seq")?,
        head_hash: head.try_get("hash")?,
        created_by: created_by.to_string(),
        created_at: now,
    };
    sqlx::query(
        "INSERT INTO audit_checkpoints (id, head_seq, head_hash, created_by, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&checkpoint.id)
    .bind(checkpoint.head_seq)
    .bind(&checkpoint.head_hash)
    .bind(&checkpoint.created_by)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(checkpoint)
}

/// The newest checkpoint (by head), if any.
pub async fn last_checkpoint(db: &Db) -> Result<Option<Checkpoint>, sqlx::Error> {
    sqlx::query(
        "SELECT id, head_seq, head_hash, created_by, created_at FROM audit_checkpoints \
         ORDER BY head_seq DESC, created_at DESC LIMIT 1",
    )
    .fetch_optional(&db.pool)
    .await?
    .as_ref()
    .map(checkpoint_from)
    .transpose()
}

/// Every checkpoint, oldest first.
pub async fn checkpoints(db: &Db) -> Result<Vec<Checkpoint>, sqlx::Error> {
    sqlx::query(
        "SELECT id, head_seq, head_hash, created_by, created_at FROM audit_checkpoints ORDER BY head_seq, created_at",
    )
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(checkpoint_from)
    .collect()
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
    pub org_id: Option<OrgId>,
    pub amount: Option<i64>,
    pub currency: Option<String>,
    pub reason_code: Option<String>,
    pub note: String,
    pub request_id: Option<String>,
}

/// Which entries to list; empty strings and `None` match everything.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter<'a> {
    /// An organisation's id as typed in the filter (any text; empty matches every entry).
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
         FROM audit_log WHERE ($1 = '' OR org_id = $1) \
         AND ($2 = '' OR actor = $2 OR actor_role = $2 OR actor_role LIKE $2 || ':%') \
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
