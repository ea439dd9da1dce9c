//! The catalog control plane: read the published catalog as a document, compare a proposed one
//! with it, and publish the difference as one revision. `billing-portal catalog export|apply`,
//! the demo seed and the console all go through here.

use crate::domain::access::StaffRole;
use crate::domain::catalog::Plan;
use crate::domain::catalog_file::{self, CatalogFile, Change, Entitlement, Problem};
use crate::server::AppState;
use crate::store::audit::Actor;
use crate::store::catalog::{self as store, PublishError};
use crate::wire::console::{CatalogConsoleView, CatalogPlanLine, ProblemLine, RevisionLine};
use crate::wire::StaffSession;

/// Why a catalog could not be read or published.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The file is not a catalog document (TOML syntax, an unknown field, a wrong type).
    #[error("{0}")]
    Unreadable(String),
    /// The document has problems; nothing was published.
    #[error("the catalog has {} problem(s); nothing was published:\n{}", .0.len(), .0.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<Problem>),
    #[error(transparent)]
    Publish(#[from] PublishError),
    #[error(transparent)]
    Store(#[from] store::CatalogError),
}

impl From<sqlx::Error> for CatalogError {
    fn from(e: sqlx::Error) -> Self {
        CatalogError::Publish(PublishError::Db(e))
    }
}

/// Reads a catalog document (TOML). A syntax error says the line and column.
pub fn parse(text: &str) -> Result<CatalogFile, CatalogError> {
    toml::from_str(text)
        .map_err(|e| CatalogError::Unreadable(format!("the catalog file cannot be read: {e}")))
}

/// Writes a catalog document as TOML.
pub fn render(file: &CatalogFile) -> String {
    let body = toml::to_string(file).unwrap_or_default();
    format!(
        "# The billing catalog. Amounts are in minor units (cents): amount = 1200 is $12.00; unit\n\
         # amounts are decimal strings of minor units. Apply it with `billing-portal catalog apply FILE`.\n\n{body}"
    )
}

/// What publishing `proposed` would change, against the revision it was compared with.
#[derive(Clone, Debug)]
pub struct Preview {
    pub revision: i64,
    pub changes: Vec<Change>,
}

/// Compares `proposed` with the published catalog.
pub async fn preview(state: &AppState, proposed: &CatalogFile) -> Result<Preview, CatalogError> {
    let (revision, published) = store::published(&state.db).await?;
    let changes = catalog_file::changes(&published, proposed).map_err(CatalogError::Invalid)?;
    Ok(Preview { revision, changes })
}

/// What a publish did.
#[derive(Clone, Debug)]
pub struct Published {
    /// The new revision; `None` when there was nothing to change.
    pub revision: Option<i64>,
    pub changes: Vec<Change>,
}

/// Publishes `proposed`: every change it makes lands in one transaction and one revision, or
/// nothing does. With `prepared`, the publish is refused if the catalog was published again since
/// that revision (the preview someone approved is the publish that happens).
pub async fn publish(
    state: &AppState,
    proposed: &CatalogFile,
    prepared: Option<i64>,
    actor: &Actor,
) -> Result<Published, CatalogError> {
    let preview = preview(state, proposed).await?;
    if let Some(prepared) = prepared.filter(|p| *p != preview.revision) {
        return Err(PublishError::Conflict {
            prepared,
            now: preview.revision,
        }
        .into());
    }
    if preview.changes.is_empty() {
        return Ok(Published {
            revision: None,
            changes: Vec::new(),
        });
    }
    let revision = store::publish(
        &state.db,
        preview.revision,
        &preview.changes,
        actor,
        state.now(),
    )
    .await?;
    // Any plan's entitlements may have changed.
    state.entitlements.clear();
    Ok(Published {
        revision: Some(revision),
        changes: preview.changes,
    })
}

/// The published catalog as a TOML document.
pub async fn export(state: &AppState) -> Result<String, CatalogError> {
    let (_, published) = store::published(&state.db).await?;
    Ok(render(&published))
}

/// The plans for sale, as the pricing page shows them: prices for sale only, and for each price
/// the feature lines its plan's entitlements and usage prices make.
pub async fn for_sale(state: &AppState) -> Result<Vec<Plan>, CatalogError> {
    let plans = store::load(&state.db).await?;
    let meters = crate::store::usage::meters(&state.db).await?;
    let mut out = Vec::new();
    for mut plan in plans {
        if plan.prices.is_empty() {
            continue;
        }
        plan.archived_prices.clear();
        let entitlements: Vec<Entitlement> = crate::store::usage::entitlements(
            &state.db,
            &plan.id,
            crate::store::usage::Terms::Published,
        )
        .await?
        .into_iter()
        .map(|row| row.entitlement())
        .collect();
        let usage: Vec<(String, crate::domain::Price)> = crate::store::usage::usage_prices(
            &state.db,
            &plan.id,
            crate::store::usage::Terms::Published,
        )
        .await?
        .into_iter()
        .map(|u| (u.meter_id, u.price))
        .collect();
        for price in &plan.prices {
            let lines = catalog_file::feature_lines(&plan, price, &entitlements, &usage, &meters);
            plan.feature_lines.insert(price.id.clone(), lines);
        }
        out.push(plan);
    }
    Ok(out)
}

/// The readers of the catalog in the console (approvers decide its price migrations); catalog
/// admins also edit and publish it.
pub const CATALOG_READERS: [StaffRole; 3] = [
    StaffRole::CatalogAdmin,
    StaffRole::BillingAdmin,
    StaffRole::Approver,
];

fn digest(body: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(&Sha256::digest(body.as_bytes())[..12])
}

fn staff_actor(staff: &StaffSession) -> Actor {
    Actor::staff(&staff.email, staff.role)
}

/// The console's catalog page for `staff`.
pub async fn console_view(
    state: &AppState,
    staff: &StaffSession,
) -> Result<CatalogConsoleView, CatalogError> {
    let (revision, published) = store::published(&state.db).await?;
    let draft = store::draft(&state.db).await?;
    let draft_body = match &draft {
        Some(d) => d.body.clone(),
        None => render(&published),
    };
    let (changes, problems) = match parse(&draft_body) {
        Err(e) => (
            Vec::new(),
            vec![ProblemLine {
                at: "the file".into(),
                message: e.to_string(),
            }],
        ),
        Ok(proposed) => match catalog_file::changes(&published, &proposed) {
            Ok(changes) => (changes.iter().map(Change::describe).collect(), Vec::new()),
            Err(problems) => (
                Vec::new(),
                problems
                    .into_iter()
                    .map(|p| ProblemLine {
                        at: p.at,
                        message: p.message,
                    })
                    .collect(),
            ),
        },
    };
    let revisions = store::revisions(&state.db, 20)
        .await?
        .into_iter()
        .map(|r| RevisionLine {
            revision: r.revision,
            published_by: r.published_by,
            published_at: crate::domain::period::format_date(r.published_at),
            summary: r.summary,
        })
        .collect();
    let plans = published
        .plans
        .iter()
        .map(|plan| CatalogPlanLine {
            id: plan.id.clone(),
            name: plan.name.clone(),
            archived: plan.archived,
            prices: plan
                .prices
                .iter()
                .map(|p| {
                    format!(
                        "{}: {} every {}{}",
                        p.id,
                        catalog_file::describe_model(&p.model, p.currency, p.unit_label.as_deref()),
                        p.interval.describe(),
                        if p.archived { " (archived)" } else { "" }
                    )
                })
                .collect(),
            usage: plan
                .usage_prices
                .iter()
                .map(|u| {
                    format!(
                        "{} on meter {}: {}",
                        u.id,
                        u.meter,
                        catalog_file::describe_model(&u.model, u.currency, u.unit_label.as_deref())
                    )
                })
                .collect(),
            entitlements: plan
                .entitlements
                .iter()
                .map(|e| match (e.feature, e.limit) {
                    (Some(on), _) => format!("{}: {}", e.key, if on { "on" } else { "off" }),
                    (None, Some(limit)) => format!(
                        "{}: {}{}",
                        e.key,
                        limit
                            .count()
                            .map_or("unlimited".to_string(), |n| n.to_string()),
                        e.meter
                            .as_ref()
                            .map_or(String::new(), |m| format!(" (meter {m})"))
                    ),
                    _ => e.key.clone(),
                })
                .collect(),
        })
        .collect();
    let loaded = store::load(&state.db).await?;
    let price_ids = loaded
        .iter()
        .flat_map(|p| p.prices.iter().chain(p.archived_prices.iter()))
        .filter(|p| !crate::domain::contract::is_contract_price(&p.id))
        .map(|p| p.id.clone())
        .collect();
    let for_sale_ids = loaded
        .iter()
        .flat_map(|p| p.prices.iter())
        .map(|p| p.id.clone())
        .collect();
    let migrations = crate::services::price_migration::recent(state)
        .await
        .map_err(|e| CatalogError::Unreadable(e.to_string()))?;
    Ok(CatalogConsoleView {
        price_ids,
        for_sale_ids,
        migrations,
        can_decide: crate::services::price_migration::DECIDERS.contains(&staff.role),
        revision,
        revisions,
        plans,
        can_edit: staff.role == StaffRole::CatalogAdmin,
        draft_saved: draft.as_ref().map(|d| {
            format!(
                "Saved by {} on {}",
                d.updated_by,
                crate::domain::period::format_date(d.updated_at)
            )
        }),
        draft_stale: draft.as_ref().is_some_and(|d| d.base_revision < revision),
        draft_digest: digest(&draft_body),
        draft_body,
        changes,
        problems,
    })
}

/// The most a draft may hold.
pub const MAX_DRAFT_BYTES: usize = 512 * 1024;

/// Saves the draft as `staff` typed it; a draft that cannot be read is saved too (the page then
/// says why), so nothing typed is lost.
pub async fn save_draft(
    state: &AppState,
    staff: &StaffSession,
    body: &str,
) -> Result<String, CatalogError> {
    if body.len() > MAX_DRAFT_BYTES {
        return Err(CatalogError::Unreadable(format!(
            "the draft is {} KB; a catalog may be at most {} KB",
            body.len() / 1024,
            MAX_DRAFT_BYTES / 1024
        )));
    }
    // Saving looks at the draft against what is published now.
    let revision = store::revision(&state.db).await?;
    store::save_draft(&state.db, body, revision, &staff_actor(staff), state.now()).await?;
    Ok(match parse(body).map(|f| f.problems()) {
        Ok(problems) if problems.is_empty() => {
            "Draft saved. Review the changes below, then publish.".into()
        }
        _ => {
            "Draft saved. It has problems (listed below) to fix before it can be published.".into()
        }
    })
}

/// Publishes the draft whose text has `digest` (the one whose preview `staff` saw) against
/// `revision`, then empties the draft.
pub async fn publish_draft(
    state: &AppState,
    staff: &StaffSession,
    revision: i64,
    draft_digest: &str,
) -> Result<String, CatalogError> {
    let draft = match store::draft(&state.db).await? {
        Some(d) => d,
        None => {
            return Err(CatalogError::Unreadable(
                "there is no draft to publish; edit the catalog and save a draft first".into(),
            ))
        }
    };
    let current = store::revision(&state.db).await?;
    if draft.base_revision < current {
        return Err(PublishError::Conflict {
            prepared: draft.base_revision,
            now: current,
        }
        .into());
    }
    let body = draft.body;
    if digest(&body) != draft_digest {
        return Err(CatalogError::Unreadable(
            "the draft was saved again after this page showed it; look at the changes again before publishing".into(),
        ));
    }
    let proposed = parse(&body)?;
    let published = publish(state, &proposed, Some(revision), &staff_actor(staff)).await?;
    store::clear_draft_if(&state.db, &body).await?;
    Ok(match published.revision {
        Some(r) => format!(
            "Published revision {r} with {} change(s).",
            published.changes.len()
        ),
        None => "The draft changed nothing; the draft was emptied.".into(),
    })
}

/// Empties the draft.
pub async fn discard_draft(state: &AppState, staff: &StaffSession) -> Result<String, CatalogError> {
    store::discard_draft(&state.db, &staff_actor(staff), state.now()).await?;
    Ok("Draft discarded; the editor shows the published catalog.".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_catalog_reads_without_problems_and_survives_toml() {
        let demo = parse(crate::services::seed::DEMO_CATALOG).unwrap();
        assert_eq!(demo.problems(), vec![]);
        assert_eq!(demo.plans.len(), 3);
        let again = parse(&render(&demo)).unwrap();
        assert_eq!(again, demo);
    }

    #[test]
    fn a_plan_names_only_the_policies_it_changes() {
        let file = parse(
            "[[plans]]\nid = \"pro\"\nname = \"Pro\"\ndescription = \"\"\n\
             policies = { seat_decrease = \"prorate_now_invoice_now\" }\n",
        )
        .unwrap();
        let policies = file.plans[0].policies;
        assert_eq!(
            policies.seat_decrease,
            crate::domain::ProrationPolicy::ProrateNowInvoiceNow
        );
        assert_eq!(
            policies.downgrade,
            crate::domain::ChangePolicies::default().downgrade
        );
        let error = parse(
            "[[plans]]\nid = \"pro\"\nname = \"Pro\"\ndescription = \"\"\n\
             policies = { downgrade = \"later\" }\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("apply_at_period_end") && error.contains("line 5"),
            "{error}"
        );
    }

    #[test]
    fn a_file_that_is_not_a_catalog_says_where() {
        let error = parse("[[plans]]\nid = \"pro\"\nnmae = \"Pro\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("the catalog file cannot be read: TOML parse error at line 3"),
            "{error}"
        );
        assert!(error.contains("nmae"), "{error}");
    }
}
