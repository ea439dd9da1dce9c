//! [ssr] Payments: the Stripe gateway (async-stripe) and webhook verification. The built-in
//! Stripe emulator used when no Stripe key is configured is its own crate, `stripe_emulator`.

pub mod gateway;
pub mod webhook;
