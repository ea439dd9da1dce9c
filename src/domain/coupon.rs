//! Coupons: a percent or a fixed amount off, for one, N or every period.
//!
//! Order of application: the coupon is applied to the invoice **subtotal** (the sum of the
//! rounded charge, credit and proration lines), as one discount line, **before tax**; tax, when
//! the engine computes it, is computed on the discounted total. A discount never takes the
//! total below zero: a percent is at most 100, and a fixed amount is capped at the subtotal.
//! On a subtotal that is already negative (credits exceed charges), a percent coupon scales the
//! credit down in proportion, because the credited time was paid at the discounted price; a
//! fixed amount is not attributable to time and gives nothing.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::currency::Currency;
use super::money::{Money, MoneyError};
use super::rounding::{round_to_minor_units, LINE_ROUNDING_NAME};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Coupon {
    pub id: String,
    pub name: String,
    pub value: CouponValue,
    pub duration: CouponDuration,
}

/// Serialized as `{"type": "percent", "percent": "20"}` or
/// `{"type": "fixed_amount", "amount": {"minor_units": 500, "currency": "USD"}}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CouponValue {
    /// In `(0, 100]`.
    Percent {
        percent: Decimal,
    },
    FixedAmount {
        amount: Money,
    },
}

/// For how many billing periods a coupon discounts. Serialized as `{"type": "once"}`,
/// `{"type": "repeating", "periods": 3}`, `{"type": "forever"}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CouponDuration {
    Once,
    Repeating { periods: u32 },
    Forever,
}

/// A coupon on a subscription, with how many period invoices it has already discounted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AppliedCoupon {
    pub coupon: Coupon,
    pub periods_applied: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum CouponError {
    #[error("coupon \"{coupon_id}\": percent is {percent}; use more than 0 and at most 100")]
    PercentOutOfRange { coupon_id: String, percent: String },
    #[error("coupon \"{coupon_id}\": the amount off must be more than zero")]
    NonPositiveAmount { coupon_id: String },
    #[error("coupon \"{coupon_id}\" is in {coupon_currency} but the invoice is in {invoice_currency}; use a coupon in {invoice_currency}")]
    CurrencyMismatch {
        coupon_id: String,
        coupon_currency: Currency,
        invoice_currency: Currency,
    },
    #[error("coupon \"{coupon_id}\": a repeating coupon must last at least 1 period")]
    ZeroPeriods { coupon_id: String },
    #[error(transparent)]
    Money(#[from] MoneyError),
}

/// The discount a coupon gives on one subtotal.
#[derive(Clone, Debug, PartialEq)]
pub struct Discount {
    /// Amount taken off, rounded once; positive reduces what the customer pays.
    pub amount: Money,
    /// Unrounded amount off, in minor units.
    pub exact_minor: Decimal,
    /// E.g. `"20% off $120.00 = $24.00"`.
    pub explanation: String,
}

impl Coupon {
    /// Checks the coupon on its own: percent in `(0, 100]`, a fixed amount above zero, a
    /// repeating duration of at least one period.
    pub fn validate(&self) -> Result<(), CouponError> {
        let coupon_id = || self.id.clone();
        match &self.value {
            CouponValue::Percent { percent } => {
                if *percent <= Decimal::ZERO || *percent > Decimal::ONE_HUNDRED {
                    return Err(CouponError::PercentOutOfRange {
                        coupon_id: coupon_id(),
                        percent: percent.to_string(),
                    });
                }
            }
            CouponValue::FixedAmount { amount } => {
                if amount.minor_units() <= 0 {
                    return Err(CouponError::NonPositiveAmount {
                        coupon_id: coupon_id(),
                    });
                }
            }
        }
        if self.duration == (CouponDuration::Repeating { periods: 0 }) {
            return Err(CouponError::ZeroPeriods {
                coupon_id: coupon_id(),
            });
        }
        Ok(())
    }

    /// [`Coupon::validate`], and that a fixed amount is in the invoice's currency.
    pub fn validate_for(&self, invoice_currency: Currency) -> Result<(), CouponError> {
        self.validate()?;
        if let CouponValue::FixedAmount { amount } = &self.value {
            if amount.currency() != invoice_currency {
                return Err(CouponError::CurrencyMismatch {
                    coupon_id: self.id.clone(),
                    coupon_currency: amount.currency(),
                    invoice_currency,
                });
            }
        }
        Ok(())
    }

    pub fn is_percent(&self) -> bool {
        matches!(self.value, CouponValue::Percent { .. })
    }

    /// The discount on `subtotal` (see the module docs for the rules). Rounded once, half away
    /// from zero; never more than the subtotal, so the discounted total keeps the subtotal's sign.
    pub fn discount_on(&self, subtotal: Money) -> Result<Discount, CouponError> {
        self.validate_for(subtotal.currency())?;
        let currency = subtotal.currency();
        match &self.value {
            CouponValue::Percent { percent } => {
                let exact = subtotal
                    .to_minor_decimal()
                    .checked_mul(*percent)
                    .and_then(|d| d.checked_div(Decimal::ONE_HUNDRED))
                    .ok_or(MoneyError::Overflow)?;
                let amount = round_to_minor_units(exact, currency)?;
                let rounding = if Decimal::from(amount.minor_units()) == exact {
                    String::new()
                } else {
                    format!(" ({LINE_ROUNDING_NAME})")
                };
                Ok(Discount {
                    amount,
                    exact_minor: exact,
                    explanation: format!(
                        "{}% off {subtotal} = {amount}{rounding}",
                        percent.normalize()
                    ),
                })
            }
            CouponValue::FixedAmount { amount: off } => {
                let cap = subtotal.max(Money::zero(currency))?;
                let amount = off.min(cap)?;
                let explanation = if amount == *off {
                    format!("{off} off")
                } else {
                    format!("{off} off, limited to the {cap} subtotal")
                };
                Ok(Discount {
                    amount,
                    exact_minor: amount.to_minor_decimal(),
                    explanation,
                })
            }
        }
    }
}

impl AppliedCoupon {
    /// Whether the coupon discounts the next period's invoice.
    pub fn applies_to_next_period(&self) -> bool {
        match self.coupon.duration {
            CouponDuration::Once => self.periods_applied == 0,
            CouponDuration::Repeating { periods } => self.periods_applied < periods,
            CouponDuration::Forever => true,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::pricing::tests::dec;

    pub(crate) fn percent_coupon(percent: &str, duration: CouponDuration) -> Coupon {
        Coupon {
            id: format!("{percent}off"),
            name: format!("{percent}% off"),
            value: CouponValue::Percent {
                percent: dec(percent),
            },
            duration,
        }
    }

    pub(crate) fn fixed_coupon(amount: Money, duration: CouponDuration) -> Coupon {
        Coupon {
            id: "fixed".into(),
            name: "Fixed".into(),
            value: CouponValue::FixedAmount { amount },
            duration,
        }
    }

    fn usd(minor: i64) -> Money {
        Money::from_minor(minor, Currency::USD)
    }

    #[test]
    fn percent_discount_golden_table() {
        let table = [
            ("20", 12000, 2400),  // 12000 × 20 / 100 = 2400
            ("15", 999, 150),     // 999 × 0.15 = 149.85 → 150
            ("12.5", 1000, 125),  // 1000 × 0.125 = 125
            ("33.33", 100, 33),   // 100 × 0.3333 = 33.33 → 33
            ("50", 1, 1),         // 0.5 → 1 (half away from zero)
            ("100", 4321, 4321),  // everything
            ("20", -5000, -1000), // a credit subtotal shrinks by 20%: -5000 × 0.2 = -1000
        ];
        for (percent, subtotal, expected) in table {
            let coupon = percent_coupon(percent, CouponDuration::Forever);
            assert_eq!(
                coupon.discount_on(usd(subtotal)).unwrap().amount,
                usd(expected),
                "{percent}% of {subtotal}"
            );
        }
        let d = percent_coupon("15", CouponDuration::Once)
            .discount_on(usd(999))
            .unwrap();
        assert_eq!(
            d.explanation,
            "15% off $9.99 = $1.50 (rounded half away from zero)"
        );
    }

    #[test]
    fn percent_in_zero_and_three_decimal_currencies() {
        let coupon = percent_coupon("10", CouponDuration::Forever);
        // ¥1,235 × 10% = 123.5 → 124 yen.
        let yen = coupon
            .discount_on(Money::from_minor(1235, Currency::JPY))
            .unwrap();
        assert_eq!(yen.amount, Money::from_minor(124, Currency::JPY));
        // KWD 1.235 × 10% = 123.5 fils → 124 fils = KWD 0.124.
        let kwd = coupon
            .discount_on(Money::from_minor(1235, Currency::KWD))
            .unwrap();
        assert_eq!(kwd.amount.to_string(), "KWD 0.124");
    }

    #[test]
    fn fixed_amount_never_takes_the_total_below_zero() {
        let coupon = fixed_coupon(usd(1000), CouponDuration::Forever);
        assert_eq!(coupon.discount_on(usd(5000)).unwrap().amount, usd(1000)); // $10 off $50
        assert_eq!(coupon.discount_on(usd(600)).unwrap().amount, usd(600)); // capped at $6
        assert_eq!(coupon.discount_on(usd(-300)).unwrap().amount, usd(0)); // nothing on a credit
        assert_eq!(
            coupon.discount_on(usd(600)).unwrap().explanation,
            "$10.00 off, limited to the $6.00 subtotal"
        );
    }

    #[test]
    fn durations() {
        let applied = |duration, periods_applied| AppliedCoupon {
            coupon: percent_coupon("10", duration),
            periods_applied,
        };
        assert!(applied(CouponDuration::Once, 0).applies_to_next_period());
        assert!(!applied(CouponDuration::Once, 1).applies_to_next_period());
        assert!(applied(CouponDuration::Repeating { periods: 3 }, 2).applies_to_next_period());
        assert!(!applied(CouponDuration::Repeating { periods: 3 }, 3).applies_to_next_period());
        assert!(applied(CouponDuration::Forever, 1_000).applies_to_next_period());
    }

    #[test]
    fn validation_messages() {
        let message = |c: &Coupon, currency| c.validate_for(currency).unwrap_err().to_string();
        assert_eq!(
            message(&percent_coupon("0", CouponDuration::Once), Currency::USD),
            "coupon \"0off\": percent is 0; use more than 0 and at most 100"
        );
        assert_eq!(
            message(
                &percent_coupon("100.5", CouponDuration::Once),
                Currency::USD
            ),
            "coupon \"100.5off\": percent is 100.5; use more than 0 and at most 100"
        );
        assert_eq!(
            percent_coupon("100", CouponDuration::Once).validate(),
            Ok(())
        );
        assert_eq!(
            message(
                &fixed_coupon(Money::from_minor(500, Currency::EUR), CouponDuration::Once),
                Currency::USD
            ),
            "coupon \"fixed\" is in EUR but the invoice is in USD; use a coupon in USD"
        );
        assert_eq!(
            message(&fixed_coupon(usd(0), CouponDuration::Once), Currency::USD),
            "coupon \"fixed\": the amount off must be more than zero"
        );
        assert_eq!(
            message(
                &percent_coupon("10", CouponDuration::Repeating { periods: 0 }),
                Currency::USD
            ),
            "coupon \"10off\": a repeating coupon must last at least 1 period"
        );
    }

    #[test]
    fn json_shape() {
        let coupon = percent_coupon("20", CouponDuration::Repeating { periods: 3 });
        assert_eq!(
            serde_json::to_string(&coupon).unwrap(),
            r#"{"id":"20off","name":"20% off","value":{"type":"percent","percent":"20"},"duration":{"type":"repeating","periods":3}}"#
        );
    }
}
