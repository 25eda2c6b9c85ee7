use std::fmt;

use crate::app::App;
use crate::body::Body;
use crate::callback::{CallbackApp, StartResponse};
use crate::environ::Environ;
use crate::error::BoxError;

/// Presents a return-style app as a callback-style one (spec 4.4).
///
/// The app's head, extensions included, is passed to `start_response` and
/// its body is returned as the callback app's body, so nothing is copied
/// and a [hijack](crate::hijack) response survives the trip.
///
/// ```
/// use gateway::{one_to_two, two_to_one, Body, Environ, Response};
///
/// let app = one_to_two(|_env: Environ| async { Response::new(Body::from("hi")) });
/// // ...wrap it in callback-style middleware, then serve it:
/// let served = two_to_one(app);
/// ```
pub fn one_to_two<A: App>(app: A) -> OneToTwo<A> {
    OneToTwo { app }
}

/// A return-style app seen as a callback-style one; made by [`one_to_two`].
#[derive(Clone)]
pub struct OneToTwo<A> {
    app: A,
}

impl<A: App> CallbackApp for OneToTwo<A> {
    async fn call(&self, env: Environ, start_response: StartResponse) -> Result<Body, BoxError> {
        let (head, body) = self.app.call(env).await.into_parts();
        start_response.start_parts(head)?;
        Ok(body)
    }
}

impl<A> fmt::Debug for OneToTwo<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OneToTwo").finish_non_exhaustive()
    }
}
