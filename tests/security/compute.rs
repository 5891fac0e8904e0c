//! Threats: compute (see docs/security/threat-model.md).
