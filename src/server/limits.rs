//! Rate limits on every door a stranger can knock on: sign-in (customers and staff, per account
//! and per client address), sign-up, invitation acceptance, and the REST API (per key, and failed
//! keys per address).
//!
//! Each limit is a keyed GCRA limiter from `governor`: `N/period` lets a burst of N through,
//! then one more every `period / N`. A refused attempt does nothing else (no password is checked,
//! nothing is written) and is answered 429 with `Retry-After` and a message saying when to try
//! again. The counters live in the process: behind several instances each enforces its own,
//! which multiplies the limit by the number of instances but never removes it.

use crate::error::AppError;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::time::Duration;

/// One limit as configured: `count` attempts per `period`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    pub count: u32,
    pub period: Duration,
}

impl Limit {
    /// Parses `N/period`, e.g. `10/15m`, `600/1m`, `20/1h` (periods in s, m, h or d).
    pub fn parse(text: &str) -> Result<Limit, String> {
        let err = || {
            format!(
                "{text:?} is not a limit; write attempts/period such as 10/15m, 600/1m or 20/1h"
            )
        };
        let (count, period) = text.trim().split_once('/').ok_or_else(err)?;
        let count: u32 = count
            .trim()
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(err)?;
        let period = period.trim();
        let split = period.find(|c: char| !c.is_ascii_digit()).ok_or_else(err)?;
        let (number, unit) = period.split_at(split);
        let number: u64 = if number.is_empty() {
            1
        } else {
            number.parse().map_err(|_| err())?
        };
        let unit_secs = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            _ => return Err(err()),
        };
        let secs = number
            .checked_mul(unit_secs)
            .filter(|s| (1..=7 * 86_400).contains(s))
            .ok_or_else(err)?;
        Ok(Limit {
            count,
            period: Duration::from_secs(secs),
        })
    }

    fn quota(self) -> Quota {
        let count = NonZeroU32::new(self.count).unwrap_or(NonZeroU32::MIN);
        let every = (self.period / self.count).max(Duration::from_millis(1));
        Quota::with_period(every)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(count)
    }
}

impl std::fmt::Display for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secs = self.period.as_secs();
        let (n, unit) = match secs {
            s if s % 86_400 == 0 => (s / 86_400, "d"),
            s if s % 3600 == 0 => (s / 3600, "h"),
            s if s % 60 == 0 => (s / 60, "m"),
            s => (s, "s"),
        };
        write!(f, "{}/{n}{unit}", self.count)
    }
}

/// Which door an attempt knocks on. Each has its own limit and its own counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Door {
    /// Customer sign-in (and password checks on invitation acceptance), per account.
    SignInAccount,
    /// Customer sign-in, per client address.
    SignInAddress,
    /// Staff sign-in, per account.
    StaffSignInAccount,
    /// Staff sign-in, per client address.
    StaffSignInAddress,
    /// Sign-up and its confirmation, per client address.
    SignUpAddress,
    /// Invitation acceptance, per client address.
    InvitationAddress,
    /// REST API calls, per key.
    ApiKey,
    /// REST API calls with a missing or invalid key, per client address.
    ApiFailedAuthAddress,
}

impl Door {
    pub const ALL: [Door; 8] = [
        Door::SignInAccount,
        Door::SignInAddress,
        Door::StaffSignInAccount,
        Door::StaffSignInAddress,
        Door::SignUpAddress,
        Door::InvitationAddress,
        Door::ApiKey,
        Door::ApiFailedAuthAddress,
    ];

    /// The environment variable that sets this door's limit.
    pub fn variable(self) -> &'static str {
        match self {
            Door::SignInAccount => "RATE_LIMIT_SIGN_IN_ACCOUNT",
            Door::SignInAddress => "RATE_LIMIT_SIGN_IN_ADDRESS",
            Door::StaffSignInAccount => "RATE_LIMIT_STAFF_SIGN_IN_ACCOUNT",
            Door::StaffSignInAddress => "RATE_LIMIT_STAFF_SIGN_IN_ADDRESS",
            Door::SignUpAddress => "RATE_LIMIT_SIGN_UP_ADDRESS",
            Door::InvitationAddress => "RATE_LIMIT_INVITATION_ADDRESS",
            Door::ApiKey => "RATE_LIMIT_API_KEY",
            Door::ApiFailedAuthAddress => "RATE_LIMIT_API_FAILED_AUTH_ADDRESS",
        }
    }

    /// The limit when its variable is not set.
    pub fn default_limit(self) -> Limit {
        let (count, secs) = match self {
            Door::SignInAccount => (10, 15 * 60),
            Door::SignInAddress => (50, 15 * 60),
            Door::StaffSignInAccount => (5, 15 * 60),
            Door::StaffSignInAddress => (20, 15 * 60),
            Door::SignUpAddress => (20, 3600),
            Door::InvitationAddress => (20, 15 * 60),
            Door::ApiKey => (6000, 60),
            Door::ApiFailedAuthAddress => (20, 60),
        };
        Limit {
            count,
            period: Duration::from_secs(secs),
        }
    }
}

/// Every door's limit, as configured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimitSettings(pub Vec<(Door, Limit)>);

impl Default for LimitSettings {
    fn default() -> Self {
        LimitSettings(Door::ALL.iter().map(|d| (*d, d.default_limit())).collect())
    }
}

impl LimitSettings {
    pub fn limit(&self, door: Door) -> Limit {
        self.0
            .iter()
            .find(|(d, _)| *d == door)
            .map(|(_, l)| *l)
            .unwrap_or_else(|| door.default_limit())
    }
}

/// The limiters of every door.
pub struct RateLimits {
    doors: Vec<(Door, DefaultKeyedRateLimiter<String>)>,
    clock: DefaultClock,
}

impl RateLimits {
    pub fn new(settings: &LimitSettings) -> RateLimits {
        RateLimits {
            doors: Door::ALL
                .iter()
                .map(|door| {
                    (
                        *door,
                        DefaultKeyedRateLimiter::keyed(settings.limit(*door).quota()),
                    )
                })
                .collect(),
            clock: DefaultClock::default(),
        }
    }

    /// Counts one attempt at `door` by `key` (an address, an email, a key id). Over the limit it
    /// is refused with how long to wait.
    pub fn check(&self, door: Door, key: &str) -> Result<(), AppError> {
        let Some((_, limiter)) = self.doors.iter().find(|(d, _)| *d == door) else {
            return Ok(());
        };
        limiter.check_key(&key.to_lowercase()).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            tracing::warn!(?door, key, wait_secs = wait.as_secs(), "rate limited");
            AppError::RateLimited {
                retry_after_secs: wait.as_secs().max(1) + u64::from(wait.subsec_nanos() > 0),
            }
        })
    }

    /// Counts one attempt at each of `doors` (every one is counted, so a refusal at one does not
    /// spare the others); refused if any is over its limit.
    pub fn check_all(&self, doors: &[(Door, &str)]) -> Result<(), AppError> {
        let mut refused = None;
        for (door, key) in doors {
            if let Err(e) = self.check(*door, key) {
                refused = Some(match (refused, e) {
                    (
                        Some(AppError::RateLimited {
                            retry_after_secs: a,
                        }),
                        AppError::RateLimited {
                            retry_after_secs: b,
                        },
                    ) => AppError::RateLimited {
                        retry_after_secs: a.max(b),
                    },
                    (_, e) => e,
                });
            }
        }
        refused.map_or(Ok(()), Err)
    }

    /// Forgets keys whose limits have fully recovered, so memory follows recent traffic only.
    pub fn forget_idle(&self) {
        for (_, limiter) in &self.doors {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

/// The client's address: the connection's peer, or, when the portal is configured to trust its
/// proxy (`TRUST_FORWARDED_FOR=true`), the last address in `X-Forwarded-For` (the one the proxy
/// saw).
pub fn client_address(
    headers: &http::HeaderMap,
    peer: Option<SocketAddr>,
    trust_forwarded_for: bool,
) -> String {
    if trust_forwarded_for {
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|a| a.trim().parse::<IpAddr>().ok())
            .next_back();
        if let Some(address) = forwarded {
            return address.to_string();
        }
    }
    peer.map(|p| p.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_read_as_attempts_per_period() {
        assert_eq!(
            Limit::parse("10/15m").unwrap(),
            Limit {
                count: 10,
                period: Duration::from_secs(900)
            }
        );
        assert_eq!(Limit::parse("600/1m").unwrap().to_string(), "600/1m");
        assert_eq!(Limit::parse("20/h").unwrap().to_string(), "20/1h");
        for bad in ["", "10", "0/1m", "x/1m", "10/1w", "10/0m", "10/30d"] {
            assert!(Limit::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_burst_passes_then_the_next_waits() {
        let settings = LimitSettings(vec![(
            Door::SignInAccount,
            Limit {
                count: 3,
                period: Duration::from_secs(300),
            },
        )]);
        let limits = RateLimits::new(&settings);
        for _ in 0..3 {
            limits
                .check(Door::SignInAccount, "ada@example.com")
                .unwrap();
        }
        let refused = limits
            .check(Door::SignInAccount, "ADA@example.com")
            .unwrap_err();
        match refused {
            AppError::RateLimited { retry_after_secs } => {
                assert!((99..=101).contains(&retry_after_secs), "{retry_after_secs}")
            }
            other => panic!("{other:?}"),
        }
        // Another account is not affected.
        limits
            .check(Door::SignInAccount, "grace@example.com")
            .unwrap();
    }

    #[test]
    fn the_client_address_comes_from_the_proxy_only_when_trusted() {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            "203.0.113.9, 198.51.100.7".parse().unwrap(),
        );
        let peer = Some(SocketAddr::from(([10, 0, 0, 1], 5000)));
        assert_eq!(client_address(&headers, peer, false), "10.0.0.1");
        assert_eq!(client_address(&headers, peer, true), "198.51.100.7");
        assert_eq!(
            client_address(&http::HeaderMap::new(), peer, true),
            "10.0.0.1"
        );
    }
}
