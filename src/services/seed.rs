//! Demo data: a realistic catalog, a customer organisation and support staff. Running it again
//! changes nothing that is already there.

use crate::domain::access::{Email, StaffRole};
use crate::domain::catalog::Plan;
use crate::domain::catalog_file::CatalogFile;
use crate::server::AppState;
use crate::store::{accounts, staff};

/// Why the demo data could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Catalog(#[from] crate::services::catalog::CatalogError),
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
pub const DEMO_STAFF: [(&str, &str, StaffRole); 4] = [
    ("agent@demo.test", "Avery Agent", StaffRole::Agent),
    ("admin@demo.test", "Blake Billing", StaffRole::BillingAdmin),
    ("approver@demo.test", "Casey Approver", StaffRole::Approver),
    ("catalog@demo.test", "Dana Catalog", StaffRole::CatalogAdmin),
];

/// The demo catalog as a catalog document (see the README's "Catalog as code").
pub const DEMO_CATALOG: &str = include_str!("demo_catalog.toml");

/// The demo catalog document.
pub fn demo_catalog_file() -> CatalogFile {
    crate::services::catalog::parse(DEMO_CATALOG).expect("the demo catalog is a catalog document")
}

/// The demo catalog's plans with their prices, as [`crate::store::catalog::load`] gives them
/// once it is published (for tests that need plans without a database).
pub fn demo_catalog() -> Vec<Plan> {
    demo_catalog_file()
        .plans
        .iter()
        .map(|plan| Plan {
            id: plan.id.clone(),
            name: plan.name.clone(),
            description: plan.description.clone(),
            features: plan.notes.clone(),
            prices: plan.prices.iter().map(|p| p.price(&p.id)).collect(),
            archived_prices: Vec::new(),
            feature_lines: Default::default(),
            policies: plan.policies,
        })
        .collect()
}

/// Publishes the demo catalog (nothing changes when it is already published).
pub async fn seed_catalog(state: &AppState) -> Result<(), SeedError> {
    crate::services::catalog::publish(
        state,
        &demo_catalog_file(),
        None,
        &crate::store::audit::Actor::cli(),
    )
    .await?;
    Ok(())
}

/// Loads the demo catalog and accounts; returns a summary for the terminal.
pub async fn seed_demo(state: &AppState) -> Result<String, SeedError> {
    let db = &state.db;
    seed_catalog(state).await?;
    let now = state.now();
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
    Ok(format!(
        "demo data ready: plans Free, Pro, Team with metered build minutes; promotion codes LAUNCH20, WELCOME10 (SUMMER25 has expired); customer {DEMO_OWNER} (owner of Demo Corp); \
         staff agent@demo.test, admin@demo.test, approver@demo.test, catalog@demo.test (second factor: authenticator secret {}); password {DEMO_PASSWORD}",
        crate::server::mfa::DEMO_SECRET
    ))
}
