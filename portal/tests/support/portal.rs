//! A portal in-process for handler tests: the real router, real templates, a real SQLite
//! or PostgreSQL store, and a fixed cluster view built from the repository's demo
//! agencies and the sector's catalog items (no Kubernetes API: granted requests stay
//! `approved`, which the worker would apply).

use std::{net::SocketAddr, path::Path, sync::Arc};

use axum::{
    Router,
    body::{Body, to_bytes},
    extract::connect_info::MockConnectInfo,
    http::{HeaderMap, Method, Request, StatusCode, header},
};
use makonis_api::{
    catalog::{CatalogItem, ServiceInstance},
    tenancy::Agency,
};
use makonis_portal::{
    cluster::ClusterView,
    context::{Context, PortalConfig},
    identity::password::hash_password,
    store::{Store, accounts::Account},
    web::{AppState, Templates, app, cookies, metrics_app, ops::Metrics},
};
use serde_json::Value;
use tower::ServiceExt;

/// The password of every test account.
pub const PASSWORD: &str = "Parole-123!";

/// Test accounts: (username, display name, groups).
pub const ACCOUNTS: [(&str, &str, &[&str]); 10] = [
    ("anna", "Anna Bērziņa", &["VDI-Makonis-Requesters"]),
    ("janis", "Jānis Kalniņš", &["VDI-Makonis-Approvers"]),
    ("vdi-admin", "Ilze Ozola", &["VDI-Makonis-Admins"]),
    ("liga", "Līga Liepa", &["LM-Makonis-Requesters"]),
    ("lm-approver", "Pēteris Egle", &["LM-Makonis-Approvers", "LM-Makonis-Admins"]),
    ("operator", "Oskars Operators", &["Makonis-Platform-Operators"]),
    ("admin", "Platformas administrators", &["Makonis-Platform-Admins"]),
    ("nobody", "Bez lomām", &[]),
    ("lm-security", "Laura Drošā", &["LM-Makonis-Security"]),
    ("security", "Drošības dienests", &["Makonis-Platform-Security"]),
];

/// The repository's root (the workspace's, which holds `Cargo.lock`), whichever of its
/// packages the tests are compiled in.
fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .find(|dir| dir.join("Cargo.lock").exists())
        .expect("the tests run inside the repository")
}

fn read_yaml_dir<T: serde::de::DeserializeOwned>(dir: &str) -> Vec<T> {
    let mut files: Vec<_> = std::fs::read_dir(repo().join(dir))
        .expect("the directory exists")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml") && !p.ends_with("kustomization.yaml"))
        .collect();
    files.sort();
    files.iter().map(|p| serde_yaml_ng::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()).collect()
}

/// The demo agencies (`manifests/examples/agencies`).
pub fn agencies() -> Vec<Agency> {
    read_yaml_dir("manifests/examples/agencies")
}

/// The sector's catalog (`catalog/items`).
pub fn items() -> Vec<CatalogItem> {
    read_yaml_dir::<CatalogItem>("catalog/items")
        .into_iter()
        .map(|mut item| {
            item.metadata.generation = Some(1);
            item.metadata.uid = item.metadata.name.clone();
            item
        })
        .collect()
}

/// A signed-in browser: its cookie header and the session's CSRF token.
#[derive(Debug, Clone)]
pub struct Browser {
    /// The `Cookie` header it sends.
    pub cookie: String,
    /// The CSRF token its forms carry.
    pub csrf: String,
}

/// An answer: status, headers and body text.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// The `Location` header.
    pub fn location(&self) -> &str {
        self.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("")
    }
}

/// The portal under test: its router, its metrics listener's router and its context.
pub struct TestPortal {
    pub app: Router,
    pub metrics: Router,
    pub context: Arc<Context>,
}

impl TestPortal {
    /// A portal over `store` with the demo agencies, the catalog, `instances`, and the
    /// test accounts.
    pub async fn new(store: Store, instances: Vec<ServiceInstance>) -> Self {
        Self::with_config(store, instances, PortalConfig::default()).await
    }

    /// Like [`Self::new`], with `config` (a directory to sign in against, say).
    pub async fn with_config(store: Store, instances: Vec<ServiceInstance>, config: PortalConfig) -> Self {
        Self::with_agencies(store, agencies(), instances, config).await
    }

    /// Like [`Self::with_config`], with `agencies` instead of the demo agencies.
    pub async fn with_agencies(
        store: Store,
        agencies: Vec<Agency>,
        instances: Vec<ServiceInstance>,
        config: PortalConfig,
    ) -> Self {
        let hash = hash_password(PASSWORD);
        for (username, name, groups) in ACCOUNTS {
            let account = Account {
                username: username.into(),
                password_hash: hash.clone(),
                display_name: name.into(),
                email: None,
                groups: groups.iter().map(|g| g.to_string()).collect(),
            };
            store.put_account(&account, 0).await.unwrap();
        }
        let view = ClusterView::of_objects(agencies, items(), instances);
        Self::over(Arc::new(Context::new(store, view, None, config)))
    }

    /// The portal's routers over `context` (one that watches a real cluster, say).
    pub fn over(context: Arc<Context>) -> Self {
        let state = AppState {
            context: Arc::clone(&context),
            templates: Arc::new(Templates::embedded().expect("the templates compile")),
            metrics: Arc::new(Metrics::new().unwrap()),
        };
        let metrics = metrics_app(state.clone());
        let app = app(state).layer(MockConnectInfo(SocketAddr::from(([192, 0, 2, 7], 50000))));
        Self { app, metrics, context }
    }

    /// The text the metrics listener serves at `/metrics`.
    pub async fn metrics_text(&self) -> String {
        let request = Request::get("/metrics").body(Body::empty()).unwrap();
        let response = self.metrics.clone().oneshot(request).await.expect("the metrics router answers");
        let body = to_bytes(response.into_body(), 16 * 1024 * 1024).await.expect("a body");
        String::from_utf8_lossy(&body).into_owned()
    }

    /// Sends `request` and reads the answer.
    pub async fn send(&self, request: Request<Body>) -> Answer {
        let response = self.app.clone().oneshot(request).await.expect("the router answers");
        let status = response.status();
        let headers = response.headers().clone();
        let body = to_bytes(response.into_body(), 16 * 1024 * 1024).await.expect("a body");
        Answer { status, headers, body: String::from_utf8_lossy(&body).into_owned() }
    }

    /// `GET path` as `browser` (or anonymously).
    pub async fn get(&self, browser: Option<&Browser>, path: &str) -> Answer {
        let mut request = Request::get(path);
        if let Some(browser) = browser {
            request = request.header(header::COOKIE, &browser.cookie);
        }
        self.send(request.body(Body::empty()).unwrap()).await
    }

    /// Posts the form `pairs` to `path` as `browser`, with its CSRF token.
    pub async fn post(&self, browser: &Browser, path: &str, pairs: &[(&str, &str)]) -> Answer {
        let mut all = vec![("_csrf", browser.csrf.as_str())];
        all.extend_from_slice(pairs);
        self.post_raw(Some(&browser.cookie), path, &serde_urlencoded::to_string(&all).unwrap()).await
    }

    /// Posts a raw form body, with exactly the cookie given.
    pub async fn post_raw(&self, cookie: Option<&str>, path: &str, body: &str) -> Answer {
        let mut request = Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        self.send(request.body(Body::from(body.to_string())).unwrap()).await
    }

    /// Calls the API with `token` (or none).
    pub async fn api(&self, token: Option<&str>, method: Method, path: &str, body: Option<Value>) -> Answer {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let body = match body {
            Some(json) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from(json.to_string())
            }
            None => Body::empty(),
        };
        self.send(request.body(body).unwrap()).await
    }

    /// Signs in through the login form, as a browser would.
    pub async fn sign_in(&self, username: &str) -> Browser {
        self.try_sign_in(username, PASSWORD)
            .await
            .unwrap_or_else(|answer| panic!("{username} could not sign in: {answer:?}"))
    }

    /// The name cookie `base` has on this portal (`__Host-` prefixed unless insecure).
    pub fn cookie_name(&self, base: &str) -> String {
        cookies::name(base, self.context.config.secure_cookies).into_owned()
    }

    /// Signs in, or the failed answer.
    pub async fn try_sign_in(&self, username: &str, password: &str) -> Result<Browser, Answer> {
        let (login, session) = (self.cookie_name(cookies::LOGIN_CSRF), self.cookie_name(cookies::SESSION));
        let form = self.get(None, "/login").await;
        let login_csrf = cookie_value(&form.headers, &login).expect("the login form sets its CSRF cookie");
        let body = serde_urlencoded::to_string([
            ("_csrf", login_csrf.as_str()),
            ("username", username),
            ("password", password),
            ("next", "/catalog"),
        ])
        .unwrap();
        let answer = self.post_raw(Some(&format!("{login}={login_csrf}")), "/login", &body).await;
        if answer.status != StatusCode::SEE_OTHER {
            return Err(answer);
        }
        let token = cookie_value(&answer.headers, &session).expect("a session cookie");
        let cookie = format!("{session}={token}");
        let page = self.get(Some(&Browser { cookie: cookie.clone(), csrf: String::new() }), "/tokens").await;
        let csrf = hidden_csrf(&page.body).expect("signed-in pages carry the CSRF token");
        Ok(Browser { cookie, csrf })
    }

    /// Creates an API token for `browser` through the tokens page and returns its secret.
    pub async fn token(&self, browser: &Browser) -> String {
        let page = self.post(browser, "/tokens", &[("name", "test"), ("days", "30")]).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let start = page.body.find("mkt_").expect("the page shows the secret");
        page.body[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.').collect()
    }
}

/// The value a `Set-Cookie` header gives cookie `name`.
pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(&format!("{name}="))?.split(';').next().map(str::to_string))
}

/// The CSRF token of the first form on a page.
pub fn hidden_csrf(html: &str) -> Option<String> {
    let at = html.find(r#"name="_csrf" value=""#)? + r#"name="_csrf" value=""#.len();
    Some(html[at..].chars().take_while(|c| *c != '"').collect())
}

/// What a browser submits from the first `<form method="post">` with parameters on
/// `html`, left as the page prefilled it: inputs (checked boxes and radios only),
/// textareas and selected options. Tags are matched with regular expressions, which
/// is enough for the portal's own well-formed pages.
pub fn prefilled(html: &str) -> Vec<(String, String)> {
    let attr = |tag: &str, name: &str| {
        regex::Regex::new(&format!(r#"\s{name}="([^"]*)""#)).unwrap().captures(tag).map(|c| unescape(&c[1]))
    };
    let bare = |tag: &str, name: &str| regex::Regex::new(&format!(r"\s{name}[\s>]")).unwrap().is_match(tag);
    let mut pairs = Vec::new();
    let selected = regex::Regex::new(r#"<option value="([^"]*)"[^>]*\sselected"#).unwrap();
    let first_option = regex::Regex::new(r#"<option value="([^"]*)""#).unwrap();
    let controls =
        regex::Regex::new(r"(?s)<input\b[^>]*>|<textarea\b[^>]*>.*?</textarea>|<select\b[^>]*>.*?</select>").unwrap();
    for control in controls.find_iter(html).map(|m| m.as_str()) {
        let Some(name) = attr(control, "name") else { continue };
        if control.starts_with("<textarea") {
            let text = control.split_once('>').map(|(_, rest)| rest.trim_end_matches("</textarea>")).unwrap_or("");
            pairs.push((name, unescape(text)));
        } else if control.starts_with("<select") {
            if let Some(value) = selected.captures(control).or_else(|| first_option.captures(control)) {
                pairs.push((name, unescape(&value[1])));
            }
        } else {
            let kind = attr(control, "type").unwrap_or_else(|| "text".into());
            match kind.as_str() {
                "checkbox" | "radio" if !bare(control, "checked") => {}
                "checkbox" | "radio" => pairs.push((name, attr(control, "value").unwrap_or_else(|| "on".into()))),
                "submit" | "button" => {}
                _ if bare(control, "disabled") => {}
                _ => pairs.push((name, attr(control, "value").unwrap_or_default())),
            }
        }
    }
    pairs
}

fn unescape(text: &str) -> String {
    [("&lt;", "<"), ("&gt;", ">"), ("&quot;", "\""), ("&#x27;", "'"), ("&#x2F;", "/"), ("&amp;", "&")]
        .iter()
        .fold(text.to_string(), |text, (entity, plain)| text.replace(entity, plain))
}

impl TestPortal {
    /// Orders `item` as `browser` would: opens the order form, keeps what it prefilled,
    /// sets `changes` (e.g. the plan and instance name) and posts with `action`.
    pub async fn order(&self, browser: &Browser, item: &str, changes: &[(&str, &str)], action: &str) -> Answer {
        let form = self.get(Some(browser), &format!("/catalog/{item}/order")).await;
        assert_eq!(form.status, StatusCode::OK, "the order form of {item}: {}", form.body);
        let mut pairs = prefilled(&form.body);
        pairs.retain(|(name, _)| !changes.iter().any(|(changed, _)| changed == name) && name != "_csrf");
        pairs.extend(changes.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        pairs.push(("action".into(), action.into()));
        pairs.push(("_csrf".into(), browser.csrf.clone()));
        self.post_raw(
            Some(&browser.cookie),
            &format!("/catalog/{item}/order"),
            &serde_urlencoded::to_string(&pairs).unwrap(),
        )
        .await
    }
}
