//! Threats: rbac (see docs/security/threat-model.md).
