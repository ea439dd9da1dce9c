//! [ssr] Payments: the Stripe gateway (async-stripe), webhook verification, and the built-in
//! Stripe emulator used when no Stripe key is configured.

pub mod emulator;
pub mod gateway;
pub mod webhook;
