//! Whether a host name lies within an agency's DNS domains: the one rule that order
//! parameters, rendered objects and probe targets are held to.

/// The DNS domains the host names of the agency `code` may use: `<code>.<apps_domain>`
/// and the domains its platform administrators listed (`spec.domains`), lower-case.
pub fn agency_domains(code: &str, listed: &[String], apps_domain: &str) -> Vec<String> {
    let own = format!("{code}.{}", apps_domain.trim_end_matches('.')).to_ascii_lowercase();
    std::iter::once(own).chain(listed.iter().map(|d| d.to_ascii_lowercase())).collect()
}

/// Whether `host` equals one of `domains` or lies under one (`a.b.vdi.gov.lv` under
/// `vdi.gov.lv`). `domains` are lower-case DNS names. Case and one trailing dot of `host`
/// do not matter. Anything that is not a plain DNS name — empty, a wildcard, an IP
/// address, with a port, a scheme, a user, spaces or an empty label — never is, so a value
/// that would be read differently by another parser cannot slip through.
pub fn within_domains(host: &str, domains: &[String]) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    if !is_dns_name(&host) || host.parse::<std::net::Ipv4Addr>().is_ok() {
        return false;
    }
    domains.iter().any(|domain| {
        let domain = domain.trim_end_matches('.');
        is_dns_name(domain)
            && (host == domain
                || host.strip_suffix(domain).is_some_and(|prefix| prefix.ends_with('.') && prefix.len() > 1))
    })
}

/// A lower-case DNS name: labels of 1–63 letters, digits and inner dashes, 253 characters
/// at most, at least two labels, and a last label that is not all digits.
fn is_dns_name(name: &str) -> bool {
    let labels: Vec<&str> = name.split('.').collect();
    name.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
        && !labels.last().is_some_and(|last| last.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn domains() -> Vec<String> {
        vec!["vdi.apps.makonis.lv".into(), "vdi.gov.lv".into()]
    }

    #[test]
    fn names_under_or_equal_to_a_domain_are_within() {
        for host in ["dms.vdi.apps.makonis.lv", "a.b.vdi.gov.lv", "vdi.gov.lv", "DMS.VDI.GOV.LV", "x.vdi.gov.lv."] {
            assert!(within_domains(host, &domains()), "{host}");
        }
    }

    #[test]
    fn anything_else_is_not() {
        for host in [
            "",
            ".",
            "gov.lv",
            "evilvdi.gov.lv",
            "vdi.gov.lv.evil.example",
            "dms.nva.apps.makonis.lv",
            "*.vdi.gov.lv",
            "dms.vdi.gov.lv:443",
            "https://dms.vdi.gov.lv",
            "user@dms.vdi.gov.lv",
            "dms..vdi.gov.lv",
            "dms .vdi.gov.lv",
            "dms.vdi.gov.lv\n",
            "-x.vdi.gov.lv",
            "127.0.0.1",
            "10.0.0.1",
            "[::1]",
            "dms.vdi.gov.lv..",
            "xn--dms.vdi.gov.lv/../",
        ] {
            assert!(!within_domains(host, &domains()), "{host:?}");
        }
        assert!(!within_domains("dms.vdi.gov.lv", &[]), "no domains, no names");
        assert!(!within_domains("a.b", &["".into()]), "an empty domain holds nothing");
    }
}
