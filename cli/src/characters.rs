//! The one list of characters that hide what a value is: controls (they drive terminals),
//! bidirectional controls (they reorder what is shown) and invisible formatting characters.
//! Output escapes them ([`escape`] here, `output::json_text` for JSON); the CSV reader refuses a
//! value holding one (`rows`), so what is sent is what the admin saw. Every module that prints a
//! value escapes it, so this one imports none of them.

/// What kind of hiding character `c` is, or `None` for an ordinary one.
///
/// The zero-width joiner and non-joiner (U+200C, U+200D) are left alone: Persian, the Indic
/// scripts and emoji sequences need them, and they reorder nothing.
pub fn kind(c: char) -> Option<&'static str> {
    match c {
        // C0, DEL and C1: ESC and CSI start terminal sequences.
        c if c.is_control() => Some("a control character"),
        '\u{061c}'                          // Arabic letter mark
        | '\u{200e}' | '\u{200f}'           // LRM, RLM
        | '\u{202a}'..='\u{202e}'           // LRE, RLE, PDF, LRO, RLO
        | '\u{2066}'..='\u{2069}' => Some("a bidirectional control"), // LRI, RLI, FSI, PDI
        '\u{2028}' | '\u{2029}' => Some("a line or paragraph separator"),
        '\u{ad}'                            // soft hyphen
        | '\u{180e}'                        // Mongolian vowel separator
        | '\u{200b}'                        // zero-width space
        | '\u{2060}'..='\u{2064}'           // word joiner, invisible operators
        | '\u{206a}'..='\u{206f}'           // deprecated format characters
        | '\u{feff}'                        // byte-order mark inside the text
        | '\u{fff9}'..='\u{fffb}'           // interlinear annotation
        | '\u{e0000}'..='\u{e007f}' => Some("an invisible character"), // tags
        _ => None,
    }
}

/// Whether `c` is never shown or sent as it is.
pub fn is_hidden(c: char) -> bool {
    kind(c).is_some()
}

/// The first hiding character of `value`, and what kind it is.
pub fn first_hidden(value: &str) -> Option<(char, &'static str)> {
    value.chars().find_map(|c| kind(c).map(|kind| (c, kind)))
}

/// `U+202E`: how a refused character is named (it cannot be shown as itself).
pub fn code_point(c: char) -> String {
    format!("U+{:04X}", u32::from(c))
}

/// Makes a value safe to print on a terminal: every [`is_hidden`] character and backslashes
/// (so that an escape is never ambiguous) are shown as Rust escapes (`\u{9b}`, `\n`, `\\`).
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if is_hidden(c) || c == '\\' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{code_point, escape, first_hidden, kind};

    #[test]
    fn escapes_what_could_drive_a_terminal() {
        assert_eq!(escape("Room 101"), "Room 101");
        assert_eq!(escape("Boardroom, 4th floor ☕"), "Boardroom, 4th floor ☕");
        assert_eq!(escape("a\u{1b}[31mred"), "a\\u{1b}[31mred");
        assert_eq!(escape("a\rb\nc\td"), "a\\rb\\nc\\td");
        assert_eq!(escape("\u{9b}2J"), "\\u{9b}2J");
        assert_eq!(escape("abc\u{202e}fed"), "abc\\u{202e}fed");
        assert_eq!(escape("a\\u{1b}"), "a\\\\u{1b}");
    }

    #[test]
    fn every_class_is_found_and_named() {
        for (c, named) in [
            ('\u{0}', "control"),
            ('\u{1b}', "control"),
            ('\t', "control"),
            ('\u{7f}', "control"),
            ('\u{85}', "control"),
            ('\u{9b}', "control"),
            ('\u{61c}', "bidirectional"),
            ('\u{200e}', "bidirectional"),
            ('\u{202a}', "bidirectional"),
            ('\u{202e}', "bidirectional"),
            ('\u{2066}', "bidirectional"),
            ('\u{2069}', "bidirectional"),
            ('\u{2028}', "separator"),
            ('\u{2029}', "separator"),
            ('\u{ad}', "invisible"),
            ('\u{200b}', "invisible"),
            ('\u{2060}', "invisible"),
            ('\u{206f}', "invisible"),
            ('\u{feff}', "invisible"),
            ('\u{fffb}', "invisible"),
            ('\u{e0041}', "invisible"),
        ] {
            let found = first_hidden(&format!("Room{c}1"));
            assert_eq!(found.map(|(c, _)| c), Some(c), "{}", code_point(c));
            assert!(kind(c).unwrap().contains(named), "{}", code_point(c));
        }
        for fine in [
            "Room 101",
            "Salle Réunion",
            "会議室",
            "Boardroom, 4th floor ☕",
            "a\u{200c}b\u{200d}c",
            "\u{a0}\u{2010}\u{2030}\u{2070}\u{fffc}",
        ] {
            assert_eq!(first_hidden(fine), None, "{fine}");
        }
        assert_eq!(
            first_hidden("ab\u{202e}c\u{1b}"),
            Some(('\u{202e}', "a bidirectional control"))
        );
        assert_eq!(code_point('\u{1b}'), "U+001B");
        assert_eq!(code_point('\u{e0041}'), "U+E0041");
    }
}
