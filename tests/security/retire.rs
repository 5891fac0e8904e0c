//! Threats: retire (see docs/security/threat-model.md).
