//! Promotion codes: what a customer types to get a coupon, and whether it may be used now.

use chrono::{DateTime, Utc};

use super::coupon::{Coupon, CouponDuration, CouponValue};
use super::currency::Currency;

/// A promotion code as stored, with its coupon.
#[derive(Clone, Debug, PartialEq)]
pub struct PromotionCode {
    /// Upper-case.
    pub code: String,
    pub coupon: Coupon,
    pub active: bool,
    pub expires_at: Option<DateTime<Utc>>,
    pub max_redemptions: Option<i64>,
    pub times_redeemed: i64,
}

/// Why a code cannot be used; each message says what the customer can do.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PromotionError {
    #[error("The code {0} does not exist. Check the spelling, or leave the field empty.")]
    Unknown(String),
    #[error("The code {0} is no longer active. Leave the field empty to continue without it.")]
    Inactive(String),
    #[error("The code {code} expired on {on}. Leave the field empty to continue without it.")]
    Expired { code: String, on: String },
    #[error("The code {0} has been used as many times as it allows. Leave the field empty to continue without it.")]
    UsedUp(String),
    #[error("Your organisation has already used the code {0}; each organisation can use it once.")]
    AlreadyRedeemed(String),
    #[error("The code {code} is for prices in {coupon}; this plan is billed in {plan}.")]
    WrongCurrency {
        code: String,
        coupon: Currency,
        plan: Currency,
    },
    #[error("Your plan already has a discount ({0}); only one applies at a time.")]
    AlreadyDiscounted(String),
}

/// Normalises what a customer typed: trimmed and upper-case; `None` when empty.
pub fn normalise(typed: &str) -> Option<String> {
    let code = typed.trim().to_uppercase();
    (!code.is_empty()).then_some(code)
}

impl PromotionCode {
    /// Whether the code may be redeemed now by an organisation billed in `currency`.
    pub fn check(
        &self,
        now: DateTime<Utc>,
        currency: Currency,
        already_redeemed: bool,
    ) -> Result<(), PromotionError> {
        let code = || self.code.clone();
        if !self.active {
            return Err(PromotionError::Inactive(code()));
        }
        if let Some(expires) = self.expires_at {
            if now >= expires {
                return Err(PromotionError::Expired {
                    code: code(),
                    on: super::period::format_date(expires.timestamp()),
                });
            }
        }
        if self
            .max_redemptions
            .is_some_and(|max| self.times_redeemed >= max)
        {
            return Err(PromotionError::UsedUp(code()));
        }
        if already_redeemed {
            return Err(PromotionError::AlreadyRedeemed(code()));
        }
        if let CouponValue::FixedAmount { amount } = &self.coupon.value {
            if amount.currency() != currency {
                return Err(PromotionError::WrongCurrency {
                    code: code(),
                    coupon: amount.currency(),
                    plan: currency,
                });
            }
        }
        Ok(())
    }
}

/// "20% off for 3 months", "$10.00 off once", "15% off forever".
pub fn describe(coupon: &Coupon) -> String {
    let value = match &coupon.value {
        CouponValue::Percent { percent } => format!("{}% off", percent.normalize()),
        CouponValue::FixedAmount { amount } => format!("{amount} off"),
    };
    let duration = match coupon.duration {
        CouponDuration::Once => "the next invoice".to_string(),
        CouponDuration::Repeating { periods: 1 } => "1 billing period".to_string(),
        CouponDuration::Repeating { periods } => format!("{periods} billing periods"),
        CouponDuration::Forever => "every invoice".to_string(),
    };
    format!("{value} {duration}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Money;
    use chrono::TimeZone;
    use rust_decimal::Decimal;

    fn code(value: CouponValue) -> PromotionCode {
        PromotionCode {
            code: "LAUNCH20".into(),
            coupon: Coupon {
                id: "launch".into(),
                name: "Launch".into(),
                value,
                duration: CouponDuration::Repeating { periods: 3 },
            },
            active: true,
            expires_at: Some(Utc.with_ymd_and_hms(2026, 6, 30, 0, 0, 0).unwrap()),
            max_redemptions: Some(2),
            times_redeemed: 0,
        }
    }

    fn percent() -> CouponValue {
        CouponValue::Percent {
            percent: Decimal::from(20),
        }
    }

    #[test]
    fn each_reason_a_code_cannot_be_used_has_its_message() {
        let now = Utc.with_ymd_and_hms(2026, 1, 15, 0, 0, 0).unwrap();
        let ok = code(percent());
        assert_eq!(ok.check(now, Currency::USD, false), Ok(()));
        let later = Utc.with_ymd_and_hms(2026, 7, 1, 0, 0, 0).unwrap();
        assert_eq!(
            ok.check(later, Currency::USD, false).unwrap_err().to_string(),
            "The code LAUNCH20 expired on 30 June 2026. Leave the field empty to continue without it."
        );
        let used = PromotionCode {
            times_redeemed: 2,
            ..ok.clone()
        };
        assert!(matches!(
            used.check(now, Currency::USD, false),
            Err(PromotionError::UsedUp(_))
        ));
        assert!(matches!(
            ok.check(now, Currency::USD, true),
            Err(PromotionError::AlreadyRedeemed(_))
        ));
        let off = PromotionCode {
            active: false,
            ..ok.clone()
        };
        assert!(matches!(
            off.check(now, Currency::USD, false),
            Err(PromotionError::Inactive(_))
        ));
        let dollars = code(CouponValue::FixedAmount {
            amount: Money::from_minor(1000, Currency::USD),
        });
        assert!(dollars
            .check(now, Currency::EUR, false)
            .unwrap_err()
            .to_string()
            .contains("billed in EUR"));
    }

    #[test]
    fn typed_codes_are_normalised_and_coupons_described() {
        assert_eq!(normalise("  launch20 "), Some("LAUNCH20".into()));
        assert_eq!(normalise("   "), None);
        assert_eq!(
            describe(&code(percent()).coupon),
            "20% off 3 billing periods"
        );
        let once = Coupon {
            duration: CouponDuration::Once,
            value: CouponValue::FixedAmount {
                amount: Money::from_minor(1000, Currency::USD),
            },
            ..code(percent()).coupon
        };
        assert_eq!(describe(&once), "$10.00 off the next invoice");
    }
}
