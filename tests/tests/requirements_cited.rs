//! Every requirement id the repository cites resolves in `docs/requirements.md`, whose rows are
//! complete, and no reference leads to a document outside the repository. How ids are written
//! is docs/requirements.md §1; `Id::read` and `Id::named_in` below are those rules in code.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};

const REQUIREMENTS: &str = "docs/requirements.md";
/// File kinds that cite ids; scripts without an extension are read when they start with `#!`.
const EXTENSIONS: [&str; 5] = ["rs", "md", "sh", "mjs", "py"];
/// Directories never read: build output, installed packages, fuzz inputs, git's own files.
const SKIPPED: [&str; 4] = ["target", "node_modules", "fuzz/corpus", ".git"];
/// The name of the design notes ids used to point at, outside the repository. Split so that
/// this file does not cite it.
const OUTSIDE_NOTES: &str = concat!("spec", "-notes");

#[test]
fn every_cited_id_is_listed() {
    let root = repository_root();
    let listed = Requirements::read(&root);
    let mut missing: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut cited = BTreeSet::new();
    for file in cited_files(&root) {
        let text = read(&root.join(&file));
        for (number, line) in text.lines().enumerate() {
            let place = format!("{}:{}", file.display(), number + 1);
            for id in Id::cited_in(line).into_iter().chain(Id::named_in(line)) {
                cited.insert(id);
                if !listed.ids.contains(&id) {
                    let name = id.to_string();
                    missing.entry(name).or_default().insert(place.clone());
                }
            }
            for section in sections_cited_in(line) {
                if !listed.sections.contains(&section) {
                    let name = format!("{REQUIREMENTS} §{section}");
                    missing.entry(name).or_default().insert(place.clone());
                }
            }
        }
    }
    assert!(cited.len() > 50, "the scan found only {} ids", cited.len());
    let report: Vec<String> = missing
        .iter()
        .map(|(id, places)| {
            let places: Vec<&str> = places.iter().map(String::as_str).collect();
            format!("  {id}: cited at {}", places.join(", "))
        })
        .collect();
    assert!(
        report.is_empty(),
        "cited but not in {REQUIREMENTS} (add a row, see its §1):\n{}",
        report.join("\n")
    );
}

#[test]
fn no_reference_leaves_the_repository() {
    let root = repository_root();
    let mut found = Vec::new();
    for file in cited_files(&root) {
        if file.starts_with("docs") {
            continue;
        }
        let text = read(&root.join(&file));
        for (number, line) in text.lines().enumerate() {
            if line.to_ascii_lowercase().contains(OUTSIDE_NOTES) {
                found.push(format!(
                    "  {}:{}: {}",
                    file.display(),
                    number + 1,
                    line.trim()
                ));
            }
        }
    }
    assert!(
        found.is_empty(),
        "cite {REQUIREMENTS} instead of a document outside the repository:\n{}",
        found.join("\n")
    );
}

#[test]
fn every_listed_id_has_revision_level_link_and_text() {
    let listed = Requirements::read(&repository_root());
    assert!(listed.problems.is_empty(), "{}", listed.problems.join("\n"));
    assert!(
        listed.ids.len() > 100,
        "only {} rows read",
        listed.ids.len()
    );
}

#[test]
fn the_pattern_reads_ids_and_ranges_and_nothing_else() {
    let read =
        |text: &str| -> Vec<String> { Id::cited_in(text).iter().map(Id::to_string).collect() };
    assert_eq!(read("(S2.40, E4.1; C5/D2)"), ["S2.40", "E4.1", "C5", "D2"]);
    assert_eq!(read("S1.1a and S1.1b."), ["S1.1", "S1.1"]);
    assert_eq!(read("S2.39–S2.42"), ["S2.39", "S2.40", "S2.41", "S2.42"]);
    assert_eq!(read("E4.4-E4.5"), ["E4.4", "E4.5"]);
    assert_eq!(read("S2.51–S3.1"), ["S2.51", "S3.1"]);
    assert_eq!(read("requirements.md#S3.37"), ["S3.37"]);
    let lookalikes = "S3 alone, E2.x, S1.2.3, v2.1, AS1.2, 1E2.5, S12.1, C123, D2_x, E4.100";
    assert_eq!(read(lookalikes), Vec::<String>::new());
    let named =
        |text: &str| -> Vec<String> { Id::named_in(text).iter().map(Id::to_string).collect() };
    assert_eq!(
        named("fn e1_2_e2_2_all_three_line_ends()"),
        ["E1.2", "E2.2"]
    );
    assert_eq!(
        named("fn s2_39_s2_40_s2_44_codes"),
        ["S2.39", "S2.40", "S2.44"]
    );
    assert_eq!(named("async fn c1_header_exposed_d2"), ["C1", "D2"]);
    assert_eq!(
        named("fn e2e_flow_s3_only_sha1_d2x(s2_40)"),
        Vec::<String>::new()
    );
    assert_eq!(
        sections_cited_in("docs/requirements.md §6.3 and §8"),
        ["6.3"]
    );
}

/// A requirement id: `S2.40` is letter `S`, group 2, item 40; `C5` has no group. A part letter
/// (`S1.1a`) cites the whole item.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Id {
    letter: u8,
    group: Option<u8>,
    item: u8,
}

impl Id {
    /// Every id cited in `line`, ranges (`S2.39–S2.42`) expanded.
    fn cited_in(line: &str) -> Vec<Id> {
        let bytes = line.as_bytes();
        let mut found: Vec<(Id, usize, usize)> = Vec::new();
        let mut at = 0;
        while at < bytes.len() {
            match Id::read(bytes, at) {
                Some((id, end)) => {
                    found.push((id, at, end));
                    at = end;
                }
                None => at += 1,
            }
        }
        let mut ids = Vec::new();
        for (index, &(id, start, _)) in found.iter().enumerate() {
            let range_from =
                index
                    .checked_sub(1)
                    .map(|previous| found[previous])
                    .filter(|&(from, _, end)| {
                        matches!(&line[end..start], "–" | "-")
                            && (from.letter, from.group) == (id.letter, id.group)
                            && from.item < id.item
                    });
            match range_from {
                Some((from, _, _)) => {
                    ids.extend((from.item + 1..=id.item).map(|item| Id { item, ..id }))
                }
                None => ids.push(id),
            }
        }
        ids
    }

    /// Every id the name of a function defined in `line` cites, written in snake case:
    /// `fn s2_40_…`, `fn …_e4_1`, `fn c1_…` (lower case, `_` for the dot).
    fn named_in(line: &str) -> Vec<Id> {
        let mut ids = Vec::new();
        for (at, keyword) in line.match_indices("fn ") {
            if line[..at].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
                continue;
            }
            let rest = &line[at + keyword.len()..];
            let name = rest.split(|c: char| !c.is_ascii_alphanumeric() && c != '_');
            let parts: Vec<String> = name
                .take(1)
                .flat_map(|name| name.split('_'))
                .map(str::to_ascii_uppercase)
                .collect();
            let whole = |text: &str| {
                Id::read(text.as_bytes(), 0)
                    .filter(|&(_, end)| end == text.len())
                    .map(|(id, _)| id)
            };
            let mut index = 0;
            while let Some(part) = parts.get(index) {
                let dotted = parts.get(index + 1).map(|item| format!("{part}.{item}"));
                if let Some(id) = dotted.as_deref().and_then(whole) {
                    ids.push(id);
                    index += 2;
                } else {
                    ids.extend(whole(part));
                    index += 1;
                }
            }
        }
        ids
    }

    /// The id that starts at `at`, and where it ends: `S` or `E` with `<digit>.<1-2 digits>`,
    /// `C` or `D` with 1-2 digits, an optional lower-case part letter; not glued to a word or a
    /// number on either side (so no `AS1.2`, `S1.2.3`, `S3`).
    fn read(bytes: &[u8], at: usize) -> Option<(Id, usize)> {
        let glued = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
        if at > 0 && (glued(bytes[at - 1]) || bytes[at - 1] == b'.') {
            return None;
        }
        let letter = *bytes.get(at)?;
        let digits = |from: usize, max: usize| -> Option<(u8, usize)> {
            let count = bytes[from..]
                .iter()
                .take(max + 1)
                .take_while(|b| b.is_ascii_digit())
                .count();
            if count == 0 || count > max {
                return None;
            }
            let text = std::str::from_utf8(&bytes[from..from + count]).ok()?;
            Some((text.parse().ok()?, from + count))
        };
        let (group, item, mut end) = match letter {
            b'S' | b'E' => {
                let (group, dot) = digits(at + 1, 1)?;
                if bytes.get(dot) != Some(&b'.') {
                    return None;
                }
                let (item, end) = digits(dot + 1, 2)?;
                (Some(group), item, end)
            }
            b'C' | b'D' => {
                let (item, end) = digits(at + 1, 2)?;
                (None, item, end)
            }
            _ => return None,
        };
        if bytes.get(end).is_some_and(u8::is_ascii_lowercase)
            && !bytes.get(end + 1).is_some_and(|&b| glued(b))
        {
            end += 1;
        }
        let next = bytes.get(end).copied();
        let number_goes_on =
            next == Some(b'.') && bytes.get(end + 1).is_some_and(u8::is_ascii_digit);
        if next.is_some_and(glued) || number_goes_on {
            return None;
        }
        Some((
            Id {
                letter,
                group,
                item,
            },
            end,
        ))
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let letter = char::from(self.letter);
        match self.group {
            Some(group) => write!(f, "{letter}{group}.{}", self.item),
            None => write!(f, "{letter}{}", self.item),
        }
    }
}

/// The sections cited as `requirements.md §6.3`.
fn sections_cited_in(line: &str) -> Vec<String> {
    line.match_indices("requirements.md §")
        .map(|(at, marker)| {
            line[at + marker.len()..]
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect::<String>()
                .trim_end_matches('.')
                .to_owned()
        })
        .filter(|section| !section.is_empty())
        .collect()
}

/// What `docs/requirements.md` lists: its ids, its numbered sections, and what is wrong with its
/// rows.
struct Requirements {
    ids: BTreeSet<Id>,
    sections: BTreeSet<String>,
    problems: Vec<String>,
}

impl Requirements {
    const ANCHOR: &str = "| <a id=\"";
    const REVISIONS: [&str; 8] = [
        "2024-11-05",
        "2025-03-26",
        "2025-06-18",
        "2025-11-25",
        "2026-07-28",
        "JSON-RPC 2.0",
        "WHATWG HTML",
        "Fetch",
    ];
    const LEVELS: [&str; 7] = [
        "MUST",
        "SHOULD",
        "MAY",
        "no keyword",
        "derived",
        "informative",
        "our decision",
    ];

    fn read(root: &Path) -> Requirements {
        let text = read(&root.join(REQUIREMENTS));
        let mut listed = Requirements {
            ids: BTreeSet::new(),
            sections: BTreeSet::new(),
            problems: Vec::new(),
        };
        for (number, line) in text.lines().enumerate() {
            let place = format!("{REQUIREMENTS}:{}", number + 1);
            if let Some(heading) = line.strip_prefix("## ").or(line.strip_prefix("### ")) {
                let section = heading
                    .split(' ')
                    .next()
                    .unwrap_or("")
                    .trim_end_matches('.');
                if section.starts_with(|c: char| c.is_ascii_digit()) {
                    listed.sections.insert(section.to_owned());
                }
            }
            if line.starts_with(Requirements::ANCHOR) {
                listed.row(&place, line);
            }
        }
        listed
    }

    /// Reads one row: `| <a id="S2.40"></a>S2.40 | revision | level | [section](https://…) | text |`.
    fn row(&mut self, place: &str, line: &str) {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let &[anchor, revision, level, link, text] = cells.as_slice() else {
            let count = cells.len();
            return self
                .problems
                .push(format!("{place}: {count} cells, not 5 (no `|` in text)"));
        };
        let written = anchor
            .strip_prefix("<a id=\"")
            .and_then(|rest| rest.split_once("\"></a>"))
            .filter(|(id, shown)| id == shown)
            .map(|(id, _)| id);
        let id = written.and_then(|id| match Id::cited_in(id).as_slice() {
            &[only] if only.to_string() == id => Some(only),
            _ => None,
        });
        let Some(id) = id else {
            return self
                .problems
                .push(format!("{place}: anchor `{anchor}` is not one id"));
        };
        if !self.ids.insert(id) {
            self.problems.push(format!("{place}: {id} listed twice"));
        }
        let mut lacks = |what: &str, ok: bool| {
            if !ok {
                self.problems.push(format!("{place}: {id} has no {what}"));
            }
        };
        lacks(
            "revision",
            Requirements::REVISIONS.iter().any(|r| revision.contains(r)),
        );
        lacks(
            "level",
            Requirements::LEVELS.iter().any(|l| level.contains(l)),
        );
        lacks(
            "link to a spec section",
            link.starts_with('[') && link.contains("](https://"),
        );
        lacks("text", text.len() > 10);
    }
}

fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate lives in the workspace root")
        .to_path_buf()
}

/// Every file that may cite an id, relative to `root`, in a stable order.
fn cited_files(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(dir) = pending.pop() {
        let entries = fs::read_dir(root.join(&dir)).expect("a readable directory");
        for entry in entries {
            let entry = entry.expect("a readable directory entry");
            let path = dir.join(entry.file_name());
            let kind = entry.file_type().expect("a file type");
            if kind.is_dir() && !SKIPPED.iter().any(|skip| path.ends_with(skip)) {
                pending.push(path);
            } else if kind.is_file() && cites(root, &path) {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn cites(root: &Path, path: &Path) -> bool {
    match path.extension().and_then(|e| e.to_str()) {
        Some(extension) => EXTENSIONS.contains(&extension),
        None => {
            let mut start = [0; 2];
            let file = fs::File::open(root.join(path));
            file.and_then(|mut file| file.read_exact(&mut start))
                .is_ok()
                && start == *b"#!"
        }
    }
}

fn read(path: &Path) -> String {
    let bytes = fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    String::from_utf8_lossy(&bytes).into_owned()
}
