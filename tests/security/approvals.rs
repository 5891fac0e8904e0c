//! Threats: approvals (see docs/security/threat-model.md).
