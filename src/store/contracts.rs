//! Contracts: a price negotiated with one organisation, kept as a price row that only it is
//! offered, with the terms that go with it. Giving and ending one are audited in the same
//! transaction.

use super::audit::AuditEntry;
use super::{new_id, Db};
use crate::domain::contract::Contract;
use crate::domain::ids::OrgId;
use crate::domain::Price;
use sqlx::Row;

/// A contract with who gave it and why, as the console lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContractRow {
    pub contract: Contract,
    pub note: String,
    pub created_by: String,
    pub created_at: i64,
    pub ended_by: Option<String>,
}

const COLUMNS: &str = "id, price_id, base_price_id, minimum_commitment, ends_at, ended_at, note, \
     created_by, created_at, ended_by";

fn row_of(r: &sqlx::any::AnyRow) -> Result<ContractRow, sqlx::Error> {
    Ok(ContractRow {
        contract: Contract {
            id: r.try_get("id")?,
            price_id: r.try_get("price_id")?,
            base_price_id: r.try_get("base_price_id")?,
            minimum_commitment: r.try_get("minimum_commitment")?,
            ends_at: r.try_get("ends_at")?,
            ended_at: r.try_get("ended_at")?,
        },
        note: r.try_get("note")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
        ended_by: r.try_get("ended_by")?,
    })
}

async fn rows_in(
    conn: &mut sqlx::AnyConnection,
    org_id: &OrgId,
) -> Result<Vec<ContractRow>, sqlx::Error> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM contracts WHERE org_id = $1 ORDER BY created_at, id"
    )))
    .bind(org_id)
    .fetch_all(conn)
    .await?
    .iter()
    .map(row_of)
    .collect()
}

/// Every contract of the organisation, oldest first (the domain takes the newest live one).
pub async fn for_org(db: &Db, org_id: &OrgId) -> Result<Vec<ContractRow>, sqlx::Error> {
    rows_in(&mut *db.pool.acquire().await?, org_id).await
}

/// The contracts alone, for billing.
pub async fn terms_of(db: &Db, org_id: &OrgId) -> Result<Vec<Contract>, sqlx::Error> {
    terms_in(&mut *db.pool.acquire().await?, org_id).await
}

/// The same, read on `conn` (inside a transaction that reads the catalog, say).
pub async fn terms_in(
    conn: &mut sqlx::AnyConnection,
    org_id: &OrgId,
) -> Result<Vec<Contract>, sqlx::Error> {
    Ok(rows_in(conn, org_id)
        .await?
        .into_iter()
        .map(|row| row.contract)
        .collect())
}

/// A contract to give.
pub struct NewContract<'a> {
    pub org_id: &'a OrgId,
    pub plan_id: &'a str,
    /// The organisation's own price; its id is the contract's.
    pub price: &'a Price,
    pub base_price_id: &'a str,
    pub minimum_commitment: i64,
    pub ends_at: Option<i64>,
    pub note: &'a str,
}

/// The id a new contract (and its price) gets.
pub fn new_contract_id() -> String {
    new_id(crate::domain::contract::ID_PREFIX)
}

/// Gives the organisation its own price: the price row, the contract, the end of any contract it
/// had until now, and the audit entry, in one transaction.
pub async fn give(
    db: &Db,
    new: &NewContract<'_>,
    audit: &AuditEntry<'_>,
    now: i64,
) -> Result<(), sqlx::Error> {
    let price = new.price;
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "INSERT INTO prices (id, plan_id, nickname, currency, interval_unit, interval_count, model, \
         unit_label, min_quantity, max_quantity, trial_days, active, lookup_key, version, org_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1, $1, 1, $12)",
    )
    .bind(&price.id)
    .bind(new.plan_id)
    .bind(&price.nickname)
    .bind(price.currency.code())
    .bind(super::catalog::unit_of(&price.interval))
    .bind(i64::from(price.interval.count))
    .bind(serde_json::to_string(&price.model).map_err(|e| sqlx::Error::Encode(e.into()))?)
    .bind(price.unit_label.as_deref())
    .bind(price.min_quantity)
    .bind(price.max_quantity)
    .bind(i64::from(price.trial_days))
    .bind(new.org_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE contracts SET ended_at = $1, ended_by = $2 WHERE org_id = $3 AND ended_at IS NULL",
    )
    .bind(now)
    .bind(audit.actor)
    .bind(new.org_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO contracts (id, org_id, price_id, base_price_id, minimum_commitment, ends_at, \
         note, created_by, created_at) VALUES ($1, $2, $1, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&price.id)
    .bind(new.org_id)
    .bind(new.base_price_id)
    .bind(new.minimum_commitment)
    .bind(new.ends_at)
    .bind(new.note)
    .bind(audit.actor)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    super::audit::record(&mut tx, audit, now).await?;
    tx.commit().await
}

/// Ends the organisation's contract now; its subscriber renews on the list price. `false`: it
/// had none to end.
pub async fn end(
    db: &Db,
    org_id: &OrgId,
    audit: &AuditEntry<'_>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let ended = sqlx::query(
        "UPDATE contracts SET ended_at = $1, ended_by = $2 WHERE org_id = $3 AND ended_at IS NULL \
         AND (ends_at IS NULL OR ends_at > $1)",
    )
    .bind(now)
    .bind(audit.actor)
    .bind(org_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if ended == 0 {
        return Ok(false);
    }
    super::audit::record(&mut tx, audit, now).await?;
    tx.commit().await?;
    Ok(true)
}
