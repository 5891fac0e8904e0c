//! Reading the rendered form as a browser would, for the tests: its tags, and the pairs it
//! submits.

/// A start or end tag of the rendered page.
#[derive(Debug)]
pub(super) struct Tag {
    /// The element's name, with a leading `/` for an end tag.
    pub name: String,
    /// The attributes, values unescaped (`None` for a bare attribute such as `checked`).
    pub attributes: Vec<(String, Option<String>)>,
    /// Where the tag ends in the page.
    pub end: usize,
}

impl Tag {
    /// The value of attribute `name`, `Some("")` for a bare one.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.attributes.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_deref().unwrap_or(""))
    }

    /// Whether the tag has attribute `name`.
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Whether the tag is a control that a label must name (not a hidden input).
    pub fn is_labelled_control(&self) -> bool {
        matches!(self.name.as_str(), "select" | "textarea")
            || (self.name == "input" && self.get("type") != Some("hidden"))
    }
}

/// Undoes tera's HTML escaping.
pub(super) fn unescape(text: &str) -> String {
    let entities = [("&lt;", "<"), ("&gt;", ">"), ("&quot;", "\""), ("&#x27;", "'"), ("&#x2F;", "/"), ("&amp;", "&")];
    entities.iter().fold(text.to_owned(), |text, (entity, plain)| text.replace(entity, plain))
}

/// The tags of `html`, in order; comments and doctypes are skipped.
pub(super) fn tags(html: &str) -> Vec<Tag> {
    let mut tags = Vec::new();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        let offset = html.len() - rest.len() + open;
        let close = html[offset..].find('>').expect("an unclosed tag") + offset;
        let inside = &html[offset + 1..close];
        rest = &html[close + 1..];
        if inside.starts_with('!') {
            continue;
        }
        let name_end = inside.find(|c: char| c.is_whitespace()).unwrap_or(inside.len());
        tags.push(Tag {
            name: inside[..name_end].to_owned(),
            attributes: attributes(&inside[name_end..]),
            end: close + 1,
        });
    }
    tags
}

/// Reads `name="value"` and bare attributes.
fn attributes(mut text: &str) -> Vec<(String, Option<String>)> {
    let mut attributes = Vec::new();
    loop {
        text = text.trim_start();
        if text.is_empty() {
            return attributes;
        }
        let name_end = text.find(|c: char| c.is_whitespace() || c == '=').unwrap_or(text.len());
        let name = text[..name_end].to_owned();
        text = &text[name_end..];
        match text.strip_prefix("=\"") {
            Some(quoted) => {
                let value_end = quoted.find('"').expect("an unclosed attribute value");
                attributes.push((name, Some(unescape(&quoted[..value_end]))));
                text = &quoted[value_end + 1..];
            }
            None => attributes.push((name, None)),
        }
    }
}

/// The pairs a browser sends for the form in `html`: enabled controls with a name, ticked
/// boxes, the selected option (or the first), text areas with their line breaks as CRLF.
pub(super) fn submit(html: &str) -> Vec<(String, String)> {
    let tags = tags(html);
    let mut pairs = Vec::new();
    for (index, tag) in tags.iter().enumerate() {
        let Some(name) = tag.get("name").map(str::to_owned) else { continue };
        if tag.has("disabled") {
            continue;
        }
        match tag.name.as_str() {
            "input" => {
                let toggled = matches!(tag.get("type"), Some("checkbox" | "radio"));
                if !toggled || tag.has("checked") {
                    let value = tag.get("value").unwrap_or(if toggled { "on" } else { "" });
                    pairs.push((name, value.to_owned()));
                }
            }
            "textarea" => {
                let content = &html[tag.end..tags[index + 1].end - "</textarea>".len()];
                pairs.push((name, unescape(content).replace('\n', "\r\n")));
            }
            "select" => {
                let options: Vec<&Tag> = tags[index + 1..]
                    .iter()
                    .take_while(|tag| tag.name != "/select")
                    .filter(|tag| tag.name == "option")
                    .collect();
                let chosen = options.iter().find(|option| option.has("selected")).or(options.first());
                pairs.push((name, chosen.and_then(|option| option.get("value")).unwrap_or_default().to_owned()));
            }
            _ => {}
        }
    }
    pairs
}
