//! Coupons, the promotion codes that grant them, and redemptions (once per organisation).

use super::{new_id, Db};
use crate::domain::ids::{OrgId, SubscriptionId};
use crate::domain::promotion::PromotionCode;
use crate::domain::{Coupon, CouponDuration, CouponValue, Currency, Money};
use sqlx::Row;

fn decode(e: impl std::fmt::Display) -> sqlx::Error {
    sqlx::Error::Decode(e.to_string().into())
}

pub(super) fn coupon_from_row(r: &sqlx::any::AnyRow) -> Result<Coupon, sqlx::Error> {
    let percent: Option<String> = r.try_get("percent_off")?;
    let amount: Option<i64> = r.try_get("amount_off")?;
    let currency: Option<String> = r.try_get("currency")?;
    let value = match (percent, amount, currency) {
        (Some(p), _, _) => CouponValue::Percent {
            percent: p.parse().map_err(decode)?,
        },
        (None, Some(a), Some(c)) => CouponValue::FixedAmount {
            amount: Money::from_minor(a, Currency::parse(&c).map_err(decode)?),
        },
        _ => {
            return Err(decode(
                "a coupon needs percent_off, or amount_off with currency",
            ))
        }
    };
    let duration: String = r.try_get("duration")?;
    let periods: Option<i64> = r.try_get("duration_periods")?;
    let duration = match duration.as_str() {
        "once" => CouponDuration::Once,
        "forever" => CouponDuration::Forever,
        _ => CouponDuration::Repeating {
            periods: u32::try_from(periods.unwrap_or(1)).map_err(decode)?,
        },
    };
    Ok(Coupon {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        value,
        duration,
    })
}

const COUPON_COLUMNS: &str =
    "c.id, c.name, c.percent_off, c.amount_off, c.currency, c.duration, c.duration_periods";

pub async fn coupon(db: &Db, id: &str) -> Result<Option<Coupon>, sqlx::Error> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COUPON_COLUMNS} FROM coupons c WHERE c.id = $1"
    )))
    .bind(id)
    .fetch_optional(&db.pool)
    .await?
    .map(|r| coupon_from_row(&r))
    .transpose()
}

/// A promotion code (already normalised to upper case) with its coupon.
pub async fn promotion_code(db: &Db, code: &str) -> Result<Option<PromotionCode>, sqlx::Error> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COUPON_COLUMNS}, p.code, p.active, p.expires_at, p.max_redemptions, p.times_redeemed \
         FROM promotion_codes p JOIN coupons c ON c.id = p.coupon_id WHERE p.code = $1"
    )))
    .bind(code)
    .fetch_optional(&db.pool)
    .await?
    .map(|r| {
        Ok(PromotionCode {
            code: r.try_get("code")?,
            coupon: coupon_from_row(&r)?,
            active: r.try_get::<i64, _>("active")? != 0,
            expires_at: r
                .try_get::<Option<i64>, _>("expires_at")?
                .and_then(|t| chrono::DateTime::from_timestamp(t, 0)),
            max_redemptions: r.try_get("max_redemptions")?,
            times_redeemed: r.try_get("times_redeemed")?,
        })
    })
    .transpose()
}

/// Whether the organisation has redeemed this coupon before.
pub async fn redeemed_by(db: &Db, coupon_id: &str, org_id: &OrgId) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM coupon_redemptions WHERE coupon_id = $1 AND org_id = $2",
    )
    .bind(coupon_id)
    .bind(org_id)
    .fetch_one(&db.pool)
    .await?
    .try_get("n")?;
    Ok(n > 0)
}

/// Records a redemption inside the caller's transaction. The unique (coupon, organisation) pair
/// refuses a second one.
pub async fn redeem_in_tx(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    code: &str,
    coupon_id: &str,
    org_id: &OrgId,
    subscription_id: &SubscriptionId,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO coupon_redemptions (id, code, coupon_id, org_id, subscription_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(new_id("red"))
    .bind(code)
    .bind(coupon_id)
    .bind(org_id)
    .bind(subscription_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    sqlx::query("UPDATE promotion_codes SET times_redeemed = times_redeemed + 1 WHERE code = $1")
        .bind(code)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
