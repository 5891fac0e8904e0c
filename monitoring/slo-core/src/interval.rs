//! Half-open time spans `[start, end)` in Unix milliseconds, and set arithmetic on them.
//!
//! The list functions take and return *normalized* lists: sorted by start, without empty
//! spans, and without spans that overlap or touch (see [`normalize`]).

use serde::{Deserialize, Serialize};

/// A half-open span of time `[start, end)`, Unix milliseconds (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Interval {
    /// The first millisecond inside.
    pub start: i64,
    /// The first millisecond after.
    pub end: i64,
}

impl Interval {
    /// The span `[start, end)`; empty when `end <= start`.
    pub const fn new(start: i64, end: i64) -> Self {
        Self { start, end }
    }

    /// Its length in ms, 0 when empty.
    pub const fn len(&self) -> i64 {
        if self.is_empty() { 0 } else { self.end.saturating_sub(self.start) }
    }

    /// Whether it holds no millisecond.
    pub const fn is_empty(&self) -> bool {
        self.end <= self.start
    }

    /// The part shared with `other`, `None` when they share no millisecond.
    pub fn intersect(&self, other: Interval) -> Option<Interval> {
        let shared = Interval::new(self.start.max(other.start), self.end.min(other.end));
        (!shared.is_empty()).then_some(shared)
    }
}

/// Sorts `spans`, merges those that overlap or touch and drops empty ones.
pub fn normalize(mut spans: Vec<Interval>) -> Vec<Interval> {
    spans.retain(|span| !span.is_empty());
    spans.sort_unstable();
    spans.dedup_by(|next, kept| {
        let joins = next.start <= kept.end;
        if joins {
            kept.end = kept.end.max(next.end);
        }
        joins
    });
    spans
}

/// The parts of normalized `a` outside normalized `b`, normalized.
pub fn subtract(a: &[Interval], b: &[Interval]) -> Vec<Interval> {
    let mut out = Vec::with_capacity(a.len());
    let mut first = 0;
    for span in a {
        while first < b.len() && b[first].end <= span.start {
            first += 1;
        }
        let mut start = span.start;
        for cut in b[first..].iter().take_while(|cut| cut.start < span.end) {
            if cut.start > start {
                out.push(Interval::new(start, cut.start));
            }
            start = start.max(cut.end);
        }
        if start < span.end {
            out.push(Interval::new(start, span.end));
        }
    }
    out
}

/// The total length in ms of the intersection of normalized `a` and normalized `b`.
pub fn overlap_ms(a: &[Interval], b: &[Interval]) -> i64 {
    let (mut i, mut j, mut total) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        total += a[i].intersect(b[j]).map_or(0, |shared| shared.len());
        if a[i].end < b[j].end {
            i += 1;
        } else {
            j += 1;
        }
    }
    total
}

/// The non-empty parts of `spans` inside `to`, in their order (normalized stays normalized).
pub fn clip(spans: &[Interval], to: Interval) -> Vec<Interval> {
    spans.iter().filter_map(|span| span.intersect(to)).collect()
}

/// The summed length of `spans` in ms (their union's length when normalized).
pub fn total_ms(spans: &[Interval]) -> i64 {
    spans.iter().map(Interval::len).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(pairs: &[(i64, i64)]) -> Vec<Interval> {
        pairs.iter().map(|&(start, end)| Interval::new(start, end)).collect()
    }

    #[test]
    fn length_and_emptiness() {
        assert_eq!(Interval::new(10, 25).len(), 15);
        assert_eq!(Interval::new(25, 10).len(), 0);
        assert!(Interval::new(7, 7).is_empty());
        assert!(!Interval::new(7, 8).is_empty());
        // The extremes do not overflow.
        assert_eq!(Interval::new(i64::MIN, i64::MAX).len(), i64::MAX);
    }

    #[test]
    fn intersect_is_half_open() {
        let a = Interval::new(0, 10);
        assert_eq!(a.intersect(Interval::new(5, 20)), Some(Interval::new(5, 10)));
        assert_eq!(a.intersect(Interval::new(2, 3)), Some(Interval::new(2, 3)));
        // [0, 10) and [10, 20) share no millisecond.
        assert_eq!(a.intersect(Interval::new(10, 20)), None);
        assert_eq!(a.intersect(Interval::new(-5, 0)), None);
    }

    #[test]
    fn normalize_sorts_merges_and_drops_empties() {
        let input = spans(&[(30, 40), (5, 5), (0, 10), (10, 12), (8, 11), (50, 45), (35, 60), (70, 80)]);
        // [0,10) [10,12) [8,11) merge (touching counts); [30,40) [35,60) merge; the empty ones go.
        assert_eq!(normalize(input), spans(&[(0, 12), (30, 60), (70, 80)]));
        assert_eq!(normalize(Vec::new()), Vec::new());
    }

    #[test]
    fn subtract_cuts_holes_and_edges() {
        let a = spans(&[(0, 100), (200, 300), (400, 500)]);
        let b = spans(&[(-10, 10), (50, 60), (90, 210), (250, 260), (450, 600)]);
        // [0,100) loses [0,10) [50,60) [90,100); [200,300) loses [200,210) [250,260); [400,500) loses [450,500).
        let expected = spans(&[(10, 50), (60, 90), (210, 250), (260, 300), (400, 450)]);
        assert_eq!(subtract(&a, &b), expected);
        assert_eq!(subtract(&a, &[]), a);
        assert_eq!(subtract(&[], &b), Vec::new());
        // A cut covering everything leaves nothing.
        assert_eq!(subtract(&a, &spans(&[(-1, 1000)])), Vec::new());
    }

    #[test]
    fn overlap_sums_the_intersection() {
        let a = spans(&[(0, 100), (200, 300)]);
        let b = spans(&[(50, 250), (290, 400)]);
        // [50,100) + [200,250) + [290,300) = 50 + 50 + 10.
        assert_eq!(overlap_ms(&a, &b), 110);
        assert_eq!(overlap_ms(&b, &a), 110);
        assert_eq!(overlap_ms(&a, &spans(&[(100, 200)])), 0);
        // One long span against many short ones.
        let many: Vec<_> = (0..10).map(|i| Interval::new(i * 20, i * 20 + 5)).collect();
        assert_eq!(overlap_ms(&[Interval::new(0, 1000)], &many), 50);
    }

    #[test]
    fn clip_and_total() {
        let list = spans(&[(0, 100), (200, 300), (400, 500)]);
        let clipped = clip(&list, Interval::new(50, 450));
        assert_eq!(clipped, spans(&[(50, 100), (200, 300), (400, 450)]));
        assert_eq!(total_ms(&clipped), 50 + 100 + 50);
        assert_eq!(clip(&list, Interval::new(100, 200)), Vec::new());
        assert_eq!(total_ms(&list), 300);
    }
}
