//! Where the browser goes after a form: [`local_path`] turns a user-supplied `next` into a
//! path of this portal (never another site), and [`see_other`] answers with it. Pure.
//!
//! A `next` is accepted only when it is a plain path of this origin in every reading a
//! browser or a proxy may give it: printable ASCII without a backslash, starting with
//! exactly one `/`; once more percent-decoded, still without control characters,
//! whitespace, backslashes or a leading `//` (double-encoded tricks); and, resolved by the
//! WHATWG URL parser (what browsers use) against this portal's origin, still on it. The
//! parser's own serialisation is what is sent back, so the `Location` header is always
//! valid. Anything else falls back to the catalog.

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use url::Url;

/// Where the browser goes when `next` is missing or not a path of this portal.
pub const FALLBACK: &str = "/catalog";

/// The longest `next` followed (longer ones are not a page of the portal).
const MAX_NEXT: usize = 2048;

/// A placeholder origin the portal's paths are resolved against.
const ORIGIN: &str = "https://portal.invalid/";

/// `next` if it is a path of this portal, otherwise [`FALLBACK`].
pub fn local_path(next: Option<&str>) -> String {
    next.and_then(same_origin_path).unwrap_or_else(|| FALLBACK.into())
}

/// The path and query `next` leads to, when it stays on this origin.
fn same_origin_path(next: &str) -> Option<String> {
    if next.len() > MAX_NEXT || !is_plain_path(next) {
        return None;
    }
    let path_part = next.split(['?', '#']).next().unwrap_or_default();
    let decoded = percent_encoding::percent_decode_str(path_part).decode_utf8().ok()?;
    if !is_harmless_decoded(&decoded) {
        return None;
    }
    let base = Url::parse(ORIGIN).expect("the placeholder origin parses");
    let resolved = base.join(next).ok()?;
    if resolved.origin() != base.origin() {
        return None;
    }
    let mut path = resolved.path().to_string();
    if let Some(query) = resolved.query() {
        path.push('?');
        path.push_str(query);
    }
    Some(path)
}

/// Printable ASCII (no space, no control character: browsers strip tabs and newlines,
/// which turns `/\t/host` into `//host`), no backslash (browsers read it as `/`), one
/// leading `/` and not two.
fn is_plain_path(text: &str) -> bool {
    text.starts_with('/') && !text[1..].starts_with('/') && text.bytes().all(|b| b.is_ascii_graphic() && b != b'\\')
}

/// The percent-decoded path has nothing a second decoder could turn into another host:
/// no control, format or whitespace character, no backslash, no leading `//`.
fn is_harmless_decoded(path: &str) -> bool {
    !path.starts_with("//")
        && !path.chars().any(|c| {
            c.is_control()
                || c.is_whitespace()
                || c == '\\'
                || matches!(c, '\u{200B}'..='\u{200F}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}')
        })
}

/// A redirect after a form post (303: the browser follows with GET) to a path of the
/// portal. A target that is not a valid header value (never one from [`local_path`])
/// goes to [`FALLBACK`] rather than failing.
pub fn see_other(to: &str) -> Response {
    let location = HeaderValue::from_str(to).unwrap_or_else(|_| {
        tracing::warn!(target = to.escape_debug().to_string(), "refused a redirect to an invalid location");
        HeaderValue::from_static(FALLBACK)
    });
    (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_of_the_portal_are_followed_as_the_parser_writes_them() {
        for (next, expected) in [
            ("/requests/vdi-1", "/requests/vdi-1"),
            ("/requests?scope=mine", "/requests?scope=mine"),
            ("/catalog?q=atv%C4%93rtie+dati", "/catalog?q=atv%C4%93rtie+dati"),
            ("/services/vdi/a/../b", "/services/vdi/b"),
            ("/catalog#top", "/catalog"),
            ("/", "/"),
        ] {
            assert_eq!(local_path(Some(next)), expected, "{next:?}");
        }
        assert_eq!(local_path(None), FALLBACK);
    }

    #[test]
    fn anything_that_could_leave_the_origin_falls_back() {
        let long = format!("/{}", "a".repeat(MAX_NEXT));
        for next in [
            "",
            "catalog",
            "//evil.example",
            "///evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "\\/evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\n/evil.example",
            "\t//evil.example",
            " /catalog",
            "/catalog\n",
            "/catalog\r\nSet-Cookie: x=y",
            "/%2F/evil.example",
            "/%2f%2fevil.example",
            "/%5Cevil.example",
            "/%09/evil.example",
            "/%0A/evil.example",
            "/%E2%80%8B/evil.example",
            "/\u{3000}/evil.example",
            "/\u{FF0F}evil.example",
            "/\u{2215}evil.example",
            "https://evil.example",
            "http:evil.example",
            "javascript:alert(1)",
            "data:text/html,x",
            "/catalog\0",
            "/%FF",
            &long,
        ] {
            assert_eq!(local_path(Some(next)), FALLBACK, "{next:?}");
        }
    }

    #[test]
    fn an_invalid_location_never_fails_the_answer() {
        let answer = see_other("/x\ny");
        assert_eq!(answer.status(), StatusCode::SEE_OTHER);
        assert_eq!(answer.headers()[header::LOCATION], FALLBACK);
        assert_eq!(see_other("/requests/vdi-1").headers()[header::LOCATION], "/requests/vdi-1");
    }
}
