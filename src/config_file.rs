//! Parsing of user-written files (fleets, faults, policies, inventories) with errors that name
//! the file, the line and column, and the field path.

use serde::de::DeserializeOwned;

/// A file that does not parse, or has a field of the wrong shape.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path}:{line}:{column}: {field}: {message}")]
pub struct FileError {
    /// The file (or another origin label).
    pub path: String,
    /// 1-based line (0 when unknown).
    pub line: usize,
    /// 1-based column (0 when unknown).
    pub column: usize,
    /// The field path, e.g. `subscriptions[0].vms[3].power_state` (`.` for the whole file).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

/// Deserialises TOML text, naming the position and field of the first error.
pub fn from_toml<T: DeserializeOwned>(text: &str, origin: &str) -> Result<T, FileError> {
    let de = toml::Deserializer::parse(text).map_err(|e| toml_error(text, origin, ".", e))?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        // `toml::Spanned` wraps values in a private field; it is not part of the user's path.
        let field = e
            .path()
            .to_string()
            .replace("$__serde_spanned_private_value.", "")
            .replace(".$__serde_spanned_private_value", "");
        toml_error(text, origin, &field, e.into_inner())
    })
}

/// Deserialises JSON text, naming the position and field of the first error.
pub fn from_json<T: DeserializeOwned>(text: &str, origin: &str) -> Result<T, FileError> {
    let de = &mut serde_json::Deserializer::from_str(text);
    let value: T = serde_path_to_error::deserialize(&mut *de).map_err(|e| {
        let field = e.path().to_string();
        let inner = e.into_inner();
        FileError {
            path: origin.to_string(),
            line: inner.line(),
            column: inner.column(),
            field,
            message: strip_position(&inner.to_string()),
        }
    })?;
    de.end().map_err(|e| FileError {
        path: origin.to_string(),
        line: e.line(),
        column: e.column(),
        field: ".".into(),
        message: strip_position(&e.to_string()),
    })?;
    Ok(value)
}

fn toml_error(text: &str, origin: &str, field: &str, e: toml::de::Error) -> FileError {
    let (line, column) = e.span().map(|s| line_col(text, s.start)).unwrap_or((0, 0));
    FileError {
        path: origin.to_string(),
        line,
        column,
        field: field.to_string(),
        message: e.message().trim_end().to_string(),
    }
}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let column = before.rfind('\n').map_or(offset, |p| offset - p - 1) + 1;
    (line, column)
}

fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
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
    fn toml_errors_carry_line_column_and_path() {
        let err =
            from_toml::<Doc>("[[items]]\nn = 1\n[[items]]\nn = \"x\"\n", "a.toml").unwrap_err();
        assert_eq!((err.line, err.column), (4, 5));
        assert_eq!(err.field, "items[1].n");
        assert!(
            err.to_string().starts_with("a.toml:4:5: items[1].n:"),
            "{err}"
        );
    }

    #[test]
    fn json_errors_carry_line_column_and_path() {
        let err =
            from_json::<Doc>("{\"items\": [\n {\"n\": 1},\n {\"m\": 2}]}", "a.json").unwrap_err();
        assert_eq!(err.line, 3);
        assert_eq!(err.field, "items[1].m");
    }

    #[test]
    fn trailing_garbage_is_an_error() {
        assert!(from_json::<Doc>("{\"items\": []} x", "a.json").is_err());
    }

    #[test]
    fn line_col_counts_from_one() {
        assert_eq!(line_col("ab\ncd", 0), (1, 1));
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
    }
}
