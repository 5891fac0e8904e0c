//! Threats: render (see docs/security/threat-model.md).
