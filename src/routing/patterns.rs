//! Routes with path parameters (spec 7.8): `/users/{id}`, `/files/{*rest}`,
//! matched by `matchit`, the radix tree axum uses.

use std::fmt;

use http::StatusCode;
use matchit::InsertError;
use percent_encoding::percent_decode_str;

use crate::app::{BoxApp, Response};
use crate::environ::Environ;
use crate::status_page::status_page;

/// The router's pattern routes.
#[derive(Default)]
pub(super) struct Patterns {
    tree: matchit::Router<BoxApp>,
    /// The patterns as written, for `Debug`; empty means no lookup at all.
    paths: Vec<Box<str>>,
}

/// What a pattern lookup found.
pub(super) enum Found<'a> {
    /// The app whose pattern matched; the environ holds its parameters.
    App(&'a BoxApp),
    /// A pattern matched but a value is not UTF-8 once decoded: a `400`.
    Refused(Response),
}

impl Patterns {
    /// Adds `path`, panicking on a conflict or a malformed pattern (7.6).
    pub(super) fn insert(&mut self, path: &str, app: BoxApp) {
        match self.tree.insert(path, app) {
            Ok(()) => self.paths.push(path.into()),
            Err(InsertError::Conflict { with }) => {
                panic!("route {path:?} conflicts with route {with:?}, added before it")
            }
            Err(other) => panic!("route {path:?} is not a valid pattern: {other}"),
        }
    }

    /// The app whose pattern matches `env`'s path info, after recording the
    /// parameters' decoded values in `env`.
    pub(super) fn find<'a>(&'a self, env: &mut Environ) -> Option<Found<'a>> {
        if self.paths.is_empty() {
            return None;
        }
        let matched = self.tree.at(env.path_info()).ok()?;
        let mut values = Vec::with_capacity(matched.params.len());
        for (name, raw) in matched.params.iter() {
            match percent_decode_str(raw).decode_utf8() {
                Ok(value) => values.push((name, Box::<str>::from(value))),
                Err(_) => {
                    let detail = format!(
                        "The path parameter {name:?} is not valid UTF-8 once percent-decoded."
                    );
                    return Some(Found::Refused(status_page(
                        StatusCode::BAD_REQUEST,
                        &detail,
                    )));
                }
            }
        }
        let app = matched.value;
        for (name, value) in values {
            env.push_param(name, value);
        }
        Some(Found::App(app))
    }
}

impl fmt::Debug for Patterns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.paths).finish()
    }
}
