//! The only door from the browser: server functions grouped by area, their DTOs, and the one
//! error type every one of them returns.

pub mod auth;
pub mod billing;
pub mod catalog;
pub mod checkout;
pub mod console;
pub mod invoices;
pub mod members;
pub mod payment_methods;
pub mod staff_actions;
pub mod subscription;
pub mod support;
pub mod usage;

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// Every error a server function can return. Its message is what the user sees, so it says what
/// they can do; internal causes are logged on the server and never sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// The input cannot be used; the message says which field and how to fix it.
    #[error("{0}")]
    Invalid(String),
    #[error("Please sign in to continue.")]
    Unauthenticated,
    #[error("Your role does not allow this. Ask an owner of your organisation.")]
    Forbidden,
    /// Someone else changed the same thing first, or it already exists.
    #[error("{0}")]
    Conflict(String),
    #[error("{0} was not found.")]
    NotFound(String),
    #[error("Something went wrong on our side. Please try again in a moment.")]
    Internal,
    /// The request did not reach the server function intact (network, encoding).
    #[error("The request could not be completed ({0}). Check your connection and try again.")]
    Transport(String),
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) => AppError::Invalid(
                "The form was incomplete. Fill in every field and try again.".into(),
            ),
            other => AppError::Transport(other.to_string()),
        }
    }
}

#[cfg(feature = "ssr")]
impl AppError {
    /// Logs an internal failure with its cause and returns the error the user sees.
    pub fn internal(cause: impl std::fmt::Display) -> AppError {
        tracing::error!(error = %cause, "internal error");
        AppError::Internal
    }
}

#[cfg(feature = "ssr")]
impl From<sqlx::Error> for AppError {
    fn from(err: sqlx::Error) -> Self {
        AppError::internal(err)
    }
}
