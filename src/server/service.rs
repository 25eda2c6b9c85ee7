//! The hyper service that turns each request into one app call.

use std::convert::Infallible;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;
use http::header::CONTENT_LENGTH;
use http::{Method, Request, StatusCode};
use hyper::body::Incoming;

use super::response_body::ResponseBody;
use crate::app::{App, BoxFuture, Response};
use crate::body::Body;
use crate::environ::{ConnInfo, Environ};
use crate::hijack;
use crate::status_page::status_page;

pub(crate) struct AppService<A> {
    pub(crate) app: Arc<A>,
    pub(crate) conn: ConnInfo,
    pub(crate) hijacks: hijack::Registry,
}

impl<A> Clone for AppService<A> {
    fn clone(&self) -> Self {
        AppService {
            app: self.app.clone(),
            conn: self.conn,
            hijacks: self.hijacks.clone(),
        }
    }
}

impl<A: App> hyper::service::Service<Request<Incoming>> for AppService<A> {
    type Response = http::Response<ResponseBody>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Self::Response, Infallible>>;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        let app = self.app.clone();
        let hijacks = self.hijacks.clone();
        let method = req.method().clone();
        let env = Environ::with_conn(req.map(Body::incoming), self.conn);
        Box::pin(async move {
            let res = match AssertUnwindSafe(app.call(env)).catch_unwind().await {
                Ok(res) => res,
                Err(panic) => {
                    let msg = super::panic_message(&panic);
                    tracing::error!(panic = %msg, "app panicked; answering 500");
                    status_page(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "The application panicked while handling the request.",
                    )
                }
            };
            Ok(finish(res, &method, &hijacks))
        })
    }
}

/// Checks what the app returned and prepares it for the wire: starts a
/// hijack, refuses heads that cannot be sent honestly.
fn finish(
    res: Response,
    method: &Method,
    hijacks: &hijack::Registry,
) -> http::Response<ResponseBody> {
    let res = match hijack::start(res, method, hijacks) {
        // A hijacked connection gets its head exactly as the app built it
        // (spec 5.2): no checks, no rewriting.
        Ok(hijack::Started::Yes(res)) => {
            let (head, body) = res.into_parts();
            return http::Response::from_parts(head, ResponseBody::new(body, None));
        }
        Ok(hijack::Started::No(res)) => res,
        Err(reason) => return refuse(reason),
    };
    let (head, body) = res.into_parts();
    let declared = match head.headers.get(CONTENT_LENGTH) {
        None => None,
        Some(v) => match v.to_str().ok().and_then(|s| s.parse::<u64>().ok()) {
            Some(n) => Some(n),
            None => return refuse("the app set an invalid Content-Length header (spec 6.4)"),
        },
    };
    let bodiless = *method == Method::HEAD
        || head.status.is_informational()
        || head.status == StatusCode::NO_CONTENT
        || head.status == StatusCode::NOT_MODIFIED;
    if bodiless {
        // No body goes out. A declared length describes the GET response
        // and stands as sent; the body (whatever its size) is dropped so
        // hyper frames the head by the header alone.
        let body = match declared {
            Some(_) => ResponseBody::bodiless(),
            None => ResponseBody::new(body, None),
        };
        return http::Response::from_parts(head, body);
    }
    if let (Some(declared), Some(exact)) = (declared, http_body::Body::size_hint(&body).exact()) {
        if declared != exact {
            return refuse("the app's Content-Length does not match its body (spec 6.4)");
        }
    }
    http::Response::from_parts(head, ResponseBody::new(body, declared))
}

fn refuse(reason: &'static str) -> http::Response<ResponseBody> {
    tracing::error!(reason, "app returned a response the server cannot send");
    let (head, body) = status_page(StatusCode::INTERNAL_SERVER_ERROR, reason).into_parts();
    http::Response::from_parts(head, ResponseBody::new(body, None))
}
