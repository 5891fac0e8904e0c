//! Threats: hostnames (see docs/security/threat-model.md).
