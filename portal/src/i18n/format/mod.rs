//! Dates, times, amounts and durations written the way each language writes them.
//!
//! Latvian follows the conventions of Latvian public administration: `28.11.2026.`,
//! `1 234,50 €` and `99,5 %`, with a no-break space (U+00A0) between digit groups and
//! before units, so a value never breaks across lines. English uses `28 Nov 2026`,
//! `€1,234.50` and `99.5%`. Times are shown in Europe/Riga time.

mod duration;
mod grouping;
mod money;
mod number;
mod time;

pub use duration::duration_iso;
pub use money::money;
pub use number::{number, percent};
pub use time::{date, datetime, riga_offset_iso};
