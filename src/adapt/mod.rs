//! Adapters between the two app styles.
//!
//! [`two_to_one`] runs a callback-style app as a return-style one (so it can
//! be served, routed and wrapped like any other app); [`one_to_two`] does the
//! reverse, so return-style apps can sit under callback-style middleware.

mod one_to_two;
mod two_to_one;

pub use one_to_two::{one_to_two, OneToTwo};
pub use two_to_one::{two_to_one, TwoToOne};
