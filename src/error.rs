//! The crate's error type.
//!
//! One opaque [`Error`] names what happened; `is_*` predicates let callers
//! branch on the cause without matching on a public enum, so new causes are
//! not breaking changes. The original error, when there is one, stays
//! reachable through [`std::error::Error::source`].

use std::fmt;

/// A boxed error that can cross task boundaries: what apps return and what
/// bodies yield when they fail.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What went wrong, in the words of the rule that was broken.
pub struct Error {
    kind: Kind,
    source: Option<BoxError>,
    /// Made by the server's own request body: the client's doing.
    client_side: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `start_response` was called a second time without an error (spec 2.2).
    StartResponseTwice,
    /// `start_response` was called with an error after the head went out (spec 2.3).
    HeadersAlreadySent,
    /// The app returned without ever calling `start_response` (spec 2.1).
    NoStartResponse,
    /// The client went away, or the response was dropped (spec 2.6).
    ClientGone,
    /// A chunk was written after the response was complete (spec 2.6).
    WriteAfterClose,
    /// A body produced more or fewer bytes than its Content-Length (spec 6.4).
    ContentLengthMismatch,
    /// A request body was larger than allowed.
    BodyTooLarge,
    /// A request body brought no bytes for the body read timeout.
    BodyTimeout,
    /// Reading the request body failed.
    Body,
    /// The app panicked.
    Panic,
    /// The app returned an error.
    App,
    /// The HTTP layer reported an error.
    Http,
    /// A certificate or key could not be read or used (spec 6.9).
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    TlsConfig,
    /// A client's TLS handshake failed or took too long (spec 6.9).
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    TlsHandshake,
}

impl Error {
    pub(crate) fn new(kind: Kind) -> Self {
        Error {
            kind,
            source: None,
            client_side: false,
        }
    }

    pub(crate) fn with(kind: Kind, source: impl Into<BoxError>) -> Self {
        Error {
            kind,
            source: Some(source.into()),
            client_side: false,
        }
    }

    pub(crate) fn kind(&self) -> Kind {
        self.kind
    }

    /// Marks a failure of the request body the server read from the client
    /// (not of a body the app got elsewhere, such as an upstream response).
    pub(crate) fn on_client_side(mut self) -> Self {
        self.client_side = true;
        self
    }

    /// An error passed up through a `BoxError`: ours as it was (so the rule
    /// it names survives `?`), anything else wrapped as `kind`.
    pub(crate) fn from_boxed(error: BoxError, kind: Kind) -> Self {
        match error.downcast::<Error>() {
            Ok(ours) => *ours,
            Err(other) => Error::with(kind, other),
        }
    }

    /// `start_response` was called a second time without an error (spec 2.2).
    pub fn is_start_response_twice(&self) -> bool {
        self.kind == Kind::StartResponseTwice
    }

    /// `start_response` was called with an error after the status and headers
    /// were already sent; the original error is the [`source`](std::error::Error::source) (spec 2.3).
    pub fn is_headers_already_sent(&self) -> bool {
        self.kind == Kind::HeadersAlreadySent
    }

    /// A callback-style app returned without calling `start_response` (spec 2.1).
    pub fn is_no_start_response(&self) -> bool {
        self.kind == Kind::NoStartResponse
    }

    /// The client went away (or the response was dropped) before the write
    /// was taken (spec 2.6).
    pub fn is_client_gone(&self) -> bool {
        self.kind == Kind::ClientGone
    }

    /// A chunk was written after the response was complete (spec 2.6).
    pub fn is_write_after_close(&self) -> bool {
        self.kind == Kind::WriteAfterClose
    }

    /// A body's length did not match its declared Content-Length (spec 6.4).
    pub fn is_content_length_mismatch(&self) -> bool {
        self.kind == Kind::ContentLengthMismatch
    }

    /// A request body was larger than the limit the reader set.
    pub fn is_body_too_large(&self) -> bool {
        self.kind == Kind::BodyTooLarge
    }

    /// A request body brought no bytes for as long as the server's
    /// [`body_read_timeout`](crate::server::Limits::body_read_timeout) while
    /// the app waited for them.
    pub fn is_body_timeout(&self) -> bool {
        self.kind == Kind::BodyTimeout
    }

    /// The app panicked while being called or while producing its body.
    pub fn is_panic(&self) -> bool {
        self.kind == Kind::Panic
    }

    /// The app itself returned an error; it is the [`source`](std::error::Error::source).
    pub fn is_app(&self) -> bool {
        self.kind == Kind::App
    }

    /// The spec rule this error reports breaking, if it is one.
    pub(crate) fn spec_rule(&self) -> Option<&'static str> {
        match self.kind {
            Kind::NoStartResponse => Some("2.1"),
            Kind::StartResponseTwice => Some("2.2"),
            Kind::HeadersAlreadySent => Some("2.3"),
            Kind::ClientGone | Kind::WriteAfterClose => Some("2.6"),
            Kind::ContentLengthMismatch => Some("6.4"),
            _ => None,
        }
    }

    /// The 4xx that answers for a request body the client got wrong, and
    /// what went wrong, when this error is (or was caused by) a failed read
    /// of one: too large, timed out, or broken on the wire (spec 2.7). Only
    /// the server's own request body counts: the same failures of a body
    /// from anywhere else are the app's.
    pub(crate) fn client_fault(&self) -> Option<(http::StatusCode, &'static str)> {
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(self);
        while let Some(e) = cause {
            if let Some(ours) = e.downcast_ref::<Error>().filter(|e| e.client_side) {
                let status = match ours.kind {
                    Kind::BodyTooLarge => Some(http::StatusCode::PAYLOAD_TOO_LARGE),
                    Kind::BodyTimeout => Some(http::StatusCode::REQUEST_TIMEOUT),
                    Kind::Body => Some(http::StatusCode::BAD_REQUEST),
                    _ => None,
                };
                if let Some(status) = status {
                    return Some((status, ours.rule()));
                }
            }
            // `io::Error::source` skips the error it wraps; `get_ref` is it.
            cause = match e.downcast_ref::<std::io::Error>() {
                Some(io) => io.get_ref().map(|inner| inner as _),
                None => e.source(),
            };
        }
        None
    }

    /// A TLS certificate or key could not be read or used; the
    /// [`source`](std::error::Error::source) names the file or says what is
    /// wrong with it (spec 6.9). Never, without the `tls` feature.
    pub fn is_tls_config(&self) -> bool {
        self.kind == Kind::TlsConfig
    }

    /// A client's TLS handshake failed or did not finish in time (spec 6.9).
    /// Never, without the `tls` feature.
    pub fn is_tls_handshake(&self) -> bool {
        self.kind == Kind::TlsHandshake
    }

    /// The broken rule or failure, without the source's text: safe to show
    /// to a client.
    pub(crate) fn rule(&self) -> &'static str {
        match self.kind {
            Kind::StartResponseTwice => "start_response called twice without an error (spec 2.2)",
            Kind::HeadersAlreadySent => {
                "start_response called with an error after the headers were sent (spec 2.3)"
            }
            Kind::NoStartResponse => "app returned without calling start_response (spec 2.1)",
            Kind::ClientGone => "client went away before the chunk was taken (spec 2.6)",
            Kind::WriteAfterClose => "write() after the response was complete (spec 2.6)",
            Kind::ContentLengthMismatch => {
                "body length does not match its Content-Length (spec 6.4)"
            }
            Kind::BodyTooLarge => "request body larger than the limit",
            Kind::BodyTimeout => "request body timed out: the client sent nothing for too long",
            Kind::Body => "error reading the request body",
            Kind::Panic => "app panicked",
            Kind::App => "app returned an error",
            Kind::Http => "http error",
            Kind::TlsConfig => "invalid TLS configuration",
            Kind::TlsHandshake => "TLS handshake failed",
        }
    }
}

/// The text of a panic payload, for the log.
pub(crate) fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_tuple("gateway::Error");
        d.field(&self.kind);
        if let Some(source) = &self.source {
            d.field(source);
        }
        d.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.rule())?;
        if let Some(source) = &self.source {
            write!(f, ": {source}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as _)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_is_send_sync_and_keeps_source() {
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<Error>();
        let io = std::io::Error::new(std::io::ErrorKind::BrokenPipe, "pipe");
        let err = Error::with(Kind::App, io);
        assert!(err.is_app());
        assert!(std::error::Error::source(&err).is_some());
        assert!(err.to_string().contains("pipe"));
    }
}
