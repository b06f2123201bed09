//! Reading the simulator's own input files (fleets, mixes, fault files): TOML or JSON, with
//! errors that name the file, the 1-based line and column, and the path of the offending field.

use serde::de::DeserializeOwned;

/// A file that does not parse, or has a field of the wrong shape.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path}:{line}:{column}: {field}: {message}")]
pub struct FileError {
    /// The file (or another label for where the text came from).
    pub path: String,
    /// 1-based line; 0 when the parser gave no position.
    pub line: usize,
    /// 1-based column; 0 when the parser gave no position.
    pub column: usize,
    /// Where in the document, e.g. `subscriptions[0].vms[3].power_state`; `.` for the whole file.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

/// Deserialises TOML text; the error names the position and field of the first problem.
pub fn from_toml<T: DeserializeOwned>(text: &str, origin: &str) -> Result<T, FileError> {
    let document = toml::Deserializer::parse(text)
        .map_err(|e| toml_problem(text, origin, ".".to_string(), e))?;
    serde_path_to_error::deserialize(document).map_err(|e| {
        // Spanned values carry a private wrapper field that is no part of the user's path.
        let field = e
            .path()
            .to_string()
            .replace("$__serde_spanned_private_value.", "")
            .replace(".$__serde_spanned_private_value", "");
        toml_problem(text, origin, field, e.into_inner())
    })
}

/// Deserialises JSON text (and nothing after it); the error names the position and field.
pub fn from_json<T: DeserializeOwned>(text: &str, origin: &str) -> Result<T, FileError> {
    let mut reader = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut reader).map_err(|e| {
        let field = e.path().to_string();
        json_problem(origin, field, e.into_inner())
    })?;
    reader
        .end()
        .map_err(|e| json_problem(origin, ".".to_string(), e))?;
    Ok(value)
}

fn json_problem(origin: &str, field: String, e: serde_json::Error) -> FileError {
    let text = e.to_string();
    // serde_json appends " at line L column C"; the position has its own fields.
    let message = match text.rfind(" at line ") {
        Some(at) => text[..at].to_string(),
        None => text,
    };
    FileError {
        path: origin.to_string(),
        line: e.line(),
        column: e.column(),
        field,
        message,
    }
}

fn toml_problem(text: &str, origin: &str, field: String, e: toml::de::Error) -> FileError {
    let (line, column) = match e.span() {
        Some(span) => position(text, span.start),
        None => (0, 0),
    };
    FileError {
        path: origin.to_string(),
        line,
        column,
        field,
        message: e.message().trim_end().to_string(),
    }
}

/// The 1-based (line, column) of byte `offset` in `text` (clamped to the text).
pub fn position(text: &str, offset: usize) -> (usize, usize) {
    let mut at = offset.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let before = &text[..at];
    let line = 1 + before.matches('\n').count();
    let line_start = before.rfind('\n').map_or(0, |nl| nl + 1);
    (line, at - line_start + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Doc {
        items: Vec<Item>,
    }

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Item {
        n: u32,
    }

    #[test]
    fn toml_errors_name_line_column_and_field() {
        let err =
            from_toml::<Doc>("[[items]]\nn = 1\n[[items]]\nn = \"x\"\n", "f.toml").unwrap_err();
        assert_eq!((err.line, err.column), (4, 5));
        assert_eq!(err.field, "items[1].n");
        assert!(
            err.to_string().starts_with("f.toml:4:5: items[1].n:"),
            "{err}"
        );
    }

    #[test]
    fn json_errors_name_line_and_field_and_reject_trailing_text() {
        let err =
            from_json::<Doc>("{\"items\": [\n {\"n\": 1},\n {\"m\": 2}]}", "f.json").unwrap_err();
        assert_eq!(err.line, 3);
        assert_eq!(err.field, "items[1].m");
        assert!(from_json::<Doc>("{\"items\": []} x", "f.json").is_err());
    }

    #[test]
    fn positions_count_from_one() {
        assert_eq!(position("ab\ncd", 0), (1, 1));
        assert_eq!(position("ab\ncd", 4), (2, 2));
        assert_eq!(position("é\nx", 1), (1, 1));
    }
}
