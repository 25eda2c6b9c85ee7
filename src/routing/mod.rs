//! Dispatching requests to apps by path: exact routes and mounted prefixes.

mod router;

pub use router::Router;
