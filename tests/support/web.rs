//! A minimal HTTP/1.0 client for the servers under test (the portal, the operators'
//! operations endpoints): requests with a cookie and a form body, the answer's status,
//! `Set-Cookie` values and body.

use std::net::SocketAddr;

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// One answer.
#[derive(Debug)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The header lines, as `name: value` (names lower-cased).
    pub headers: Vec<(String, String)>,
    /// The body as text.
    pub body: String,
}

impl Answer {
    /// The value a `Set-Cookie` header gives cookie `name`.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .filter(|(header, _)| header == "set-cookie")
            .find_map(|(_, value)| value.strip_prefix(&format!("{name}="))?.split(';').next().map(str::to_string))
    }
}

/// Sends `method path` to `address` with `cookie` and a form `body`, and reads the answer.
pub async fn request(
    address: SocketAddr,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    form: Option<&str>,
) -> Answer {
    try_request(address, method, path, cookie, form).await.unwrap_or_else(|error| panic!("{method} {path}: {error}"))
}

/// Like [`request`], or why there was no answer (nothing listening, a broken connection).
pub async fn try_request(
    address: SocketAddr,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    form: Option<&str>,
) -> Result<Answer, String> {
    let mut stream = TcpStream::connect(address).await.map_err(|e| e.to_string())?;
    let mut head = format!("{method} {path} HTTP/1.0\r\nHost: {address}\r\n");
    if let Some(cookie) = cookie {
        head.push_str(&format!("Cookie: {cookie}\r\n"));
    }
    let body = form.unwrap_or_default();
    if form.is_some() {
        head.push_str("Content-Type: application/x-www-form-urlencoded\r\n");
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.map_err(|e| e.to_string())?;
    stream.write_all(body.as_bytes()).await.map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status =
        lines.next().and_then(|l| l.split_whitespace().nth(1)).and_then(|c| c.parse().ok()).ok_or("no status line")?;
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
        .collect();
    Ok(Answer { status, headers, body: body.to_string() })
}

/// Signs in with a local account through the login form; returns the session cookie
/// (`makonis_session=…`).
pub async fn sign_in(address: SocketAddr, username: &str, password: &str) -> String {
    let form = request(address, "GET", "/login", None, None).await;
    let csrf = form.cookie("makonis_login").expect("the login form sets its CSRF cookie");
    let body = format!("_csrf={csrf}&username={username}&password={password}&next=%2F");
    let answer = request(address, "POST", "/login", Some(&format!("makonis_login={csrf}")), Some(&body)).await;
    assert_eq!(answer.status, 303, "{username} signs in: {}", answer.body);
    let session = answer.cookie("makonis_session").expect("a session cookie");
    format!("makonis_session={session}")
}
