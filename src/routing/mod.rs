//! Dispatching requests to apps by path: exact routes and mounted prefixes.

mod method_router;
mod router;

pub use method_router::{get, post, MethodRouter};
pub use router::Router;
