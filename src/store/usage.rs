//! Usage-based billing's data: API keys, meters, usage events and their aggregates, the usage
//! prices and entitlements of plans, the ratings already billed, and spend alerts.

use super::{new_id, Db, Dialect};
use crate::domain::ids::{Id, InvoiceId, OrgId, SubscriptionId};
use crate::domain::metering::{Aggregation, IncomingEvent, Meter, RecordedEvent};
use crate::domain::{Currency, Interval, Price, PriceModel};
use sha2::{Digest, Sha256};
use sqlx::Row;
use std::collections::{BTreeMap, HashMap, HashSet};

// ---------------------------------------------------------------------------------------------
// API keys

/// A stored key (never its secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKeyRow {
    pub id: String,
    /// The organisation it acts for; `None` for a server key.
    pub org_id: Option<OrgId>,
    pub name: String,
    /// The first characters of the secret, to recognise it by.
    pub prefix: String,
    pub created_by: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

fn key_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Creates a key (audited) and returns it with its secret, which is not stored and cannot be
/// shown again.
pub async fn create_key(
    db: &Db,
    org_id: Option<&OrgId>,
    name: &str,
    by: &super::audit::Actor,
    now: i64,
) -> Result<(ApiKeyRow, String), sqlx::Error> {
    let created_by = by.name.as_str();
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rngs::OsRng;
    let random: String = (0..32)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect();
    let secret = format!("{}_{random}", if org_id.is_some() { "bpk" } else { "bps" });
    let row = ApiKeyRow {
        id: new_id("key"),
        org_id: org_id.cloned(),
        name: name.to_string(),
        prefix: secret[..10].to_string(),
        created_by: created_by.to_string(),
        created_at: now,
        revoked_at: None,
        last_used_at: None,
    };
    let query = sqlx::query(
        "INSERT INTO api_keys (id, org_id, name, prefix, key_hash, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&row.id)
    .bind(&row.org_id)
    .bind(&row.name)
    .bind(&row.prefix)
    .bind(key_hash(&secret))
    .bind(&row.created_by)
    .bind(now);
    let target = format!("api_key:{}", row.id);
    let note = format!(
        "{} key {:?} ({}…)",
        if org_id.is_some() {
            "organisation"
        } else {
            "server"
        },
        row.name,
        row.prefix
    );
    super::audit::execute_audited(
        db,
        query,
        &super::audit::AuditEntry {
            org_id,
            note: &note,
            ..by.did("api_key_created", &target)
        },
        now,
    )
    .await?;
    Ok((row, secret))
}

fn key_from_row(r: &sqlx::any::AnyRow) -> Result<ApiKeyRow, sqlx::Error> {
    Ok(ApiKeyRow {
        id: r.try_get("id")?,
        org_id: r.try_get("org_id")?,
        name: r.try_get("name")?,
        prefix: r.try_get("prefix")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
        revoked_at: r.try_get("revoked_at")?,
        last_used_at: r.try_get("last_used_at")?,
    })
}

const KEY_COLUMNS: &str =
    "id, org_id, name, prefix, created_by, created_at, revoked_at, last_used_at";

/// The live key with this secret, noting its use (at most once a minute).
pub async fn key_by_secret(
    db: &Db,
    secret: &str,
    now: i64,
) -> Result<Option<ApiKeyRow>, sqlx::Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {KEY_COLUMNS} FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL"
    )))
    .bind(key_hash(secret))
    .fetch_optional(&db.pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let key = key_from_row(&row)?;
    if key.last_used_at.is_none_or(|at| at < now - 60) {
        sqlx::query("UPDATE api_keys SET last_used_at = $2 WHERE id = $1")
            .bind(&key.id)
            .bind(now)
            .execute(&db.pool)
            .await?;
    }
    Ok(Some(key))
}

/// The organisation's keys, newest first (revoked ones too).
pub async fn list_keys(db: &Db, org_id: &OrgId) -> Result<Vec<ApiKeyRow>, sqlx::Error> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {KEY_COLUMNS} FROM api_keys WHERE org_id = $1 ORDER BY created_at DESC, id"
    )))
    .bind(org_id)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(key_from_row)
    .collect()
}

/// Revokes one of the organisation's keys, audited; false if it has no such live key.
pub async fn revoke_key(
    db: &Db,
    org_id: &OrgId,
    id: &str,
    by: &super::audit::Actor,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let done = sqlx::query(
        "UPDATE api_keys SET revoked_at = $3 WHERE id = $1 AND org_id = $2 AND revoked_at IS NULL",
    )
    .bind(id)
    .bind(org_id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    let target = format!("api_key:{id}");
    super::audit::record(
        &mut tx,
        &super::audit::AuditEntry {
            org_id: Some(org_id),
            ..by.did("api_key_revoked", &target)
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

// ---------------------------------------------------------------------------------------------
// Meters

/// Every meter, by id.
pub async fn meters(db: &Db) -> Result<Vec<Meter>, sqlx::Error> {
    sqlx::query(
        "SELECT id, name, aggregation, property, filter, unit_label FROM meters ORDER BY id",
    )
    .fetch_all(&db.pool)
    .await?
    .into_iter()
    .map(|r| {
        let aggregation: String = r.try_get("aggregation")?;
        let filter: String = r.try_get("filter")?;
        Ok(Meter {
            id: r.try_get("id")?,
            name: r.try_get("name")?,
            aggregation: Aggregation::parse(&aggregation).ok_or_else(|| {
                sqlx::Error::Decode(format!("unknown aggregation {aggregation}").into())
            })?,
            property: r.try_get("property")?,
            filter: serde_json::from_str::<BTreeMap<String, String>>(&filter)
                .map_err(|e| sqlx::Error::Decode(e.into()))?,
            unit_label: r.try_get("unit_label")?,
        })
    })
    .collect()
}

/// Adds a meter, or replaces the one with its id.
pub async fn put_meter(db: &Db, meter: &Meter, now: i64) -> Result<(), sqlx::Error> {
    let query = sqlx::query(
        "INSERT INTO meters (id, name, aggregation, property, filter, unit_label, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO UPDATE SET name = $2, \
         aggregation = $3, property = $4, filter = $5, unit_label = $6",
    )
    .bind(&meter.id)
    .bind(&meter.name)
    .bind(meter.aggregation.as_str())
    .bind(&meter.property)
    .bind(serde_json::to_string(&meter.filter).unwrap_or_else(|_| "{}".into()))
    .bind(&meter.unit_label)
    .bind(now);
    let target = format!("meter:{}", meter.id);
    super::audit::execute_audited(
        db,
        query,
        &super::audit::AuditEntry {
            note: &meter.name,
            ..super::audit::Actor::cli().did("catalog_meter_put", &target)
        },
        now,
    )
    .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Events

/// What happened to each event of a batch that passed its checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recorded {
    Accepted,
    /// The same (customer, id) was recorded before, or earlier in this batch.
    Duplicate,
    /// The customer does not exist.
    UnknownCustomer,
    /// Counting it would take the customer's total for its meter past
    /// [`crate::domain::metering::MAX_METER_TOTAL`].
    OverLimit,
}

/// Records a batch of checked events, each once: a repeated (customer, id) is a duplicate. In one
/// transaction: each customer's running total per meter is read (locked on PostgreSQL), an event
/// that would take it past [`crate::domain::metering::MAX_METER_TOTAL`] is refused, the rest go
/// in multi-row inserts of up to 500, the totals grow by what was inserted, and each customer
/// that gained events gets one audit entry for the batch. Returns one outcome per event, in
/// order.
pub async fn record_events(
    db: &Db,
    events: &[IncomingEvent],
    by: &super::audit::Actor,
    now: i64,
) -> Result<Vec<Recorded>, sqlx::Error> {
    use crate::domain::metering::MAX_METER_TOTAL;
    let mut outcomes = vec![Recorded::Accepted; events.len()];
    if events.is_empty() {
        return Ok(outcomes);
    }
    let customers: Vec<&str> = events
        .iter()
        .map(|e| e.customer.as_str())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let known = existing_orgs(db, &customers).await?;
    let mut tx = db.begin_write().await?;
    let pairs: Vec<(&str, &str)> = events
        .iter()
        .filter(|e| known.contains(e.customer.as_str()))
        .map(|e| (e.customer.as_str(), e.meter.as_str()))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut totals = lock_totals(&mut tx, &pairs).await?;
    let mut rows: Vec<(usize, &IncomingEvent)> = Vec::with_capacity(events.len());
    for (i, e) in events.iter().enumerate() {
        if !known.contains(e.customer.as_str()) {
            outcomes[i] = Recorded::UnknownCustomer;
            continue;
        }
        let total = totals
            .entry((e.customer.clone(), e.meter.clone()))
            .or_insert(0);
        match total.checked_add(e.quantity) {
            Some(next) if next <= MAX_METER_TOTAL => {
                *total = next;
                rows.push((i, e));
            }
            _ => outcomes[i] = Recorded::OverLimit,
        }
    }
    let mut inserted: HashSet<(String, String)> = HashSet::new();
    for chunk in rows.chunks(500) {
        let mut sql = String::from(
            "INSERT INTO usage_events (org_id, event_id, meter_id, quantity, occurred_at, properties, received_at) VALUES ",
        );
        for i in 0..chunk.len() {
            let b = i * 7;
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!(
                "(${}, ${}, ${}, ${}, ${}, ${}, ${})",
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5,
                b + 6,
                b + 7
            ));
        }
        sql.push_str(" ON CONFLICT (org_id, event_id) DO NOTHING RETURNING org_id, event_id");
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (_, e) in chunk {
            query = query
                .bind(&e.customer)
                .bind(&e.id)
                .bind(&e.meter)
                .bind(e.quantity)
                .bind(e.occurred_at)
                .bind(serde_json::Value::Object(e.properties.clone()).to_string())
                .bind(now);
        }
        for r in query.fetch_all(&mut *tx).await? {
            inserted.insert((r.try_get("org_id")?, r.try_get("event_id")?));
        }
    }
    // The first of each inserted (customer, id) in the batch is the accepted one; what the
    // totals gain is what was inserted.
    let mut added: HashMap<(&str, &str), i64> = HashMap::new();
    let mut per_org: HashMap<&str, (i64, i64)> = HashMap::new();
    for (i, e) in rows {
        if inserted.remove(&(e.customer.clone(), e.id.clone())) {
            *added.entry((&e.customer, &e.meter)).or_default() += e.quantity;
            per_org.entry(&e.customer).or_default().0 += 1;
        } else {
            outcomes[i] = Recorded::Duplicate;
            per_org.entry(&e.customer).or_default().1 += 1;
        }
    }
    for ((org, meter), amount) in &added {
        sqlx::query(
            "UPDATE usage_totals SET total = total + $3 WHERE org_id = $1 AND meter_id = $2",
        )
        .bind(*org)
        .bind(*meter)
        .bind(*amount)
        .execute(&mut *tx)
        .await?;
    }
    // An event refused for the ceiling may simply be a repeat: then it is a duplicate, as it
    // would be anywhere else.
    let refused: Vec<usize> = (0..events.len())
        .filter(|i| outcomes[*i] == Recorded::OverLimit)
        .collect();
    for i in refused {
        let e = &events[i];
        let earlier_in_batch = events[..i].iter().enumerate().any(|(j, other)| {
            outcomes[j] != Recorded::OverLimit && other.customer == e.customer && other.id == e.id
        });
        let stored =
            sqlx::query("SELECT 1 AS one FROM usage_events WHERE org_id = $1 AND event_id = $2")
                .bind(&e.customer)
                .bind(&e.id)
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
        if earlier_in_batch || stored {
            outcomes[i] = Recorded::Duplicate;
        }
    }
    let mut orgs: Vec<_> = per_org.into_iter().filter(|(_, (n, _))| *n > 0).collect();
    orgs.sort();
    for (org, (accepted, duplicates)) in orgs {
        // Every event in the batch was checked to name an existing organisation.
        let org = OrgId::from_trusted(org.to_string());
        let target = format!("org:{org}");
        let note = format!("{accepted} usage event(s) recorded, {duplicates} duplicate(s) ignored");
        super::audit::record(
            &mut tx,
            &super::audit::AuditEntry {
                org_id: Some(&org),
                note: &note,
                ..by.did("usage_recorded", &target)
            },
            now,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(outcomes)
}

/// Makes sure every (customer, meter) pair has a running total and reads them, locked for the
/// rest of the transaction on PostgreSQL (SQLite's write transaction excludes other writers).
async fn lock_totals(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    pairs: &[(&str, &str)],
) -> Result<HashMap<(String, String), i64>, sqlx::Error> {
    let postgres = tx.backend_name() == "PostgreSQL";
    let mut totals = HashMap::new();
    for chunk in pairs.chunks(200) {
        let mut sql = String::from("INSERT INTO usage_totals (org_id, meter_id, total) VALUES ");
        for i in 0..chunk.len() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("(${}, ${}, 0)", i * 2 + 1, i * 2 + 2));
        }
        sql.push_str(" ON CONFLICT (org_id, meter_id) DO NOTHING");
        let mut insert = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (org, meter) in chunk {
            insert = insert.bind(*org).bind(*meter);
        }
        insert.execute(&mut **tx).await?;
        let conditions: Vec<String> = (0..chunk.len())
            .map(|i| format!("(org_id = ${} AND meter_id = ${})", i * 2 + 1, i * 2 + 2))
            .collect();
        let mut select = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT org_id, meter_id, total FROM usage_totals WHERE {}{}",
            conditions.join(" OR "),
            if postgres { " FOR UPDATE" } else { "" }
        )));
        for (org, meter) in chunk {
            select = select.bind(*org).bind(*meter);
        }
        for r in select.fetch_all(&mut **tx).await? {
            totals.insert(
                (r.try_get("org_id")?, r.try_get("meter_id")?),
                r.try_get::<i64, _>("total")?,
            );
        }
    }
    Ok(totals)
}

async fn existing_orgs<'a>(db: &Db, ids: &[&'a str]) -> Result<HashSet<&'a str>, sqlx::Error> {
    let mut found = HashSet::new();
    for chunk in ids.chunks(500) {
        let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let mut query = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT id FROM organizations WHERE id IN ({})",
            placeholders.join(", ")
        )));
        for id in chunk {
            query = query.bind(*id);
        }
        let rows = query.fetch_all(&db.pool).await?;
        let ids: HashSet<String> = rows
            .iter()
            .map(|r| r.try_get::<String, _>("id"))
            .collect::<Result<_, _>>()?;
        found.extend(chunk.iter().copied().filter(|id| ids.contains(*id)));
    }
    Ok(found)
}

/// A property of the stored JSON as text, in each dialect (the name is a bound parameter).
fn property_sql(dialect: Dialect, param: usize) -> String {
    match dialect {
        Dialect::Sqlite => format!(
            "(CASE json_type(properties, '$.' || ${param}) WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' \
             WHEN 'integer' THEN CAST(json_extract(properties, '$.' || ${param}) AS TEXT) \
             WHEN 'real' THEN CAST(json_extract(properties, '$.' || ${param}) AS TEXT) \
             WHEN 'text' THEN json_extract(properties, '$.' || ${param}) END)"
        ),
        Dialect::Postgres => format!(
            "(CASE jsonb_typeof(properties::jsonb -> ${param}) WHEN 'object' THEN NULL WHEN 'array' THEN NULL \
             ELSE properties::jsonb ->> ${param} END)"
        ),
    }
}

/// The WHERE clause for a meter's events of one organisation in `[from, until)`, with its binds
/// (after the first three: org, meter, from, until are $1..$4).
fn meter_where(db: &Db, meter: &Meter, first_param: usize) -> (String, Vec<String>) {
    let mut sql =
        String::from("org_id = $1 AND meter_id = $2 AND occurred_at >= $3 AND occurred_at < $4");
    let mut binds = Vec::new();
    let mut p = first_param;
    for (key, value) in &meter.filter {
        sql.push_str(&format!(
            " AND {} = ${}",
            property_sql(db.dialect, p),
            p + 1
        ));
        binds.push(key.clone());
        binds.push(value.clone());
        p += 2;
    }
    (sql, binds)
}

/// The meter's value for the organisation over `[from, until)`, aggregated in the database.
pub async fn meter_total(
    db: &Db,
    org_id: &OrgId,
    meter: &Meter,
    from: i64,
    until: i64,
) -> Result<i64, sqlx::Error> {
    let (filter, mut binds) = meter_where(db, meter, 5);
    let next = 5 + binds.len();
    let (select, tail) = match meter.aggregation {
        Aggregation::Sum => ("CAST(COALESCE(SUM(quantity), 0) AS BIGINT)".to_string(), ""),
        Aggregation::Count => ("CAST(COUNT(*) AS BIGINT)".to_string(), ""),
        Aggregation::Max => ("CAST(COALESCE(MAX(quantity), 0) AS BIGINT)".to_string(), ""),
        Aggregation::Latest => (
            "quantity".to_string(),
            " ORDER BY occurred_at DESC, received_at DESC LIMIT 1",
        ),
        Aggregation::UniqueCount => {
            binds.push(meter.property.clone().unwrap_or_default());
            (
                format!(
                    "CAST(COUNT(DISTINCT {}) AS BIGINT)",
                    property_sql(db.dialect, next)
                ),
                "",
            )
        }
    };
    let mut query = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {select} AS v FROM usage_events WHERE {filter}{tail}"
    )))
    .bind(org_id)
    .bind(&meter.id)
    .bind(from)
    .bind(until);
    for b in &binds {
        query = query.bind(b.clone());
    }
    Ok(query
        .fetch_optional(&db.pool)
        .await?
        .map(|r| r.try_get::<i64, _>("v"))
        .transpose()?
        .unwrap_or(0))
}

/// The meter's value for each UTC day of `[from, until)` (days without events included, as 0).
pub async fn meter_daily(
    db: &Db,
    org_id: &OrgId,
    meter: &Meter,
    from: i64,
    until: i64,
) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    let first_day = from.div_euclid(86_400) * 86_400;
    let mut days = Vec::new();
    let mut day = first_day;
    while day < until && days.len() < 400 {
        let value =
            meter_total(db, org_id, meter, day.max(from), (day + 86_400).min(until)).await?;
        days.push((day, value));
        day += 86_400;
    }
    Ok(days)
}

/// Up to `limit` of the events a meter counts for the organisation over `[from, until)`, oldest
/// first: the drill-down behind an invoice line.
pub async fn meter_events(
    db: &Db,
    org_id: &OrgId,
    meter: &Meter,
    from: i64,
    until: i64,
    limit: i64,
) -> Result<Vec<(String, RecordedEvent)>, sqlx::Error> {
    let (filter, binds) = meter_where(db, meter, 5);
    let limit_param = 5 + binds.len();
    let mut query = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT event_id, quantity, occurred_at, properties FROM usage_events WHERE {filter} \
         ORDER BY occurred_at, event_id LIMIT ${limit_param}"
    )))
    .bind(org_id)
    .bind(&meter.id)
    .bind(from)
    .bind(until);
    for b in &binds {
        query = query.bind(b.clone());
    }
    query
        .bind(limit)
        .fetch_all(&db.pool)
        .await?
        .into_iter()
        .map(|r| {
            let properties: String = r.try_get("properties")?;
            Ok((
                r.try_get("event_id")?,
                RecordedEvent {
                    quantity: r.try_get("quantity")?,
                    occurred_at: r.try_get("occurred_at")?,
                    properties: serde_json::from_str(&properties)
                        .map_err(|e| sqlx::Error::Decode(e.into()))?,
                },
            ))
        })
        .collect()
}

/// How many events the organisation has recorded (every meter).
pub async fn event_count(db: &Db, org_id: &OrgId) -> Result<i64, sqlx::Error> {
    sqlx::query("SELECT CAST(COUNT(*) AS BIGINT) AS n FROM usage_events WHERE org_id = $1")
        .bind(org_id)
        .fetch_one(&db.pool)
        .await?
        .try_get("n")
}

// ---------------------------------------------------------------------------------------------
// Usage prices and entitlements

/// A plan's price for one meter's usage.
#[derive(Clone, Debug, PartialEq)]
pub struct UsagePrice {
    pub meter_id: String,
    /// The model and currency; its interval is not used (usage follows the subscription's
    /// periods).
    pub price: Price,
}

/// Which versions of a plan's usage prices and entitlements to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Terms {
    /// What is published now (the pricing page, a new customer).
    Published,
    /// What a subscription on this catalog revision keeps
    /// ([`super::subscriptions::SubscriptionRow::catalog_revision`]).
    AtRevision(i64),
}

impl Terms {
    /// The condition on `since_revision`/`until_revision` (the revision is `$2`).
    fn condition(self) -> &'static str {
        match self {
            Terms::Published => "until_revision IS NULL",
            Terms::AtRevision(_) => {
                "since_revision <= $2 AND (until_revision IS NULL OR until_revision > $2)"
            }
        }
    }

    /// Binds the revision the condition names, if it names one.
    fn bind<'q>(
        self,
        query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
        match self {
            Terms::Published => query,
            Terms::AtRevision(r) => query.bind(r),
        }
    }
}

/// A plan's usage prices on `terms`; each version has its own id (the first keeps the catalog's).
pub async fn usage_prices(
    db: &Db,
    plan_id: &str,
    terms: Terms,
) -> Result<Vec<UsagePrice>, sqlx::Error> {
    let query = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT id, meter_id, nickname, currency, model, unit_label FROM usage_prices \
         WHERE plan_id = $1 AND {} ORDER BY COALESCE(lookup_key, id)",
        terms.condition()
    )));
    terms
        .bind(query.bind(plan_id))
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(usage_price_of)
        .collect()
}

/// One version of a usage price, by its own id (the one that rated a period, say).
pub async fn usage_price_by_id(db: &Db, id: &str) -> Result<Option<UsagePrice>, sqlx::Error> {
    sqlx::query(
        "SELECT id, meter_id, nickname, currency, model, unit_label FROM usage_prices WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&db.pool)
    .await?
    .as_ref()
    .map(usage_price_of)
    .transpose()
}

fn usage_price_of(r: &sqlx::any::AnyRow) -> Result<UsagePrice, sqlx::Error> {
    {
        let currency: String = r.try_get("currency")?;
        let model: String = r.try_get("model")?;
        let decode = |e: String| sqlx::Error::Decode(e.into());
        Ok(UsagePrice {
            meter_id: r.try_get("meter_id")?,
            price: Price {
                id: r.try_get("id")?,
                nickname: r.try_get("nickname")?,
                currency: Currency::parse(&currency).map_err(|e| decode(e.to_string()))?,
                interval: Interval::monthly(),
                model: serde_json::from_str::<PriceModel>(&model)
                    .map_err(|e| decode(e.to_string()))?,
                trial_days: 0,
                unit_label: r.try_get("unit_label")?,
                min_quantity: None,
                max_quantity: None,
            },
        })
    }
}

/// One entitlement of a plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntitlementRow {
    pub key: String,
    /// How the pricing page names it; empty: the key.
    pub name: String,
    /// `feature` or `limit`.
    pub kind: String,
    /// A feature's 1 or 0; a limit's value, `None` for unlimited.
    pub value: Option<i64>,
    pub meter_id: Option<String>,
}

impl EntitlementRow {
    /// The entitlement this row keeps; an empty name is the key.
    pub fn entitlement(&self) -> crate::domain::catalog_file::Entitlement {
        use crate::domain::catalog_file::{Entitlement, EntitlementKind};
        Entitlement {
            key: self.key.clone(),
            name: if self.name.is_empty() {
                self.key.clone()
            } else {
                self.name.clone()
            },
            kind: if self.kind == "feature" {
                EntitlementKind::Feature {
                    enabled: self.value == Some(1),
                }
            } else {
                EntitlementKind::Limit {
                    value: self.value,
                    meter: self.meter_id.clone(),
                }
            },
        }
    }
}

/// A plan's entitlements on `terms`.
pub async fn entitlements(
    db: &Db,
    plan_id: &str,
    terms: Terms,
) -> Result<Vec<EntitlementRow>, sqlx::Error> {
    let query = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT key, name, kind, value, meter_id FROM plan_entitlements WHERE plan_id = $1 AND {} \
         ORDER BY kind, key",
        terms.condition()
    )));
    terms
        .bind(query.bind(plan_id))
        .fetch_all(&db.pool)
        .await?
        .into_iter()
        .map(|r| {
            Ok(EntitlementRow {
                key: r.try_get("key")?,
                name: r.try_get("name")?,
                kind: r.try_get("kind")?,
                value: r.try_get("value")?,
                meter_id: r.try_get("meter_id")?,
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Ratings already billed

/// What has been billed for a subscription's usage price over one period so far: the quantity
/// last rated and the sum of the amounts billed (the first rating and any late-event
/// adjustments).
pub async fn billed(
    db: &Db,
    subscription_id: &SubscriptionId,
    usage_price_id: &str,
    period_start: i64,
) -> Result<Option<(i64, i64)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT quantity, amount FROM usage_ratings WHERE subscription_id = $1 AND usage_price_id = $2 \
         AND period_start = $3 ORDER BY rated_at, seq",
    )
    .bind(subscription_id)
    .bind(usage_price_id)
    .bind(period_start)
    .fetch_all(&db.pool)
    .await?;
    let Some(last) = rows.last() else {
        return Ok(None);
    };
    let mut amount = 0;
    for r in &rows {
        amount += r.try_get::<i64, _>("amount")?;
    }
    Ok(Some((last.try_get("quantity")?, amount)))
}

/// The periods of a subscription rated since `since` (period start, end), newest first.
pub async fn rated_periods(
    db: &Db,
    subscription_id: &SubscriptionId,
    since: i64,
) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    sqlx::query(
        "SELECT DISTINCT period_start, period_end FROM usage_ratings WHERE subscription_id = $1 \
         AND period_end >= $2 ORDER BY period_start DESC",
    )
    .bind(subscription_id)
    .bind(since)
    .fetch_all(&db.pool)
    .await?
    .into_iter()
    .map(|r| Ok((r.try_get("period_start")?, r.try_get("period_end")?)))
    .collect()
}

/// The usage price versions that rated the subscription's period starting at `period_start`.
pub async fn rated_price_ids(
    db: &Db,
    subscription_id: &SubscriptionId,
    period_start: i64,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT DISTINCT usage_price_id FROM usage_ratings WHERE subscription_id = $1 AND period_start = $2 \
         ORDER BY usage_price_id",
    )
    .bind(subscription_id)
    .bind(period_start)
    .fetch_all(&db.pool)
    .await
}

/// One rating to record with the invoice that bills it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rating {
    pub usage_price_id: String,
    pub period_start: i64,
    pub period_end: i64,
    /// The period's whole quantity as rated now.
    pub quantity: i64,
    /// What this rating bills (the whole amount, or the difference for late events).
    pub amount: i64,
}

/// Records ratings inside the transaction that writes their invoice.
pub async fn record_ratings(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    subscription_id: &SubscriptionId,
    invoice_id: Option<&InvoiceId>,
    ratings: &[Rating],
    now: i64,
) -> Result<(), sqlx::Error> {
    for (seq, r) in ratings.iter().enumerate() {
        sqlx::query(
            "INSERT INTO usage_ratings (subscription_id, usage_price_id, period_start, period_end, quantity, \
             amount, invoice_id, rated_at, seq) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(subscription_id)
        .bind(&r.usage_price_id)
        .bind(r.period_start)
        .bind(r.period_end)
        .bind(r.quantity)
        .bind(r.amount)
        .bind(invoice_id)
        .bind(now)
        .bind(seq as i64)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Spend alerts

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpendAlert {
    pub amount: i64,
    pub currency: Currency,
    pub hard_cap: bool,
    /// The period start the alert last emailed for.
    pub notified_period_start: Option<i64>,
}

pub async fn spend_alert(db: &Db, org_id: &OrgId) -> Result<Option<SpendAlert>, sqlx::Error> {
    sqlx::query(
        "SELECT amount, currency, hard_cap, notified_period_start FROM spend_alerts WHERE org_id = $1",
    )
    .bind(org_id)
    .fetch_optional(&db.pool)
    .await?
    .map(|r| {
        let currency: String = r.try_get("currency")?;
        Ok(SpendAlert {
            amount: r.try_get("amount")?,
            currency: Currency::parse(&currency)
                .map_err(|e| sqlx::Error::Decode(e.to_string().into()))?,
            hard_cap: r.try_get::<i64, _>("hard_cap")? == 1,
            notified_period_start: r.try_get("notified_period_start")?,
        })
    })
    .transpose()
}

/// Sets (or with `None`, removes) the organisation's alert; a new amount may alert again this
/// period.
pub async fn set_spend_alert(
    db: &Db,
    org_id: &OrgId,
    alert: Option<(i64, Currency, bool)>,
    by: &super::audit::Actor,
    now: i64,
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let target = format!("org:{org_id}");
    match alert {
        None => {
            sqlx::query("DELETE FROM spend_alerts WHERE org_id = $1")
                .bind(org_id)
                .execute(&mut *tx)
                .await?;
            super::audit::record(
                &mut tx,
                &super::audit::AuditEntry {
                    org_id: Some(org_id),
                    note: "spend alert turned off",
                    ..by.did("spend_alert_removed", &target)
                },
                now,
            )
            .await?;
        }
        Some((amount, currency, cap)) => {
            sqlx::query(
                "INSERT INTO spend_alerts (org_id, amount, currency, hard_cap, notified_period_start, updated_at) \
                 VALUES ($1, $2, $3, $4, NULL, $5) ON CONFLICT (org_id) DO UPDATE SET amount = $2, \
                 currency = $3, hard_cap = $4, notified_period_start = NULL, updated_at = $5",
            )
            .bind(org_id)
            .bind(amount)
            .bind(currency.code())
            .bind(i64::from(cap))
            .bind(now)
            .execute(&mut *tx)
            .await?;
            super::audit::record(
                &mut tx,
                &super::audit::AuditEntry {
                    org_id: Some(org_id),
                    amount: Some(amount),
                    currency: Some(currency.code()),
                    note: if cap { "with a hard cap" } else { "alert only" },
                    ..by.did("spend_alert_set", &target)
                },
                now,
            )
            .await?;
        }
    }
    tx.commit().await
}

/// Claims the alert's email for the period starting at `period_start`: true exactly once per
/// period, however many requests see the threshold crossed at the same time. The email is queued
/// in the same transaction.
pub async fn claim_alert_email(
    db: &Db,
    org_id: &OrgId,
    period_start: i64,
    email: Option<&super::members::OutgoingEmail<'_>>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let claimed = sqlx::query(
        "UPDATE spend_alerts SET notified_period_start = $2 WHERE org_id = $1 \
         AND (notified_period_start IS NULL OR notified_period_start <> $2)",
    )
    .bind(org_id)
    .bind(period_start)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if claimed {
        if let Some(mail) = email {
            super::members::queue_email(&mut tx, Some(org_id), mail, now).await?;
        }
        let target = format!("org:{org_id}");
        super::audit::record(
            &mut tx,
            &super::audit::AuditEntry {
                org_id: Some(org_id),
                note: if email.is_some() {
                    "projected usage charges reached the alert; the owner was emailed"
                } else {
                    "projected usage charges reached the alert"
                },
                ..super::audit::Actor::system().did("spend_alert_reached", &target)
            },
            now,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(claimed)
}

/// The meters by id.
pub fn by_id(meters: Vec<Meter>) -> HashMap<String, Meter> {
    meters.into_iter().map(|m| (m.id.clone(), m)).collect()
}
