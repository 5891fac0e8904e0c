//! Reading and writing the portal's cookies. Pure.
//!
//! With secure cookies (the default) every cookie is `__Host-` prefixed, `Secure`, for
//! `Path=/` and without a `Domain`: browsers then accept it only from this exact origin over
//! a secure connection, so a sibling site under the same parent domain (or a network
//! attacker on plain HTTP) can neither set nor overwrite it, and the portal reads only the
//! prefixed name. Chromium and Firefox count `http://localhost` and `http://127.0.0.1` as
//! secure, so local development keeps these defaults; only `--insecure-cookies` (plain HTTP
//! on another host) drops both the prefix and `Secure`.

use std::borrow::Cow;

/// The session cookie: a random token whose SHA-256 keys the session row.
pub const SESSION: &str = "makonis_session";
/// The language cookie (`lv` or `en`), remembered without signing in too.
pub const LANGUAGE: &str = "makonis_lang";
/// The sign-in form's CSRF cookie (double submit: the form repeats it).
pub const LOGIN_CSRF: &str = "makonis_login";

/// The prefix that binds a cookie to this origin.
pub const HOST_PREFIX: &str = "__Host-";

/// The name cookie `base` is sent under: prefixed when `secure`.
pub fn name(base: &str, secure: bool) -> Cow<'_, str> {
    if secure { Cow::Owned(format!("{HOST_PREFIX}{base}")) } else { Cow::Borrowed(base) }
}

/// The value of cookie `base` (under its name for `secure`) in a `Cookie` header.
pub fn get<'a>(header: &'a str, base: &str, secure: bool) -> Option<&'a str> {
    let name = name(base, secure);
    header.split(';').map(str::trim).find_map(|pair| pair.strip_prefix(name.as_ref())?.strip_prefix('='))
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, path `/`, no domain, `Secure` and the
/// `__Host-` prefix when `secure`, lasting `max_age` seconds (0 deletes it).
pub fn set(base: &str, value: &str, max_age: u64, secure: bool) -> String {
    let attributes = if secure { "; Secure" } else { "" };
    format!("{}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{attributes}", name(base, secure))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_by_exact_name() {
        let header =
            "makonis_lang=en; __Host-makonis_session=abc; makonis_session=forged; __Host-makonis_session_old=z";
        assert_eq!(get(header, SESSION, true), Some("abc"));
        assert_eq!(get(header, SESSION, false), Some("forged"));
        assert_eq!(get(header, LANGUAGE, false), Some("en"));
        assert_eq!(get(header, LANGUAGE, true), None, "a secure portal reads only prefixed cookies");
        assert_eq!(get(header, LOGIN_CSRF, true), None);
        assert_eq!(get("__Host-makonis_sessionx=1", SESSION, true), None);
    }

    #[test]
    fn secure_cookies_are_host_prefixed_and_all_are_http_only_and_same_site() {
        assert_eq!(
            set(SESSION, "t", 60, true),
            "__Host-makonis_session=t; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure"
        );
        let plain = set(LANGUAGE, "lv", 0, false);
        assert_eq!(plain, "makonis_lang=lv; Path=/; Max-Age=0; HttpOnly; SameSite=Lax");
        assert!(!set(SESSION, "t", 60, true).contains("Domain"));
    }
}
