//! "Did you mean ...?": the known name closest to a mistyped one.

use alloc::vec::Vec;

/// Optimal-string-alignment distance between `a` and `b`, ignoring ASCII
/// case: insertions, deletions, substitutions and swaps of two adjacent
/// letters each count one edit, since a swap is as common a typo as the
/// others.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<u8> = a.bytes().map(|c| c.to_ascii_lowercase()).collect();
    let b: Vec<u8> = b.bytes().map(|c| c.to_ascii_lowercase()).collect();
    // Three rows: the transposition looks two rows back.
    let mut prev2 = alloc::vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut row = alloc::vec![0; b.len() + 1];
    for i in 1..=a.len() {
        row[0] = i;
        for j in 1..=b.len() {
            let mut d = (prev[j - 1] + usize::from(a[i - 1] != b[j - 1]))
                .min(prev[j] + 1)
                .min(row[j - 1] + 1);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(prev2[j - 2] + 1);
            }
            row[j] = d;
        }
        core::mem::swap(&mut prev2, &mut prev);
        core::mem::swap(&mut prev, &mut row);
    }
    prev[b.len()]
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

    #[test]
    fn a_swap_of_adjacent_letters_is_one_edit() {
        assert_eq!(distance("cuont", "count"), 1);
        assert_eq!(distance("ab", "ba"), 1);
        // Optimal string alignment: no edit of an already swapped pair.
        assert_eq!(distance("ca", "abc"), 3);
        assert_eq!(closest("cuont", ["count", "reset"]), Some("count"));
        assert_eq!(closest("Cuonter", ["Counter", "Discard"]), Some("Counter"));
    }
}
