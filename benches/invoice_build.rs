//! Invoice building throughput: a subscription with three items (per-seat, graduated usage,
//! flat add-on), one pending proration (a seat increase: credit and charge lines) and a percent coupon, built repeatedly for about
//! two and a half seconds. Run with `cargo bench --bench invoice_build`.

use std::hint::black_box;
use std::str::FromStr;
use std::time::{Duration, Instant};

use billing_portal::domain::{
    build_invoice, preview_change, AppliedCoupon, BillingPeriod, ChangePolicies, Coupon,
    CouponDuration, CouponValue, Currency, CurrentSubscription, Interval, Price, PriceModel,
    SubscriptionChange, SubscriptionItem, SubscriptionSnapshot, Tier,
};
use chrono::{TimeZone, Utc};
use rust_decimal::Decimal;

const RUN_FOR: Duration = Duration::from_millis(2_500);

fn price(id: &str, nickname: &str, model: PriceModel) -> Price {
    Price {
        id: id.into(),
        nickname: nickname.into(),
        currency: Currency::USD,
        interval: Interval::monthly(),
        model,
        trial_days: 0,
        unit_label: None,
        min_quantity: None,
        max_quantity: None,
    }
}

fn decimal(text: &str) -> Decimal {
    Decimal::from_str(text).expect("bench constant")
}

fn main() {
    let anchor = Utc
        .with_ymd_and_hms(2024, 1, 31, 0, 0, 0)
        .single()
        .expect("bench date");
    let mut seats = price(
        "pro_seats",
        "Pro",
        PriceModel::PerUnit {
            unit_amount: decimal("1200"),
        },
    );
    seats.unit_label = Some("seat".into());
    let usage = price(
        "api_usage",
        "API calls",
        PriceModel::Graduated {
            tiers: vec![
                Tier {
                    from: 1,
                    up_to: Some(10_000),
                    unit_amount: decimal("0"),
                    flat_amount: 0,
                },
                Tier {
                    from: 10_001,
                    up_to: Some(100_000),
                    unit_amount: decimal("0.05"),
                    flat_amount: 0,
                },
                Tier {
                    from: 100_001,
                    up_to: None,
                    unit_amount: decimal("0.025"),
                    flat_amount: 0,
                },
            ],
        },
    );
    let addon = price(
        "priority_support",
        "Priority support",
        PriceModel::Flat { amount: 4900 },
    );

    let seat_increase = preview_change(
        &CurrentSubscription {
            price: seats.clone(),
            quantity: 5,
            billing_anchor: anchor,
        },
        &SubscriptionChange::SetQuantity { quantity: 7 },
        Utc.with_ymd_and_hms(2024, 2, 13, 9, 30, 0)
            .single()
            .expect("bench date"),
        &ChangePolicies {
            seat_increase: billing_portal::domain::ProrationPolicy::ProrateOnNextInvoice,
            ..ChangePolicies::default()
        },
        None,
    )
    .expect("bench proration");

    let subscription = SubscriptionSnapshot {
        currency: Currency::USD,
        items: vec![
            SubscriptionItem {
                price: seats,
                quantity: 7,
            },
            SubscriptionItem {
                price: usage,
                quantity: 123_456,
            },
            SubscriptionItem {
                price: addon,
                quantity: 1,
            },
        ],
        coupon: Some(AppliedCoupon {
            coupon: Coupon {
                id: "launch20".into(),
                name: "Launch 20% off".into(),
                value: CouponValue::Percent {
                    percent: decimal("20"),
                },
                duration: CouponDuration::Repeating { periods: 12 },
            },
            periods_applied: 3,
        }),
        pending_lines: seat_increase.next_invoice_lines,
    };
    let period = BillingPeriod::new(
        Utc.with_ymd_and_hms(2024, 2, 29, 0, 0, 0)
            .single()
            .expect("bench date"),
        Utc.with_ymd_and_hms(2024, 3, 31, 0, 0, 0)
            .single()
            .expect("bench date"),
    )
    .expect("bench period");

    let sample = build_invoice(&subscription, period).expect("bench invoice");
    println!("sample invoice, total {}:", sample.total);
    for line in &sample.lines {
        println!(
            "  {:>12}  {}: {}",
            line.amount.to_string(),
            line.description,
            line.explanation
        );
    }

    // Warm up, then measure in batches so the clock is read rarely.
    for _ in 0..1_000 {
        black_box(
            build_invoice(black_box(&subscription), black_box(period)).expect("bench invoice"),
        );
    }
    let started = Instant::now();
    let mut built: u64 = 0;
    while started.elapsed() < RUN_FOR {
        for _ in 0..1_000 {
            black_box(
                build_invoice(black_box(&subscription), black_box(period)).expect("bench invoice"),
            );
        }
        built += 1_000;
    }
    let elapsed = started.elapsed();
    let nanos = elapsed.as_nanos().max(1);
    let per_second = u128::from(built) * 1_000_000_000 / nanos;
    let nanos_per_invoice = nanos / u128::from(built);
    println!("built {built} invoices in {} ms", elapsed.as_millis());
    println!("invoices built per second: {per_second}");
    println!("ns per invoice: {nanos_per_invoice}");
}
