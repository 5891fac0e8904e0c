//! `{name}` placeholders in messages: finding them and filling them in.

/// A piece of a message: literal text, or a placeholder's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Segment<'a> {
    /// Text shown as it is.
    Text(&'a str),
    /// `{name}`: the name, without braces.
    Placeholder(&'a str),
}

/// The pieces of a message in order. A placeholder is `{` followed by one or more ASCII
/// letters, digits or `_`, then `}`; any other brace is literal text.
pub(super) fn segments(message: &str) -> impl Iterator<Item = Segment<'_>> {
    let mut rest = message;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        if let Some((name, after)) = leading_placeholder(rest) {
            rest = after;
            return Some(Segment::Placeholder(name));
        }
        let first = rest.chars().next().map_or(0, char::len_utf8);
        let end = rest[first..].find('{').map_or(rest.len(), |i| i + first);
        let (text, after) = rest.split_at(end);
        rest = after;
        Some(Segment::Text(text))
    })
}

/// The message with each placeholder named in `args` replaced by its value; placeholders
/// without a value stay as they are, so a missing argument shows rather than vanishes.
pub(super) fn fill(message: &str, args: &[(&str, &str)]) -> String {
    let mut filled = String::with_capacity(message.len());
    for segment in segments(message) {
        match segment {
            Segment::Text(text) => filled.push_str(text),
            Segment::Placeholder(name) => match args.iter().find(|(arg, _)| *arg == name) {
                Some((_, value)) => filled.push_str(value),
                None => {
                    filled.push('{');
                    filled.push_str(name);
                    filled.push('}');
                }
            },
        }
    }
    filled
}

/// `Some((name, rest))` when `text` starts with a placeholder.
fn leading_placeholder(text: &str) -> Option<(&str, &str)> {
    let inner = text.strip_prefix('{')?;
    let end = inner.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))?;
    let rest = inner[end..].strip_prefix('}')?;
    (end > 0).then_some((&inner[..end], rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(message: &str) -> Vec<&str> {
        segments(message)
            .filter_map(|segment| match segment {
                Segment::Placeholder(name) => Some(name),
                Segment::Text(_) => None,
            })
            .collect()
    }

    #[test]
    fn finds_placeholders() {
        assert_eq!(names("wait {seconds} s"), ["seconds"]);
        assert_eq!(names("{a}{b_2} and {a}"), ["a", "b_2", "a"]);
        assert!(names("no placeholders").is_empty());
        assert!(names("{} { x} {x-y} {unclosed").is_empty());
        assert!(names("").is_empty());
    }

    #[test]
    fn segments_rebuild_the_message() {
        let message = "{{x}} costs {price} € {no";
        let rebuilt: String = segments(message)
            .map(|segment| match segment {
                Segment::Text(text) => text.to_string(),
                Segment::Placeholder(name) => format!("{{{name}}}"),
            })
            .collect();
        assert_eq!(rebuilt, message);
    }

    #[test]
    fn fills_named_values() {
        assert_eq!(fill("wait {seconds} s", &[("seconds", "30")]), "wait 30 s");
        assert_eq!(fill("{a}+{a}={b}", &[("a", "1"), ("b", "2")]), "1+1=2");
        assert_eq!(fill("Ā {name} ž", &[("name", "Jānis")]), "Ā Jānis ž");
    }

    #[test]
    fn leaves_unknown_placeholders_and_ignores_extra_values() {
        assert_eq!(fill("ref {reference}", &[]), "ref {reference}");
        assert_eq!(fill("plain", &[("unused", "x")]), "plain");
        assert_eq!(fill("{ not a placeholder }", &[]), "{ not a placeholder }");
    }
}
