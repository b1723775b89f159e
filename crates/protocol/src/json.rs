//! Reading JSON request bodies as their senders wrote them.

use serde::de::{Deserializer, Error as _, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::cell::Cell;

/// Why a body's members were not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MembersError {
    /// The body is not exactly one JSON object.
    NotAnObject,
    /// The object has more than the allowed number of members; reading
    /// stopped at the first one too many.
    TooMany(usize),
}

/// The members of a JSON object in the order sent, every one kept
/// (repeated names too, so callers can refuse them), each value raw; at
/// most `max` of them: parsing stops at the first member past it, so a
/// body of thousands of members costs no more than `max + 1`.
pub fn members(body: &[u8], max: usize) -> Result<Vec<(String, Box<RawValue>)>, MembersError> {
    struct Members<'a> {
        max: usize,
        too_many: &'a Cell<bool>,
    }
    impl<'de> Visitor<'de> for Members<'_> {
        type Value = Vec<(String, Box<RawValue>)>;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON object")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(member) = map.next_entry::<String, Box<RawValue>>()? {
                if out.len() == self.max {
                    self.too_many.set(true);
                    return Err(A::Error::custom("too many members"));
                }
                out.push(member);
            }
            Ok(out)
        }
    }
    let too_many = Cell::new(false);
    let mut de = serde_json::Deserializer::from_slice(body);
    let parsed = (&mut de).deserialize_map(Members { max, too_many: &too_many });
    if too_many.get() {
        return Err(MembersError::TooMany(max));
    }
    let members = parsed.map_err(|_| MembersError::NotAnObject)?;
    de.end().map_err(|_| MembersError::NotAnObject)?;
    Ok(members)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_in_order_with_repeats() {
        let m = members(br#"{"b":1,"a":"x","b":null}"#, 32).unwrap();
        let names: Vec<&str> = m.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["b", "a", "b"]);
        assert_eq!(m[0].1.get(), "1");
        assert_eq!(members(b"[1]", 32).unwrap_err(), MembersError::NotAnObject);
        assert_eq!(members(br#"{"a":1} {"b":2}"#, 32).unwrap_err(), MembersError::NotAnObject, "one object only");
    }

    #[test]
    fn members_are_capped_and_reading_stops_there() {
        assert_eq!(members(br#"{"a":1,"b":2}"#, 2).unwrap().len(), 2);
        assert_eq!(members(br#"{"a":1,"b":2,"c":3}"#, 2).unwrap_err(), MembersError::TooMany(2));
        // Past the cap nothing more is read: what follows is never parsed.
        assert_eq!(members(br#"{"a":1,"b":2,"c":3,"d":[[[[ not json"#, 2).unwrap_err(), MembersError::TooMany(2));
        let mut big = String::from("{");
        for i in 0..10_000 {
            big.push_str(&format!(r#""k{i}":1,"#));
        }
        big.push_str(r#""end":1}"#);
        assert_eq!(members(big.as_bytes(), 32).unwrap_err(), MembersError::TooMany(32));
    }
}
