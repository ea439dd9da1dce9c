//! The `/v1` API driven through async-stripe: every answer must parse into the crate's types.

use std::collections::HashMap;

use axum::http::StatusCode;
use serde_json::json;
use stripe::{ApiErrorsCode, ApiErrorsType, StripeError};
use stripe_checkout::checkout_session::{
    CreateCheckoutSession, CreateCheckoutSessionLineItemsPriceDataRecurringInterval,
    CreateCheckoutSessionPaymentIntentData, CreateCheckoutSessionPaymentIntentDataSetupFutureUsage,
    RetrieveCheckoutSession,
};
use stripe_checkout::{CheckoutSessionPaymentStatus, CheckoutSessionStatus};
use stripe_core::customer::{
    CreateCustomer, ListPaymentMethodsCustomer, RetrieveCustomer, RetrieveCustomerReturned,
    UpdateCustomer, UpdateCustomerInvoiceSettings,
};
use stripe_core::event::RetrieveEvent;
use stripe_core::payment_intent::{
    CreatePaymentIntent, CreatePaymentIntentOffSession, RetrievePaymentIntent,
};
use stripe_core::refund::CreateRefund;
use stripe_core::PaymentIntentStatus;
use stripe_payment::payment_method::{
    DetachPaymentMethod, ListPaymentMethod, RetrievePaymentMethod,
};
use stripe_types::Currency;

use super::{line_item, stripe_shared_mode, Harness};

fn stripe_error(result: Result<impl std::fmt::Debug, StripeError>) -> (stripe::ApiErrors, u16) {
    match result {
        Err(StripeError::Stripe(error, status)) => (*error, status),
        other => panic!("expected a Stripe error, got {other:?}"),
    }
}

#[tokio::test]
async fn customers_are_created_retrieved_and_updated() {
    let h = Harness::start().await;
    let metadata = HashMap::from([("org_id".to_owned(), "42".to_owned())]);

    let created = CreateCustomer::new()
        .email("ada@example.com")
        .name("Ada")
        .metadata(metadata)
        .send(&h.stripe)
        .await
        .expect("create customer");
    assert!(created.id.as_str().starts_with("cus_"));
    assert_eq!(
        created
            .metadata
            .as_ref()
            .and_then(|m| m.get("org_id"))
            .map(String::as_str),
        Some("42")
    );

    let retrieved = RetrieveCustomer::new(created.id.clone())
        .send(&h.stripe)
        .await
        .expect("retrieve");
    let RetrieveCustomerReturned::Customer(retrieved) = retrieved else {
        panic!("not deleted")
    };
    assert_eq!(retrieved.email.as_deref(), Some("ada@example.com"));

    let updated = UpdateCustomer::new(created.id.clone())
        .email("ada@new.example")
        .send(&h.stripe)
        .await
        .expect("update");
    assert_eq!(updated.email.as_deref(), Some("ada@new.example"));
    assert_eq!(updated.name.as_deref(), Some("Ada"));

    h.create_customer("someone@else.example").await;
    let found = stripe_core::customer::ListCustomer::new()
        .email("ada@new.example")
        .send(&h.stripe)
        .await
        .expect("list");
    assert_eq!(found.data.len(), 1);
    assert_eq!(found.data[0].id, created.id);
}

#[tokio::test]
async fn missing_objects_answer_stripe_errors() {
    let h = Harness::start().await;
    let (error, status) = stripe_error(RetrieveCustomer::new("cus_nope").send(&h.stripe).await);
    assert_eq!(status, 404);
    assert_eq!(error.type_, ApiErrorsType::InvalidRequestError);
    assert_eq!(error.code, Some(ApiErrorsCode::ResourceMissing));
    assert_eq!(
        error.message.as_deref(),
        Some("No such customer: 'cus_nope'")
    );

    let (error, status) = stripe_error(
        CreateCheckoutSession::new()
            .mode(stripe_shared_mode("payment"))
            .customer("cus_nope")
            .send(&h.stripe)
            .await,
    );
    assert_eq!(status, 400);
    assert_eq!(error.param.as_deref(), Some("customer"));
}

#[tokio::test]
async fn payment_checkout_then_partial_and_over_refund() {
    let h = Harness::start().await;
    let customer = h.create_customer("buyer@example.com").await;
    let session = CreateCheckoutSession::new()
        .mode(stripe_shared_mode("payment"))
        .customer(customer.as_str())
        .client_reference_id("order_7")
        .metadata(HashMap::from([("org_id".to_owned(), "9".to_owned())]))
        .line_items(vec![line_item("Seats", 1200, Currency::USD, None, 3)])
        .payment_intent_data({
            let mut data = CreateCheckoutSessionPaymentIntentData::new();
            data.setup_future_usage =
                Some(CreateCheckoutSessionPaymentIntentDataSetupFutureUsage::OffSession);
            data.metadata = Some(HashMap::from([(
                "invoice_id".to_owned(),
                "inv_1".to_owned(),
            )]));
            data
        })
        .success_url("http://app.test/ok?cs={CHECKOUT_SESSION_ID}")
        .cancel_url("http://app.test/cancel")
        .send(&h.stripe)
        .await
        .expect("create session");
    assert!(session.id.as_str().starts_with("cs_test_"));
    assert_eq!(session.status, Some(CheckoutSessionStatus::Open));
    assert_eq!(session.amount_total, Some(3600));
    let url = session.url.clone().expect("hosted page url");
    assert_eq!(url, h.url(&format!("/checkout/{}", session.id.as_str())));

    let (status, body) = h.complete(session.id.as_str(), "4242 4242 4242 4242").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["redirect_url"],
        json!(format!("http://app.test/ok?cs={}", session.id.as_str()))
    );

    let completed = RetrieveCheckoutSession::new(session.id.clone())
        .send(&h.stripe)
        .await
        .expect("retrieve session");
    assert_eq!(completed.status, Some(CheckoutSessionStatus::Complete));
    assert_eq!(completed.payment_status, CheckoutSessionPaymentStatus::Paid);
    assert_eq!(completed.client_reference_id.as_deref(), Some("order_7"));
    let intent_id = completed
        .payment_intent
        .expect("payment intent")
        .id()
        .as_str()
        .to_owned();

    let intent = RetrievePaymentIntent::new(intent_id.as_str())
        .send(&h.stripe)
        .await
        .expect("retrieve intent");
    assert_eq!(intent.status, PaymentIntentStatus::Succeeded);
    assert_eq!(intent.amount_received, 3600);
    assert_eq!(
        intent.metadata.get("invoice_id").map(String::as_str),
        Some("inv_1")
    );
    let pm = intent
        .payment_method
        .expect("payment method")
        .id()
        .as_str()
        .to_owned();
    let card = RetrievePaymentMethod::new(pm.as_str())
        .send(&h.stripe)
        .await
        .expect("pm");
    assert_eq!(card.card.as_ref().map(|c| c.last4.as_str()), Some("4242"));
    assert_eq!(
        card.customer.map(|c| c.id().as_str().to_owned()),
        Some(customer),
        "off_session usage saves the card"
    );

    let refund = CreateRefund::new()
        .payment_intent(intent_id.as_str())
        .amount(1000)
        .send(&h.stripe)
        .await
        .expect("refund");
    assert!(refund.id.as_str().starts_with("re_"));
    assert_eq!(refund.amount, 1000);

    let (error, status) = stripe_error(
        CreateRefund::new()
            .payment_intent(intent_id.as_str())
            .amount(2601)
            .send(&h.stripe)
            .await,
    );
    assert_eq!(status, 400);
    assert_eq!(
        error.message.as_deref(),
        Some("Refund amount ($26.01) is greater than unrefunded amount on charge ($26.00).")
    );
    let rest = CreateRefund::new()
        .payment_intent(intent_id.as_str())
        .send(&h.stripe)
        .await
        .expect("refund the rest");
    assert_eq!(rest.amount, 2600);
    let (_, status) = stripe_error(
        CreateRefund::new()
            .payment_intent(intent_id.as_str())
            .amount(1)
            .send(&h.stripe)
            .await,
    );
    assert_eq!(status, 400);

    let events = h.event_types().await;
    for expected in [
        "payment_method.attached",
        "payment_intent.succeeded",
        "checkout.session.completed",
        "charge.refunded",
    ] {
        assert!(
            events.iter().any(|e| e == expected),
            "{expected} in {events:?}"
        );
    }
}

#[tokio::test]
async fn saved_card_is_charged_off_session_and_managed() {
    let h = Harness::start().await;
    let (customer, pm) = h.customer_with_card("4242424242424242").await;

    let updated = UpdateCustomer::new(customer.as_str())
        .invoice_settings({
            let mut settings = UpdateCustomerInvoiceSettings::new();
            settings.default_payment_method = Some(pm.clone());
            settings
        })
        .send(&h.stripe)
        .await
        .expect("set default");
    let default = updated
        .invoice_settings
        .and_then(|s| s.default_payment_method)
        .map(|p| p.id().as_str().to_owned());
    assert_eq!(default.as_deref(), Some(pm.as_str()));

    let intent = CreatePaymentIntent::new(4900, Currency::EUR)
        .customer(customer.as_str())
        .payment_method(pm.as_str())
        .confirm(true)
        .off_session(CreatePaymentIntentOffSession::Bool(true))
        .metadata(HashMap::from([(
            "invoice_id".to_owned(),
            "inv_9".to_owned(),
        )]))
        .send(&h.stripe)
        .await
        .expect("off-session charge");
    assert_eq!(intent.status, PaymentIntentStatus::Succeeded);
    assert!(intent.latest_charge.is_some());

    let listed = ListPaymentMethodsCustomer::new(customer.as_str())
        .send(&h.stripe)
        .await
        .expect("customer pms");
    assert_eq!(listed.data.len(), 1);
    let detached = DetachPaymentMethod::new(pm.as_str())
        .send(&h.stripe)
        .await
        .expect("detach");
    assert!(detached.customer.is_none());
    let listed = ListPaymentMethod::new()
        .customer(customer.as_str())
        .send(&h.stripe)
        .await
        .expect("pms");
    assert!(listed.data.is_empty());
    assert!(h
        .event_types()
        .await
        .iter()
        .any(|e| e == "payment_method.detached"));
}

#[tokio::test]
async fn off_session_decline_is_a_card_error_carrying_the_intent() {
    let h = Harness::start().await;
    let (customer, pm) = h.customer_with_card("4000000000000341").await;
    let result = CreatePaymentIntent::new(1500, Currency::USD)
        .customer(customer.as_str())
        .payment_method(pm.as_str())
        .confirm(true)
        .off_session(CreatePaymentIntentOffSession::Bool(true))
        .send(&h.stripe)
        .await;
    let (error, status) = stripe_error(result);
    assert_eq!(status, 402);
    assert_eq!(error.type_, ApiErrorsType::CardError);
    assert_eq!(error.code, Some(ApiErrorsCode::CardDeclined));
    assert_eq!(error.decline_code.as_deref(), Some("generic_decline"));
    let intent = error.payment_intent.expect("intent in error");
    assert_eq!(intent.status, PaymentIntentStatus::RequiresPaymentMethod);
    let last = intent.last_payment_error.expect("last_payment_error");
    assert_eq!(last.message.as_deref(), Some("Your card was declined."));
    assert!(h
        .event_types()
        .await
        .iter()
        .any(|e| e == "payment_intent.payment_failed"));
}

#[tokio::test]
async fn three_d_secure_card_fails_off_session_with_authentication_required() {
    let h = Harness::start().await;
    let (customer, pm) = h.customer_with_card("4000002760003184").await;
    let result = CreatePaymentIntent::new(1500, Currency::USD)
        .customer(customer.as_str())
        .payment_method(pm.as_str())
        .confirm(true)
        .off_session(CreatePaymentIntentOffSession::Bool(true))
        .send(&h.stripe)
        .await;
    let (error, status) = stripe_error(result);
    assert_eq!(status, 402);
    assert_eq!(error.code, Some(ApiErrorsCode::AuthenticationRequired));
}

#[tokio::test]
async fn setup_and_subscription_sessions_complete() {
    let h = Harness::start().await;
    let customer = h.create_customer("sub@example.com").await;
    let setup = h.setup_session(&customer).await;
    h.complete(&setup, "4242424242424242").await;
    let setup = RetrieveCheckoutSession::new(setup.as_str())
        .send(&h.stripe)
        .await
        .expect("setup session");
    assert_eq!(
        setup.payment_status,
        CheckoutSessionPaymentStatus::NoPaymentRequired
    );
    assert!(setup
        .setup_intent
        .expect("setup intent")
        .id()
        .as_str()
        .starts_with("seti_"));

    let subscription = CreateCheckoutSession::new()
        .mode(stripe_shared_mode("subscription"))
        .customer(customer.as_str())
        .line_items(vec![line_item(
            "Team plan",
            2000,
            Currency::USD,
            Some(CreateCheckoutSessionLineItemsPriceDataRecurringInterval::Month),
            5,
        )])
        .success_url("http://app.test/ok")
        .send(&h.stripe)
        .await
        .expect("subscription session");
    assert_eq!(subscription.amount_total, Some(10_000));
    h.complete(subscription.id.as_str(), "4242424242424242")
        .await;
    let done = RetrieveCheckoutSession::new(subscription.id.clone())
        .send(&h.stripe)
        .await
        .expect("retrieve");
    assert_eq!(done.status, Some(CheckoutSessionStatus::Complete));
    assert!(done
        .subscription
        .expect("subscription")
        .id()
        .as_str()
        .starts_with("sub_"));
    let invoice = done.invoice.expect("invoice");
    assert!(invoice
        .id()
        .as_ref()
        .is_some_and(|id| id.as_str().starts_with("in_")));
}

#[tokio::test]
async fn events_are_retrievable_through_async_stripe() {
    let h = Harness::start().await;
    h.create_customer("evt@example.com").await;
    let events = h.control_get("/_emulator/events").await;
    let id = events["data"][0]["id"]
        .as_str()
        .expect("event id")
        .to_owned();
    let event = RetrieveEvent::new(id.as_str())
        .send(&h.stripe)
        .await
        .expect("retrieve event");
    assert_eq!(event.id.as_str(), id);
    assert!(!event.livemode);
    assert_eq!(event.type_.as_str(), "customer.created");
}

#[tokio::test]
async fn wire_format_details() {
    let h = Harness::start().await;
    let anonymous = h
        .http
        .post(h.url("/v1/customers"))
        .send()
        .await
        .expect("request");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    let (status, _, body) = h.post_form("/v1/nope", "", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["type"], "invalid_request_error");

    let (status, _, body) = h
        .post_form("/v1/payment_intents", "amount=12x&currency=usd", None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["param"], "amount");

    let (status, _, body) = h
        .post_form(
            "/v1/checkout/sessions",
            "mode=payment&success_url=http://x",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "parameter_missing");
    assert_eq!(body["error"]["param"], "line_items");

    let recurring = "mode=payment&line_items[0][price_data][currency]=usd&line_items[0][price_data][unit_amount]=5\
&line_items[0][price_data][product_data][name]=X&line_items[0][price_data][recurring][interval]=month";
    let (status, _, body) = h.post_form("/v1/checkout/sessions", recurring, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    let (status, _, body) = h.post_form("/v1/customers", "a[b]=1&a=2", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test]
async fn charges_refunds_and_setup_intents_parse_too() {
    use stripe_core::charge::RetrieveCharge;
    use stripe_core::refund::RetrieveRefund;
    use stripe_core::setup_intent::RetrieveSetupIntent;

    let h = Harness::start().await;
    let (customer, pm) = h.customer_with_card("4242424242424242").await;
    let intent = CreatePaymentIntent::new(700, Currency::GBP)
        .customer(customer.as_str())
        .payment_method(pm.as_str())
        .confirm(true)
        .off_session(CreatePaymentIntentOffSession::Bool(true))
        .send(&h.stripe)
        .await
        .expect("charge");
    let refund = CreateRefund::new()
        .payment_intent(intent.id.as_str())
        .amount(200)
        .send(&h.stripe)
        .await
        .expect("refund");
    let refund = RetrieveRefund::new(refund.id.clone())
        .send(&h.stripe)
        .await
        .expect("retrieve refund");
    assert_eq!(refund.amount, 200);

    let charge_id = intent
        .latest_charge
        .expect("charge")
        .id()
        .as_str()
        .to_owned();
    let charge = RetrieveCharge::new(charge_id.as_str())
        .send(&h.stripe)
        .await
        .expect("retrieve charge");
    assert_eq!(charge.amount_refunded, 200);
    assert!(charge.paid && !charge.refunded);

    let events = h.control_get("/_emulator/events").await;
    let setup_intent = events["data"]
        .as_array()
        .and_then(|events| {
            events
                .iter()
                .find(|e| e["type"] == "setup_intent.succeeded")
        })
        .and_then(|e| e["data"]["object"]["id"].as_str().map(str::to_owned))
        .expect("setup intent event");
    let setup_intent = RetrieveSetupIntent::new(setup_intent.as_str())
        .send(&h.stripe)
        .await
        .expect("retrieve setup intent");
    assert_eq!(
        setup_intent
            .payment_method
            .map(|p| p.id().as_str().to_owned()),
        Some(pm)
    );
}
