//! The instance data of `report.html`, carried once: one JSON document in a
//! `<script type="application/json">` element that the page's script reads and draws the
//! instance table from (only the rows on screen are ever in the DOM).
//!
//! The document is columnar (one array per field, one entry per instance, in the table's default
//! order), and every text that repeats is written once in a string table and referred to by its
//! index: resource groups, regions, power states, id prefixes, tags, messages, remediation
//! commands. A remediation names its instance; before it is put in the table, the instance's own
//! values (id, scale set, name, resource group, subscription, last id segment) are replaced by
//! markers (U+0001 … U+0006, which Azure text never reaches the page with: control characters
//! are shown as U+FFFD), so that one entry serves every instance, and the page puts the values
//! back. Check texts come from the catalogue, once per check.
//!
//! Everything is JSON-escaped so that no text can end the element: `<`, `>` and `&` are written
//! as `\u003c`, `\u003e`, `\u0026`, and U+2028/U+2029 as escapes too.

use super::{flush, FLUSH_AT};
use crate::findings::{FindingStatus, Verdict};
use crate::history::HistorySummary;
use crate::result::{is_subscription_scope, InstanceFindings, ScanResult};
use foldhash::{HashMap, HashMapExt};
use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::Write;

/// The `id` of the element holding the data.
pub const ELEMENT_ID: &str = "scready-data";

/// Version of the data document (the page's script and this writer change together).
const FORMAT_VERSION: u32 = 1;

/// Markers standing for an instance's own values in a templated text, in the order they are
/// substituted (the page puts them back in the reverse order).
const MARK_ID: char = '\u{1}';
const MARK_SCALE_SET: char = '\u{2}';
const MARK_NAME: char = '\u{3}';
const MARK_RESOURCE_GROUP: char = '\u{4}';
const MARK_SUBSCRIPTION: char = '\u{5}';
const MARK_ID_SUFFIX: char = '\u{6}';

/// What changed for an instance since the previous run (0: nothing, or no history).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Change {
    /// Not blocked before, blocked now.
    NewlyBlocked = 1,
    /// Blocked before, ready now.
    Fixed = 2,
    /// Decided before, undecided now.
    NowUnknown = 3,
    /// In this run only.
    Appeared = 4,
    /// In this run only, in a subscription the previous (partial) run could not list.
    NotSeenBefore = 5,
}

impl Change {
    /// The `#filter=change:…` spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Change::NewlyBlocked => "newly_blocked",
            Change::Fixed => "fixed",
            Change::NowUnknown => "now_unknown",
            Change::Appeared => "appeared",
            Change::NotSeenBefore => "not_seen_before",
        }
    }
}

/// Text as the page shows it, as [`super::esc`] shows it in HTML: control characters other than
/// newline and tab become U+FFFD, and the characters that change layout (bidirectional controls,
/// line and paragraph separators) are shown as visible escapes (`\u{202e}`).
pub fn clean(s: &str) -> Cow<'_, str> {
    /// The bytes named below, as a table: one load per byte instead of a chain of comparisons.
    const SUSPECT_BYTES: [bool; 256] = {
        let mut table = [false; 256];
        let mut b = 0;
        while b < 256 {
            table[b] = (b < 0x20 && b != b'\n' as usize && b != b'\t' as usize)
                || matches!(b, 0x7f | 0xc2 | 0xd8 | 0xe2);
            b += 1;
        }
        table
    };
    // Those characters are below U+0020, U+007F, U+0080..U+009F (UTF-8 lead byte 0xC2), U+061C
    // (lead byte 0xD8) or U+2000..U+2FFF (lead byte 0xE2): text without those bytes is clean as
    // it is.
    // Most text is printable ASCII: checked 32 bytes at a time without a branch per byte, which
    // the compiler turns into vector compares.
    let printable_ascii = s.as_bytes().chunks(32).all(|chunk| {
        chunk
            .iter()
            .fold(true, |ok, &b| ok & (b.wrapping_sub(0x20) < 0x5f))
    });
    if printable_ascii {
        return Cow::Borrowed(s);
    }
    let suspect = s.bytes().any(|b| SUSPECT_BYTES[b as usize]);
    let unclean =
        |c: char| (c.is_control() && c != '\n' && c != '\t') || crate::text::is_layout_control(c);
    if !suspect || !s.chars().any(unclean) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c.is_control() && c != '\n' && c != '\t' {
            out.push('\u{fffd}');
        } else if crate::text::is_layout_control(c) {
            out.push_str(&crate::text::unicode_escape(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Appends `text` as a JSON string that is safe inside a `<script>` element: besides JSON's own
/// escapes, `<`, `>`, `&`, U+2028 and U+2029 are escaped, so no text can close the element or
/// open a comment.
pub fn push_json_str(s: &mut String, text: &str) {
    s.push('"');
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let esc: Option<&str> = match b {
            b'"' => Some("\\\""),
            b'\\' => Some("\\\\"),
            b'\n' => Some("\\n"),
            b'\t' => Some("\\t"),
            b'\r' => Some("\\r"),
            b'<' => Some("\\u003c"),
            b'>' => Some("\\u003e"),
            b'&' => Some("\\u0026"),
            0xE2 if bytes.get(i + 1) == Some(&0x80)
                && matches!(bytes.get(i + 2), Some(0xA8) | Some(0xA9)) =>
            {
                Some(if bytes[i + 2] == 0xA8 {
                    "\\u2028"
                } else {
                    "\\u2029"
                })
            }
            // Bidirectional controls (U+200E/F, U+202A–E, U+2066–9) are written as escapes:
            // the data stays exact and the file holds no override that reorders what a person
            // reads in it; the page shows them as visible escapes.
            0xE2 if matches!(
                (bytes.get(i + 1), bytes.get(i + 2)),
                (Some(0x80), Some(0x8E | 0x8F | 0xAA..=0xAE)) | (Some(0x81), Some(0xA6..=0xA9))
            ) =>
            {
                let c = text[i..].chars().next().unwrap_or('\u{fffd}');
                s.push_str(&text[start..i]);
                s.push_str(&format!("\\u{:04x}", c as u32));
                i += 3;
                start = i;
                continue;
            }
            0..=0x1f => None,
            _ => {
                i += 1;
                continue;
            }
        };
        s.push_str(&text[start..i]);
        match esc {
            Some(e) => {
                s.push_str(e);
                i += if b == 0xE2 { 3 } else { 1 };
            }
            None => {
                let _ = write!(s, "\\u{:04x}", b);
                i += 1;
            }
        }
        start = i;
    }
    s.push_str(&text[start..]);
    s.push('"');
}

/// Replaces an instance's own values in `text` by their markers (longest-first order as given;
/// values shorter than two characters are left alone).
fn templatize<'t>(text: &'t str, values: &[(char, &str)]) -> Cow<'t, str> {
    let mut t = clean(text);
    let mut buf = [0u8; 4];
    for (mark, value) in values {
        if value.len() >= 2 && t.contains(value) {
            t = Cow::Owned(t.replace(value, mark.encode_utf8(&mut buf)));
        }
    }
    t
}

/// A table of distinct values, each with its index in order of first use.
struct Interner<K> {
    index: HashMap<K, u32>,
    list: Vec<K>,
}

impl<K: std::hash::Hash + Eq + Clone> Interner<K> {
    fn new() -> Self {
        Interner {
            index: HashMap::new(),
            list: Vec::new(),
        }
    }
    fn get(&mut self, key: K) -> u32 {
        if let Some(&i) = self.index.get(&key) {
            return i;
        }
        let i = self.list.len() as u32;
        self.index.insert(key.clone(), i);
        self.list.push(key);
        i
    }
}

impl Interner<String> {
    /// [`Interner::get`] without an owned key unless the value is new.
    fn get_str(&mut self, key: &str) -> u32 {
        match self.index.get(key) {
            Some(&i) => i,
            None => self.get(key.to_owned()),
        }
    }
}

/// The string table: entry 0 is the empty string.
struct Strings<'a> {
    index: HashMap<String, u32>,
    list: Vec<String>,
    /// Entries of texts that outlive the table, by address and length: the catalogue's shared
    /// texts recur on most instances, and finding them by address spares hashing and comparing
    /// them.
    lasting: HashMap<(usize, usize), u32>,
    _texts: std::marker::PhantomData<&'a str>,
}

impl<'a> Strings<'a> {
    fn new() -> Self {
        let mut s = Strings {
            index: HashMap::new(),
            list: Vec::new(),
            lasting: HashMap::new(),
            _texts: std::marker::PhantomData,
        };
        s.get("");
        s
    }
    /// The index of `text` as shown (cleaned).
    fn get(&mut self, text: &str) -> u32 {
        self.get_template(clean(text))
    }
    /// The index of a template (see [`templatize`]); one borrowed from the report is found by
    /// its address after the first time.
    fn get_templatized(&mut self, text: Cow<'a, str>) -> u32 {
        match text {
            Cow::Borrowed(t) => {
                let key = (t.as_ptr() as usize, t.len());
                if let Some(&i) = self.lasting.get(&key) {
                    return i;
                }
                let i = self.get_template(Cow::Borrowed(t));
                self.lasting.insert(key, i);
                i
            }
            owned => self.get_template(owned),
        }
    }
    /// The index of a text that is already clean, markers and all (see [`templatize`]).
    fn get_template(&mut self, text: Cow<'_, str>) -> u32 {
        if let Some(&i) = self.index.get(text.as_ref()) {
            return i;
        }
        let i = self.list.len() as u32;
        self.index.insert(text.to_string(), i);
        self.list.push(text.into_owned());
        i
    }
}

/// One instance's entries in the columns (besides its name and id suffix, which are its own).
struct Row {
    id_prefix: u32,
    subscription: u32,
    resource_group: u32,
    location: u32,
    kind: u32,
    os: u32,
    power: u32,
    boot: u32,
    scale_set: u32,
    verdict: u8,
    check_set: u32,
    finding_set: u32,
    tag_set: u32,
    change: u8,
}

fn verdict_index(v: Verdict) -> u8 {
    Verdict::ALL.iter().position(|x| *x == v).unwrap_or(0) as u8
}

fn status_index(s: FindingStatus) -> u8 {
    match s {
        FindingStatus::Fail => 0,
        FindingStatus::Warn => 1,
        FindingStatus::Unknown => 2,
        FindingStatus::Waived => 3,
    }
}

/// Sort rank: blocked first.
fn rank(v: Verdict) -> u8 {
    match v {
        Verdict::Blocked => 0,
        Verdict::Unknown => 1,
        Verdict::ReadyWithWarnings => 2,
        Verdict::Ready => 3,
    }
}

/// The table's default order: blocked first, then by subscription name, resource group (in
/// lower case), name. Subscriptions and resource groups are ranked once, so that sorting
/// compares numbers and names only.
pub fn default_order(r: &ScanResult) -> Vec<usize> {
    let names = r.subscription_names();
    let instances = &r.inventory.instances;
    let mut subs: HashMap<&str, u32> = HashMap::new();
    let mut groups: HashMap<&str, u32> = HashMap::new();
    for i in instances {
        subs.entry(i.subscription_id.as_str()).or_insert(0);
        groups.entry(i.resource_group.as_str()).or_insert(0);
    }
    rank_by(&mut subs, |id| names.get(id).to_string());
    rank_by(&mut groups, |g| g.to_ascii_lowercase());
    let keys: Vec<(u8, u32, u32)> = instances
        .iter()
        .zip(&r.verdicts)
        .map(|(i, v)| {
            (
                rank(v.verdict),
                subs[i.subscription_id.as_str()],
                groups[i.resource_group.as_str()],
            )
        })
        .collect();
    let mut order: Vec<usize> = (0..instances.len()).collect();
    order.sort_by(|&a, &b| {
        keys[a]
            .cmp(&keys[b])
            .then_with(|| instances[a].name.cmp(&instances[b].name))
    });
    order
}

/// Sets each key's value to its rank by `key_of` (equal keys share a rank).
fn rank_by(ranks: &mut HashMap<&str, u32>, key_of: impl Fn(&str) -> String) {
    let mut keyed: Vec<(String, &str)> = ranks.keys().map(|k| (key_of(k), *k)).collect();
    keyed.sort();
    let mut rank = 0;
    for (n, (key, k)) in keyed.iter().enumerate() {
        if n > 0 && *key != keyed[n - 1].0 {
            rank += 1;
        }
        ranks.insert(k, rank);
    }
}

/// What changed for each instance since the previous run, by lower-case resource id.
pub fn changes(h: Option<&HistorySummary>) -> HashMap<String, Change> {
    let mut m = HashMap::new();
    let Some(d) = h.and_then(|h| h.diff.as_ref()) else {
        return m;
    };
    for (list, change) in [
        (&d.newly_blocked, Change::NewlyBlocked),
        (&d.fixed, Change::Fixed),
        (&d.now_unknown, Change::NowUnknown),
        (&d.appeared, Change::Appeared),
        (&d.not_seen_in_from, Change::NotSeenBefore),
    ] {
        for c in list {
            m.entry(c.resource_id.to_ascii_lowercase())
                .or_insert(change);
        }
    }
    m
}

/// The data document, built in one pass over the instances; the per-instance texts that are
/// their own (names, id suffixes) are read from the result again while writing.
pub struct PageData<'a> {
    r: &'a ScanResult,
    order: Vec<usize>,
    strings: Strings<'a>,
    subscriptions: Interner<String>,
    checks: Interner<&'a str>,
    check_sets: Interner<[Vec<u32>; 3]>,
    tag_sets: Interner<Vec<u32>>,
    findings: Interner<[u32; 7]>,
    finding_sets: Interner<Vec<u32>>,
    rows: Vec<Row>,
    subscription_findings: Vec<[u32; 3]>,
    environment_findings: Vec<[u32; 2]>,
}

impl<'a> PageData<'a> {
    /// Builds the tables for `r`, its instances in `order`.
    pub fn build(r: &'a ScanResult, order: Vec<usize>) -> PageData<'a> {
        let mut d = PageData {
            r,
            order,
            strings: Strings::new(),
            subscriptions: Interner::new(),
            checks: Interner::new(),
            check_sets: Interner::new(),
            tag_sets: Interner::new(),
            findings: Interner::new(),
            finding_sets: Interner::new(),
            rows: Vec::with_capacity(r.inventory.instances.len()),
            subscription_findings: Vec::new(),
            environment_findings: Vec::new(),
        };
        for s in &r.inventory.subscriptions {
            d.subscriptions.get(clean(&s.id).to_ascii_lowercase());
        }
        // Instance findings carry their instance's id exactly as the inventory holds it.
        let own = InstanceFindings::new(r);
        for f in &r.findings {
            if f.resource_id == "environment" {
                let c = d.checks.get(f.check_id.as_str());
                d.environment_findings
                    .push([c, status_index(f.status) as u32]);
            } else if is_subscription_scope(&f.resource_id) {
                let sub = d
                    .subscriptions
                    .get(clean(&f.subscription_id).to_ascii_lowercase());
                let c = d.checks.get(f.check_id.as_str());
                d.subscription_findings
                    .push([sub, c, status_index(f.status) as u32]);
            }
        }
        let order = std::mem::take(&mut d.order);
        for &idx in &order {
            let row = d.row(idx, &own);
            d.rows.push(row);
        }
        d.order = order;
        d
    }

    /// Marks each row with its instance's change since the previous run (`h`'s diff); the rows
    /// are built before the run is recorded, without it.
    pub fn set_changes(&mut self, h: Option<&HistorySummary>) {
        let changes = changes(h);
        if changes.is_empty() {
            return;
        }
        let mut key = String::new();
        for (row, &idx) in self.rows.iter_mut().zip(&self.order) {
            key.clear();
            key.push_str(&self.r.inventory.instances[idx].id);
            key.make_ascii_lowercase();
            row.change = changes.get(&key).map(|c| *c as u8).unwrap_or(0);
        }
    }

    fn row(&mut self, idx: usize, own: &InstanceFindings<'a>) -> Row {
        let r = self.r;
        let i = &r.inventory.instances[idx];
        let v = &r.verdicts[idx];
        let id = clean(&i.id);
        let (prefix, suffix) = match id.rfind('/') {
            Some(p) => (&id[..=p], &id[p + 1..]),
            None => ("", id.as_ref()),
        };
        let name = clean(&i.name);
        let rg = clean(&i.resource_group);
        // Subscriptions are keyed by their lower-case id, which is also what the page substitutes.
        let sub = clean(&i.subscription_id).to_ascii_lowercase();
        let scale_set = clean(i.scale_set.as_deref().unwrap_or(""));
        let mut check_set: [Vec<u32>; 3] = Default::default();
        for (k, list) in [&v.blockers, &v.warnings, &v.unknowns]
            .into_iter()
            .enumerate()
        {
            check_set[k] = list.iter().map(|c| self.checks.get(c.as_str())).collect();
        }
        let mut tag = String::new();
        let tags: Vec<u32> = i
            .tags
            .iter()
            .map(|(k, val)| {
                tag.clear();
                tag.push_str(k);
                tag.push('=');
                tag.push_str(val);
                self.strings.get(&tag)
            })
            .collect();
        let mut values: Vec<(char, &str)> = vec![
            (MARK_ID, id.as_ref()),
            (MARK_SCALE_SET, scale_set.as_ref()),
            (MARK_NAME, name.as_ref()),
            (MARK_RESOURCE_GROUP, rg.as_ref()),
            (MARK_SUBSCRIPTION, sub.as_str()),
        ];
        if suffix != name.as_ref() {
            values.push((MARK_ID_SUFFIX, suffix));
        }
        let mut set = Vec::new();
        for f in own.of(idx) {
            let entry = [
                self.checks.get(f.check_id.as_str()),
                status_index(f.status) as u32,
                self.strings
                    .get_templatized(templatize(f.message.as_str(), &values)),
                self.strings
                    .get_templatized(templatize(f.mitigation.as_str(), &values)),
                self.strings
                    .get_templatized(templatize(f.remediation.as_str(), &values)),
                self.strings.get(f.principal_id.as_deref().unwrap_or("")),
                self.strings
                    .get_templatized(templatize(f.waiver.as_deref().unwrap_or(""), &values)),
            ];
            set.push(self.findings.get(entry));
        }
        let subscription = self.subscriptions.get_str(&sub);
        Row {
            id_prefix: self.strings.get(prefix),
            subscription,
            resource_group: self.strings.get(&rg),
            location: self.strings.get(&i.location),
            kind: self.strings.get(i.kind.as_str()),
            os: self.strings.get(i.os_type.as_deref().unwrap_or("")),
            power: self.strings.get(i.power_state.as_deref().unwrap_or("")),
            boot: self.strings.get(i.boot_diagnostics_label()),
            scale_set: self.strings.get(&scale_set),
            verdict: verdict_index(v.verdict),
            check_set: self.check_sets.get(check_set),
            finding_set: self.finding_sets.get(set),
            tag_set: self.tag_sets.get(tags),
            change: 0,
        }
    }

    /// Writes `<script type="application/json" id="scready-data">…</script>`, flushing `s` to
    /// `out` as it grows.
    pub fn write(&self, s: &mut String, out: &mut dyn Write) -> std::io::Result<()> {
        let r = self.r;
        let _ = write!(
            s,
            "<script type=\"application/json\" id=\"{ELEMENT_ID}\">{{\"version\":{FORMAT_VERSION},\"total\":{},\"strings\":[",
            self.rows.len()
        );
        for (k, t) in self.strings.list.iter().enumerate() {
            if k > 0 {
                s.push(',');
            }
            push_json_str(s, t);
            if s.len() >= FLUSH_AT {
                flush(s, out)?;
            }
        }
        s.push_str("],\"subscriptions\":[");
        let names = r.subscription_names();
        for (k, id) in self.subscriptions.list.iter().enumerate() {
            if k > 0 {
                s.push(',');
            }
            s.push('[');
            push_json_str(s, id);
            s.push(',');
            push_json_str(s, &clean(names.get(id)));
            s.push(']');
        }
        s.push_str("],\"checks\":[");
        for (k, id) in self.checks.list.iter().enumerate() {
            if k > 0 {
                s.push(',');
            }
            s.push('[');
            push_json_str(s, &clean(id));
            if let Some(t) = r.checks.get(*id) {
                for field in [
                    &t.title,
                    &t.severity,
                    &t.portal_error,
                    &t.mitigation,
                    &t.docs,
                ] {
                    s.push(',');
                    push_json_str(s, &clean(field));
                }
            }
            s.push(']');
        }
        s.push_str("],\"checkSets\":[");
        for (k, set) in self.check_sets.list.iter().enumerate() {
            if k > 0 {
                s.push(',');
            }
            s.push('[');
            for (j, list) in set.iter().enumerate() {
                if j > 0 {
                    s.push(',');
                }
                push_ints(s, list);
            }
            s.push(']');
        }
        s.push_str("],\"tagSets\":[");
        for (k, set) in self.tag_sets.list.iter().enumerate() {
            if k > 0 {
                s.push(',');
            }
            push_ints(s, set);
        }
        s.push_str("],\"findings\":[");
        for (k, f) in self.findings.list.iter().enumerate() {
            if k > 0 {
                s.push(',');
            }
            push_ints(s, f);
        }
        s.push_str("],\"findingSets\":[");
        for (k, set) in self.finding_sets.list.iter().enumerate() {
            if k > 0 {
                s.push(',');
            }
            push_ints(s, set);
            if s.len() >= FLUSH_AT {
                flush(s, out)?;
            }
        }
        s.push_str("],\"subscriptionFindings\":[");
        for (k, f) in self.subscription_findings.iter().enumerate() {
            if k > 0 {
                s.push(',');
            }
            push_ints(s, f);
        }
        s.push_str("],\"environmentFindings\":[");
        for (k, f) in self.environment_findings.iter().enumerate() {
            if k > 0 {
                s.push(',');
            }
            push_ints(s, f);
        }
        s.push_str("],\"columns\":{\"name\":[");
        for (k, &idx) in self.order.iter().enumerate() {
            if k > 0 {
                s.push(',');
            }
            push_json_str(s, &clean(&r.inventory.instances[idx].name));
            if s.len() >= FLUSH_AT {
                flush(s, out)?;
            }
        }
        // The last segment of the id, or 0 where it is the instance's name.
        s.push_str("],\"idSuffix\":[");
        for (k, &idx) in self.order.iter().enumerate() {
            if k > 0 {
                s.push(',');
            }
            let i = &r.inventory.instances[idx];
            let id = clean(&i.id);
            let suffix = id.rfind('/').map(|p| &id[p + 1..]).unwrap_or(&id);
            if suffix == clean(&i.name).as_ref() {
                s.push('0');
            } else {
                push_json_str(s, suffix);
            }
            if s.len() >= FLUSH_AT {
                flush(s, out)?;
            }
        }
        s.push(']');
        let columns: [(&str, Column); 14] = [
            ("idPrefix", |w| w.id_prefix),
            ("subscription", |w| w.subscription),
            ("resourceGroup", |w| w.resource_group),
            ("location", |w| w.location),
            ("kind", |w| w.kind),
            ("os", |w| w.os),
            ("power", |w| w.power),
            ("bootDiagnostics", |w| w.boot),
            ("scaleSet", |w| w.scale_set),
            ("verdict", |w| w.verdict as u32),
            ("checkSet", |w| w.check_set),
            ("findingSet", |w| w.finding_set),
            ("tagSet", |w| w.tag_set),
            ("change", |w| w.change as u32),
        ];
        for (name, field) in columns {
            let _ = write!(s, ",\"{name}\":[");
            for (k, w) in self.rows.iter().enumerate() {
                if k > 0 {
                    s.push(',');
                }
                push_u32(s, field(w));
                if s.len() >= FLUSH_AT {
                    flush(s, out)?;
                }
            }
            s.push(']');
        }
        s.push_str("}}</script>\n");
        Ok(())
    }
}

/// A column written from the rows: its name and how a row gives its entry.
type Column = fn(&Row) -> u32;

/// Appends `n` in decimal (without the formatting machinery: the columns hold millions).
fn push_u32(s: &mut String, mut n: u32) {
    let mut digits = [0u8; 10];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[at..] {
        s.push(d as char);
    }
}

fn push_ints(s: &mut String, list: &[u32]) {
    s.push('[');
    for (k, n) in list.iter().enumerate() {
        if k > 0 {
            s.push(',');
        }
        push_u32(s, *n);
    }
    s.push(']');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(text: &str) -> String {
        let mut s = String::new();
        push_json_str(&mut s, text);
        s
    }

    #[test]
    fn json_text_cannot_end_the_script_element_or_open_a_comment() {
        let hostile = "</script><script>alert(1)</script><!-- & \u{2028}\u{2029} \"\\\n\t\u{1}";
        let out = json(hostile);
        assert_eq!(
            out,
            "\"\\u003c/script\\u003e\\u003cscript\\u003ealert(1)\\u003c/script\\u003e\\u003c!-- \\u0026 \\u2028\\u2029 \\\"\\\\\\n\\t\\u0001\""
        );
        assert!(!out.contains('<') && !out.contains('>') && !out.contains('&'));
        let back: String = serde_json::from_str(&out).unwrap();
        assert_eq!(back, hostile);
        assert_eq!(json("é ünïcode ✓"), "\"é ünïcode ✓\"");
    }

    #[test]
    fn control_characters_are_replaced_and_layout_controls_shown_as_escapes() {
        assert_eq!(
            clean("a\u{0}b\u{1}c\nd\te\u{9b}"),
            "a\u{fffd}b\u{fffd}c\nd\te\u{fffd}"
        );
        assert_eq!(clean("invoice\u{202e}fdp.exe"), "invoice\\u{202e}fdp.exe");
        assert_eq!(clean("a\u{2028}b\u{061c}"), "a\\u{2028}b\\u{61c}");
        // Past the first 32 bytes, and DEL, the one control character above the space.
        let long = format!("{}\u{7f}{}", "a".repeat(40), "b".repeat(30));
        assert_eq!(clean(&long), long.replace('\u{7f}', "\u{fffd}"));
        for plain in ["plain", "é ü ✓ – ©", "\u{2014}"] {
            assert!(matches!(clean(plain), Cow::Borrowed(_)), "{plain}");
        }
        // The page shows what the HTML shows.
        for s in ["x\u{202e}y", "x\u{7}y", "x\u{2066}y"] {
            assert_eq!(super::super::esc(s), clean(s));
        }
    }

    /// The page's reversal: markers replaced by the values, last substituted first.
    fn untemplatize(t: &str, values: &[(char, &str)]) -> String {
        let mut t = t.to_string();
        for (mark, value) in values.iter().rev() {
            t = t.replace(*mark, value);
        }
        t
    }

    #[test]
    fn a_templated_text_gives_back_exactly_the_original() {
        let values = [
            (
                MARK_ID,
                "/subscriptions/s1/resourceGroups/rg-a/providers/Microsoft.Compute/virtualMachineScaleSets/ss-web/virtualMachines/17",
            ),
            (MARK_SCALE_SET, "ss-web"),
            (MARK_NAME, "ss-web_17"),
            (MARK_RESOURCE_GROUP, "rg-a"),
            (MARK_SUBSCRIPTION, "s1"),
            (MARK_ID_SUFFIX, "17"),
        ];
        for text in [
            "az vmss update-instances --name ss-web --resource-group rg-a --instance-ids 17 --subscription s1",
            "az lock list --resource /subscriptions/s1/resourceGroups/rg-a/providers/Microsoft.Compute/virtualMachineScaleSets/ss-web/virtualMachines/17",
            "rg-a rg-a ss-web_17ss-web 171717 s1s1 vmss ss",
            "",
            "nothing of its own",
        ] {
            let t = templatize(text, &values);
            assert_eq!(untemplatize(&t, &values), text, "{t:?}");
        }
        let t = templatize(
            "az vmss update-instances --name ss-web --resource-group rg-a --instance-ids 17 --subscription s1",
            &values,
        );
        assert_eq!(
            t,
            "az vmss update-instances --name \u{2} --resource-group \u{4} --instance-ids \u{6} --subscription \u{5}"
        );
    }
}
