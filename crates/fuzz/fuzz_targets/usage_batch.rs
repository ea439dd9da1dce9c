//! Usage event batches as the ingest API reads them: each event is checked on its own without
//! panicking, accepted ones are within the documented bounds, and every meter aggregates them
//! without overflowing.
#![no_main]

use billing_portal::domain::metering::{
    check_event, Aggregation, IngestWindow, Meter, RecordedEvent, MAX_EVENT_QUANTITY,
};
use libfuzzer_sys::fuzz_target;

const NOW: i64 = 1_800_000_000;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let events = match value {
        serde_json::Value::Array(items) => items,
        other => vec![other],
    };
    let mut accepted = Vec::new();
    for raw in events.iter().take(1000) {
        if let Ok(event) = check_event(raw, |m| m == "minutes" || m == "calls", NOW, IngestWindow::default()) {
            assert!((0..=MAX_EVENT_QUANTITY).contains(&event.quantity));
            assert!(event.occurred_at <= NOW + 300 && event.occurred_at >= NOW - 35 * 86_400);
            assert!(!event.id.is_empty() && event.id.len() <= 200);
            accepted.push(RecordedEvent {
                quantity: event.quantity,
                occurred_at: event.occurred_at,
                properties: event.properties,
            });
        }
    }
    for aggregation in [
        Aggregation::Sum,
        Aggregation::Count,
        Aggregation::Max,
        Aggregation::Latest,
        Aggregation::UniqueCount,
    ] {
        let meter = Meter {
            id: "minutes".into(),
            name: "Minutes".into(),
            aggregation,
            property: Some("user".into()),
            filter: Default::default(),
            unit_label: "minute".into(),
        };
        let total = meter.aggregate(&accepted);
        assert!(total >= 0);
        if aggregation == Aggregation::Sum {
            let exact: i128 = accepted.iter().map(|e| i128::from(e.quantity)).sum();
            assert_eq!(i128::from(total), exact.min(i128::from(i64::MAX)));
        }
    }
});
