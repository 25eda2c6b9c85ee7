//! What HTTP says of a response head, in one place: which responses are
//! upgrades and which carry no body. The server, the hijack, the validator,
//! the access log and `InspectBody` all ask here.

use http::{Method, StatusCode};

/// `status` answering `method` takes the connection over: `101 Switching
/// Protocols`, or a `2xx` to `CONNECT` (spec 5.2).
pub(crate) fn is_upgrade(status: StatusCode, method: &Method) -> bool {
    status == StatusCode::SWITCHING_PROTOCOLS || (*method == Method::CONNECT && status.is_success())
}

/// `status` ends at the head whatever the request: `204 No Content` and
/// `304 Not Modified` (spec 3.8).
pub(crate) fn forbids_body(status: StatusCode) -> bool {
    status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED
}

/// The server sends no body after this head: an answer to `HEAD` (spec
/// 6.3), a `1xx`, or a status of [`forbids_body`].
pub(crate) fn is_bodiless(status: StatusCode, method: &Method) -> bool {
    *method == Method::HEAD || status.is_informational() || forbids_body(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upgrades_are_101_and_a_2xx_to_connect() {
        assert!(is_upgrade(StatusCode::SWITCHING_PROTOCOLS, &Method::GET));
        assert!(is_upgrade(StatusCode::OK, &Method::CONNECT));
        assert!(!is_upgrade(StatusCode::OK, &Method::GET));
        assert!(!is_upgrade(StatusCode::FORBIDDEN, &Method::CONNECT));
    }

    #[test]
    fn bodiless_heads() {
        assert!(is_bodiless(StatusCode::OK, &Method::HEAD));
        assert!(is_bodiless(StatusCode::NO_CONTENT, &Method::GET));
        assert!(is_bodiless(StatusCode::NOT_MODIFIED, &Method::GET));
        assert!(is_bodiless(StatusCode::CONTINUE, &Method::GET));
        assert!(!is_bodiless(StatusCode::OK, &Method::GET));
        assert!(forbids_body(StatusCode::NO_CONTENT) && !forbids_body(StatusCode::OK));
    }
}
