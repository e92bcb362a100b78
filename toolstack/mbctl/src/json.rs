//! `--json` output: every command's JSON is one compact line on standard
//! output, written by serde_json from the command's own output structs.

use serde::ser::{Serialize, SerializeMap, Serializer};

/// Prints `v` as one line of JSON.
pub fn print<T: Serialize + ?Sized>(v: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(v)?);
    Ok(())
}

/// An object whose keys keep the order given (serde_json's own map sorts
/// them).
pub struct Ordered<'a, V>(pub &'a [(String, V)]);

impl<V: Serialize> Serialize for Ordered<'_, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordered_objects_keep_their_order() {
        let v = [("b".to_string(), 1), ("a".to_string(), 2)];
        assert_eq!(
            serde_json::to_string(&Ordered(&v)).unwrap(),
            r#"{"b":1,"a":2}"#
        );
    }
}
