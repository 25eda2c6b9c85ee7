use crate::environ::Environ;
use crate::error::BoxError;

use super::chunks::Chunks;
use super::start_response::StartResponse;

/// A blocking callback-style app: `app(environ, start_response) -> chunks`,
/// called on a blocking thread.
pub trait BlockingApp: Send + Sync + 'static {
    /// Handles one request.
    ///
    /// # Errors
    ///
    /// Any: before the first byte it becomes a 500, after it an aborted
    /// connection (spec 2.7).
    fn call(&self, env: Environ, start_response: StartResponse) -> Result<Chunks, BoxError>;
}

impl<F> BlockingApp for F
where
    F: Fn(Environ, StartResponse) -> Result<Chunks, BoxError> + Send + Sync + 'static,
{
    fn call(&self, env: Environ, start_response: StartResponse) -> Result<Chunks, BoxError> {
        self(env, start_response)
    }
}
