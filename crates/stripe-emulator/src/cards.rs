//! Stripe's test cards and how each behaves.

use super::error::ApiError;

/// What a test card does when saved or charged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CardBehaviour {
    /// `4242424242424242`: every operation succeeds.
    Succeeds,
    /// `4000000000000002`: charges are declined (`card_declined` / `generic_decline`).
    Declined,
    /// `4000000000009995`: charges are declined (`card_declined` / `insufficient_funds`).
    InsufficientFunds,
    /// `4000000000000341`: attaching to a customer succeeds, every charge is declined.
    AttachesButChargesFail,
    /// `4000002760003184`: every on-session payment asks for 3-D Secure; off-session charges
    /// fail with `authentication_required`.
    AlwaysAuthenticate,
}

/// A card number entered on the hosted page, parsed into a known test card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TestCard {
    pub number: String,
    pub behaviour: CardBehaviour,
    pub exp_month: i64,
    pub exp_year: i64,
}

impl TestCard {
    /// Parses a card number (spaces and dashes ignored) and a free-form expiry (`12/34`,
    /// `12 / 2034`, or anything: the expiry is never validated, like Stripe test mode's).
    pub fn parse(number: &str, expiry: &str) -> Result<TestCard, ApiError> {
        let digits: String = number
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        let behaviour = match digits.as_str() {
            "4242424242424242" | "5555555555554444" => CardBehaviour::Succeeds,
            "4000000000000002" => CardBehaviour::Declined,
            "4000000000009995" => CardBehaviour::InsufficientFunds,
            "4000000000000341" => CardBehaviour::AttachesButChargesFail,
            "4000002760003184" => CardBehaviour::AlwaysAuthenticate,
            _ => {
                return Err(ApiError::card(
                    "incorrect_number",
                    None,
                    "Your card number is invalid.",
                )
                .with_param("number"))
            }
        };
        let (exp_month, exp_year) = parse_expiry(expiry);
        Ok(TestCard {
            number: digits,
            behaviour,
            exp_month,
            exp_year,
        })
    }

    /// Stripe's brand code for the number: `mastercard` for 5…, `visa` for the rest.
    pub fn brand(&self) -> &'static str {
        if self.number.starts_with('5') {
            "mastercard"
        } else {
            "visa"
        }
    }

    pub fn last4(&self) -> String {
        self.number
            .chars()
            .skip(self.number.len().saturating_sub(4))
            .collect()
    }

    /// The error a charge of this card ends with, or `None` when it succeeds. `off_session`
    /// charges cannot authenticate, so 3-D Secure cards fail there.
    pub fn charge_failure(&self, off_session: bool) -> Option<ApiError> {
        match self.behaviour {
            CardBehaviour::Succeeds => None,
            CardBehaviour::AlwaysAuthenticate if !off_session => None,
            CardBehaviour::AlwaysAuthenticate => Some(ApiError::card(
                "authentication_required",
                Some("authentication_required"),
                "Your card was declined. This transaction requires authentication.",
            )),
            CardBehaviour::Declined | CardBehaviour::AttachesButChargesFail => {
                Some(ApiError::card(
                    "card_declined",
                    Some("generic_decline"),
                    "Your card was declined.",
                ))
            }
            CardBehaviour::InsufficientFunds => Some(ApiError::card(
                "card_declined",
                Some("insufficient_funds"),
                "Your card has insufficient funds.",
            )),
        }
    }

    /// The error saving this card (setup mode) ends with. Only cards that decline every
    /// operation fail here; `4000000000000341` saves fine.
    pub fn setup_failure(&self) -> Option<ApiError> {
        match self.behaviour {
            CardBehaviour::Declined | CardBehaviour::InsufficientFunds => {
                self.charge_failure(false)
            }
            _ => None,
        }
    }
}

/// Free-form expiry to (month, year); falls back to 12 / four years ahead.
fn parse_expiry(expiry: &str) -> (i64, i64) {
    let fallback_year = i64::from(chrono::Datelike::year(&chrono::Utc::now())) + 4;
    let parts: Vec<i64> = expiry
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty() && p.len() <= 4)
        .filter_map(|p| p.parse().ok())
        .collect();
    let month = parts
        .first()
        .copied()
        .filter(|m| (1..=12).contains(m))
        .unwrap_or(12);
    let year = match parts.get(1).copied() {
        Some(y) if y < 100 => 2000 + y,
        Some(y) if (2000..=2100).contains(&y) => y,
        _ => fallback_year,
    };
    (month, year)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_ignore_spaces_and_unknown_numbers_are_invalid() {
        let card = TestCard::parse("4242 4242 4242 4242", "04 / 31").expect("known card");
        assert_eq!(card.behaviour, CardBehaviour::Succeeds);
        assert_eq!((card.exp_month, card.exp_year), (4, 2031));
        assert_eq!(card.last4(), "4242");
        let error = TestCard::parse("1234", "").expect_err("unknown card");
        assert_eq!(error.message, "Your card number is invalid.");
        assert!(TestCard::parse("", "whatever").is_err());
    }
}
