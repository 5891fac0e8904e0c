//! Sign-in throttling: which counters an attempt takes a slot of, and how many each allows.
//! Pure; the counters live in the database ([`crate::store::login_throttle`]) so that every
//! replica sees the same numbers.
//!
//! An attempt takes its slots **before** the password is checked (so 50 parallel guesses
//! cannot all be checked while the first ones are still running) and gives them back when
//! it succeeds. Three counters, so that nobody can lock everyone else out:
//! - the account from one address: the small limit (5 in 5 minutes by default). A typing
//!   user and a single guesser stop here, and a guesser locks only themselves out;
//! - the account from anywhere: four times the limit, which stops guessing one account from
//!   several addresses, and can only be reached from at least four of them;
//! - the address for any account: four times the limit, which stops trying one password
//!   on many accounts, without locking out the dozens of people behind one office NAT who
//!   mistype now and then.
//!
//! A success forgets its account's failures from that address only; the wider counters
//! keep them until their window passes, so a guesser gains nothing from a colleague's
//! success.

use std::time::Duration;

/// How many sign-in attempts are allowed, per counter and window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginLimits {
    /// Attempts on one account from one address per window.
    pub per_account_and_address: u32,
    /// How many times more the account (from anywhere) and the address (for any account)
    /// may try.
    pub wider_factor: u32,
    /// The window: a counter starts with its first attempt and is forgotten this long after.
    pub window: Duration,
}

impl Default for LoginLimits {
    fn default() -> Self {
        Self { per_account_and_address: 5, wider_factor: 4, window: Duration::from_secs(300) }
    }
}

/// Which counter a slot is taken from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// One account from one address.
    AccountFromAddress,
    /// One account from any address.
    Account,
    /// One address for any account.
    Address,
}

impl Scope {
    /// The counter's key prefix.
    fn prefix(self) -> &'static str {
        match self {
            Self::AccountFromAddress => "account+address",
            Self::Account => "account",
            Self::Address => "address",
        }
    }
}

/// One counter an attempt counts against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counter {
    /// What it counts.
    pub scope: Scope,
    /// Its key in the database.
    pub key: String,
    /// How many attempts it allows per window.
    pub limit: i64,
}

impl LoginLimits {
    /// The counters an attempt as `username` from `address` takes a slot of, in the order
    /// they are taken (a fixed order, so that concurrent attempts never wait on each other
    /// in a cycle).
    pub fn counters(&self, username: &str, address: &str) -> Vec<Counter> {
        let username = username.trim().to_lowercase();
        let small = i64::from(self.per_account_and_address.max(1));
        let wide = small * i64::from(self.wider_factor.max(1));
        let mut counters = vec![
            Counter {
                scope: Scope::AccountFromAddress,
                key: format!("{}:{username}|{address}", Scope::AccountFromAddress.prefix()),
                limit: small,
            },
            Counter { scope: Scope::Account, key: format!("{}:{username}", Scope::Account.prefix()), limit: wide },
            Counter { scope: Scope::Address, key: format!("{}:{address}", Scope::Address.prefix()), limit: wide },
        ];
        counters.sort_by(|a, b| a.key.cmp(&b.key));
        counters
    }

    /// The window in milliseconds.
    pub fn window_ms(&self) -> i64 {
        i64::try_from(self.window.as_millis()).unwrap_or(i64::MAX / 4)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_attempt_counts_against_the_account_from_its_address_the_account_and_the_address() {
        let limits = LoginLimits::default();
        let counters = limits.counters(" Anna ", "192.0.2.7");
        let find = |scope| counters.iter().find(|c| c.scope == scope).unwrap().clone();
        assert_eq!(find(Scope::AccountFromAddress).key, "account+address:anna|192.0.2.7");
        assert_eq!(find(Scope::AccountFromAddress).limit, 5);
        assert_eq!((find(Scope::Account).key.as_str(), find(Scope::Account).limit), ("account:anna", 20));
        assert_eq!((find(Scope::Address).key.as_str(), find(Scope::Address).limit), ("address:192.0.2.7", 20));
        let keys: Vec<_> = counters.iter().map(|c| c.key.clone()).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted, "always taken in one order");
    }

    #[test]
    fn the_same_account_from_another_address_is_another_small_counter() {
        let limits = LoginLimits::default();
        let here = limits.counters("anna", "192.0.2.7");
        let there = limits.counters("anna", "198.51.100.1");
        let small = |c: &[Counter]| c.iter().find(|c| c.scope == Scope::AccountFromAddress).unwrap().key.clone();
        assert_ne!(small(&here), small(&there));
    }
}
