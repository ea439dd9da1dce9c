//! Checkout sessions: creating them from Stripe's parameters, and completing them with a test
//! card. The hosted page and `/_emulator/checkout/{id}/complete` both go through [`pay`] and
//! [`authenticate`], so they behave identically.

use super::cards::{CardBehaviour, TestCard};
use super::charges::{
    confirm_payment_intent, create_payment_intent, create_payment_method, NewPaymentIntent,
};
use super::error::ApiError;
use super::form::Params;
use super::state::{
    new_id, now, CheckoutSession, Customer, LineItem, Metadata, SessionMode, SessionStatus,
    SetupIntent, Store,
};

/// Sessions expire after a day unless `expires_at` says otherwise (Stripe's default).
const DEFAULT_LIFETIME_SECONDS: i64 = 24 * 60 * 60;

/// Validates `POST /v1/checkout/sessions` parameters and stores the new open session.
/// `url_for` gives the hosted page URL of a session id.
pub(crate) fn create_session(
    store: &mut Store,
    params: &Params<'_>,
    url_for: impl Fn(&str) -> String,
) -> Result<CheckoutSession, ApiError> {
    let mode = match params.required_string("mode")?.as_str() {
        "payment" => SessionMode::Payment,
        "setup" => SessionMode::Setup,
        "subscription" => SessionMode::Subscription,
        other => {
            return Err(ApiError::invalid_request(
                format!(
                    "Invalid mode: must be one of payment, setup, or subscription (got '{other}')."
                ),
                "mode",
            ))
        }
    };
    let customer = params.string("customer")?;
    if let Some(id) = &customer {
        if !store.customers.contains_key(id) {
            return Err(ApiError::no_such_param("customer", id, "customer"));
        }
    }
    let line_items = parse_line_items(params, mode)?;
    let currency = match mode {
        SessionMode::Setup => params.string("currency")?.map(|c| c.to_ascii_lowercase()),
        _ => line_items.first().map(|item| item.currency.clone()),
    };
    let created = now();
    let expires_at = match params.integer("expires_at")? {
        Some(at) if at <= created + 30 * 60 - 60 || at > created + DEFAULT_LIFETIME_SECONDS => {
            return Err(ApiError::invalid_request(
                "The `expires_at` timestamp must be between 30 minutes and 24 hours from now.",
                "expires_at",
            ))
        }
        Some(at) => at,
        None => created + DEFAULT_LIFETIME_SECONDS,
    };
    let payment_intent_data = params.object("payment_intent_data")?;
    let setup_future_usage = match &payment_intent_data {
        Some(data) => data.string("setup_future_usage")?,
        None => None,
    };
    if let Some(usage) = &setup_future_usage {
        if usage != "on_session" && usage != "off_session" {
            return Err(ApiError::invalid_request(
                format!("Invalid setup_future_usage: must be one of on_session or off_session (got '{usage}')."),
                "payment_intent_data[setup_future_usage]",
            ));
        }
    }
    let nested_metadata = |key: &str| -> Result<Metadata, ApiError> {
        match params.object(key)? {
            Some(data) => Ok(data.metadata("metadata")?.unwrap_or_default()),
            None => Ok(Metadata::new()),
        }
    };
    let customer_creation = params.string("customer_creation")?;
    let id = new_id("cs_test_");
    let session = CheckoutSession {
        url: url_for(&id),
        id,
        created,
        expires_at,
        mode,
        status: SessionStatus::Open,
        line_items,
        currency,
        success_url: params.string("success_url")?,
        cancel_url: params.string("cancel_url")?,
        customer,
        customer_email: params.string("customer_email")?,
        always_create_customer: customer_creation.as_deref() == Some("always"),
        client_reference_id: params.string("client_reference_id")?,
        metadata: params.metadata("metadata")?.unwrap_or_default(),
        payment_intent: None,
        setup_intent: None,
        subscription: None,
        invoice: None,
        setup_future_usage,
        payment_intent_metadata: nested_metadata("payment_intent_data")?,
        setup_intent_metadata: nested_metadata("setup_intent_data")?,
        subscription_metadata: nested_metadata("subscription_data")?,
        pending_authentication: None,
    };
    store.sessions.insert(session.id.clone(), session.clone());
    Ok(session)
}

/// `line_items[n][price_data][...]` and `line_items[n][quantity]`. Required (and all in one
/// currency) in payment and subscription modes; refused in setup mode. Subscription mode needs
/// at least one recurring price; payment mode refuses them.
fn parse_line_items(params: &Params<'_>, mode: SessionMode) -> Result<Vec<LineItem>, ApiError> {
    let entries = params.list("line_items")?;
    if mode == SessionMode::Setup {
        if !entries.is_empty() {
            return Err(ApiError::invalid_request(
                "You cannot pass `line_items` in `setup` mode.",
                "line_items",
            ));
        }
        return Ok(Vec::new());
    }
    if entries.is_empty() {
        return Err(ApiError::missing_param("line_items"));
    }
    let mut items = Vec::with_capacity(entries.len());
    for entry in &entries {
        if let Some(price) = entry.string("price")? {
            return Err(ApiError::no_such_param(
                "price",
                &price,
                &entry.name_of("price"),
            ));
        }
        let price_data = entry
            .object("price_data")?
            .ok_or_else(|| ApiError::missing_param(&entry.name_of("price_data")))?;
        let currency = price_data.required_string("currency")?.to_ascii_lowercase();
        if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_alphabetic()) {
            return Err(ApiError::invalid_request(
                format!("Invalid currency: {currency}."),
                &price_data.name_of("currency"),
            ));
        }
        let unit_amount = match price_data.integer("unit_amount")? {
            Some(amount) => amount,
            None => unit_amount_from_decimal(&price_data)?,
        };
        if unit_amount < 0 {
            return Err(ApiError::invalid_request(
                "Invalid unit_amount: must be greater than or equal to 0.",
                &price_data.name_of("unit_amount"),
            ));
        }
        let name = match price_data.object("product_data")? {
            Some(product) => product.required_string("name")?,
            None => match price_data.string("product")? {
                Some(product) => product,
                None => return Err(ApiError::missing_param(&price_data.name_of("product_data"))),
            },
        };
        let recurring_interval = match price_data.object("recurring")? {
            Some(recurring) => {
                let interval = recurring.required_string("interval")?;
                if !matches!(interval.as_str(), "day" | "week" | "month" | "year") {
                    return Err(ApiError::invalid_request(
                        format!("Invalid interval: must be one of day, week, month, or year (got '{interval}')."),
                        &recurring.name_of("interval"),
                    ));
                }
                Some(interval)
            }
            None => None,
        };
        if mode == SessionMode::Payment && recurring_interval.is_some() {
            return Err(ApiError::invalid_request(
                "You specified `payment` mode but passed a recurring price. Either switch to `subscription` mode or use only one-time prices.",
                &entry.name_of("price_data"),
            ));
        }
        let quantity = entry.integer("quantity")?.unwrap_or(1);
        if quantity < 1 {
            return Err(ApiError::invalid_request(
                "Invalid quantity: must be at least 1.",
                &entry.name_of("quantity"),
            ));
        }
        items.push(LineItem {
            id: new_id("li_"),
            name,
            currency,
            unit_amount,
            quantity,
            recurring_interval,
        });
    }
    if let Some(first) = items.first() {
        if items.iter().any(|item| item.currency != first.currency) {
            return Err(ApiError::invalid_request(
                "All line items must use the same currency.",
                "line_items",
            ));
        }
    }
    if mode == SessionMode::Subscription
        && items.iter().all(|item| item.recurring_interval.is_none())
    {
        return Err(ApiError::invalid_request(
            "You must provide at least one recurring price in `subscription` mode when using prices.",
            "line_items",
        ));
    }
    Ok(items)
}

/// `unit_amount_decimal` in whole minor units (the emulator does not bill fractions).
fn unit_amount_from_decimal(price_data: &Params<'_>) -> Result<i64, ApiError> {
    let param = price_data.name_of("unit_amount_decimal");
    let raw = price_data
        .string("unit_amount_decimal")?
        .ok_or_else(|| ApiError::missing_param(&price_data.name_of("unit_amount")))?;
    let whole = raw.strip_suffix(".0").unwrap_or(&raw);
    whole.parse::<i64>().map_err(|_| {
        ApiError::invalid_request(
            format!(
                "The emulator only accepts whole minor units in unit_amount_decimal (got '{raw}')."
            ),
            &param,
        )
    })
}

/// How an attempt to pay (or save a card) on a checkout session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PayOutcome {
    /// The session is complete; the browser goes to `redirect_url` (the success URL).
    Completed {
        redirect_url: Option<String>,
    },
    /// The card was refused; the page shows `message` and the session stays open.
    Declined {
        message: String,
    },
    /// A 3-D Secure card: the page shows the authentication step.
    AuthenticationRequired,
    AlreadyComplete,
    Expired,
    NotFound,
}

/// Message Stripe shows when 3-D Secure authentication fails.
pub(crate) const AUTHENTICATION_FAILED: &str =
    "We are unable to authenticate your payment method. Please choose a different payment method and try again.";

/// Pays (or, in setup mode, saves the card for) an open session with a card number as typed.
pub(crate) fn pay(
    store: &mut Store,
    session_id: &str,
    card_number: &str,
    expiry: &str,
) -> PayOutcome {
    let session = match open_session(store, session_id) {
        Ok(session) => session,
        Err(outcome) => return outcome,
    };
    let card = match TestCard::parse(card_number, expiry) {
        Ok(card) => card,
        Err(error) => {
            return PayOutcome::Declined {
                message: error.message.clone(),
            }
        }
    };
    if card.behaviour == CardBehaviour::AlwaysAuthenticate {
        if let Some(stored) = store.sessions.get_mut(&session.id) {
            stored.pending_authentication = Some(card);
        }
        return PayOutcome::AuthenticationRequired;
    }
    complete(store, session, card)
}

/// Finishes the 3-D Secure step: `approved` completes the payment with the card waiting on it,
/// otherwise the session stays open with Stripe's authentication failure message.
pub(crate) fn authenticate(store: &mut Store, session_id: &str, approved: bool) -> PayOutcome {
    let session = match open_session(store, session_id) {
        Ok(session) => session,
        Err(outcome) => return outcome,
    };
    let pending = store
        .sessions
        .get_mut(session_id)
        .and_then(|s| s.pending_authentication.take());
    let Some(card) = pending else {
        return PayOutcome::Declined {
            message: "There is no payment waiting for authentication.".into(),
        };
    };
    if !approved {
        return PayOutcome::Declined {
            message: AUTHENTICATION_FAILED.into(),
        };
    }
    complete(store, session, card)
}

/// The session if it can still be paid; expires it when its time is up.
fn open_session(store: &mut Store, session_id: &str) -> Result<CheckoutSession, PayOutcome> {
    let Some(session) = store.sessions.get_mut(session_id) else {
        return Err(PayOutcome::NotFound);
    };
    if session.status == SessionStatus::Open && session.expires_at <= now() {
        session.status = SessionStatus::Expired;
        let snapshot = session.to_json();
        store.emit("checkout.session.expired", snapshot);
        return Err(PayOutcome::Expired);
    }
    match session.status {
        SessionStatus::Open => Ok(session.clone()),
        SessionStatus::Complete => Err(PayOutcome::AlreadyComplete),
        SessionStatus::Expired => Err(PayOutcome::Expired),
    }
}

/// Saves and/or charges `card` for `session`, following Stripe:
/// - setup mode: a customer (created if the session has none), the card attached to it, a
///   succeeded setup intent;
/// - payment mode: a payment intent charged on session; the card is attached to the customer
///   only with `setup_future_usage` (a customer is created when needed, or with
///   `customer_creation=always`);
/// - subscription mode: the card attached to the customer, the first period charged, and
///   `subscription`/`invoice` ids set on the session (no subscription objects are emulated).
///
/// Cards that decline everything are refused before attaching; `4000000000000341` attaches and
/// then fails the charge.
fn complete(store: &mut Store, session: CheckoutSession, card: TestCard) -> PayOutcome {
    let attach = match session.mode {
        SessionMode::Setup | SessionMode::Subscription => true,
        SessionMode::Payment => session.setup_future_usage.is_some(),
    };
    if attach {
        if let Some(error) = card.setup_failure() {
            return PayOutcome::Declined {
                message: error.message.clone(),
            };
        }
    }
    let needs_customer = attach || session.always_create_customer;
    let customer = match (&session.customer, needs_customer) {
        (Some(id), _) => Some(id.clone()),
        (None, true) => Some(create_customer_for(store, &session)),
        (None, false) => None,
    };
    let payment_method =
        create_payment_method(store, card, if attach { customer.as_deref() } else { None });

    let mut completed = session.clone();
    completed.customer = customer.clone();
    match session.mode {
        SessionMode::Setup => {
            let setup_intent = SetupIntent {
                id: new_id("seti_"),
                created: now(),
                customer: customer.clone(),
                payment_method: Some(payment_method),
                metadata: session.setup_intent_metadata.clone(),
            };
            store.emit("setup_intent.created", setup_intent.to_json());
            store.emit("setup_intent.succeeded", setup_intent.to_json());
            completed.setup_intent = Some(setup_intent.id.clone());
            store
                .setup_intents
                .insert(setup_intent.id.clone(), setup_intent);
        }
        SessionMode::Payment | SessionMode::Subscription => {
            let intent_id = match &session.payment_intent {
                Some(existing) => existing.clone(),
                None => {
                    let metadata = match session.mode {
                        SessionMode::Subscription => session.subscription_metadata.clone(),
                        _ => session.payment_intent_metadata.clone(),
                    };
                    let id = create_payment_intent(
                        store,
                        NewPaymentIntent {
                            amount: session.amount_total(),
                            currency: session.currency.clone().unwrap_or_else(|| "usd".into()),
                            customer: customer.clone(),
                            payment_method: None,
                            description: None,
                            metadata,
                            setup_future_usage: session.setup_future_usage.clone(),
                        },
                    );
                    if session.mode == SessionMode::Payment {
                        if let Some(stored) = store.sessions.get_mut(&session.id) {
                            stored.payment_intent = Some(id.clone());
                        }
                        completed.payment_intent = Some(id.clone());
                    }
                    id
                }
            };
            if let Some(intent) = store.payment_intents.get_mut(&intent_id) {
                intent.customer = customer.clone();
            }
            if let Err(error) = confirm_payment_intent(store, &intent_id, &payment_method, false) {
                if let Some(stored) = store.sessions.get_mut(&session.id) {
                    stored.customer = customer;
                }
                return PayOutcome::Declined {
                    message: error.message.clone(),
                };
            }
            if session.mode == SessionMode::Subscription {
                completed.subscription = Some(new_id("sub_"));
                completed.invoice = Some(new_id("in_"));
            }
        }
    }
    completed.status = SessionStatus::Complete;
    completed.pending_authentication = None;
    store.emit("checkout.session.completed", completed.to_json());
    let redirect_url = completed
        .success_url
        .as_ref()
        .map(|url| url.replace("{CHECKOUT_SESSION_ID}", &completed.id));
    store.sessions.insert(completed.id.clone(), completed);
    PayOutcome::Completed { redirect_url }
}

fn create_customer_for(store: &mut Store, session: &CheckoutSession) -> String {
    let customer = Customer {
        id: new_id("cus_"),
        created: now(),
        email: session.customer_email.clone(),
        name: None,
        description: None,
        phone: None,
        metadata: Metadata::new(),
        default_payment_method: None,
    };
    let id = customer.id.clone();
    store.emit("customer.created", customer.to_json());
    store.customers.insert(id.clone(), customer);
    id
}

/// `POST /v1/checkout/sessions/{id}/expire`: only open sessions can be expired.
pub(crate) fn expire_session(
    store: &mut Store,
    session_id: &str,
) -> Result<CheckoutSession, ApiError> {
    let session = store
        .sessions
        .get_mut(session_id)
        .ok_or_else(|| ApiError::not_found("checkout.session", session_id))?;
    if session.status != SessionStatus::Open {
        return Err(ApiError::invalid_request(
            format!(
                "Only Checkout Sessions with a status of `open` can be expired (this one is `{}`).",
                session.status.as_str()
            ),
            "session",
        ));
    }
    session.status = SessionStatus::Expired;
    let snapshot = session.clone();
    store.emit("checkout.session.expired", snapshot.to_json());
    Ok(snapshot)
}
