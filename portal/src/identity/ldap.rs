//! Sign-in against the directory (placeholder until written).
