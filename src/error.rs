//! The one error every server function, route and workflow answers with towards a user: its
//! message says what they can do; internal causes are logged on the server and never sent. Also
//! how server functions' answers and errors travel ([`JsonText`]).

use leptos::server_fn::codec::Post;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use leptos::server_fn::{Bytes, ContentType, Decodes, Encodes, Format, FormatType};
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
    /// Too many attempts from this client or at this account; nothing was done.
    #[error("Too many attempts. Wait {} and try again.", wait_words(*retry_after_secs))]
    RateLimited { retry_after_secs: u64 },
    #[error("Something went wrong on our side. Please try again in a moment.")]
    Internal,
    /// The request did not reach the server function intact (network, encoding).
    #[error("The request could not be completed ({0}). Check your connection and try again.")]
    Transport(String),
}

/// "12 seconds", "1 minute", "3 minutes": how long to wait, rounded up to what a person reads.
fn wait_words(secs: u64) -> String {
    match secs {
        0 | 1 => "a second".to_string(),
        2..=90 => format!("{secs} seconds"),
        _ => {
            let minutes = secs.div_ceil(60);
            if minutes == 1 {
                "a minute".to_string()
            } else {
                format!("{minutes} minutes")
            }
        }
    }
}

impl AppError {
    /// The HTTP status a server function answers with when it fails this way.
    pub fn status_code(&self) -> u16 {
        match self {
            AppError::Invalid(_) => 422,
            AppError::Unauthenticated => 401,
            AppError::Forbidden => 403,
            AppError::NotFound(_) => 404,
            AppError::Conflict(_) => 409,
            AppError::RateLimited { .. } => 429,
            AppError::Internal => 500,
            AppError::Transport(_) => 400,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonText;

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

/// How server functions answer, and how their errors travel: JSON, read in the browser with
/// `serde_json::from_str`, the reader Leptos reads the islands' props with, so the browser carries
/// one decoder per type instead of one per reader.
pub struct JsonText;

/// A server function's answer as [`JsonText`], sent in reply to a `POST`.
pub type JsonAnswer = Post<JsonText>;

impl ContentType for JsonText {
    const CONTENT_TYPE: &'static str = "application/json";
}

impl FormatType for JsonText {
    const FORMAT_TYPE: Format = Format::Text;
}

impl<T: Serialize> Encodes<T> for JsonText {
    type Error = serde_json::Error;

    fn encode(output: &T) -> Result<Bytes, Self::Error> {
        serde_json::to_vec(output).map(Bytes::from)
    }
}

impl<T: serde::de::DeserializeOwned> Decodes<T> for JsonText {
    type Error = serde_json::Error;

    fn decode(bytes: Bytes) -> Result<T, Self::Error> {
        let text = std::str::from_utf8(&bytes).map_err(serde::de::Error::custom)?;
        serde_json::from_str(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_has_a_status_that_means_it() {
        let cases = [
            (AppError::Invalid("x".into()), 422),
            (AppError::Unauthenticated, 401),
            (AppError::Forbidden, 403),
            (AppError::NotFound("x".into()), 404),
            (AppError::Conflict("x".into()), 409),
            (
                AppError::RateLimited {
                    retry_after_secs: 5,
                },
                429,
            ),
            (AppError::Internal, 500),
        ];
        for (error, status) in cases {
            assert_eq!(error.status_code(), status, "{error:?}");
        }
    }

    #[test]
    fn a_rate_limit_says_how_long_to_wait() {
        let text = |secs| {
            AppError::RateLimited {
                retry_after_secs: secs,
            }
            .to_string()
        };
        assert_eq!(text(1), "Too many attempts. Wait a second and try again.");
        assert_eq!(
            text(30),
            "Too many attempts. Wait 30 seconds and try again."
        );
        assert_eq!(
            text(61),
            "Too many attempts. Wait 61 seconds and try again."
        );
        assert_eq!(
            text(120),
            "Too many attempts. Wait 2 minutes and try again."
        );
        assert_eq!(
            text(100),
            "Too many attempts. Wait 2 minutes and try again."
        );
    }
}
