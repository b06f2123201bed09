//! One run's instance rows packed into one blob: per instance, its interned id, its verdict and
//! the checks it fails or leaves undecided, as varints (LEB128). Instances are in ascending id
//! order and each id is stored as the step from the previous one, so an instance costs two or
//! three bytes plus one byte per check: about 0.2 MB per 100,000-instance run, where a row per
//! instance costs SQLite twenty bytes or more of record and cell overhead.
//!
//! Layout of one instance: `varint(id - previous id)`, `varint(verdict | checks << 2)`, then per
//! check `varint(check number << 2 | list)` with `list` 0 for a blocker, 1 for a warning and 2
//! for an undecided check, in the order the scan listed them.

use crate::findings::Verdict;

/// The list a check of an instance belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckList {
    /// A failing error-severity check.
    Blocker = 0,
    /// A failing warning-severity check.
    Warning = 1,
    /// An undecided check.
    Unknown = 2,
}

/// One instance of a run as stored.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Entry {
    /// The instance's id in the `instances` table.
    pub instance: i64,
    /// Verdict code (see [`verdict_code`]).
    pub verdict: u8,
    /// (check number in the `checks` table, list) in the scan's order.
    pub checks: Vec<(i64, CheckList)>,
}

/// The stored code of a verdict.
pub fn verdict_code(v: Verdict) -> u8 {
    match v {
        Verdict::Ready => 0,
        Verdict::ReadyWithWarnings => 1,
        Verdict::Unknown => 2,
        Verdict::Blocked => 3,
    }
}

/// The verdict of a stored code.
pub fn verdict_of_code(code: u8) -> Verdict {
    match code {
        0 => Verdict::Ready,
        1 => Verdict::ReadyWithWarnings,
        3 => Verdict::Blocked,
        _ => Verdict::Unknown,
    }
}

fn put(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get(data: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *data.get(*pos)?;
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Some(v);
        }
    }
    None
}

/// Appends instances (in ascending id order) to a run's blob.
#[derive(Debug, Default)]
pub struct Encoder {
    out: Vec<u8>,
    last: i64,
    count: usize,
}

impl Encoder {
    /// Adds one instance; its id must be greater than the previous one's.
    pub fn push(&mut self, instance: i64, verdict: Verdict, checks: &[(i64, CheckList)]) {
        debug_assert!(
            instance > self.last,
            "instances in ascending order, ids from 1"
        );
        put(&mut self.out, (instance - self.last) as u64);
        self.last = instance;
        put(
            &mut self.out,
            u64::from(verdict_code(verdict)) | (checks.len() as u64) << 2,
        );
        for &(number, list) in checks {
            put(&mut self.out, (number as u64) << 2 | list as u64);
        }
        self.count += 1;
    }

    /// Instances added.
    pub fn count(&self) -> usize {
        self.count
    }

    /// The blob.
    pub fn finish(self) -> Vec<u8> {
        self.out
    }
}

/// Reads a run's blob back, one instance at a time.
#[derive(Debug)]
pub struct Decoder<'a> {
    data: &'a [u8],
    pos: usize,
    last: i64,
}

impl<'a> Decoder<'a> {
    /// A decoder over a blob.
    pub fn new(data: &'a [u8]) -> Self {
        Decoder {
            data,
            pos: 0,
            last: 0,
        }
    }

    /// The next instance, or `None` where the blob is damaged.
    fn entry(&mut self) -> Option<Entry> {
        let step = get(self.data, &mut self.pos)?;
        if step == 0 {
            return None;
        }
        let instance = self.last.checked_add(i64::try_from(step).ok()?)?;
        self.last = instance;
        let head = get(self.data, &mut self.pos)?;
        let n = usize::try_from(head >> 2).ok()?;
        if n > self.data.len() - self.pos {
            return None;
        }
        let mut checks = Vec::with_capacity(n);
        for _ in 0..n {
            let c = get(self.data, &mut self.pos)?;
            let list = match c & 3 {
                0 => CheckList::Blocker,
                1 => CheckList::Warning,
                2 => CheckList::Unknown,
                _ => return None,
            };
            checks.push((i64::try_from(c >> 2).ok()?, list));
        }
        Some(Entry {
            instance,
            verdict: (head & 3) as u8,
            checks,
        })
    }
}

impl Iterator for Decoder<'_> {
    type Item = Result<Entry, String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.data.len() {
            return None;
        }
        let at = self.pos;
        match self.entry() {
            Some(e) => Some(Ok(e)),
            None => {
                self.pos = self.data.len();
                Some(Err(format!("instance data damaged at byte {at}")))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_in_order_with_their_checks() {
        let mut e = Encoder::default();
        e.push(1, Verdict::Ready, &[]);
        e.push(
            2,
            Verdict::Blocked,
            &[(5, CheckList::Blocker), (1, CheckList::Warning)],
        );
        e.push(400_000, Verdict::Unknown, &[(200, CheckList::Unknown)]);
        e.push(
            400_001,
            Verdict::ReadyWithWarnings,
            &[(3, CheckList::Warning)],
        );
        assert_eq!(e.count(), 4);
        let blob = e.finish();
        // 2 bytes for the first, 4 for the second, 3 + 1 + 2 for the third, 3 for the last.
        assert_eq!(blob.len(), 2 + 4 + 6 + 3);
        let back: Vec<Entry> = Decoder::new(&blob).collect::<Result<_, _>>().unwrap();
        assert_eq!(back.len(), 4);
        assert_eq!(back[1].instance, 2);
        assert_eq!(verdict_of_code(back[1].verdict), Verdict::Blocked);
        assert_eq!(
            back[1].checks,
            [(5, CheckList::Blocker), (1, CheckList::Warning)]
        );
        assert_eq!(back[2].instance, 400_000);
        assert_eq!(back[2].checks, [(200, CheckList::Unknown)]);
        assert_eq!(verdict_of_code(back[3].verdict), Verdict::ReadyWithWarnings);
    }

    #[test]
    fn a_damaged_blob_is_an_error_not_a_panic() {
        let mut e = Encoder::default();
        e.push(7, Verdict::Blocked, &[(5, CheckList::Blocker)]);
        let mut blob = e.finish();
        blob.truncate(blob.len() - 1);
        blob.push(0x80);
        let out: Vec<_> = Decoder::new(&blob).collect();
        assert_eq!(out.len(), 1);
        assert!(out[0].as_ref().unwrap_err().contains("damaged"), "{out:?}");
        let out: Vec<_> = Decoder::new(&[0x01, 0x3f]).collect();
        assert!(out[0].is_err(), "15 checks announced, none stored");
    }
}
