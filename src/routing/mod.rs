//! Dispatching requests to apps by path: exact routes, routes with path
//! parameters, and mounted prefixes.

mod method_router;
mod patterns;
mod router;

pub use method_router::{get, post, MethodRouter};
pub use router::Router;
