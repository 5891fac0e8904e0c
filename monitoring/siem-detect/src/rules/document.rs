//! A file's YAML documents, each with the line it starts on, so that what is wrong in a
//! rule can be named by its line in the file.

use std::sync::LazyLock;

use regex::Regex;

/// One YAML document of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// Its text.
    pub text: String,
    /// The line of the file its first line is.
    pub line: usize,
}

/// `line N` in a parser's message (the YAML parser's `at line 3 column 5`).
static LINE_IN_MESSAGE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\bline (\d+)").expect("line pattern"));

/// A quoted name in a message: `Unknown modifier 'bogus'`.
static QUOTED: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"'([^']+)'").expect("quoted pattern"));

/// Cuts a file into its documents (at `---` lines); documents with nothing but comments
/// and blank lines are left out.
pub fn split(text: &str) -> Vec<Document> {
    let mut documents = Vec::new();
    let mut current = String::new();
    let mut start = 1;
    for (index, line) in text.lines().enumerate() {
        let marker = line.trim_end();
        if marker == "---" || marker.starts_with("--- ") || marker == "..." {
            push(&mut documents, std::mem::take(&mut current), start);
            start = index + 2;
            continue;
        }
        current.push_str(line);
        current.push('\n');
    }
    push(&mut documents, current, start);
    documents
}

fn push(documents: &mut Vec<Document>, text: String, line: usize) {
    let has_content = text.lines().any(|l| {
        let l = l.trim();
        !l.is_empty() && !l.starts_with('#')
    });
    if has_content {
        documents.push(Document { text, line });
    }
}

impl Document {
    /// The file line of the first line of this document that holds `needle`.
    pub fn line_of(&self, needle: &str) -> Option<usize> {
        self.text.lines().position(|l| l.contains(needle)).map(|i| self.line + i)
    }

    /// The file line an error message points at: its own `line N`, the line of a name it
    /// quotes, the condition for a detection it cannot find, or the document's first.
    pub fn line_of_error(&self, message: &str) -> usize {
        if let Some(n) = LINE_IN_MESSAGE.captures(message).and_then(|c| c[1].parse::<usize>().ok()) {
            return self.line + n.saturating_sub(1);
        }
        if (message.contains("unknown detection identifier") || message.contains("condition"))
            && let Some(line) = self.line_of("condition:")
        {
            return line;
        }
        let modifier =
            [("regex", "|re"), ("CIDR", "|cidr"), ("numeric", "|gt"), ("numeric", "|lt"), ("base64", "|base64")];
        for (word, needle) in modifier {
            if message.contains(word)
                && let Some(line) = self.line_of(needle)
            {
                return line;
            }
        }
        if let Some(name) = QUOTED.captures(message) {
            let name = &name[1];
            if let Some(line) = self.line_of(&format!("|{name}")).or_else(|| self.line_of(name)) {
                return line;
            }
        }
        self.line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_keep_the_lines_they_start_on() {
        let docs = split("# header\ntitle: a\n---\n\ntitle: b\n---\n# only a comment\n");
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].line, 1);
        assert_eq!(docs[1].line, 4);
        assert_eq!(docs[1].line_of("title: b"), Some(5));
    }

    #[test]
    fn errors_point_at_the_construct_they_name() {
        let doc = Document {
            text: "title: x\ndetection:\n  s:\n    a|bogus: 1\n  condition: s and t\n".to_owned(),
            line: 10,
        };
        assert_eq!(doc.line_of_error("Unknown modifier 'bogus'"), 13);
        assert_eq!(doc.line_of_error("unknown detection identifier: t"), 14);
        assert_eq!(doc.line_of_error("YAML parsing error: bad at line 2 column 3"), 11);
        assert_eq!(doc.line_of_error("something else"), 10);
    }
}
