//! Request ids: the `X-Request-Id` header, the ids [`AccessLog`](super::AccessLog)
//! makes, and which ids a client may bring.

use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use http::header::{HeaderName, HeaderValue};

/// The header that carries the request id, in both directions.
pub(crate) const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// `<8 hex digits unique to this process>-<counter>`, built without the
/// formatting machinery: this runs for every request.
pub(crate) fn new_id() -> HeaderValue {
    static PREFIX: OnceLock<[u8; 8]> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(1);
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let prefix = PREFIX.get_or_init(|| {
        let random = RandomState::new().hash_one(std::process::id());
        std::array::from_fn(|i| HEX[(random >> (4 * i)) as usize & 0xf])
    });
    let mut digits = itoa::Buffer::new();
    let n = digits.format(COUNTER.fetch_add(1, Ordering::Relaxed));
    let mut id = IdBytes {
        buf: [0; 29],
        len: 9 + n.len(),
    };
    id.buf[..8].copy_from_slice(prefix);
    id.buf[8] = b'-';
    id.buf[9..id.len].copy_from_slice(n.as_bytes());
    // Shared from the start: the id is cloned into the request and the
    // response, and a `Bytes` made from a `Vec` allocates again on its
    // first clone.
    HeaderValue::from_maybe_shared(bytes::Bytes::from_owner(id))
        .expect("hex and digits are a valid header value")
}

/// A request id's bytes: 8 hex digits, a dash, and up to 20 decimal ones.
struct IdBytes {
    buf: [u8; 29],
    len: usize,
}

impl AsRef<[u8]> for IdBytes {
    fn as_ref(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// A plain, short id: at most 64 bytes of letters, digits and `-_.:`.
/// Only such an id from the client is reused, logged or shown on a page:
/// anything else could carry markup, quotes or log-line breaks.
pub(crate) fn is_plain(id: &HeaderValue) -> bool {
    let b = id.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || b"-_.:".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_are_prefix_dash_counter_and_unique() {
        let a = new_id();
        let b = new_id();
        assert_ne!(a, b);
        let (prefix, n) = a.to_str().unwrap().split_once('-').unwrap();
        assert_eq!(prefix.len(), 8);
        assert!(prefix.bytes().all(|c| c.is_ascii_hexdigit()));
        assert!(n.parse::<u64>().is_ok());
        assert!(is_plain(&a));
    }

    #[test]
    fn only_plain_short_ids_are_reused() {
        assert!(is_plain(&HeaderValue::from_static("abc-123_x.y:z")));
        assert!(!is_plain(&HeaderValue::from_static("has space")));
        assert!(!is_plain(&HeaderValue::from_static("")));
        assert!(!is_plain(&HeaderValue::try_from("a".repeat(65)).unwrap()));
    }
}
