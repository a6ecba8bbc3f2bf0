//! Characters no serial, id, UPN or display name needs, and that hide what a value is: controls
//! (they drive terminals), bidirectional controls (they reorder what is shown), invisible ones.
//! A value holding one is refused, so what is sent is what the admin saw.
//!
//! `output::escape` decides what is escaped on print; the two lists should become one.

/// The first such character of `value`, and what kind it is.
pub fn first_hidden(value: &str) -> Option<(char, &'static str)> {
    value.chars().find_map(|c| kind(c).map(|kind| (c, kind)))
}

fn kind(c: char) -> Option<&'static str> {
    match c {
        // C0, DEL and C1.
        c if c.is_control() => Some("a control character"),
        '\u{061c}'
        | '\u{200e}'
        | '\u{200f}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}' => Some("a bidirectional control"),
        '\u{2028}' | '\u{2029}' => Some("a line or paragraph separator"),
        // A byte-order mark inside the text (a leading one is taken off when decoding).
        '\u{200b}' | '\u{feff}' => Some("an invisible character"),
        _ => None,
    }
}

/// `U+202E`: how a refused character is shown (it cannot be shown as itself).
pub fn code_point(c: char) -> String {
    format!("U+{:04X}", u32::from(c))
}

#[cfg(test)]
mod tests {
    use super::{code_point, first_hidden};

    #[test]
    fn what_is_refused() {
        for c in [
            '\u{0}', '\u{1b}', '\t', '\n', '\r', '\u{7f}', '\u{80}', '\u{85}', '\u{9b}', '\u{9f}',
            '\u{61c}', '\u{200b}', '\u{200e}', '\u{200f}', '\u{2028}', '\u{2029}', '\u{202a}',
            '\u{202e}', '\u{2066}', '\u{2069}', '\u{feff}',
        ] {
            let value = format!("Room{c}1");
            assert_eq!(
                first_hidden(&value).map(|(c, _)| c),
                Some(c),
                "{}",
                code_point(c)
            );
        }
        for fine in [
            "Room 101",
            "Salle Réunion",
            "会議室",
            "Boardroom, 4th floor ☕",
            "a\u{200d}b",
        ] {
            assert_eq!(first_hidden(fine), None, "{fine}");
        }
        assert_eq!(
            first_hidden("ab\u{202e}c\u{1b}"),
            Some(('\u{202e}', "a bidirectional control"))
        );
        assert_eq!(code_point('\u{1b}'), "U+001B");
        assert_eq!(code_point('\u{202e}'), "U+202E");
    }
}
