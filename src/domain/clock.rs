//! Where rules get the time from. The system clock implementation lives in server code.

use chrono::{DateTime, Utc};

/// The current time as the billing rules see it: the system clock in production, a test clock
/// that staff or tests advance, or a [`FixedClock`].
pub trait Clock {
    fn now(&self) -> DateTime<Utc>;
}

/// A clock that always says the same instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FixedClock(pub DateTime<Utc>);

impl FixedClock {
    pub fn at(now: DateTime<Utc>) -> FixedClock {
        FixedClock(now)
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now(&self) -> DateTime<Utc> {
        (**self).now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn fixed_clock_returns_its_instant() {
        let instant = Utc
            .with_ymd_and_hms(2024, 2, 29, 12, 0, 0)
            .single()
            .unwrap();
        let clock = FixedClock::at(instant);
        let by_ref: &dyn Clock = &clock;
        assert_eq!(by_ref.now(), instant);
        assert_eq!(clock.now(), instant);
    }
}
