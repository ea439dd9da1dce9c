//! The hosted checkout page, driven like a browser without JavaScript.

use axum::http::StatusCode;
use stripe_types::Currency;

use super::Harness;

impl Harness {
    async fn page(&self, session: &str) -> (StatusCode, String) {
        let response = self
            .http
            .get(self.url(&format!("/checkout/{session}")))
            .send()
            .await
            .expect("page");
        (response.status(), response.text().await.unwrap_or_default())
    }

    /// Submits the card form; returns status, Location header and body.
    async fn submit_card(&self, session: &str, card: &str) -> (StatusCode, Option<String>, String) {
        let response = self
            .http
            .post(self.url(&format!("/checkout/{session}/pay")))
            .form(&[("card_number", card), ("expiry", "12 / 34"), ("cvc", "123")])
            .send()
            .await
            .expect("submit");
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        (
            response.status(),
            location,
            response.text().await.unwrap_or_default(),
        )
    }

    async fn submit_authentication(
        &self,
        session: &str,
        outcome: &str,
    ) -> (StatusCode, Option<String>, String) {
        let response = self
            .http
            .post(self.url(&format!("/checkout/{session}/authenticate")))
            .form(&[("outcome", outcome)])
            .send()
            .await
            .expect("authenticate");
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        (
            response.status(),
            location,
            response.text().await.unwrap_or_default(),
        )
    }

    async fn count_events(&self, kind: &str) -> usize {
        self.event_types()
            .await
            .iter()
            .filter(|e| *e == kind)
            .count()
    }
}

#[tokio::test]
async fn page_shows_items_amount_and_links() {
    let h = Harness::start().await;
    let session = h.payment_session(None, 1250, Currency::USD).await;
    let (status, html) = h.page(&session).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Pro plan"));
    assert!(html.contains("$12.50"));
    assert!(html.contains("Pay $12.50"));
    assert!(html.contains(&format!(
        "action=\"{}/pay\"",
        h.url(&format!("/checkout/{session}"))
    )));
    assert!(html.contains("Cancel and go back"));
    assert!(html.contains("http://app.test/cancel"));

    let yen = h.payment_session(None, 500, Currency::JPY).await;
    assert!(h.page(&yen).await.1.contains("¥500"));
    let dinar = h
        .payment_session(None, 1500, Currency::Unknown("kwd".into()))
        .await;
    assert!(h.page(&dinar).await.1.contains("KWD 1.500"));

    let customer = h.create_customer("s@example.com").await;
    let setup = h.setup_session(&customer).await;
    assert!(h.page(&setup).await.1.contains("Save card"));

    let (status, html) = h.page("cs_test_unknown").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("not valid"));
}

#[tokio::test]
async fn succeeding_card_redirects_once_and_never_charges_twice() {
    let h = Harness::start().await;
    let session = h.payment_session(None, 999, Currency::USD).await;
    let (status, location, _) = h.submit_card(&session, "4242 4242 4242 4242").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        location,
        Some(format!("http://app.test/done?session={session}"))
    );

    let (status, location, html) = h.submit_card(&session, "4242424242424242").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(location, None);
    assert!(html.contains("This checkout is already complete"));
    assert!(h
        .page(&session)
        .await
        .1
        .contains("This checkout is already complete"));
    assert_eq!(h.count_events("payment_intent.succeeded").await, 1);
    assert_eq!(h.count_events("checkout.session.completed").await, 1);
}

#[tokio::test]
async fn declining_cards_stay_on_the_page_with_stripes_messages() {
    let h = Harness::start().await;
    let session = h.payment_session(None, 999, Currency::USD).await;
    for (card, message) in [
        ("4000000000000002", "Your card was declined."),
        ("4000 0000 0000 9995", "Your card has insufficient funds."),
        ("4000000000000341", "Your card was declined."),
        ("1234 5678", "Your card number is invalid."),
        ("", "Your card number is invalid."),
    ] {
        let (status, location, html) = h.submit_card(&session, card).await;
        assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{card}");
        assert_eq!(location, None, "{card}");
        assert!(html.contains(message), "{card}: {message}");
    }
    assert_eq!(h.count_events("checkout.session.completed").await, 0);
    assert!(h.count_events("payment_intent.payment_failed").await >= 3);

    let (status, _, _) = h.submit_card(&session, "4242424242424242").await;
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "a good card still pays after declines"
    );
    assert_eq!(h.count_events("payment_intent.succeeded").await, 1);
}

#[tokio::test]
async fn card_341_saves_in_setup_mode() {
    let h = Harness::start().await;
    let customer = h.create_customer("c@example.com").await;
    let session = h.setup_session(&customer).await;
    let (status, location, _) = h.submit_card(&session, "4000000000000341").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(location
        .unwrap_or_default()
        .starts_with("http://app.test/saved"));
    assert_eq!(h.count_events("setup_intent.succeeded").await, 1);
    assert_eq!(h.count_events("payment_method.attached").await, 1);
}

#[tokio::test]
async fn three_d_secure_card_asks_for_authentication() {
    let h = Harness::start().await;
    let session = h.payment_session(None, 2000, Currency::USD).await;
    let (status, _, html) = h.submit_card(&session, "4000002760003184").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Complete authentication"));
    assert!(html.contains("Fail authentication"));

    let (status, _, html) = h.submit_authentication(&session, "fail").await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED);
    assert!(html.contains("unable to authenticate"));

    h.submit_card(&session, "4000002760003184").await;
    assert!(
        h.page(&session).await.1.contains("Complete authentication"),
        "reload keeps the step"
    );
    let (status, location, _) = h.submit_authentication(&session, "complete").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(location.is_some());
    assert_eq!(h.count_events("payment_intent.succeeded").await, 1);
}

#[tokio::test]
async fn expired_session_gets_a_clear_page() {
    let h = Harness::start().await;
    let session = h.payment_session(None, 100, Currency::USD).await;
    let (status, _, _) = h
        .post_form(&format!("/v1/checkout/sessions/{session}/expire"), "", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, html) = h.page(&session).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(html.contains("expired"));
    let (status, _, _) = h.submit_card(&session, "4242424242424242").await;
    assert_eq!(status, StatusCode::GONE);
}

#[tokio::test]
async fn public_base_url_is_used_for_session_urls() {
    let h = Harness::with_config(super::super::EmulatorConfig {
        public_base_url: Some("http://stripe.localhost:9999/".into()),
        ..Default::default()
    })
    .await;
    let (_, _, body) = h
        .post_form(
            "/v1/checkout/sessions",
            "mode=setup&currency=usd&success_url=http://app.test/ok",
            None,
        )
        .await;
    let id = body["id"].as_str().expect("id");
    assert_eq!(
        body["url"],
        format!("http://stripe.localhost:9999/checkout/{id}")
    );
}
