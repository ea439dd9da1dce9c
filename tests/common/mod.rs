//! The test harness: the real server on a random port, on a fresh database per test (a SQLite
//! file, or a PostgreSQL database created for the test and dropped after it), with typed helpers.
#![allow(dead_code)]

use billing_portal::domain::clock::Clock;
use billing_portal::server::{self, AppState, Config};
use billing_portal::store::Db;
use chrono::{DateTime, TimeZone, Utc};
use reqwest::header::{HeaderMap, ACCEPT, LOCATION, ORIGIN, REFERER, SET_COOKIE};
use reqwest::redirect::Policy;
use reqwest::{Client, Response, StatusCode};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server tests create their databases on.
pub fn postgres_server() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

/// A clock tests move by hand.
#[derive(Debug)]
pub struct TestClock(AtomicI64);

impl TestClock {
    pub fn at(start: DateTime<Utc>) -> Arc<TestClock> {
        Arc::new(TestClock(AtomicI64::new(start.timestamp())))
    }
    pub fn advance_secs(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
    pub fn set(&self, at: DateTime<Utc>) {
        self.0.store(at.timestamp(), Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        Utc.timestamp_opt(self.0.load(Ordering::SeqCst), 0)
            .single()
            .expect("valid test time")
    }
}

/// A database made for one test; removed when dropped.
pub struct TestDatabase {
    pub url: String,
    backend: Backend,
    name: String,
}

impl TestDatabase {
    /// `None` when PostgreSQL is wanted but not reachable and this is not CI (then it is skipped
    /// loudly); under `CI=true` an unreachable server fails the test.
    pub async fn create(backend: Backend) -> Option<TestDatabase> {
        let name = format!("bp_test_{}", uuid_like());
        match backend {
            Backend::Sqlite => {
                let path = std::env::temp_dir().join(format!("{name}.db"));
                Some(TestDatabase {
                    url: format!("sqlite://{}?mode=rwc", path.display()),
                    backend,
                    name: path.display().to_string(),
                })
            }
            Backend::Postgres => {
                use sqlx::migrate::MigrateDatabase;
                sqlx::any::install_default_drivers();
                let url = format!("{}/{}", postgres_server(), name);
                match sqlx::Any::create_database(&url).await {
                    Ok(()) => Some(TestDatabase { url, backend, name }),
                    Err(e) if std::env::var("CI").as_deref() == Ok("true") => {
                        panic!(
                            "PostgreSQL at {} is required under CI=true: {e}",
                            postgres_server()
                        )
                    }
                    Err(e) => {
                        eprintln!(
                            "\n*** SKIPPED on PostgreSQL: cannot create a database at {} ({e}). \
                             Start PostgreSQL or set TEST_POSTGRES_URL. ***\n",
                            postgres_server()
                        );
                        None
                    }
                }
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match self.backend {
            Backend::Sqlite => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", self.name));
                }
            }
            Backend::Postgres => {
                let url = self.url.clone();
                // Dropping happens outside any runtime we may block, so use a thread of its own.
                let _ = std::thread::spawn(move || {
                    use sqlx::migrate::MigrateDatabase;
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build();
                    if let Ok(rt) = rt {
                        let _ = rt.block_on(sqlx::Any::force_drop_database(&url));
                    }
                })
                .join();
            }
        }
    }
}

fn uuid_like() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    static COUNTER: AtomicI64 = AtomicI64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{}_{}_{}",
        std::process::id(),
        nanos % 1_000_000_000_000,
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

/// The running app and a browser-like client (cookies kept, redirects not followed).
pub struct TestApp {
    pub base: String,
    pub client: Client,
    pub state: AppState,
    pub clock: Arc<TestClock>,
    pub backend: Backend,
    /// Set by [`TestApp::tamper`]: the audit chain is broken on purpose.
    tampered: std::sync::atomic::AtomicBool,
    /// Browsers signed in to the console, by staff email.
    staff_browsers: std::sync::Mutex<std::collections::HashMap<String, Client>>,
    _database: TestDatabase,
}

/// Every test ends with an intact audit log: whatever the test did, every write it caused was
/// recorded in the hash chain and nothing broke it (unless the test broke it on purpose).
impl Drop for TestApp {
    fn drop(&mut self) {
        if std::thread::panicking() || self.tampered.load(Ordering::SeqCst) {
            return;
        }
        let url = self.state.config.database_url.clone();
        let verdict = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let db = billing_portal::store::connect(&url).await.expect("connect");
                let verdict = billing_portal::store::audit::verify(&db).await;
                db.pool.close().await;
                verdict.map_err(|e| e.to_string())
            })
        })
        .join()
        .expect("audit verification ran");
        match verdict {
            Ok(billing_portal::store::audit::Verification::Intact { .. }) => {}
            other => panic!("the audit log is not intact after the test: {other:?}"),
        }
    }
}

pub const PASSWORD: &str = "correct horse battery";

impl TestApp {
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        Self::spawn_with(backend, &[]).await
    }

    /// Spawns the app with these environment variables on top of the tests' defaults.
    pub async fn spawn_with(backend: Backend, vars: &[(&str, &str)]) -> Option<TestApp> {
        let database = TestDatabase::create(backend).await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let url = database.url.clone();
        let overrides: std::collections::HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let config = Config::from_lookup(|name| {
            if let Some(value) = overrides.get(name) {
                return Some(value.clone());
            }
            match name {
                "DATABASE_URL" => Some(url.clone()),
                "LISTEN_ADDR" => Some(addr.to_string()),
                // Tests run bill runs themselves, at the times they choose.
                "BILL_RUN_INTERVAL_SECS" => Some("0".to_string()),
                // The tests read the emails the portal queues, as support staff.
                "DEV_MAILBOX" => Some("true".to_string()),
                "STRIPE_MODE" => Some("emulator".to_string()),
                _ => None,
            }
        })
        .expect("test config");
        let clock = TestClock::at(Utc.with_ymd_and_hms(2026, 1, 15, 12, 0, 0).unwrap());
        let state = server::build_state(config, clock.clone())
            .await
            .expect("state");
        tokio::spawn(billing_portal::http::serve(listener, state.clone()));
        Some(TestApp {
            base: format!("http://{addr}"),
            client: Self::browser(),
            state,
            clock,
            backend,
            tampered: std::sync::atomic::AtomicBool::new(false),
            staff_browsers: Default::default(),
            _database: database,
        })
    }

    /// A fresh client with its own cookie jar, like a second browser: it asks for HTML, keeps
    /// cookies and does not follow redirects, so tests can see them.
    pub fn browser() -> Client {
        let mut headers = HeaderMap::new();
        headers.insert(
            ACCEPT,
            "text/html,application/xhtml+xml,*/*;q=0.8"
                .parse()
                .expect("accept"),
        );
        Client::builder()
            .cookie_store(true)
            .redirect(Policy::none())
            .default_headers(headers)
            // A stuck request fails its test instead of stalling the whole suite.
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .expect("client")
    }

    pub fn db(&self) -> &Db {
        &self.state.db
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.get_with(&self.client, path).await
    }

    pub async fn get_with(&self, client: &Client, path: &str) -> Response {
        client.get(self.url(path)).send().await.expect("GET")
    }

    /// Submits a form the way a browser does with JavaScript off: same origin, HTML accepted, the
    /// page it was on as Referer.
    pub async fn submit_form(
        &self,
        client: &Client,
        from_page: &str,
        endpoint: &str,
        fields: &[(&str, &str)],
    ) -> Response {
        client
            .post(self.url(endpoint))
            .header(ORIGIN, &self.base)
            .header(REFERER, self.url(from_page))
            .header(ACCEPT, "text/html,application/xhtml+xml")
            .form(fields)
            .send()
            .await
            .expect("POST form")
    }

    /// Calls a server function the way the hydrated page does.
    pub async fn call(&self, client: &Client, endpoint: &str, fields: &[(&str, &str)]) -> Response {
        client
            .post(self.url(endpoint))
            .header(ORIGIN, &self.base)
            .header(ACCEPT, "application/json")
            .form(fields)
            .send()
            .await
            .expect("POST server fn")
    }

    /// Signs up as a visitor would: the form, then the link emailed to `email`, then its
    /// confirmation button. Returns the confirmation's response (a redirect to billing with the
    /// session cookie), or the form's when it was refused.
    pub async fn sign_up(&self, client: &Client, email: &str, org: &str) -> Response {
        let form = self
            .submit_form(
                client,
                "/sign-up",
                "/api/auth/sign-up",
                &[("email", email), ("password", PASSWORD), ("org_name", org)],
            )
            .await;
        if location(&form).as_deref() != Some("/sign-up/sent") {
            return form;
        }
        let Some(link) = self.emailed_link(email, "/sign-up/confirm/").await else {
            // The address has an account already: the email says so, and nothing is created.
            return form;
        };
        let token = link.rsplit('/').next().unwrap_or_default().to_string();
        self.submit_form(
            client,
            &link,
            "/api/auth/sign-up/confirm",
            &[("token", &token)],
        )
        .await
    }

    /// The path of the first link containing `marker` in the newest email to `to` that has one,
    /// as the development mailbox shows it (read straight from the outbox).
    pub async fn emailed_link(&self, to: &str, marker: &str) -> Option<String> {
        use sqlx::Row;
        let bodies: Vec<String> = sqlx::query(
            "SELECT body FROM email_outbox WHERE to_address = $1 ORDER BY created_at DESC, id DESC",
        )
        .bind(to.trim().to_lowercase())
        .fetch_all(&self.db().pool)
        .await
        .expect("outbox")
        .into_iter()
        .map(|r| r.get("body"))
        .collect();
        bodies.iter().find_map(|body| {
            let start = body.find(marker)?;
            let path: String = body[start..]
                .chars()
                .take_while(|c| !c.is_whitespace())
                .collect();
            Some(path)
        })
    }

    pub async fn sign_in(&self, client: &Client, email: &str, password: &str) -> Response {
        self.submit_form(
            client,
            "/sign-in",
            "/api/auth/sign-in",
            &[("email", email), ("password", password), ("next", "")],
        )
        .await
    }

    /// Follows a redirect that sends the browser back to a page, and returns that page's HTML.
    pub async fn follow(&self, client: &Client, response: Response) -> (StatusCode, String) {
        let location = location(&response).expect("a redirect");
        let target = if location.starts_with("http") {
            location
        } else {
            self.url(&location)
        };
        let page = client
            .get(target)
            .send()
            .await
            .expect("GET redirect target");
        let status = page.status();
        (status, page.text().await.expect("body"))
    }

    /// A browser signed in to the support console as `email` (a demo staff account, so the
    /// demo seed must have run), with its password and the current code of the demo secret.
    /// Each staff member signs in once per test (a code works once); later calls get the same
    /// browser.
    pub async fn staff(&self, email: &str) -> Client {
        let cached = self
            .staff_browsers
            .lock()
            .expect("staff")
            .get(email)
            .cloned();
        if let Some(browser) = cached {
            // Still signed in (the test's clock may have moved past the session's end)?
            let session = self.call(&browser, "/api/support/session", &[]).await;
            if session.text().await.is_ok_and(|body| body.trim() != "null") {
                return browser;
            }
        }
        let browser = TestApp::browser();
        let code = billing_portal::server::mfa::code_at(
            billing_portal::server::mfa::DEMO_SECRET,
            self.state.now(),
        )
        .expect("code");
        let response = self
            .submit_form(
                &browser,
                "/support/sign-in",
                "/api/support/sign-in",
                &[
                    ("email", email),
                    ("password", billing_portal::services::seed::DEMO_PASSWORD),
                    ("code", &code),
                ],
            )
            .await;
        let start = if email.starts_with("catalog@") {
            "/support/catalog"
        } else {
            "/support"
        };
        assert_eq!(
            location(&response).as_deref(),
            Some(start),
            "{email} signs in to the console"
        );
        self.staff_browsers
            .lock()
            .expect("staff")
            .insert(email.to_string(), browser.clone());
        browser
    }

    /// The development mailbox's page, read by a support agent.
    pub async fn mailbox(&self) -> String {
        let agent = self.staff("agent@demo.test").await;
        let page = self.get_with(&agent, "/dev/mailbox").await;
        assert_eq!(page.status(), StatusCode::OK);
        page.text().await.expect("mailbox")
    }

    /// Runs `sql` against the audit tables the way someone with the database's owner rights
    /// could: with their append-only triggers switched off, and back on afterwards.
    pub async fn tamper(&self, sql: &str) {
        self.tampered.store(true, Ordering::SeqCst);
        let (off, on): (&[&str], &[&str]) = match self.backend {
            Backend::Sqlite => (
                &["DROP TRIGGER audit_log_no_update", "DROP TRIGGER audit_log_no_delete"],
                &[
                    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN \
                     SELECT RAISE(ABORT, 'the audit log is append-only: entries cannot be changed'); END",
                    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN \
                     SELECT RAISE(ABORT, 'the audit log is append-only: entries cannot be removed'); END",
                ],
            ),
            Backend::Postgres => (
                &["ALTER TABLE audit_log DISABLE TRIGGER USER"],
                &["ALTER TABLE audit_log ENABLE TRIGGER USER"],
            ),
        };
        // One transaction on one connection: the triggers are off only for this statement.
        let mut tx = self.db().begin_write().await.expect("transaction");
        for statement in off {
            sqlx::query(sqlx::AssertSqlSafe(statement.to_string()))
                .execute(&mut *tx)
                .await
                .expect("trigger off");
        }
        sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
            .execute(&mut *tx)
            .await
            .expect("tampering");
        for statement in on {
            sqlx::query(sqlx::AssertSqlSafe(statement.to_string()))
                .execute(&mut *tx)
                .await
                .expect("trigger on");
        }
        tx.commit().await.expect("commit");
    }

    pub async fn count(&self, table: &str) -> i64 {
        use sqlx::Row;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) AS n FROM {table}"
        )))
        .fetch_one(&self.db().pool)
        .await
        .expect("count")
        .try_get("n")
        .expect("n")
    }
}

pub fn location(response: &Response) -> Option<String> {
    response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// The value a `Set-Cookie` header gives cookie `name`.
pub fn set_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            v.split(';')
                .next()?
                .trim()
                .strip_prefix(&format!("{name}="))
                .map(str::to_string)
        })
}

/// Runs an async test body once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                if let Some(app) = common::TestApp::spawn(common::Backend::Sqlite).await {
                    super::$name(app).await;
                }
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(app) = common::TestApp::spawn(common::Backend::Postgres).await {
                    super::$name(app).await;
                }
            }
        }
    )*};
}

impl TestApp {
    /// The built-in Stripe emulator this app talks to.
    pub fn emulator(&self) -> String {
        self.state
            .payments
            .emulator
            .as_ref()
            .expect("tests run against the emulator")
            .base_url
            .clone()
    }

    /// The emulator's secret key, which its APIs require.
    pub fn emulator_secret(&self) -> String {
        self.state
            .payments
            .emulator
            .as_ref()
            .expect("tests run against the emulator")
            .secret
            .clone()
    }

    /// Calls the emulator's control API.
    pub async fn emulator_control(&self, path: &str, body: serde_json::Value) -> Response {
        Client::new()
            .post(format!("{}{path}", self.emulator()))
            .bearer_auth(self.emulator_secret())
            .json(&body)
            .send()
            .await
            .expect("emulator control")
    }

    /// Reads the emulator's control API (e.g. `/_emulator/events`).
    pub async fn emulator_get(&self, path: &str) -> serde_json::Value {
        Client::new()
            .get(format!("{}{path}", self.emulator()))
            .bearer_auth(self.emulator_secret())
            .send()
            .await
            .expect("emulator control")
            .json()
            .await
            .expect("emulator JSON")
    }

    /// Waits (up to 15 s) until `query` returns a count of `expected`.
    pub async fn eventually_count(&self, table: &str, expected: i64) {
        for _ in 0..300 {
            if self.count(table).await == expected {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!(
            "{table} never reached {expected} rows (has {})",
            self.count(table).await
        );
    }

    /// Signs up a fresh owner with the demo catalog loaded; returns their browser.
    pub async fn owner_with_catalog(&self) -> Client {
        billing_portal::services::seed::seed_demo(&self.state)
            .await
            .expect("seed");
        let browser = TestApp::browser();
        self.sign_up(&browser, "owner@example.com", "Acme").await;
        browser
    }

    /// Starts a checkout as `browser` and returns the Stripe session id it created.
    pub async fn start_checkout(
        &self,
        browser: &Client,
        price_id: &str,
        seats: &str,
    ) -> (Response, Option<String>) {
        let response = self
            .submit_form(
                browser,
                "/pricing",
                "/api/billing/checkout",
                &[("price_id", price_id), ("seats", seats)],
            )
            .await;
        let session = location(&response)
            .and_then(|l| l.rsplit('/').next().map(str::to_string))
            .filter(|s| s.starts_with("cs_"));
        (response, session)
    }
}

impl TestApp {
    /// An owner whose organisation paid for `price_id` × `seats` with 4242 through the emulator.
    pub async fn subscribed(&self, price_id: &str, seats: &str) -> Client {
        let browser = self.owner_with_catalog().await;
        self.pay_checkout(&browser, price_id, seats).await;
        self.eventually_count("subscriptions", 1).await;
        browser
    }

    /// Checks out `price_id` × `seats` as `browser` and pays with 4242 through the emulator.
    pub async fn pay_checkout(&self, browser: &Client, price_id: &str, seats: &str) {
        let (_, session) = self.start_checkout(browser, price_id, seats).await;
        let session = session.expect("a checkout session");
        let paid = self
            .emulator_control(
                &format!("/_emulator/checkout/{session}/complete"),
                serde_json::json!({ "card": "4242424242424242" }),
            )
            .await;
        assert_eq!(paid.status(), StatusCode::OK);
    }

    /// The id of the organisation named `name`.
    pub async fn org_named(&self, name: &str) -> String {
        sqlx::query_scalar("SELECT id FROM organizations WHERE name = $1")
            .bind(name)
            .fetch_one(&self.db().pool)
            .await
            .expect("an organisation of that name")
    }

    /// Puts `org` on a new test clock at the app's time; returns the clock's id.
    pub async fn clock_for(&self, org: &str) -> String {
        let now = self.state.now();
        let clock = billing_portal::store::test_clocks::create(self.db(), "test", now, now)
            .await
            .expect("clock");
        billing_portal::store::test_clocks::attach(
            self.db(),
            &billing_portal::domain::ids::OrgId::parse(org).expect("an organisation id"),
            &clock,
            now,
        )
        .await
        .expect("attach");
        clock.to_string()
    }
}

impl TestApp {
    /// `count` organisations (owners `owner{i}@example.com`), each paying for `price_id` ×
    /// `seats` with 4242 on the emulator; waits until every subscription exists.
    pub async fn many_subscribed(&self, count: usize, price_id: &str, seats: &str) {
        billing_portal::services::seed::seed_demo(&self.state)
            .await
            .expect("seed");
        for i in 0..count {
            let browser = TestApp::browser();
            self.sign_up(
                &browser,
                &format!("owner{i}@example.com"),
                &format!("Org {i}"),
            )
            .await;
            self.pay_checkout(&browser, price_id, seats).await;
        }
        self.eventually_count("subscriptions", count as i64).await;
    }

    /// Moves test clock `clock` to `to` (unix seconds), running what falls due on the way.
    pub async fn advance_clock(
        &self,
        clock: &str,
        to: i64,
    ) -> billing_portal::services::bill_run::RunSummary {
        let clock = billing_portal::domain::ids::ClockId::parse(clock).expect("a test clock id");
        billing_portal::services::test_clock::advance(&self.state, &clock, to, &|_| {})
            .await
            .expect("advance the test clock")
    }

    /// Puts the organisation of the oldest subscription on a new test clock at the app's time;
    /// returns (organisation id, clock id).
    pub async fn first_org_on_test_clock(&self) -> (String, String) {
        use sqlx::Row;
        let org: String =
            sqlx::query("SELECT org_id FROM subscriptions ORDER BY created_at, id LIMIT 1")
                .fetch_one(&self.db().pool)
                .await
                .expect("a subscription")
                .get("org_id");
        let db = self.db();
        let now = self.state.now();
        let clock = billing_portal::store::test_clocks::create(db, "test", now, now)
            .await
            .expect("clock");
        assert!(billing_portal::store::test_clocks::attach(
            db,
            &billing_portal::domain::ids::OrgId::parse(&org).unwrap(),
            &clock,
            now
        )
        .await
        .expect("attach"));
        (org, clock.to_string())
    }
}

impl TestApp {
    /// Saves `card` through the hosted setup page, as the customer would, and waits until the
    /// portal has `expected_cards` cards.
    pub async fn add_card(&self, browser: &Client, card: &str, expected_cards: i64) {
        let response = self
            .submit_form(
                browser,
                "/billing/payment-methods",
                "/api/billing/payment-methods/add",
                &[],
            )
            .await;
        let url = location(&response).expect("redirect to the hosted page");
        let session = url.rsplit('/').next().expect("session").to_string();
        assert!(session.starts_with("cs_"), "{url}");
        let done = self
            .emulator_control(
                &format!("/_emulator/checkout/{session}/complete"),
                serde_json::json!({ "card": card }),
            )
            .await;
        assert_eq!(done.status(), StatusCode::OK);
        self.eventually_count("payment_methods", expected_cards)
            .await;
    }
}

impl TestApp {
    /// Submits a console action as the console does: the first submission answers with a redirect
    /// to the confirmation page, whose effect (fetched as the page fetches it) is then confirmed with
    /// its key. Returns the last status and body, and the confirmation that was shown, if any.
    pub async fn confirmed(
        &self,
        client: &Client,
        endpoint: &str,
        fields: &[(&str, &str)],
    ) -> (StatusCode, String, Option<serde_json::Value>) {
        let first = self.call(client, endpoint, fields).await;
        let location = first
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let status = first.status();
        let body = first.text().await.unwrap();
        let Some(query) = location.strip_prefix("/support/confirm?") else {
            return (status, body, None);
        };
        assert!(body.starts_with("\"Confirm on the next page"), "{body}");
        let preview: serde_json::Value = self
            .call(client, "/api/support/confirm", &[("query", query)])
            .await
            .json()
            .await
            .unwrap();
        if let Some(done) = preview["done"].as_str() {
            return (StatusCode::OK, done.to_string(), Some(preview));
        }
        let key = preview["key"]
            .as_str()
            .expect("a confirmation key")
            .to_string();
        let mut again = fields.to_vec();
        again.push(("confirm", &key));
        let response = self.call(client, endpoint, &again).await;
        let status = response.status();
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let body = response.text().await.unwrap();
        if status.is_success() {
            assert!(
                location.starts_with("/support/customers/"),
                "a confirmed action returns to the customer: {location} {body}"
            );
        }
        (status, body, Some(preview))
    }
}

/// A staff member's session as the services take it (no sign-in; for calling them directly).
#[allow(dead_code)]
pub fn staff_session(
    email: &str,
    role: billing_portal::domain::access::StaffRole,
) -> billing_portal::wire::StaffSession {
    billing_portal::wire::StaffSession {
        email: email.into(),
        name: email.into(),
        role,
    }
}

impl TestApp {
    /// The plan page's data as the browser's customer reads it.
    #[allow(dead_code)]
    pub async fn plan_page(&self, browser: &Client) -> serde_json::Value {
        self.call(browser, "/api/billing/plan", &[])
            .await
            .json()
            .await
            .expect("the plan page's data")
    }

    /// The version of the browser's subscription, which a change names.
    #[allow(dead_code)]
    pub async fn plan_version(&self, browser: &Client) -> String {
        self.plan_page(browser).await["current"]["version"]
            .as_i64()
            .expect("a current plan")
            .to_string()
    }
}

impl TestApp {
    /// A migration of every subscriber of `from` to `to`, asked for by the demo catalog admin and
    /// approved by the demo approver; returns the approval's sentence.
    #[allow(dead_code)]
    pub async fn approved_migration(
        &self,
        from: &str,
        to: &str,
        timing: billing_portal::services::price_migration::Timing,
    ) -> String {
        use billing_portal::domain::access::StaffRole;
        use billing_portal::services::price_migration as migration;
        migration::request(
            &self.state,
            &staff_session("catalog@demo.test", StaffRole::CatalogAdmin),
            from,
            to,
            timing,
            &Default::default(),
        )
        .await
        .expect("the migration is asked for");
        let id: String = sqlx::query_scalar(
            "SELECT id FROM price_migrations ORDER BY created_at DESC, id DESC LIMIT 1",
        )
        .fetch_one(&self.db().pool)
        .await
        .expect("the migration asked for");
        migration::decide(
            &self.state,
            &staff_session("approver@demo.test", StaffRole::Approver),
            &id,
            true,
        )
        .await
        .expect("the migration is approved")
    }
}
