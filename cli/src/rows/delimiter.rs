//! Which character separates the columns: `,`, `;` (Excel's CSV where the decimal mark is a
//! comma) or a tab (Excel's "Unicode Text"). Decided once, from the header line, or from the
//! `sep=` line Excel writes and reads before it.

/// The delimiters tried, in order of preference when the header cannot tell them apart.
const CANDIDATES: [u8; 3] = [b',', b';', b'\t'];

/// How the file is laid out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub delimiter: u8,
    /// Bytes before the header (a `sep=` line), not part of the CSV text.
    pub skip: usize,
    /// Said once to the user when the file is not plain comma-separated.
    pub note: Option<String>,
}

/// Reads the layout of `text` (decoded). `known` tells whether a header names one of our columns.
pub fn detect(text: &[u8], known: impl Fn(&str) -> bool) -> Layout {
    if let Some((delimiter, skip)) = sep_line(text) {
        return Layout {
            delimiter,
            skip,
            note: Some(format!(
                "columns separated by {} (its sep= line)",
                name(delimiter)
            )),
        };
    }
    let header = header_line(text);
    // The split that names most of our columns wins; then the most frequent character; then
    // the earlier candidate (so a header with none of them is comma-separated).
    let best = CANDIDATES
        .iter()
        .map(|&d| {
            (
                d,
                known_fields(header, d, &known),
                count_outside_quotes(header, d),
            )
        })
        .fold(None, |best: Option<(u8, usize, usize)>, this| match best {
            Some(b) if (b.1, b.2) >= (this.1, this.2) => Some(b),
            _ => Some(this),
        });
    let delimiter = best.map_or(b',', |(d, _, _)| d);
    Layout {
        delimiter,
        skip: 0,
        note: (delimiter != b',').then(|| {
            format!(
                "columns separated by {} (read from the header)",
                name(delimiter)
            )
        }),
    }
}

fn name(delimiter: u8) -> String {
    match delimiter {
        b'\t' => "tabs".into(),
        d => format!("\"{}\"", char::from(d)),
    }
}

/// Excel's `sep=;` first line: the delimiter it names, and the length of the line.
fn sep_line(text: &[u8]) -> Option<(u8, usize)> {
    let end = text.iter().position(|&b| b == b'\n').unwrap_or(text.len());
    let line = text[..end].strip_suffix(b"\r").unwrap_or(&text[..end]);
    let [s, e, p, b'=', delimiter] = line else {
        return None;
    };
    let named = [s, e, p].map(u8::to_ascii_lowercase) == [b's', b'e', b'p'];
    (named && CANDIDATES.contains(delimiter)).then_some((*delimiter, (end + 1).min(text.len())))
}

/// The first line, up to the first line break outside quotes.
fn header_line(text: &[u8]) -> &[u8] {
    let mut quoted = false;
    for (i, &b) in text.iter().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b'\n' | b'\r' if !quoted => return &text[..i],
            _ => {}
        }
    }
    text
}

fn count_outside_quotes(line: &[u8], delimiter: u8) -> usize {
    let mut quoted = false;
    let mut count = 0;
    for &b in line {
        if b == b'"' {
            quoted = !quoted;
        } else if b == delimiter && !quoted {
            count += 1;
        }
    }
    count
}

/// How many fields of `line`, split at `delimiter` the way the CSV reader splits, are known.
fn known_fields(line: &[u8], delimiter: u8, known: &impl Fn(&str) -> bool) -> usize {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .delimiter(delimiter)
        .trim(csv::Trim::All)
        .from_reader(line);
    let mut record = csv::ByteRecord::new();
    match reader.read_byte_record(&mut record) {
        Ok(true) => record
            .iter()
            .filter(|field| known(&String::from_utf8_lossy(field)))
            .count(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::{Layout, detect};

    fn known(header: &str) -> bool {
        ["serial", "upn", "name"].contains(&header)
    }

    fn delimiter(text: &str) -> char {
        char::from(detect(text.as_bytes(), known).delimiter)
    }

    #[test]
    fn the_header_decides() {
        assert_eq!(delimiter("serial,upn\n"), ',');
        assert_eq!(delimiter("serial;upn\na,b;c\n"), ';');
        assert_eq!(delimiter("serial\tupn\n"), '\t');
        // A `;` inside a header of a comma file, or inside quotes, does not count.
        assert_eq!(delimiter("serial,upn,notes; misc\n"), ',');
        assert_eq!(delimiter("\"a;b;c\",serial\n"), ',');
        assert_eq!(delimiter("\"a;b;c\",d\n"), ',');
        // Only the header line counts, and it ends at the first line break outside quotes.
        assert_eq!(delimiter("a;b\nx,y,z,w\n"), ';');
        assert_eq!(delimiter("\"a\nb,c,d\";e\n"), ';');
        // Known columns outweigh frequency: two known fields split at ';' beat three commas.
        assert_eq!(delimiter("serial;upn;x,y,z,w\n"), ';');
        // Nothing known: the most frequent, commas first on a tie, commas when there is none.
        assert_eq!(delimiter("a;b;c,d\n"), ';');
        assert_eq!(delimiter("a;b,c\n"), ',');
        assert_eq!(delimiter("serial\n"), ',');
        assert_eq!(delimiter(""), ',');
    }

    #[test]
    fn the_choice_is_noted_unless_it_is_a_comma() {
        assert_eq!(detect(b"serial,upn\n", known).note, None);
        assert_eq!(
            detect(b"serial;upn\n", known).note.as_deref(),
            Some("columns separated by \";\" (read from the header)")
        );
        assert_eq!(
            detect(b"serial\tupn\n", known).note.as_deref(),
            Some("columns separated by tabs (read from the header)")
        );
    }

    #[test]
    fn excel_sep_line_names_the_delimiter_and_is_skipped() {
        assert_eq!(
            detect(b"sep=;\r\nserial,upn\n", known),
            Layout {
                delimiter: b';',
                skip: 7,
                note: Some("columns separated by \";\" (its sep= line)".into()),
            }
        );
        assert_eq!(detect(b"SEP=,", known).skip, 5);
        // Not a sep= line: another character, or more after it.
        assert_eq!(detect(b"sep=|\nserial;upn\n", known).skip, 0);
        assert_eq!(detect(b"sep=;;\n", known).skip, 0);
    }
}
