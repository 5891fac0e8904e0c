//! `|base64offset` written out as the three substrings Sigma defines, before a rule is
//! compiled.
//!
//! A value base64-encoded at an unknown offset within a longer text shows up as one of
//! three strings; each drops the leading characters that depend on the bytes before it
//! and the trailing ones that depend on the bytes after it (pySigma's definition). The
//! evaluator we compile with keeps the trailing partial character, which depends on what
//! follows, so `aHR0cDovL3g` (`http://x`) would not contain its pattern for `http://`:
//! the rewrite here makes the rule mean what Sigma says.

use base64::{Engine, engine::general_purpose::STANDARD};
use rsigma_parser::{Detection, DetectionItem, Modifier, SigmaRule, SigmaString, SigmaValue};

/// Why a `|base64offset` value cannot be written out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Base64OffsetError {
    /// A wildcard has no base64 form.
    #[error("field {field:?}: |base64offset cannot encode a value with wildcards ({value:?})")]
    Wildcard {
        /// The field.
        field: String,
        /// The value as written.
        value: String,
    },
    /// Sigma defines `|base64offset` only with `|contains`.
    #[error("field {field:?}: |base64offset needs |contains")]
    NotContains {
        /// The field.
        field: String,
    },
}

/// Rewrites every `|base64offset` item of a rule into `|contains` of its three patterns.
pub fn rewrite(rule: &mut SigmaRule) -> Result<(), Base64OffsetError> {
    for detection in rule.detection.named.values_mut() {
        rewrite_detection(detection)?;
    }
    Ok(())
}

fn rewrite_detection(detection: &mut Detection) -> Result<(), Base64OffsetError> {
    match detection {
        Detection::AllOf(items) => items.iter_mut().try_for_each(rewrite_item),
        Detection::AnyOf(detections) => detections.iter_mut().try_for_each(rewrite_detection),
        _ => Ok(()),
    }
}

fn rewrite_item(item: &mut DetectionItem) -> Result<(), Base64OffsetError> {
    let modifiers = &item.field.modifiers;
    if !modifiers.contains(&Modifier::Base64Offset) {
        return Ok(());
    }
    let field = item.field.name.clone().unwrap_or_default();
    if !modifiers.contains(&Modifier::Contains) {
        return Err(Base64OffsetError::NotContains { field });
    }
    let encoding = if modifiers.contains(&Modifier::Wide) {
        Encoding::Utf16Le
    } else if modifiers.contains(&Modifier::Utf16be) {
        Encoding::Utf16Be
    } else if modifiers.contains(&Modifier::Utf16) {
        Encoding::Utf16Bom
    } else {
        Encoding::Utf8
    };
    let mut values = Vec::new();
    for value in &item.values {
        let text = match value {
            SigmaValue::String(s) if s.is_plain() => s.as_plain().unwrap_or_default(),
            SigmaValue::String(s) => return Err(Base64OffsetError::Wildcard { field, value: s.original.clone() }),
            SigmaValue::Integer(n) => n.to_string(),
            SigmaValue::Float(f) => f.to_string(),
            SigmaValue::Bool(b) => b.to_string(),
            SigmaValue::Null => String::new(),
        };
        for pattern in patterns(&encoding.bytes(&text)) {
            values.push(SigmaValue::String(SigmaString::from_raw(&pattern)));
        }
    }
    item.values = values;
    item.field.modifiers.retain(|m| {
        !matches!(m, Modifier::Base64Offset | Modifier::Wide | Modifier::Utf16be | Modifier::Utf16 | Modifier::Cased)
    });
    item.field.modifiers.push(Modifier::Cased);
    Ok(())
}

/// How the text is turned into bytes before encoding.
enum Encoding {
    Utf8,
    Utf16Le,
    Utf16Be,
    Utf16Bom,
}

impl Encoding {
    fn bytes(&self, text: &str) -> Vec<u8> {
        match self {
            Encoding::Utf8 => text.as_bytes().to_vec(),
            Encoding::Utf16Le => text.encode_utf16().flat_map(u16::to_le_bytes).collect(),
            Encoding::Utf16Be => text.encode_utf16().flat_map(u16::to_be_bytes).collect(),
            Encoding::Utf16Bom => {
                [0xFF, 0xFE].into_iter().chain(text.encode_utf16().flat_map(u16::to_le_bytes)).collect()
            }
        }
    }
}

/// The three strings a value shows up as when base64-encoded at offsets 0, 1 and 2.
pub fn patterns(value: &[u8]) -> Vec<String> {
    const START: [usize; 3] = [0, 2, 3];
    const END: [usize; 3] = [0, 3, 2];
    (0..3)
        .filter_map(|offset| {
            let mut padded = vec![b' '; offset];
            padded.extend_from_slice(value);
            let encoded = STANDARD.encode(&padded);
            let end = encoded.len() - END[(value.len() + offset) % 3];
            (START[offset] < end).then(|| encoded[START[offset]..end].to_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_patterns_are_pysigmas() {
        // pySigma: SigmaBase64OffsetModifier on "http://".
        assert_eq!(patterns(b"http://"), ["aHR0cDovL", "h0dHA6Ly", "odHRwOi8v"]);
    }

    #[test]
    fn every_pattern_is_found_in_the_value_encoded_at_any_offset_with_anything_after() {
        let value = b"Invoke-Mimikatz";
        for before in 0..6 {
            for after in 0..4 {
                let mut text = vec![b'x'; before];
                text.extend_from_slice(value);
                text.extend(std::iter::repeat_n(b'q', after));
                let encoded = STANDARD.encode(&text);
                assert!(
                    patterns(value).iter().any(|p| encoded.contains(p.as_str())),
                    "{before} before, {after} after: {encoded}"
                );
            }
        }
    }
}
