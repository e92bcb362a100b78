//! "Did you mean ...?": the known name closest to a mistyped one.

use alloc::vec::Vec;

/// Edit distance between `a` and `b`, ignoring ASCII case.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<u8> = b.bytes().map(|c| c.to_ascii_lowercase()).collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.bytes().map(|c| c.to_ascii_lowercase()).enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let next = (diag + usize::from(ca != cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diag = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// The candidate closest to `word` (case-insensitive edit distance), if
/// one is close enough to be a likely typo: at most a third of the word's
/// length, and at least one edit, away. Ties go to the first candidate.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let d = distance(word, c);
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_and_case_find_the_name() {
        let names = ["Counter", "Discard", "InfiniteSource", "Queue"];
        assert_eq!(closest("Discrd", names), Some("Discard"));
        assert_eq!(closest("counter", names), Some("Counter"));
        assert_eq!(closest("InfiniteSorce", names), Some("InfiniteSource"));
        assert_eq!(closest("Frobnicator", names), None);
        assert_eq!(closest("Q", names), None);
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("", "abc"), 3);
    }
}
