//! The DNS records an agency publishes for a mail domain: MX (mail comes here), SPF (only
//! the MX sends for the domain), DKIM (the public key) and DMARC (what receivers do with
//! mail that fails both).

use makonis_api::mail::{DmarcPolicy, DnsRecord};

/// The DKIM selector the platform publishes its keys under.
pub const DKIM_SELECTOR: &str = "makonis";

/// The records for `domain`, served by `mail_host`, with the DKIM public key once there.
pub fn records(domain: &str, mail_host: &str, dmarc: DmarcPolicy, dkim_public_key: Option<&str>) -> Vec<DnsRecord> {
    let record = |record_type: &str, name: String, value: String, purpose: &str| DnsRecord {
        record_type: record_type.into(),
        name,
        value,
        purpose: purpose.into(),
    };
    let policy = match dmarc {
        DmarcPolicy::None => "none",
        DmarcPolicy::Quarantine => "quarantine",
        DmarcPolicy::Reject => "reject",
    };
    let mut records = vec![
        record("MX", domain.into(), format!("10 {mail_host}."), "mail for the domain is delivered to the platform"),
        record("TXT", domain.into(), "v=spf1 mx -all".into(), "SPF: only the domain's MX sends its mail"),
    ];
    if let Some(key) = dkim_public_key {
        records.push(record(
            "TXT",
            format!("{DKIM_SELECTOR}._domainkey.{domain}"),
            format!("v=DKIM1; k=rsa; p={key}"),
            "DKIM: the key the platform signs the domain's mail with (zone files split it into strings of at most 255 characters)",
        ));
    }
    records.push(record(
        "TXT",
        format!("_dmarc.{domain}"),
        format!("v=DMARC1; p={policy}; adkim=r; aspf=r"),
        "DMARC: what receivers do with mail that fails SPF and DKIM",
    ));
    records
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_four_records_name_the_domain_and_the_mail_host() {
        let published = records("vsaa.gov.lv", "mail.lm.gov.lv", DmarcPolicy::Reject, Some("MIIBIjAN"));
        let lines: Vec<String> =
            published.iter().map(|r| format!("{} {} {}", r.name, r.record_type, r.value)).collect();
        assert_eq!(
            lines,
            [
                "vsaa.gov.lv MX 10 mail.lm.gov.lv.",
                "vsaa.gov.lv TXT v=spf1 mx -all",
                "makonis._domainkey.vsaa.gov.lv TXT v=DKIM1; k=rsa; p=MIIBIjAN",
                "_dmarc.vsaa.gov.lv TXT v=DMARC1; p=reject; adkim=r; aspf=r",
            ]
        );
        assert_eq!(records("vsaa.gov.lv", "mail.lm.gov.lv", DmarcPolicy::None, None).len(), 3);
    }
}
