//! Middleware: apps that wrap apps.
//!
//! A middleware here is an [`App`](crate::App) that holds another app and
//! calls it, so it wraps apps of either style: return-style apps directly,
//! callback-style apps through [`two_to_one`](crate::two_to_one). Write your
//! own with [`from_fn`], or as a struct that implements `App`. Callback-style
//! middleware in the WSGI manner wraps `start_response` with
//! [`StartResponse::map_head`](crate::callback::StartResponse::map_head).
//!
//! Behind a reverse proxy, [`ProxyHeaders`] outermost makes the client's
//! address and scheme those the proxy reports.
//!
//! Every middleware here lets hijacks through untouched (spec 5.5): a
//! WebSocket behind the access log, the error catcher or the validator
//! still works.
//!
//! ```
//! use gateway::middleware::{AccessLog, CatchErrors, SetHeaders, Validator};
//! use gateway::routing::Router;
//! use gateway::{Body, Environ, Response};
//!
//! let app = Router::new().route("/", |_env: Environ| async { Response::new(Body::from("hi")) });
//! let app = AccessLog::new(
//!     SetHeaders::new(CatchErrors::new(Validator::new(app)))
//!         .if_absent("x-content-type-options", "nosniff"),
//! );
//! ```

// How the middleware here is written: each `call` is a plain fn that does
// its work on the request, builds the inner app's future at once, and
// finishes with `FutureExt::map`. An `async fn` would keep its argument
// beside the inner future that took it over, for each layer, and the
// stack's future, copied whole a few times per request, would grow by a
// request head per layer. Built this way it is the inner one plus a few
// words per layer: `stack_future_is_the_inner_one_plus_a_few_words_per_layer`
// below fails if that changes.

mod access_log;
mod catch_errors;
mod from_fn;
mod inspect_body;
mod observed_body;
mod proxy_headers;
mod request_id;
mod set_headers;
mod timeout;
mod validator;

pub use access_log::AccessLog;
pub use catch_errors::CatchErrors;
pub use from_fn::{from_fn, FromFn, Next};
pub use inspect_body::{BodyReport, InspectBody};
pub use proxy_headers::ProxyHeaders;
pub use set_headers::SetHeaders;
pub use timeout::Timeout;
pub use validator::{Validator, Violation};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::Router;
    use crate::{App, Body, Environ, Response};

    fn env() -> Environ {
        Environ::from_request(http::Request::get("/").body(Body::empty()).unwrap())
    }

    fn router() -> Router {
        Router::new().route("/", |_env: Environ| async { Response::new(Body::empty()) })
    }

    #[test]
    fn stack_future_is_the_inner_one_plus_a_few_words_per_layer() {
        let inner = std::mem::size_of_val(&router().call(env()));
        // The demo's four layers.
        let stack = AccessLog::new(
            SetHeaders::new(CatchErrors::new(Validator::new(router())))
                .if_absent("x-content-type-options", "nosniff"),
        );
        let outer = std::mem::size_of_val(&stack.call(env()));
        // 16 words a layer; an `async fn` layer holds a whole request head.
        let per_layer = 16 * std::mem::size_of::<usize>();
        assert!(
            outer <= inner + 4 * per_layer,
            "the stack's future is {outer} bytes over the router's {inner}"
        );
    }
}
