//! Bytes to text, for the encodings spreadsheets save: UTF-8 with or without a byte-order mark,
//! UTF-16 LE/BE with one (Excel's "Unicode Text"), and Windows-1252 for a file that is not UTF-8
//! (Excel's plain "CSV" in Western locales).

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};

/// The text to parse, and what to tell the user about how it was read.
#[derive(Debug)]
pub struct Decoded<'a> {
    /// UTF-8, except for a file that is UTF-8 with a few damaged bytes: those stay as they are,
    /// so that the rows that hold them are reported as bad rows (as before this module).
    pub bytes: Cow<'a, [u8]>,
    pub note: Option<String>,
}

/// Decodes `bytes`. Whatever the encoding, the result is at most three times the input (one
/// Windows-1252 or UTF-16 unit is at most three UTF-8 bytes), so the file-size cap still bounds it.
pub fn decode(bytes: &[u8]) -> Result<Decoded<'_>, String> {
    if let Some((encoding, bom)) = Encoding::for_bom(bytes) {
        let body = &bytes[bom..];
        if encoding == UTF_8 {
            return Ok(Decoded {
                bytes: Cow::Borrowed(body),
                note: None,
            });
        }
        // UTF-16 (the BOM says which order): an odd length or a lone surrogate is a damaged
        // file, not text to guess at.
        let (text, had_errors) = encoding.decode_without_bom_handling(body);
        if had_errors {
            return Err(format!(
                "starts with a {} byte-order mark but is not valid {0}",
                encoding.name()
            ));
        }
        return Ok(Decoded {
            bytes: Cow::Owned(text.into_owned().into_bytes()),
            note: Some(format!("read as {} (byte-order mark)", encoding.name())),
        });
    }
    if bytes.contains(&0) {
        // No text encoding of a CSV file has NUL bytes but UTF-16 and UTF-32.
        return Err(
            "has NUL bytes: UTF-16 or UTF-32 without a byte-order mark? Save it as CSV UTF-8"
                .into(),
        );
    }
    if std::str::from_utf8(bytes).is_ok() {
        return Ok(Decoded {
            bytes: Cow::Borrowed(bytes),
            note: None,
        });
    }
    if has_utf8_beyond_ascii(bytes) {
        // UTF-8 with damage: reading it all as Windows-1252 would garble every accented
        // character of the good rows, so only the damaged rows are refused.
        return Ok(Decoded {
            bytes: Cow::Borrowed(bytes),
            note: None,
        });
    }
    let (text, _) = WINDOWS_1252.decode_without_bom_handling(bytes);
    Ok(Decoded {
        bytes: Cow::Owned(text.into_owned().into_bytes()),
        note: Some("not UTF-8: read as windows-1252".into()),
    })
}

/// Whether some valid stretch of `bytes` holds a multi-byte UTF-8 character: Windows-1252 text
/// almost never does (an accented letter is one byte, followed by ASCII).
fn has_utf8_beyond_ascii(bytes: &[u8]) -> bool {
    bytes.utf8_chunks().any(|chunk| !chunk.valid().is_ascii())
}

#[cfg(test)]
mod tests {
    use super::decode;

    fn text(bytes: &[u8]) -> (String, Option<String>) {
        let decoded = decode(bytes).unwrap();
        (
            String::from_utf8(decoded.bytes.into_owned()).unwrap(),
            decoded.note,
        )
    }

    #[test]
    fn each_encoding_comes_out_as_the_same_text() {
        let plain = "a,b\nSalle Réunion,x\n";
        let utf16 = |big: bool| {
            let mut out = if big {
                vec![0xfe, 0xff]
            } else {
                vec![0xff, 0xfe]
            };
            for unit in plain.encode_utf16() {
                out.extend(if big {
                    unit.to_be_bytes()
                } else {
                    unit.to_le_bytes()
                });
            }
            out
        };
        let mut bom8 = b"\xef\xbb\xbf".to_vec();
        bom8.extend(plain.as_bytes());
        let cp1252 = b"a,b\nSalle R\xe9union,x\n".to_vec();
        for (bytes, note) in [
            (plain.as_bytes().to_vec(), None),
            (bom8, None),
            (utf16(false), Some("read as UTF-16LE (byte-order mark)")),
            (utf16(true), Some("read as UTF-16BE (byte-order mark)")),
            (cp1252, Some("not UTF-8: read as windows-1252")),
        ] {
            assert_eq!(text(&bytes), (plain.into(), note.map(str::to_owned)));
        }
    }

    #[test]
    fn damaged_files_are_named_not_guessed() {
        let err = decode(b"\xff\xfea\x00b").unwrap_err();
        assert_eq!(
            err,
            "starts with a UTF-16LE byte-order mark but is not valid UTF-16LE"
        );
        for nul in [&b"a\x00,\x00b\x00\xe9\x00"[..], b"a,b\x00"] {
            let err = decode(nul).unwrap_err();
            assert!(err.starts_with("has NUL bytes"), "{err}");
        }
        // UTF-8 with one bad byte stays UTF-8: the good row's "é" is not garbled.
        let mut bytes = "a\nRéunion\nb".as_bytes().to_vec();
        bytes.push(0xff);
        let decoded = decode(&bytes).unwrap();
        assert_eq!(&decoded.bytes[..], &bytes[..]);
        assert_eq!(decoded.note, None);
    }
}
