//! Threats: audit (see docs/security/threat-model.md).
