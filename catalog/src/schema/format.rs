//! The string formats of the subset (`format`): their names, what each accepts, and the
//! message given when a value does not conform.

/// A supported `format` of a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `email`: `local@domain`, an ASCII dot-atom local part and a host name with a dot.
    Email,
    /// `hostname`: an RFC 1123 host name.
    Hostname,
    /// `uri`: an absolute `http` or `https` URL.
    Uri,
    /// `date`: an RFC 3339 full date, `YYYY-MM-DD`, that exists in the calendar.
    Date,
    /// `ipv4`: a dotted-quad IPv4 address.
    Ipv4,
    /// `dns-label`: a Kubernetes DNS label (our extension).
    DnsLabel,
}

impl Format {
    /// Every supported format, in the order the documentation lists them.
    pub const ALL: [Format; 6] =
        [Format::Email, Format::Hostname, Format::Uri, Format::Date, Format::Ipv4, Format::DnsLabel];

    /// The format named `name` in a schema, if supported.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|format| format.name() == name)
    }

    /// The format's name as written in a schema.
    pub fn name(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Hostname => "hostname",
            Self::Uri => "uri",
            Self::Date => "date",
            Self::Ipv4 => "ipv4",
            Self::DnsLabel => "dns-label",
        }
    }

    /// Whether `text` conforms to the format.
    pub fn accepts(self, text: &str) -> bool {
        match self {
            Self::Email => is_email(text),
            Self::Hostname => is_hostname(text),
            Self::Uri => is_http_url(text),
            Self::Date => is_date(text),
            Self::Ipv4 => is_ipv4(text),
            Self::DnsLabel => is_dns_label(text),
        }
    }

    /// The message for a value that does not conform.
    pub fn message(self) -> &'static str {
        match self {
            Self::Email => "must be a valid e-mail address",
            Self::Hostname => "must be a valid host name",
            Self::Uri => "must be a valid http or https URL",
            Self::Date => "must be a valid date (YYYY-MM-DD)",
            Self::Ipv4 => "must be a valid IPv4 address",
            Self::DnsLabel => {
                "must be a valid DNS label (at most 63 lower-case letters, digits and '-', \
                 starting and ending with a letter or digit)"
            }
        }
    }
}

fn is_email(text: &str) -> bool {
    const ATEXT_SPECIALS: &str = "!#$%&'*+-/=?^_`{|}~";
    let Some((local, domain)) = text.rsplit_once('@') else { return false };
    let atom =
        |part: &str| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || ATEXT_SPECIALS.contains(c));
    local.len() <= 64 && local.split('.').all(atom) && domain.contains('.') && is_hostname(domain)
}

fn is_hostname(text: &str) -> bool {
    text.len() <= 253 && text.split('.').all(is_host_label)
}

fn is_host_label(label: &str) -> bool {
    let bytes = label.as_bytes();
    (1..=63).contains(&bytes.len())
        && bytes.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        && bytes[0] != b'-'
        && bytes[bytes.len() - 1] != b'-'
}

fn is_dns_label(text: &str) -> bool {
    is_host_label(text) && !text.bytes().any(|b| b.is_ascii_uppercase())
}

fn is_ipv4(text: &str) -> bool {
    let parts: Vec<&str> = text.split('.').collect();
    parts.len() == 4
        && parts.iter().all(|part| {
            (1..=3).contains(&part.len())
                && part.bytes().all(|b| b.is_ascii_digit())
                && (part.len() == 1 || !part.starts_with('0'))
                && part.parse::<u16>().is_ok_and(|n| n <= 255)
        })
}

fn is_date(text: &str) -> bool {
    let bytes = text.as_bytes();
    if !text.is_ascii() || bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return false;
    }
    let digits = |range: std::ops::Range<usize>| {
        bytes[range.clone()].iter().all(u8::is_ascii_digit).then(|| text[range].parse::<u32>().ok()).flatten()
    };
    let (Some(year), Some(month), Some(day)) = (digits(0..4), digits(5..7), digits(8..10)) else { return false };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

fn is_http_url(text: &str) -> bool {
    let Some((scheme, rest)) = text.split_once("://") else { return false };
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return false;
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let host = match authority.rsplit_once(':') {
        Some((host, port)) => {
            let valid_port = port.bytes().all(|b| b.is_ascii_digit()) && port.parse::<u16>().is_ok_and(|p| p > 0);
            if !valid_port {
                return false;
            }
            host
        }
        None => authority,
    };
    (is_hostname(host) || is_ipv4(host)) && is_uri_tail(tail)
}

/// Path, query and fragment: URI characters only, `%` followed by two hex digits.
fn is_uri_tail(tail: &str) -> bool {
    const ALLOWED: &str = "-._~:/?#[]@!$&'()*+,;=";
    let bytes = tail.as_bytes();
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        if byte == b'%' {
            let hex = bytes.get(index + 1..index + 3);
            if !hex.is_some_and(|pair| pair.iter().all(u8::is_ascii_hexdigit)) {
                return false;
            }
            index += 3;
        } else if byte.is_ascii_alphanumeric() || ALLOWED.as_bytes().contains(&byte) {
            index += 1;
        } else {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(format: Format, good: &[&str], bad: &[&str]) {
        for text in good {
            assert!(format.accepts(text), "{} should accept {text:?}", format.name());
        }
        for text in bad {
            assert!(!format.accepts(text), "{} should refuse {text:?}", format.name());
        }
    }

    #[test]
    fn names_round_trip() {
        for format in Format::ALL {
            assert_eq!(Format::from_name(format.name()), Some(format));
        }
        assert_eq!(Format::from_name("e-mail"), None);
    }

    #[test]
    fn email() {
        let good = ["janis.berzins@vdi.gov.lv", "a+tag@example.com", "x@a-b.lv"];
        let bad = ["", "vdi.gov.lv", "a@b", "@vdi.gov.lv", "a..b@vdi.lv", ".a@vdi.lv", "a b@vdi.lv", "a@-vdi.lv"];
        check(Format::Email, &good, &bad);
        check(Format::Email, &[], &[&format!("{}@vdi.lv", "a".repeat(65)), "jānis@vdi.lv", "a@vdi.lv."]);
    }

    #[test]
    fn hostname() {
        let good = ["localhost", "dms.vdi.gov.lv", "A-1.example", &"a".repeat(63)];
        let bad = ["", "-a.lv", "a-.lv", "a..lv", "a_b.lv", "ā.lv", "a.lv.", &"a".repeat(64)];
        check(Format::Hostname, &good, &bad);
        check(Format::Hostname, &[], &[&format!("{}.lv", vec!["a".repeat(63); 4].join("."))]);
    }

    #[test]
    fn uri() {
        let good = ["https://vdi.gov.lv", "http://10.0.0.1:8080/a/b?c=d&e=%20#top", "HTTPS://x.lv/"];
        let bad =
            ["vdi.gov.lv", "ftp://vdi.gov.lv", "https://", "https://a.lv:0", "https://a.lv:x", "https://a.lv/a b"];
        check(Format::Uri, &good, &bad);
        check(Format::Uri, &[], &["https://a.lv/%2", "https://a.lv/%zz", "https://user@a.lv", "https://[::1]/"]);
    }

    #[test]
    fn date() {
        check(Format::Date, &["2024-02-29", "2000-02-29", "1999-12-31"], &["2023-02-29", "1900-02-29", "2024-04-31"]);
        check(Format::Date, &[], &["2024-13-01", "2024-00-10", "2024-01-00", "2024-1-01", "24-01-01", "2024/01/01"]);
        check(Format::Date, &[], &["+024-01-01", "2024-01-01T00:00:00Z", "2024-01-0١", "2024-01-é"]);
    }

    #[test]
    fn ipv4() {
        check(Format::Ipv4, &["10.0.0.1", "255.255.255.255", "0.0.0.0"], &["256.0.0.1", "10.0.0", "10.0.0.1.2"]);
        check(Format::Ipv4, &[], &["01.0.0.1", "a.b.c.d", "10..0.1", "+1.0.0.1", "1000.0.0.1"]);
    }

    #[test]
    fn dns_label() {
        check(Format::DnsLabel, &["a", "dms-1", "0abc", &"a".repeat(63)], &["", "A", "-a", "a-", "a.b", "a_b"]);
        check(Format::DnsLabel, &[], &[&"a".repeat(64)]);
    }
}
