//! Reading and writing the portal's cookies. Pure.

/// The session cookie: a random token whose SHA-256 keys the session row.
pub const SESSION: &str = "makonis_session";
/// The language cookie (`lv` or `en`), remembered without signing in too.
pub const LANGUAGE: &str = "makonis_lang";
/// The sign-in form's CSRF cookie (double submit: the form repeats it).
pub const LOGIN_CSRF: &str = "makonis_login";

/// The value of cookie `name` in a `Cookie` header.
pub fn get<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').map(str::trim).find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, path `/`, `Secure` when asked,
/// lasting `max_age` seconds (0 deletes it).
pub fn set(name: &str, value: &str, max_age: u64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_by_exact_name() {
        let header = "makonis_lang=en; makonis_session=abc; makonis_session_old=zzz";
        assert_eq!(get(header, SESSION), Some("abc"));
        assert_eq!(get(header, LANGUAGE), Some("en"));
        assert_eq!(get(header, LOGIN_CSRF), None);
        assert_eq!(get("makonis_sessionx=1", SESSION), None);
    }

    #[test]
    fn cookies_are_http_only_and_same_site() {
        assert_eq!(
            set(SESSION, "t", 60, true),
            "makonis_session=t; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure"
        );
        assert!(!set(LANGUAGE, "lv", 0, false).contains("Secure"));
    }
}
