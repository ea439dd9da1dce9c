//! Demo data: a realistic catalog, a customer organisation and support staff. Running it again
//! changes nothing that is already there.

use crate::domain::access::{Email, StaffRole};
use crate::domain::catalog::Plan;
use crate::domain::{Currency, Interval, Price, PriceModel};
use crate::server::AppState;
use crate::store::{accounts, catalog, staff, Db};
use rust_decimal::Decimal;

/// Why the demo data could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Catalog(#[from] crate::store::catalog::CatalogError),
    #[error(transparent)]
    Account(#[from] crate::error::AppError),
    #[error(transparent)]
    CreateAccount(#[from] crate::store::accounts::CreateAccountError),
    #[error(transparent)]
    CreateStaff(#[from] crate::store::staff::CreateStaffError),
}

/// Password of every demo account (customer and staff).
pub const DEMO_PASSWORD: &str = "demo-billing-2026";

pub const DEMO_OWNER: &str = "owner@demo.test";
pub const DEMO_STAFF: [(&str, &str, StaffRole); 3] = [
    ("agent@demo.test", "Avery Agent", StaffRole::Agent),
    ("admin@demo.test", "Blake Billing", StaffRole::BillingAdmin),
    ("approver@demo.test", "Casey Approver", StaffRole::Approver),
];

fn seats(
    id: &str,
    nickname: &str,
    interval: Interval,
    unit_minor: i64,
    min: i64,
    max: i64,
    trial_days: u32,
) -> Price {
    Price {
        id: id.into(),
        nickname: nickname.into(),
        currency: Currency::USD,
        interval,
        model: PriceModel::PerUnit {
            unit_amount: Decimal::from(unit_minor),
        },
        trial_days,
        unit_label: Some("seat".into()),
        min_quantity: Some(min),
        max_quantity: Some(max),
    }
}

/// The demo catalog: Free, Pro per seat and Team per seat with included usage, monthly and annual.
pub fn demo_catalog() -> Vec<Plan> {
    let lines = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    vec![
        Plan {
            id: "free".into(),
            name: "Free".into(),
            description: "For trying things out on your own.".into(),
            features: lines(&[
                "1 seat",
                "3 private projects",
                "500 build minutes a month",
                "Community support",
            ]),
            prices: vec![Price {
                id: "free_monthly".into(),
                nickname: "Free".into(),
                currency: Currency::USD,
                interval: Interval::monthly(),
                model: PriceModel::Flat { amount: 0 },
                trial_days: 0,
                unit_label: Some("seat".into()),
                min_quantity: Some(1),
                max_quantity: Some(1),
            }],
        },
        Plan {
            id: "pro".into(),
            name: "Pro".into(),
            description: "For small teams shipping every day.".into(),
            features: lines(&[
                "Up to 50 seats",
                "Unlimited private projects",
                "3,000 build minutes a month",
                "Email support",
                "Cancel any time",
            ]),
            prices: vec![
                seats(
                    "pro_monthly",
                    "Pro monthly",
                    Interval::monthly(),
                    1200,
                    1,
                    50,
                    0,
                ),
                seats(
                    "pro_annual",
                    "Pro annual",
                    Interval::yearly(),
                    12000,
                    1,
                    50,
                    0,
                ),
            ],
        },
        Plan {
            id: "team".into(),
            name: "Team".into(),
            description: "For growing organisations that need control.".into(),
            features: lines(&[
                "3 to 500 seats",
                "10,000 build minutes a month included",
                "SSO and audit log",
                "Priority support",
            ]),
            prices: vec![
                seats(
                    "team_monthly",
                    "Team monthly",
                    Interval::monthly(),
                    2500,
                    3,
                    500,
                    0,
                ),
                seats(
                    "team_annual",
                    "Team annual",
                    Interval::yearly(),
                    25000,
                    3,
                    500,
                    14,
                ),
            ],
        },
    ]
}

/// Demo coupons with their promotion code, expiry and redemption limit.
pub fn demo_coupons() -> Vec<(
    crate::domain::Coupon,
    &'static str,
    Option<i64>,
    Option<i64>,
)> {
    use crate::domain::{Coupon, CouponDuration, CouponValue, Money};
    vec![
        (
            Coupon {
                id: "launch20".into(),
                name: "Launch offer".into(),
                value: CouponValue::Percent {
                    percent: rust_decimal::Decimal::from(20),
                },
                duration: CouponDuration::Repeating { periods: 3 },
            },
            "LAUNCH20",
            None,
            Some(1000),
        ),
        (
            Coupon {
                id: "welcome10".into(),
                name: "Welcome".into(),
                value: CouponValue::FixedAmount {
                    amount: Money::from_minor(1000, Currency::USD),
                },
                duration: CouponDuration::Once,
            },
            "WELCOME10",
            None,
            None,
        ),
        (
            Coupon {
                id: "summer25".into(),
                name: "Summer sale".into(),
                value: CouponValue::Percent {
                    percent: rust_decimal::Decimal::from(25),
                },
                duration: CouponDuration::Once,
            },
            "SUMMER25",
            // 1 September 2025.
            Some(1_756_684_800),
            None,
        ),
    ]
}

/// The demo's meters, the usage prices of Pro and Team, and what each plan entitles.
pub async fn seed_metering(db: &Db, now: i64) -> Result<(), sqlx::Error> {
    use crate::domain::metering::{Aggregation, Meter};
    use crate::store::usage::{
        put_entitlement, put_meter, put_usage_price, EntitlementRow, UsagePrice,
    };
    let meter = |id: &str, name: &str, aggregation, property: Option<&str>, unit: &str| Meter {
        id: id.into(),
        name: name.into(),
        aggregation,
        property: property.map(str::to_string),
        filter: Default::default(),
        unit_label: unit.into(),
    };
    for m in [
        meter(
            "build_minutes",
            "Build minutes",
            Aggregation::Sum,
            None,
            "minute",
        ),
        meter("api_calls", "API calls", Aggregation::Count, None, "call"),
        meter(
            "active_users",
            "Active users",
            Aggregation::UniqueCount,
            Some("user"),
            "user",
        ),
        meter("storage_gb", "Peak storage", Aggregation::Max, None, "GB"),
    ] {
        put_meter(db, &m, now).await?;
    }
    let overage = |id: &str, nickname: &str, included: i64, cents: i64| UsagePrice {
        meter_id: "build_minutes".into(),
        price: Price {
            id: id.into(),
            nickname: nickname.into(),
            currency: Currency::USD,
            interval: Interval::monthly(),
            // Tenths of a cent per minute.
            model: PriceModel::IncludedThenOverage {
                included,
                base_amount: 0,
                overage_unit_amount: rust_decimal::Decimal::new(cents, 1),
            },
            trial_days: 0,
            unit_label: Some("minute".into()),
            min_quantity: None,
            max_quantity: None,
        },
    };
    put_usage_price(
        db,
        "pro",
        &overage("pro_build_minutes", "Pro build minutes", 1_000, 8),
        now,
    )
    .await?;
    put_usage_price(
        db,
        "team",
        &overage("team_build_minutes", "Team build minutes", 5_000, 6),
        now,
    )
    .await?;
    let limit = |key: &str, value: Option<i64>, meter: Option<&str>| EntitlementRow {
        key: key.into(),
        kind: "limit".into(),
        value,
        meter_id: meter.map(str::to_string),
    };
    let feature = |key: &str, on: bool| EntitlementRow {
        key: key.into(),
        kind: "feature".into(),
        value: Some(i64::from(on)),
        meter_id: None,
    };
    for (plan, rows) in [
        (
            "free",
            vec![
                feature("sso", false),
                feature("audit_log", false),
                limit("seats", Some(1), None),
                limit("private_repos", Some(3), None),
                limit("build_minutes", Some(100), Some("build_minutes")),
            ],
        ),
        (
            "pro",
            vec![
                feature("sso", false),
                feature("audit_log", true),
                limit("seats", None, None),
                limit("private_repos", Some(50), None),
                limit("build_minutes", Some(1_000), Some("build_minutes")),
            ],
        ),
        (
            "team",
            vec![
                feature("sso", true),
                feature("audit_log", true),
                limit("seats", None, None),
                limit("private_repos", None, None),
                limit("build_minutes", Some(5_000), Some("build_minutes")),
            ],
        ),
    ] {
        for row in rows {
            put_entitlement(db, plan, &row, now).await?;
        }
    }
    Ok(())
}

/// Loads the demo catalog and accounts; returns a summary for the terminal.
pub async fn seed_demo(state: &AppState) -> Result<String, SeedError> {
    let db = &state.db;
    for (order, plan) in demo_catalog().iter().enumerate() {
        catalog::upsert_plan(db, plan, order as i64, state.now()).await?;
    }
    let now = state.now();
    seed_metering(db, now).await?;
    let owner = Email::parse(DEMO_OWNER)?;
    if accounts::find_user_by_email(db, &owner).await?.is_none() {
        let hash = crate::server::auth::hash_password(DEMO_PASSWORD.into()).await?;
        accounts::create_account(db, &owner, &hash, "Demo Corp", now).await?;
    }
    for (email, name, role) in DEMO_STAFF {
        let email = Email::parse(email)?;
        if staff::find_by_email(db, &email).await?.is_none() {
            let hash = crate::server::auth::hash_password(DEMO_PASSWORD.into()).await?;
            staff::create(
                db,
                &email,
                name,
                role,
                &hash,
                crate::server::mfa::DEMO_SECRET,
                &crate::store::audit::Actor::cli(),
                now,
            )
            .await?;
        }
    }
    for (coupon, code, expires_at, max) in demo_coupons() {
        crate::store::coupons::upsert_coupon(db, &coupon, now).await?;
        crate::store::coupons::upsert_code(db, code, &coupon.id, expires_at, max, now).await?;
    }
    Ok(format!(
        "demo data ready: plans Free, Pro, Team with metered build minutes; promotion codes LAUNCH20, WELCOME10 (SUMMER25 has expired); customer {DEMO_OWNER} (owner of Demo Corp); \
         staff agent@demo.test, admin@demo.test, approver@demo.test (second factor: authenticator secret {}); password {DEMO_PASSWORD}",
        crate::server::mfa::DEMO_SECRET
    ))
}
