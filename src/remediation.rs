//! Remediation commands that are safe to paste into a POSIX shell (bash, zsh, sh).
//!
//! A policy's remediation templates are `az` command lines with placeholders (`{name}`,
//! `{resource_group}`, …). Every value put into a placeholder comes from Azure, and a VM named
//! `vm$(touch /tmp/x)` must not become a command. Two rules apply to every value:
//!
//! - **Quoted.** Each value is quoted for a POSIX shell with `shlex::try_quote`, which quotes
//!   only when the shell would otherwise read something into it (plain names such as `vm-web-01`
//!   stay as they are; `rg(prod)` becomes `'rg(prod)'`). Templates are POSIX shell; scready emits
//!   no PowerShell command lines (the PowerShell of `windows-sac-helper` is a fixed script
//!   inside a quoted `az` argument, with no placeholder).
//! - **Withheld when Azure would not allow the value.** A value holding a character that no name
//!   of its kind can hold in Azure, or longer than Azure allows, is not put into a command at
//!   all: the remediation becomes one comment line, `# withheld: the VM name "…" contains
//!   characters Azure does not allow (…); review by hand`, which a shell does not run.
//!   The characters kept are a deliberate superset of Azure's naming rules ("Naming rules and
//!   restrictions for Azure resources", Microsoft Learn: VM and scale-set names "can't use
//!   spaces, control characters, or these characters: ~ ! @ # $ % ^ & * ( ) = + _ [ ] { } \ | ;
//!   : . ' \" , < > / ?" in the host name, while "the actual resource name can have up to 64
//!   characters"; resource groups, 1-90 characters of "underscores, hyphens, periods,
//!   parentheses, and letters or digits as defined by the Char.IsLetterOrDigit function";
//!   storage accounts, "lowercase letters and numbers"), so that no real resource's command is
//!   withheld: letters and digits of any script, `-`, `_`, `.`, `(` and `)`, at most 90
//!   characters for a name, plus `/` in resource ids and `:` `/` in storage URIs; GUIDs hold
//!   hexadecimal digits and `-` only.

use std::borrow::Cow;

/// The assignee of an access remediation when no principal was audited: scready's own marker,
/// quoted like any value, for the reader to replace.
pub const NO_PRINCIPAL: &str = "<principal-object-id>";

/// What a placeholder holds, and what Azure allows in it.
struct Rule {
    /// How the withheld marker names it.
    what: &'static str,
    /// Characters allowed besides letters, digits, `-`, `_`, `.`, `(` and `)`.
    extra: &'static str,
    /// Most characters allowed.
    max_chars: usize,
    /// Only hexadecimal digits and `-` (GUIDs).
    guid: bool,
}

const fn rule(what: &'static str, extra: &'static str, max_chars: usize) -> Rule {
    Rule {
        what,
        extra,
        max_chars,
        guid: false,
    }
}

fn rule_of(key: &str) -> Rule {
    match key {
        "name" => rule("VM name", "", 90),
        "scale_set" => rule("scale set name", "", 90),
        "resource_group" | "storage_resource_group" => rule("resource group name", "", 90),
        "instance_id" => rule("instance id", "", 90),
        "location" => rule("location", "", 90),
        // An account that was not found is named by its blob host (`host:port` in custom clouds).
        "storage_account" => rule("storage account name", ":", 260),
        "storage_uri_https" => rule("storage URI", ":/", 1024),
        "resource_id" => rule("resource id", "/", 1024),
        "subscription_id" => Rule {
            guid: true,
            ..rule("subscription id", "", 36)
        },
        "principal_id" => Rule {
            guid: true,
            ..rule("principal id", "", 36)
        },
        _ => rule("value", "", 90),
    }
}

fn allowed(rule: &Rule, c: char) -> bool {
    if rule.guid {
        c.is_ascii_hexdigit() || c == '-'
    } else {
        c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '(' | ')') || rule.extra.contains(c)
    }
}

/// The marker line of a withheld command.
fn withheld(rule: &Rule, value: &str, why: &str) -> String {
    let shown: String = value.chars().take(64).collect();
    let more = if value.chars().nth(64).is_some() {
        "…"
    } else {
        ""
    };
    format!(
        "# withheld: the {} \"{}{more}\" {why}; review by hand",
        rule.what,
        crate::text::display_safe(&shown)
    )
}

/// A placeholder's value as it goes into a command: quoted for a POSIX shell when it needs
/// quotes, or `Err` with the marker line that replaces the whole command when Azure would not
/// allow the value.
pub fn shell_value<'v>(key: &str, value: &'v str) -> Result<Cow<'v, str>, String> {
    let rule = rule_of(key);
    if key == "principal_id" && value == NO_PRINCIPAL {
        return Ok(shlex::try_quote(value).expect("no NUL in the marker"));
    }
    if value.is_empty() {
        return Err(withheld(&rule, value, "is empty"));
    }
    let mut bad: Vec<char> = Vec::new();
    for c in value.chars().filter(|&c| !allowed(&rule, c)) {
        if !bad.contains(&c) {
            bad.push(c);
        }
    }
    if !bad.is_empty() {
        let listed: Vec<String> = bad
            .iter()
            .take(8)
            .map(|&c| match c {
                ' ' => "space".to_string(),
                c => crate::text::display_safe(&c.to_string()).into_owned(),
            })
            .collect();
        let more = if bad.len() > 8 { ", …" } else { "" };
        return Err(withheld(
            &rule,
            value,
            &format!(
                "contains characters Azure does not allow ({}{more})",
                listed.join(", ")
            ),
        ));
    }
    let chars = value.chars().count();
    if chars > rule.max_chars {
        return Err(withheld(
            &rule,
            value,
            &format!(
                "is longer than Azure allows ({chars} characters, at most {})",
                rule.max_chars
            ),
        ));
    }
    // No NUL can get here: it is not an allowed character.
    shlex::try_quote(value).map_err(|e| withheld(&rule, value, &e.to_string()))
}

/// Where a template puts a placeholder into shell quotes (or right after `$`), which would
/// change what a quoted value means: the first such placeholder, if any. Placeholders go in
/// unquoted (scready quotes their values), also inside `"$( … )"`.
pub fn misplaced_placeholder(template: &str) -> Option<&str> {
    #[derive(Clone, Copy, PartialEq)]
    enum Ctx {
        Plain,
        Single,
        Double,
        Substitution,
    }
    let bytes = template.as_bytes();
    let mut stack = vec![Ctx::Plain];
    let mut i = 0;
    while i < bytes.len() {
        let top = *stack.last().unwrap_or(&Ctx::Plain);
        let b = bytes[i];
        match (top, b) {
            (_, b'{') => {
                let end = template[i..].find('}').map(|e| i + e)?;
                let quoted = matches!(top, Ctx::Single | Ctx::Double);
                let after_dollar = i > 0 && bytes[i - 1] == b'$';
                if quoted || after_dollar {
                    return Some(&template[i + 1..end]);
                }
                i = end;
            }
            (Ctx::Single, b'\'') => {
                stack.pop();
            }
            (Ctx::Single, _) => {}
            (_, b'\\') => i += 1,
            (_, b'$') if bytes.get(i + 1) == Some(&b'(') => {
                stack.push(Ctx::Substitution);
                i += 1;
            }
            (Ctx::Double, b'"') => {
                stack.pop();
            }
            (Ctx::Substitution, b')') => {
                stack.pop();
            }
            (Ctx::Plain | Ctx::Substitution, b'\'') => stack.push(Ctx::Single),
            (Ctx::Plain | Ctx::Substitution, b'"') => stack.push(Ctx::Double),
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_values_stay_readable_and_others_are_quoted() {
        assert_eq!(shell_value("name", "vm-web-01").unwrap(), "vm-web-01");
        assert!(matches!(
            shell_value("name", "vm-web-01").unwrap(),
            Cow::Borrowed(_)
        ));
        assert_eq!(shell_value("name", "vmss_0").unwrap(), "vmss_0");
        assert_eq!(
            shell_value("resource_group", "rg(prod)").unwrap(),
            "'rg(prod)'"
        );
        assert_eq!(shell_value("name", "vm-ünï").unwrap(), "'vm-ünï'");
        assert_eq!(
            shell_value(
                "resource_id",
                "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm"
            )
            .unwrap(),
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm"
        );
        assert_eq!(
            shell_value("storage_uri_https", "https://acct.blob.core.windows.net/").unwrap(),
            "https://acct.blob.core.windows.net/"
        );
        assert_eq!(
            shell_value("principal_id", NO_PRINCIPAL).unwrap(),
            "'<principal-object-id>'"
        );
        assert_eq!(
            shell_value("subscription_id", "22222222-0000-4000-8000-000000000001").unwrap(),
            "22222222-0000-4000-8000-000000000001"
        );
    }

    #[test]
    fn values_azure_does_not_allow_withhold_the_command() {
        for (key, value) in [
            ("name", "vm$(touch /tmp/x)"),
            ("name", "vm;touch /tmp/y"),
            ("name", "vm'quote"),
            ("name", "vm name"),
            ("name", "vm`id`"),
            ("name", "vm\nrm -rf ~"),
            ("name", "vm\u{202e}exe"),
            ("name", "-2+3"),
            ("resource_group", "rg&&x"),
            ("subscription_id", "not-a-guid!"),
            ("principal_id", "<someone>"),
            ("name", ""),
        ] {
            let e = shell_value(key, value).unwrap_err();
            assert!(e.starts_with("# withheld: the "), "{e}");
            assert!(e.ends_with("; review by hand"), "{e}");
            assert!(!e.contains('\n') && !e.contains('\r'), "{e:?}");
        }
        let e = shell_value("name", "vm$(touch /tmp/x)").unwrap_err();
        assert_eq!(
            e,
            "# withheld: the VM name \"vm$(touch /tmp/x)\" contains characters Azure does not allow ($, space, /); review by hand"
        );
        let e = shell_value("name", "vm\nx").unwrap_err();
        assert!(e.contains("\"vm\\nx\"") && e.contains("(\\n)"), "{e}");
        let e = shell_value("name", &"a".repeat(1_000_000)).unwrap_err();
        assert!(e.contains("longer than Azure allows (1000000 characters, at most 90)"));
        assert!(e.len() < 200, "{e}");
    }

    #[test]
    fn placeholders_in_quotes_are_found() {
        assert_eq!(misplaced_placeholder("az vm start --name {name}"), None);
        assert_eq!(
            misplaced_placeholder("--ids /subscriptions/{subscription_id}/providers/x"),
            None
        );
        assert_eq!(
            misplaced_placeholder(
                "--scope \"$(az vmss show --name {scale_set} --query id --output tsv)\""
            ),
            None
        );
        assert_eq!(
            misplaced_placeholder("--scripts \"Set-Service -Name sacsvr\" --name {name}"),
            None
        );
        assert_eq!(misplaced_placeholder("--name \"{name}\""), Some("name"));
        assert_eq!(misplaced_placeholder("--name '{name}'"), Some("name"));
        assert_eq!(misplaced_placeholder("--name ${name}"), Some("name"));
        assert_eq!(
            misplaced_placeholder("--scope \"$(echo \"{resource_id}\")\""),
            Some("resource_id")
        );
    }
}
