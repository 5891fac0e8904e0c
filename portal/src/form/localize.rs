//! Field errors in the user's language. The schema validator and the form's parser speak
//! English; each of their message shapes has a Latvian translation here, and any other
//! message is shown as it is.

use makonis_catalog::FieldError;
use makonis_catalog::schema::Format;

use crate::i18n::Lang;

/// The message of `error` in `lang`: Latvian for every message of the schema validator and
/// of [`parse`](fn@super::parse), the message as it is otherwise.
pub fn localize(error: &FieldError, lang: Lang) -> String {
    match lang {
        Lang::En => error.message.clone(),
        Lang::Lv => latvian(&error.message).unwrap_or_else(|| error.message.clone()),
    }
}

/// The type names of the validator's `must be a(n) <type>` and their Latvian messages.
const TYPES: [(&str, &str); 6] = [
    ("an object", "jābūt objektam"),
    ("a string", "jābūt teksta virknei"),
    ("an integer", "jābūt veselam skaitlim"),
    ("a number", "jābūt skaitlim"),
    ("a boolean", "jābūt patiesuma vērtībai (true vai false)"),
    ("an array", "jābūt sarakstam"),
];

fn latvian(message: &str) -> Option<String> {
    if let Some(format) = Format::ALL.into_iter().find(|format| format.message() == message) {
        return Some(format_message(format).to_owned());
    }
    if message == "is required" {
        return Some("obligāti jāaizpilda".to_owned());
    }
    if let Some(known) = message.strip_prefix("is not a known parameter (").and_then(|rest| rest.strip_suffix(')')) {
        let known = match known.strip_prefix("known: ") {
            Some(names) => format!("zināmie: {names}"),
            None if known == "none are defined" => "parametri nav definēti".to_owned(),
            None => return None,
        };
        return Some(format!("nav zināms parametrs ({known})"));
    }
    if let Some(pair) = message.strip_prefix("items must be unique (items ").and_then(|rest| rest.strip_suffix(')')) {
        let (earlier, later) = pair.strip_suffix(" are equal")?.split_once(" and ")?;
        return Some(format!("vērtības nedrīkst atkārtoties (vienumi {earlier} un {later} ir vienādi)"));
    }
    if let Some(rest) = message.strip_prefix("must have ") {
        return counted(rest, "item", ("vienumu", "vienumus"));
    }
    if let Some(pattern) = message.strip_prefix("must match the pattern ") {
        return Some(format!("jāatbilst šablonam {pattern}"));
    }
    let rule = message.strip_prefix("must be ")?;
    if let Some(rest) = rule.strip_suffix(" long") {
        return counted(rest, "character", ("rakstzīmi", "rakstzīmes"));
    }
    if let Some((_, latvian)) = TYPES.iter().find(|(type_name, _)| *type_name == rule) {
        return Some((*latvian).to_owned());
    }
    let bounds = [
        ("one of: ", "jābūt vienai no šīm vērtībām: "),
        ("at least ", "jābūt vismaz "),
        ("at most ", "jābūt ne lielākam par "),
        ("greater than ", "jābūt lielākam par "),
        ("less than ", "jābūt mazākam par "),
    ];
    if let Some(step) = rule.strip_prefix("a multiple of ") {
        return Some(format!("jābūt skaitļa {step} daudzkārtnim"));
    }
    if let Some((prefix, latvian)) = bounds.iter().find(|(prefix, _)| rule.starts_with(prefix)) {
        return Some(format!("{latvian}{}", &rule[prefix.len()..]));
    }
    // `const`: the validator's `must be <value>`; type-like phrases of other origins are kept.
    if rule.starts_with("a ") || rule.starts_with("an ") {
        return None;
    }
    Some(format!("vērtībai jābūt {rule}"))
}

/// `at least|at most <n> <noun>[s]` in Latvian, with the accusative noun that agrees with `n`.
fn counted(rule: &str, noun: &str, (one, many): (&str, &str)) -> Option<String> {
    let (bound, rest) = if let Some(rest) = rule.strip_prefix("at least ") {
        ("vismaz", rest)
    } else {
        ("ne vairāk kā", rule.strip_prefix("at most ")?)
    };
    let (count, unit) = rest.split_once(' ')?;
    let count: u64 = count.parse().ok()?;
    if unit != noun && unit.strip_suffix('s') != Some(noun) {
        return None;
    }
    let agrees_with_one = count % 10 == 1 && count % 100 != 11;
    Some(format!("jāsatur {bound} {count} {}", if agrees_with_one { one } else { many }))
}

fn format_message(format: Format) -> &'static str {
    match format {
        Format::Email => "jābūt derīgai e-pasta adresei",
        Format::Hostname => "jābūt derīgam resursdatora nosaukumam",
        Format::Uri => "jābūt derīgam http vai https URL",
        Format::Date => "jābūt derīgam datumam (GGGG-MM-DD)",
        Format::Ipv4 => "jābūt derīgai IPv4 adresei",
        Format::DnsLabel => {
            "jābūt derīgam DNS nosaukumam (ne vairāk kā 63 mazie burti, cipari un '-', sākas un beidzas ar burtu \
             vai ciparu)"
        }
    }
}
