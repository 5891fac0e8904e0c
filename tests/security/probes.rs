//! Threats: probes (see docs/security/threat-model.md).
