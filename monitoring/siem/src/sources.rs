//! LogSource objects as the intake's claims: what each claims, and why one is refused.

use std::net::IpAddr;

use ipnet::IpNet;
use jiff::tz::TimeZone;
use kube::ResourceExt;
use makonis_api::security::{LogCategory, LogFormat, LogSource, PlatformSender as ApiPlatformSender};
use makonis_siem_core::{
    claims::{Format, PlatformSender, Sender, Source},
    retention::SourceCategory,
};

/// The intake's view of a LogSource, or why it cannot be honoured. Only agency
/// namespaces (`agency-<code>`) and the platform's namespace hold LogSources that count.
pub fn to_source(object: &LogSource, platform_namespace: &str) -> Result<Source, String> {
    let namespace = object.namespace().unwrap_or_default();
    let platform = namespace == platform_namespace;
    let agency = match namespace.strip_prefix("agency-") {
        Some(code) if !code.is_empty() => Some(code.to_owned()),
        _ if platform => None,
        _ => {
            return Err(format!(
                "LogSources count only in agency namespaces (agency-<code>) and in {platform_namespace}"
            ));
        }
    };
    let spec = &object.spec;
    let zone = TimeZone::get(&spec.time_zone)
        .map_err(|_| format!("timeZone {:?} is not a known IANA time zone", spec.time_zone))?;
    let mut senders = Vec::new();
    for sender in &spec.senders {
        if let Some(address) = &sender.address {
            let network = address
                .parse::<IpNet>()
                .or_else(|_| address.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("sender address {address:?} is not an address or network"))?;
            senders.push(Sender::Network(network));
        }
        if let Some(name) = &sender.certificate_name {
            senders.push(Sender::Certificate(name.clone()));
        }
        if let Some(platform_sender) = sender.platform {
            senders.push(Sender::Platform(match platform_sender {
                ApiPlatformSender::KubernetesApiServer => PlatformSender::KubernetesApiServer,
                ApiPlatformSender::Portal => PlatformSender::Portal,
            }));
        }
    }
    Ok(Source {
        id: object.id(),
        agency,
        platform,
        category: category(spec.category),
        format: match spec.format {
            LogFormat::Syslog => Format::Syslog,
            LogFormat::Json => Format::Json,
            LogFormat::KubernetesAudit => Format::KubernetesAudit,
        },
        zone,
        senders,
    })
}

/// The retention category of an API category.
pub fn category(category: LogCategory) -> SourceCategory {
    match category {
        LogCategory::Authentication => SourceCategory::Authentication,
        LogCategory::Directory => SourceCategory::Directory,
        LogCategory::PlatformAudit => SourceCategory::PlatformAudit,
        LogCategory::System => SourceCategory::System,
        LogCategory::Network => SourceCategory::Network,
        LogCategory::Application => SourceCategory::Application,
    }
}

#[cfg(test)]
mod tests {
    use makonis_api::security::{LogSourceSpec, Sender as ApiSender};

    use super::*;

    fn log_source(namespace: &str, senders: Vec<ApiSender>, zone: &str) -> LogSource {
        let mut object = LogSource::new(
            "dc",
            LogSourceSpec {
                senders,
                format: LogFormat::Syslog,
                category: LogCategory::Directory,
                time_zone: zone.into(),
                silence_after: "15m".into(),
            },
        );
        object.metadata.namespace = Some(namespace.into());
        object
    }

    fn address(a: &str) -> ApiSender {
        ApiSender { address: Some(a.into()), certificate_name: None, platform: None }
    }

    #[test]
    fn an_agencys_source_claims_its_networks_in_its_zone() {
        let source = to_source(
            &log_source("agency-lm", vec![address("10.1.2.0/24"), address("fd00::7")], "Europe/Riga"),
            "makonis-system",
        )
        .unwrap();
        assert_eq!(
            (source.id.as_str(), source.agency.as_deref(), source.platform),
            ("agency-lm/dc", Some("lm"), false)
        );
        assert_eq!(
            source.senders,
            vec![Sender::Network("10.1.2.0/24".parse().unwrap()), Sender::Network("fd00::7/128".parse().unwrap())]
        );
        assert_eq!(source.category, SourceCategory::Directory);
    }

    #[test]
    fn sources_elsewhere_or_in_unknown_zones_are_refused_with_the_reason() {
        let elsewhere =
            to_source(&log_source("default", vec![address("10.0.0.1")], "UTC"), "makonis-system").unwrap_err();
        assert!(elsewhere.contains("only in agency namespaces"), "{elsewhere}");
        let zone = to_source(&log_source("agency-lm", vec![address("10.0.0.1")], "Mars/Olympus"), "makonis-system")
            .unwrap_err();
        assert_eq!(zone, "timeZone \"Mars/Olympus\" is not a known IANA time zone");
        let platform =
            to_source(&log_source("makonis-system", vec![address("10.0.0.1")], "UTC"), "makonis-system").unwrap();
        assert_eq!((platform.agency, platform.platform), (None, true));
    }
}
