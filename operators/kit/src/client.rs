//! A Kubernetes client that counts every request it sends, by class: `read` (get,
//! list), `watch` (long-running watches) and `write` (create, update, patch, delete).
//! The counts are what "API requests per reconciled object" benchmarks divide.

use http::{Method, Request};
use kube::{Client, Config, client::ClientBuilder};
use prometheus::{IntCounterVec, Opts, Registry};
use tower::util::MapRequestLayer;

/// The counter behind [`counted_client`].
#[derive(Clone)]
pub struct ApiRequestMetrics {
    requests: IntCounterVec,
}

impl ApiRequestMetrics {
    /// Creates `makonis_operator_api_requests_total{class}` and registers it.
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let requests = IntCounterVec::new(
            Opts::new(
                "makonis_operator_api_requests_total",
                "Requests sent to the Kubernetes API, by class: read, watch or write.",
            ),
            &["class"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        Ok(Self { requests })
    }
}

/// A client for `config` whose every request is counted in `metrics`.
pub fn counted_client(config: Config, metrics: ApiRequestMetrics) -> Result<Client, kube::Error> {
    let layer = MapRequestLayer::new(move |request: Request<kube::client::Body>| {
        let class = request_class(request.method(), request.uri().query());
        metrics.requests.with_label_values(&[class]).inc();
        request
    });
    Ok(ClientBuilder::try_from(config)?.with_layer(&layer).build())
}

/// The class of a request: `watch` for GETs with `watch=true` (or `=1`), `read` for
/// other GETs, `write` for everything else.
pub fn request_class(method: &Method, query: Option<&str>) -> &'static str {
    if method != Method::GET && method != Method::HEAD {
        return "write";
    }
    let watching = query.unwrap_or_default().split('&').any(|pair| pair == "watch=true" || pair == "watch=1");
    if watching { "watch" } else { "read" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_classed_by_method_and_watch_flag() {
        assert_eq!(request_class(&Method::GET, Some("labelSelector=a%3Db")), "read");
        assert_eq!(request_class(&Method::GET, None), "read");
        assert_eq!(request_class(&Method::GET, Some("watch=true&resourceVersion=5")), "watch");
        assert_eq!(request_class(&Method::GET, Some("allowWatchBookmarks=true&watch=1")), "watch");
        assert_eq!(request_class(&Method::PATCH, Some("fieldManager=x")), "write");
        assert_eq!(request_class(&Method::DELETE, None), "write");
        assert_eq!(request_class(&Method::POST, None), "write");
    }
}
