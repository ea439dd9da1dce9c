//! Configuration from environment variables. A bad value stops start-up with one line naming the
//! variable and what it accepts.

use std::net::SocketAddr;

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Stripe connection settings: a Stripe key, or (asked for with `STRIPE_MODE=emulator`) the
/// built-in Stripe emulator.
#[derive(Clone)]
pub struct StripeConfig {
    pub secret_key: Option<String>,
    pub webhook_secret: Option<String>,
    pub api_base: Option<String>,
    /// Where the built-in emulator listens (port 0: any free port).
    pub emulator_addr: SocketAddr,
    /// The emulator's secret key (`STRIPE_EMULATOR_SECRET`); `None` makes a random one at start.
    pub emulator_secret: Option<String>,
}

impl StripeConfig {
    /// Whether payments go to the built-in emulator (no Stripe key, `STRIPE_MODE=emulator`).
    pub fn uses_emulator(&self) -> bool {
        self.secret_key.is_none()
    }

    /// Whether the key moves real money (`sk_live_…`, `rk_live_…`).
    pub fn is_live(&self) -> bool {
        self.secret_key
            .as_deref()
            .is_some_and(|k| k.starts_with("sk_live_") || k.starts_with("rk_live_"))
    }
}

impl Default for StripeConfig {
    fn default() -> Self {
        StripeConfig {
            secret_key: None,
            webhook_secret: None,
            api_base: None,
            emulator_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            emulator_secret: None,
        }
    }
}

/// Everything the server needs to start. Its `Debug` output hides secrets and passwords.
#[derive(Clone)]
pub struct Config {
    pub database_url: String,
    pub listen_addr: SocketAddr,
    /// Origin customers reach the portal at, e.g. `https://billing.example.com`.
    pub public_base_url: String,
    pub site_root: String,
    pub log_format: LogFormat,
    pub stripe: StripeConfig,
    /// How long a sign-in lasts, in seconds.
    pub session_ttl_secs: i64,
    /// Where email goes; with none, emails stay in the outbox.
    pub smtp_url: Option<String>,
    /// Whether support staff may read the email outbox at `/dev/mailbox` (`DEV_MAILBOX=true`);
    /// off unless asked for, and never with a live Stripe key.
    pub dev_mailbox: bool,
    /// Days between a failed renewal payment and each retry (`DUNNING_RETRY_DAYS`, default 3,5,7).
    pub dunning: crate::domain::RetrySchedule,
    /// Seconds between background bill runs; 0 turns them off (`BILL_RUN_INTERVAL_SECS`).
    pub bill_run_interval_secs: u64,
    /// How long a worker's claim on a row lasts before another may take it (`JOB_LEASE_SECS`).
    pub job_lease_secs: i64,
    /// Refunds above this many minor units need an approver (`APPROVAL_THRESHOLD_MINOR`): the
    /// threshold of a currency `APPROVAL_THRESHOLDS` does not name.
    pub approval_threshold_minor: i64,
    /// Per-currency approval thresholds in minor units (`APPROVAL_THRESHOLDS=USD:10000,JPY:15000`).
    pub approval_thresholds: Vec<(crate::domain::Currency, i64)>,
    /// Each rate-limited door's limit (`RATE_LIMIT_*`).
    pub rate_limits: super::limits::LimitSettings,
    /// Whether the client address comes from `X-Forwarded-For` (behind a trusted proxy).
    pub trust_forwarded_for: bool,
}

/// A configuration value that cannot be used, with the variable it came from.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{variable}: {problem}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

impl std::fmt::Debug for StripeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |v: &Option<String>| v.as_ref().map(|_| "***");
        f.debug_struct("StripeConfig")
            .field("secret_key", &hidden(&self.secret_key))
            .field("webhook_secret", &hidden(&self.webhook_secret))
            .field("api_base", &self.api_base)
            .field("emulator_addr", &self.emulator_addr)
            .field("emulator_secret", &hidden(&self.emulator_secret))
            .finish()
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &super::redact(&self.database_url))
            .field("listen_addr", &self.listen_addr)
            .field("public_base_url", &self.public_base_url)
            .field("site_root", &self.site_root)
            .field("log_format", &self.log_format)
            .field("stripe", &self.stripe)
            .field("session_ttl_secs", &self.session_ttl_secs)
            .field("smtp_url", &self.smtp_url.as_deref().map(super::redact))
            .field("dev_mailbox", &self.dev_mailbox)
            .field("dunning", &self.dunning)
            .field("bill_run_interval_secs", &self.bill_run_interval_secs)
            .field("job_lease_secs", &self.job_lease_secs)
            .field("approval_threshold_minor", &self.approval_threshold_minor)
            .field("approval_thresholds", &self.approval_thresholds)
            .field("rate_limits", &self.rate_limits)
            .field("trust_forwarded_for", &self.trust_forwarded_for)
            .finish()
    }
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup`, so tests can supply their own variables.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());

        let database_url =
            get("DATABASE_URL").unwrap_or_else(|| "sqlite://data/billing.db?mode=rwc".to_string());
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            return Err(ConfigError {
                variable: "DATABASE_URL",
                problem: format!(
                    "{database_url:?} is not supported; use sqlite://path/to/file.db?mode=rwc or postgres://user@host:port/database"
                ),
            });
        }

        let listen_raw = get("LISTEN_ADDR").unwrap_or_else(|| "127.0.0.1:3000".to_string());
        let listen_addr = listen_raw.parse::<SocketAddr>().map_err(|_| ConfigError {
            variable: "LISTEN_ADDR",
            problem: format!("{listen_raw:?} is not an address; use ip:port such as 127.0.0.1:3000 or 0.0.0.0:8080"),
        })?;

        let public_base_url = get("PUBLIC_BASE_URL")
            .unwrap_or_else(|| format!("http://{listen_addr}"))
            .trim_end_matches('/')
            .to_string();
        let is_origin = ["https://", "http://"]
            .iter()
            .find_map(|scheme| public_base_url.strip_prefix(scheme))
            .is_some_and(|host| !host.is_empty() && !host.contains('/'));
        if !is_origin {
            return Err(ConfigError {
                variable: "PUBLIC_BASE_URL",
                problem: format!(
                    "{public_base_url:?} is not an origin; use scheme://host[:port] with no path, such as https://billing.example.com"
                ),
            });
        }

        let log_format = match get("LOG_FORMAT").as_deref() {
            None | Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(ConfigError {
                    variable: "LOG_FORMAT",
                    problem: format!("{other:?} is not a log format; use pretty or json"),
                })
            }
        };

        let session_ttl_secs = match get("SESSION_TTL_HOURS") {
            None => 14 * 24 * 3600,
            Some(raw) => match raw.parse::<i64>() {
                Ok(hours) if (1..=24 * 365).contains(&hours) => hours * 3600,
                _ => {
                    return Err(ConfigError {
                        variable: "SESSION_TTL_HOURS",
                        problem: format!("{raw:?} is not a number of hours from 1 to 8760"),
                    })
                }
            },
        };

        let emulator_raw = get("STRIPE_EMULATOR_ADDR").unwrap_or_else(|| "127.0.0.1:0".to_string());
        let stripe = StripeConfig {
            secret_key: get("STRIPE_SECRET_KEY"),
            webhook_secret: get("STRIPE_WEBHOOK_SECRET"),
            api_base: get("STRIPE_API_BASE"),
            emulator_addr: emulator_raw.parse().map_err(|_| ConfigError {
                variable: "STRIPE_EMULATOR_ADDR",
                problem: format!(
                    "{emulator_raw:?} is not an address; use ip:port such as 127.0.0.1:12111"
                ),
            })?,
            emulator_secret: get("STRIPE_EMULATOR_SECRET"),
        };
        if let Some(secret) = &stripe.emulator_secret {
            if !secret.starts_with("sk_test_") || secret.len() < 24 {
                return Err(ConfigError {
                    variable: "STRIPE_EMULATOR_SECRET",
                    problem: "use sk_test_ followed by at least 16 random characters".into(),
                });
            }
        }
        match (get("STRIPE_MODE").as_deref().map(str::trim), &stripe.secret_key) {
            (None | Some("stripe"), Some(_)) | (Some("emulator"), None) => {}
            (None | Some("stripe"), None) => {
                return Err(ConfigError {
                    variable: "STRIPE_SECRET_KEY",
                    problem: "is not set; set a Stripe key (with STRIPE_WEBHOOK_SECRET), or STRIPE_MODE=emulator to take payments on the built-in Stripe emulator (development only)".into(),
                })
            }
            (Some("emulator"), Some(_)) => {
                return Err(ConfigError {
                    variable: "STRIPE_MODE",
                    problem: "is emulator but STRIPE_SECRET_KEY is set too; unset one of them".into(),
                })
            }
            (Some(other), _) => {
                return Err(ConfigError {
                    variable: "STRIPE_MODE",
                    problem: format!("{other:?} is not a mode; use stripe or emulator"),
                })
            }
        }
        if let Some(key) = &stripe.secret_key {
            if !(key.starts_with("sk_") || key.starts_with("rk_")) {
                return Err(ConfigError {
                    variable: "STRIPE_SECRET_KEY",
                    problem: "does not look like a Stripe secret key; it starts with sk_test_, sk_live_ or rk_".into(),
                });
            }
            if stripe.webhook_secret.is_none() {
                return Err(ConfigError {
                    variable: "STRIPE_WEBHOOK_SECRET",
                    problem: "is required with STRIPE_SECRET_KEY; copy the whsec_ signing secret of the webhook endpoint".into(),
                });
            }
        }

        let dunning = match get("DUNNING_RETRY_DAYS") {
            None => crate::domain::RetrySchedule::default(),
            Some(raw) => {
                crate::domain::RetrySchedule::parse(&raw).map_err(|problem| ConfigError {
                    variable: "DUNNING_RETRY_DAYS",
                    problem,
                })?
            }
        };
        let bill_run_interval_secs = match get("BILL_RUN_INTERVAL_SECS") {
            None => 60,
            Some(raw) => raw
                .parse::<u64>()
                .ok()
                .filter(|s| *s <= 86_400)
                .ok_or_else(|| ConfigError {
                    variable: "BILL_RUN_INTERVAL_SECS",
                    problem: format!("{raw:?} is not a number of seconds from 0 (off) to 86400"),
                })?,
        };
        let job_lease_secs = match get("JOB_LEASE_SECS") {
            None => 300,
            Some(raw) => raw
                .parse::<i64>()
                .ok()
                .filter(|s| (1..=86_400).contains(s))
                .ok_or_else(|| ConfigError {
                    variable: "JOB_LEASE_SECS",
                    problem: format!("{raw:?} is not a number of seconds from 1 to 86400"),
                })?,
        };
        let approval_threshold_minor = match get("APPROVAL_THRESHOLD_MINOR") {
            None => 10_000,
            Some(raw) => {
                raw.parse::<i64>()
                    .ok()
                    .filter(|n| *n >= 0)
                    .ok_or_else(|| ConfigError {
                        variable: "APPROVAL_THRESHOLD_MINOR",
                        problem: format!(
                            "{raw:?} is not an amount in minor units (e.g. 10000 for $100.00)"
                        ),
                    })?
            }
        };

        let dev_mailbox = match get("DEV_MAILBOX").as_deref().map(str::trim) {
            None | Some("false") | Some("0") => false,
            Some("true") | Some("1") => true,
            Some(other) => {
                return Err(ConfigError {
                    variable: "DEV_MAILBOX",
                    problem: format!("{other:?} is not a switch; use true or false"),
                })
            }
        };
        if dev_mailbox && stripe.is_live() {
            return Err(ConfigError {
                variable: "DEV_MAILBOX",
                problem: "cannot be on with a live Stripe key: the development mailbox shows every customer's email; unset DEV_MAILBOX".into(),
            });
        }

        let mut approval_thresholds = Vec::new();
        let mut approval_threshold_minor = approval_threshold_minor;
        if let Some(raw) = get("APPROVAL_THRESHOLDS") {
            let bad = |part: &str| {
                ConfigError {
                variable: "APPROVAL_THRESHOLDS",
                problem: format!(
                    "{part:?} is not CURRENCY:MINOR_UNITS; write e.g. USD:10000,EUR:10000,JPY:15000,*:10000"
                ),
            }
            };
            for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let (code, amount) = part.split_once(':').ok_or_else(|| bad(part))?;
                let amount: i64 = amount
                    .trim()
                    .parse()
                    .ok()
                    .filter(|n| *n >= 0)
                    .ok_or_else(|| bad(part))?;
                if code.trim() == "*" {
                    approval_threshold_minor = amount;
                    continue;
                }
                let currency =
                    crate::domain::Currency::parse(code.trim()).map_err(|_| bad(part))?;
                approval_thresholds.retain(|(c, _)| *c != currency);
                approval_thresholds.push((currency, amount));
            }
        }
        let mut rate_limits = super::limits::LimitSettings::default();
        for (door, limit) in rate_limits.0.iter_mut() {
            if let Some(raw) = get(door.variable()) {
                *limit = super::limits::Limit::parse(&raw).map_err(|problem| ConfigError {
                    variable: door.variable(),
                    problem,
                })?;
            }
        }
        let trust_forwarded_for = match get("TRUST_FORWARDED_FOR").as_deref().map(str::trim) {
            None | Some("false") | Some("0") => false,
            Some("true") | Some("1") => true,
            Some(other) => {
                return Err(ConfigError {
                    variable: "TRUST_FORWARDED_FOR",
                    problem: format!("{other:?} is not a switch; use true (behind a proxy that sets X-Forwarded-For) or false"),
                })
            }
        };

        Ok(Config {
            database_url,
            listen_addr,
            public_base_url,
            site_root: get("LEPTOS_SITE_ROOT").unwrap_or_else(|| "target/site".to_string()),
            log_format,
            stripe,
            session_ttl_secs,
            smtp_url: get("SMTP_URL"),
            dev_mailbox,
            dunning,
            bill_run_interval_secs,
            job_lease_secs,
            approval_threshold_minor,
            approval_thresholds,
            rate_limits,
            trust_forwarded_for,
        })
    }

    /// The approval threshold for `currency`, in its minor units.
    pub fn approval_threshold(&self, currency: crate::domain::Currency) -> i64 {
        self.approval_thresholds
            .iter()
            .find(|(c, _)| *c == currency)
            .map_or(self.approval_threshold_minor, |(_, t)| *t)
    }

    /// Whether cookies can carry `Secure` and the `__Host-` prefix.
    pub fn is_https(&self) -> bool {
        self.public_base_url.starts_with("https://")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// The configuration from `vars`; without a Stripe key, on the emulator as asked for.
    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        if !map.contains_key("STRIPE_SECRET_KEY") {
            map.entry("STRIPE_MODE".into())
                .or_insert_with(|| "emulator".into());
        }
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn approval_thresholds_are_per_currency_with_a_default() {
        use crate::domain::Currency;
        let c = config(&[(
            "APPROVAL_THRESHOLDS",
            "USD:10000, EUR:9000,JPY:15000,*:5000",
        )])
        .unwrap();
        assert_eq!(c.approval_threshold(Currency::USD), 10_000);
        assert_eq!(c.approval_threshold(Currency::EUR), 9_000);
        assert_eq!(c.approval_threshold(Currency::JPY), 15_000);
        assert_eq!(c.approval_threshold(Currency::GBP), 5_000);
        let d = config(&[]).unwrap();
        assert_eq!(d.approval_threshold(Currency::JPY), 10_000);
    }

    #[test]
    fn rate_limits_are_configurable() {
        use super::super::limits::{Door, Limit};
        let c = config(&[("RATE_LIMIT_SIGN_IN_ACCOUNT", "3/1m")]).unwrap();
        assert_eq!(
            c.rate_limits.limit(Door::SignInAccount),
            Limit::parse("3/1m").unwrap()
        );
        assert_eq!(
            c.rate_limits.limit(Door::ApiKey),
            Door::ApiKey.default_limit()
        );
    }

    #[test]
    fn the_emulator_must_be_asked_for() {
        let none = Config::from_lookup(|_| None).unwrap_err();
        assert_eq!(none.variable, "STRIPE_SECRET_KEY");
        assert!(none.problem.contains("STRIPE_MODE=emulator"));
        let https = Config::from_lookup(|name| {
            (name == "PUBLIC_BASE_URL").then(|| "https://billing.example.com".to_string())
        })
        .unwrap_err();
        assert_eq!(https.variable, "STRIPE_SECRET_KEY");
        let emulator = config(&[("PUBLIC_BASE_URL", "https://billing.example.com")]).unwrap();
        assert!(emulator.stripe.uses_emulator());
        let both = config(&[
            ("STRIPE_MODE", "emulator"),
            ("STRIPE_SECRET_KEY", "sk_test_abc"),
            ("STRIPE_WEBHOOK_SECRET", "whsec_x"),
        ])
        .unwrap_err();
        assert_eq!(both.variable, "STRIPE_MODE");
        let short = config(&[("STRIPE_EMULATOR_SECRET", "sk_test_1")]).unwrap_err();
        assert_eq!(short.variable, "STRIPE_EMULATOR_SECRET");
        for err in [none, https, both, short] {
            assert!(!err.to_string().contains('\n'), "one line: {err}");
        }
    }

    #[test]
    fn defaults_serve_sqlite_on_localhost() {
        let c = config(&[]).unwrap();
        assert_eq!(c.database_url, "sqlite://data/billing.db?mode=rwc");
        assert_eq!(c.listen_addr.to_string(), "127.0.0.1:3000");
        assert_eq!(c.public_base_url, "http://127.0.0.1:3000");
        assert_eq!(c.log_format, LogFormat::Pretty);
        assert!(!c.is_https());
    }

    #[test]
    fn each_bad_value_names_its_variable() {
        let cases = [
            ("DATABASE_URL", "mysql://x"),
            ("LISTEN_ADDR", "localhost"),
            ("PUBLIC_BASE_URL", "billing.example.com"),
            ("PUBLIC_BASE_URL", "https://example.com/billing"),
            ("LOG_FORMAT", "xml"),
            ("SESSION_TTL_HOURS", "0"),
            ("DUNNING_RETRY_DAYS", "3,five"),
            ("BILL_RUN_INTERVAL_SECS", "-1"),
            ("JOB_LEASE_SECS", "0"),
            ("APPROVAL_THRESHOLD_MINOR", "-5"),
            ("STRIPE_SECRET_KEY", "pk_test_123"),
            ("DEV_MAILBOX", "yes"),
            ("STRIPE_MODE", "sandbox"),
            ("APPROVAL_THRESHOLDS", "USD:100,XYZ:5"),
            ("APPROVAL_THRESHOLDS", "USD=100"),
            ("RATE_LIMIT_SIGN_IN_ACCOUNT", "ten a minute"),
            ("TRUST_FORWARDED_FOR", "maybe"),
        ];
        for (variable, value) in cases {
            let err = config(&[(variable, value)]).unwrap_err();
            assert_eq!(err.variable, variable, "{value}");
            assert!(err.to_string().starts_with(variable));
        }
    }

    #[test]
    fn the_mailbox_is_off_unless_asked_for_and_never_with_a_live_key() {
        assert!(!config(&[]).unwrap().dev_mailbox);
        assert!(config(&[("DEV_MAILBOX", "true")]).unwrap().dev_mailbox);
        let test_key = config(&[
            ("DEV_MAILBOX", "true"),
            ("STRIPE_SECRET_KEY", "sk_test_abc"),
            ("STRIPE_WEBHOOK_SECRET", "whsec_x"),
        ]);
        assert!(test_key.unwrap().dev_mailbox);
        let live = config(&[
            ("DEV_MAILBOX", "true"),
            ("STRIPE_SECRET_KEY", "sk_live_abc"),
            ("STRIPE_WEBHOOK_SECRET", "whsec_x"),
        ])
        .unwrap_err();
        assert_eq!(live.variable, "DEV_MAILBOX");
        assert!(!live.to_string().contains('\n'));
    }

    #[test]
    fn a_stripe_key_needs_its_webhook_secret() {
        let err = config(&[("STRIPE_SECRET_KEY", "sk_test_abc")]).unwrap_err();
        assert_eq!(err.variable, "STRIPE_WEBHOOK_SECRET");
        let ok = config(&[
            ("STRIPE_SECRET_KEY", "sk_test_abc"),
            ("STRIPE_WEBHOOK_SECRET", "whsec_x"),
            ("PUBLIC_BASE_URL", "https://billing.example.com/"),
        ])
        .unwrap();
        assert_eq!(ok.public_base_url, "https://billing.example.com");
        assert!(ok.is_https());
        let shown = format!("{ok:?}");
        assert!(
            !shown.contains("sk_test_abc") && !shown.contains("whsec_x"),
            "{shown}"
        );
        let pg = config(&[("DATABASE_URL", "postgres://app:hunter2@db:5432/billing")]).unwrap();
        assert!(!format!("{pg:?}").contains("hunter2"));
    }
}
