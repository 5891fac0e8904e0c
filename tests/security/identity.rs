//! Threats: identity (see docs/security/threat-model.md).
