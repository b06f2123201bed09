//! Parsing of user-written files (fleets, faults, policies, inventories) with errors that name
//! the file, the line and column, and the field path; and the bounds on every local file
//! scready reads: a regular file only (a FIFO, a device, a socket or a directory is refused, so
//! that nothing can block a scan or feed it without end), and a size limit per kind of file.

use serde::de::DeserializeOwned;
use std::path::Path;

/// The largest policy file (`--policy`).
pub const MAX_POLICY_BYTES: u64 = 1 << 20;
/// The largest CA certificate file (`--ca-cert`; Mozilla's whole root bundle is about 200 KB).
pub const MAX_CA_CERT_BYTES: u64 = 1 << 20;
/// The largest principals file (`--principals`).
pub const MAX_PRINCIPALS_BYTES: u64 = 16 << 20;
/// The most principals a `--principals` file may name.
pub const MAX_PRINCIPALS: usize = 100_000;
/// The largest `--subscriptions-file`.
pub const MAX_SUBSCRIPTIONS_FILE_BYTES: u64 = 16 << 20;
/// The largest inventory or `report.json` that `scready evaluate` reads (a schema-1 report of
/// 100,000 instances is several hundred MB; schema 2, about 22 MB).
pub const MAX_INVENTORY_BYTES: u64 = 1 << 30;
/// The largest fleet file `scready sim serve --fleet` reads.
pub const MAX_FLEET_BYTES: u64 = 1 << 30;
/// The largest faults or mix file of the simulator (`--faults`, `--mix`).
pub const MAX_SIM_CONFIG_BYTES: u64 = 16 << 20;

/// `1048576` → `1 MiB`, `5000` → `5,000 bytes`.
pub fn show_size(n: u64) -> String {
    if n >= 1 << 20 && n % (1 << 20) == 0 {
        let mib = n >> 20;
        if mib >= 1024 && mib % 1024 == 0 {
            format!("{} GiB", mib / 1024)
        } else {
            format!("{mib} MiB")
        }
    } else {
        let digits = n.to_string();
        let mut out = String::new();
        for (i, d) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(d);
        }
        format!("{out} bytes")
    }
}

/// What a path names, when it is not a regular file.
fn special_kind(meta: &std::fs::Metadata) -> Option<&'static str> {
    let t = meta.file_type();
    if t.is_file() {
        return None;
    }
    if t.is_dir() {
        return Some("a directory");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return Some("a FIFO (named pipe)");
        }
        if t.is_char_device() {
            return Some("a character device");
        }
        if t.is_block_device() {
            return Some("a block device");
        }
        if t.is_socket() {
            return Some("a socket");
        }
    }
    Some("not a regular file")
}

/// What a local path must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// A regular file, or nothing yet (it will be created).
    FileOrAbsent,
    /// A directory, or nothing yet (it will be created).
    DirectoryOrAbsent,
}

/// Refuses a path (following symbolic links) that is a FIFO, a device or a socket, or a file
/// where a directory is expected and the other way round; a path that does not exist passes.
/// `flag` names the option in the message (`--history`).
pub fn refuse_special(path: &Path, flag: &str, expect: Expect) -> Result<(), String> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("{flag} {}: {e}", path.display())),
    };
    let kind = special_kind(&meta);
    match (expect, kind) {
        (Expect::FileOrAbsent, None) => Ok(()),
        (Expect::DirectoryOrAbsent, Some("a directory")) => Ok(()),
        (Expect::FileOrAbsent, Some(k)) => Err(format!(
            "{flag} {}: is {k}, not a regular file",
            path.display()
        )),
        (Expect::DirectoryOrAbsent, k) => Err(format!(
            "{flag} {}: is {}, not a directory",
            path.display(),
            k.unwrap_or("a regular file")
        )),
    }
}

/// Reads a local file of at most `limit` bytes: refused without blocking when it is a FIFO, a
/// device, a socket or a directory (it is opened non-blocking and checked once open, so a path
/// swapped for a FIFO in between cannot block either), and refused when it is larger than the
/// limit (checked before reading, and again while reading, for a file that grows). `flag` names
/// the option in messages (`--policy`).
pub fn read_local(path: &Path, flag: &str, limit: u64) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let shown = || format!("{flag} {}", path.display());
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options
        .open(path)
        .map_err(|e| format!("{}: {e}", shown()))?;
    let meta = file.metadata().map_err(|e| format!("{}: {e}", shown()))?;
    if let Some(kind) = special_kind(&meta) {
        return Err(format!("{}: is {kind}, not a regular file", shown()));
    }
    let too_large = |size: &str| {
        format!(
            "{}: {size} is too large (the limit for {flag} is {})",
            shown(),
            show_size(limit)
        )
    };
    if meta.len() > limit {
        return Err(too_large(&show_size(meta.len())));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("{}: {e}", shown()))?;
    if bytes.len() as u64 > limit {
        return Err(too_large("the file (it grew while read)"));
    }
    Ok(bytes)
}

/// [`read_local`] as UTF-8 text.
pub fn read_local_text(path: &Path, flag: &str, limit: u64) -> Result<String, String> {
    let bytes = read_local(path, flag, limit)?;
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "{flag} {}: not UTF-8 text (invalid byte at offset {})",
            path.display(),
            e.utf8_error().valid_up_to()
        )
    })
}

/// A file that does not parse, or has a field of the wrong shape. Its text quotes the file's
/// content (keys, values), so it is shown with control characters escaped.
#[derive(Clone, Debug, PartialEq, Eq)]
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

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::text::display_safe as safe;
        write!(
            f,
            "{}:{}:{}: {}: {}",
            safe(&self.path),
            self.line,
            self.column,
            safe(&self.field),
            safe(&crate::text::bound(&self.message))
        )
    }
}

impl std::error::Error for FileError {}

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
    fn local_files_are_bounded_and_only_regular_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("p.toml");
        std::fs::write(&f, "x".repeat(100)).unwrap();
        assert_eq!(read_local(&f, "--policy", 100).unwrap().len(), 100);
        let e = read_local(&f, "--policy", 99).unwrap_err();
        assert!(
            e.contains("p.toml") && e.contains("100 bytes is too large") && e.contains("99 bytes"),
            "{e}"
        );
        let e = read_local(dir.path(), "--policy", 99).unwrap_err();
        assert!(e.contains("is a directory"), "{e}");
        let e = read_local(Path::new("/dev/zero"), "--ca-cert", 1 << 20).unwrap_err();
        assert!(
            e.starts_with("--ca-cert /dev/zero: is a character device"),
            "{e}"
        );
        assert!(refuse_special(&dir.path().join("new"), "--history", Expect::FileOrAbsent).is_ok());
        assert!(refuse_special(&f, "--history", Expect::FileOrAbsent).is_ok());
        assert!(refuse_special(dir.path(), "--out", Expect::DirectoryOrAbsent).is_ok());
        let e = refuse_special(&f, "--out", Expect::DirectoryOrAbsent).unwrap_err();
        assert!(e.contains("is a regular file, not a directory"), "{e}");
        let e =
            refuse_special(Path::new("/dev/null"), "--history", Expect::FileOrAbsent).unwrap_err();
        assert!(e.contains("character device"), "{e}");
        assert_eq!(show_size(1 << 20), "1 MiB");
        assert_eq!(show_size(1 << 30), "1 GiB");
        assert_eq!(show_size(12_345), "12,345 bytes");
    }

    #[test]
    fn line_col_counts_from_one() {
        assert_eq!(line_col("ab\ncd", 0), (1, 1));
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
    }
}
