//! Threats: status (see docs/security/threat-model.md).
