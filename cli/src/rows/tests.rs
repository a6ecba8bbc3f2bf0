use super::*;

fn parse_text(text: &str) -> (Vec<Row>, Vec<BadRow>) {
    let sheet = parse(text.as_bytes()).unwrap();
    (sheet.rows, sheet.bad)
}

#[test]
fn columns_are_found_by_name_in_any_order() {
    let (rows, bad) = parse_text(
        "Resource Account Name,userPrincipalName,serial_number,addressable-user-name\n\
         room-1,room-1@contoso.com,SN-1,Room 1\n",
    );
    assert!(bad.is_empty(), "{bad:?}");
    assert_eq!(rows[0].target, Target::Serial("SN-1".into()));
    assert_eq!(rows[0].user_principal_name, "room-1@contoso.com");
    assert_eq!(rows[0].addressable_user_name.as_deref(), Some("Room 1"));
    assert_eq!(rows[0].resource_account_name.as_deref(), Some("room-1"));
    assert_eq!(rows[0].line, 2);
}

#[test]
fn a_bad_header_refuses_the_file() {
    for (text, why) in [
        ("", "no header row"),
        ("device_id,device id,user_principal_name\n", "appears twice"),
        (
            "user_principal_name\n",
            "needs a serial_number or device_id column",
        ),
        ("device_id\n", "needs a user_principal_name column"),
    ] {
        let err = parse(text.as_bytes()).unwrap_err();
        assert!(err.contains(why), "{text:?}: {err}");
    }
}

#[test]
fn a_missing_column_names_the_headers_found_and_the_closest() {
    // Issue 22: a file the tool could not split said only `unknown column "…;…"`.
    let err = parse("Serial|UPN Adress|Room\nSN-1|a@b.c|x\n".as_bytes()).unwrap_err();
    assert_eq!(
        err,
        "needs a serial_number or device_id column; headers found: \"Serial|UPN Adress|Room\"; \
         unknown column \"Serial|UPN Adress|Room\" is closest to serial_number"
    );
    let err = parse("serial;UPN Adress;Room\nSN-1;a@b.c;x\n".as_bytes()).unwrap_err();
    assert_eq!(
        err,
        "needs a user_principal_name column; headers found: \"serial\", \"UPN Adress\", \
         \"Room\"; unknown column \"UPN Adress\" is closest to user_principal_name"
    );
}

#[test]
fn bad_rows_carry_their_line() {
    let (rows, bad) = parse_text(
        "device_id,serial_number,user_principal_name\n\
         d-1,,a@b.c\n\
         ,,a@b.c\n\
         d-3,S3,a@b.c\n\
         d-4,,not-an-upn\n\
         d-5,,\n\
         d-1,,again@b.c\n\
         d-7,a@b.c\n\
         \n\r\n\
         ,\"s\u{1b}[2J\",b@b.c\n\
         ,sn-10,c@b.c\n\
         ,SN-10,d@b.c\n",
    );
    assert_eq!(rows.len(), 2);
    let got: Vec<(u64, &str)> = bad.iter().map(|b| (b.line, b.why.as_str())).collect();
    assert_eq!(
        got,
        [
            (3, "has neither a serial_number nor a device_id"),
            (4, "has both a serial_number and a device_id; give one"),
            (
                5,
                "user_principal_name \"not-an-upn\" is not of the form name@domain"
            ),
            (6, "empty user_principal_name"),
            (7, "the same device as line 2"),
            (8, "2 fields; the header has 3"),
            (11, "serial_number contains a control character (U+001B)"),
            (13, "the same device as line 12"),
        ]
    );
}

#[test]
fn hidden_characters_refuse_the_row_and_are_shown_escaped() {
    // Issue 21: these went to Graph as they were, and showed as something else.
    let (rows, bad) = parse_text(
        "serial_number,user_principal_name,addressable_user_name,resource_account_name\n\
         SN-1,a@b.c,\"Room\u{202e}101\",r\n\
         SN-2,b@b.c,Room\u{2066}2,r\n\
         SN-3,c@b.c,Room\u{200b}3,r\n\
         SN-4,d@b.c,Room 4,r\u{feff}4\n\
         SN\u{2028}5,e@b.c,Room 5,r\n\
         SN-6,f@b.c,Room\u{7f}6,r\n\
         SN-7,g@b.c,Room\u{85}7,r\n\
         SN-8,h@b.c,Room\u{61c}8,r\n\
         SN-9,i@b.c,\"Room\n9\",r\n\
         SN-10,j@b.c,Salle Réunion,r\n",
    );
    assert_eq!(rows.iter().map(|r| r.line).collect::<Vec<_>>(), [12]);
    let got: Vec<(u64, &str)> = bad.iter().map(|b| (b.line, b.why.as_str())).collect();
    assert_eq!(
        got,
        [
            (
                2,
                "addressable_user_name contains a bidirectional control (U+202E)"
            ),
            (
                3,
                "addressable_user_name contains a bidirectional control (U+2066)"
            ),
            (
                4,
                "addressable_user_name contains an invisible character (U+200B)"
            ),
            (
                5,
                "resource_account_name contains an invisible character (U+FEFF)"
            ),
            (
                6,
                "serial_number contains a line or paragraph separator (U+2028)"
            ),
            (
                7,
                "addressable_user_name contains a control character (U+007F)"
            ),
            (
                8,
                "addressable_user_name contains a control character (U+0085)"
            ),
            (
                9,
                "addressable_user_name contains a bidirectional control (U+061C)"
            ),
            (
                10,
                "addressable_user_name contains a control character (U+000A)"
            ),
        ]
    );
}

#[test]
fn one_account_on_two_rows_refuses_the_file() {
    // Issue 22: both devices got the account, and both came back verified.
    let err = parse(
        "serial_number,user_principal_name\n\
         SN-1,room-1@contoso.com\n\
         SN-2,room-2@contoso.com\n\
         SN-3,Room-1@Contoso.com\n"
            .as_bytes(),
    )
    .unwrap_err();
    assert_eq!(
        err,
        "the same user_principal_name on two rows (a resource account links to one device): \
         Room-1@Contoso.com on lines 2 and 4"
    );
    // The same row twice is one device's repeat (a bad row), not two devices' conflict.
    let (rows, bad) = parse_text("device_id,upn\nd-1,a@b.c\nd-1,a@b.c\n");
    assert_eq!((rows.len(), bad[0].line), (1, 3));
}

#[test]
fn not_utf8_is_windows_1252_unless_it_is_damaged_utf8() {
    let sheet = parse(b"device_id,user_principal_name\nd-1,a@b.c\nd-\xe9,a2@b.c\n").unwrap();
    assert_eq!(sheet.rows[1].target, Target::Device("d-é".into()));
    assert_eq!(sheet.notes, ["not UTF-8: read as windows-1252"]);
    // UTF-8 elsewhere in the file: only the damaged row is refused.
    let mut text = "device_id,user_principal_name,addressable_user_name\nd-1,a@b.c,Réunion\n"
        .as_bytes()
        .to_vec();
    text.extend(b"d-\xff2,b@b.c,x\nd-3,c@b.c,y\n");
    let sheet = parse(&text).unwrap();
    assert_eq!(sheet.rows.len(), 2);
    assert_eq!(
        sheet.rows[0].addressable_user_name.as_deref(),
        Some("Réunion")
    );
    assert_eq!(
        sheet.bad,
        [BadRow {
            line: 3,
            why: "is not valid UTF-8".into()
        }]
    );
    assert!(sheet.notes.is_empty());
    text.truncate(text.len() - 3); // a cut last line is still a row of its own
    assert!(parse(&text).is_ok());
}

/// The plain file's rows: every other form of it must read to exactly these.
fn plain() -> Vec<Row> {
    let sheet = parse(include_bytes!("../../tests/data/rooms.csv")).unwrap();
    assert!(sheet.bad.is_empty() && sheet.notes.is_empty(), "{sheet:?}");
    sheet.rows
}

#[test]
fn every_form_of_the_file_reads_to_the_plain_rows() {
    let rows = plain();
    assert_eq!(rows.len(), 5);
    assert_eq!(
        rows[1].addressable_user_name.as_deref(),
        Some("Salle Réunion")
    );
    assert_eq!(
        rows[2].addressable_user_name.as_deref(),
        Some("Boardroom, 4th floor; east")
    );
    assert_eq!(rows[3].resource_account_name, None);
    let semicolons = "columns separated by \";\" (read from the header)";
    let tabs = "columns separated by tabs (read from the header)";
    let forms: [(&str, &[u8], &[&str]); 8] = [
        (
            "semicolon",
            include_bytes!("../../tests/data/rooms-semicolon.csv"),
            &[semicolons],
        ),
        (
            "tab",
            include_bytes!("../../tests/data/rooms-tab.tsv"),
            &[tabs],
        ),
        (
            "UTF-8 with BOM",
            include_bytes!("../../tests/data/rooms-utf8-bom.csv"),
            &[],
        ),
        (
            "UTF-16 LE, tabs (Excel's Unicode Text)",
            include_bytes!("../../tests/data/rooms-utf16le.txt"),
            &["read as UTF-16LE (byte-order mark)", tabs],
        ),
        (
            "UTF-16 BE",
            include_bytes!("../../tests/data/rooms-utf16be.csv"),
            &["read as UTF-16BE (byte-order mark)"],
        ),
        (
            "Windows-1252, semicolons",
            include_bytes!("../../tests/data/rooms-windows1252.csv"),
            &["not UTF-8: read as windows-1252", semicolons],
        ),
        (
            "Intune's import headers",
            include_bytes!("../../tests/data/rooms-intune.csv"),
            &["ignored columns: \"Windows Product ID\", \"Hardware Hash\", \"Group Tag\""],
        ),
        (
            "an extra column",
            include_bytes!("../../tests/data/rooms-extra-column.csv"),
            &["ignored columns: \"notes\""],
        ),
    ];
    for (form, bytes, notes) in forms {
        let sheet = parse(bytes).unwrap_or_else(|e| panic!("{form}: {e}"));
        assert_eq!(sheet.rows, rows, "{form}");
        assert!(sheet.bad.is_empty(), "{form}: {:?}", sheet.bad);
        assert_eq!(sheet.notes, notes, "{form}");
    }
}

#[test]
fn an_excel_sep_line_is_obeyed_and_counted() {
    let sheet = parse(b"sep=;\r\nserial;upn\r\nSN-1;a@b.c\r\nSN-2\r\n").unwrap();
    assert_eq!(sheet.rows[0].line, 3);
    assert_eq!(sheet.rows[0].target, Target::Serial("SN-1".into()));
    assert_eq!(sheet.bad[0].line, 4);
    assert_eq!(sheet.notes, ["columns separated by \";\" (its sep= line)"]);
}

#[test]
fn fingerprints_tell_rows_apart() {
    let row = |target: Target, addressable: Option<&str>, name: Option<&str>| Row {
        line: 2,
        target,
        user_principal_name: "a@b.c".into(),
        addressable_user_name: addressable.map(str::to_owned),
        resource_account_name: name.map(str::to_owned),
    };
    let base = row(Target::Device("d".into()), Some("x"), None);
    let same_elsewhere = Row {
        line: 9,
        ..base.clone()
    };
    assert_eq!(base.fingerprint(), same_elsewhere.fingerprint());
    assert_eq!(base.fingerprint().len(), 64);
    for other in [
        row(Target::Serial("d".into()), Some("x"), None),
        row(Target::Device("d".into()), None, Some("x")),
        row(Target::Device("d".into()), Some(""), None),
        row(Target::Device("dx".into()), None, None),
    ] {
        assert_ne!(base.fingerprint(), other.fingerprint(), "{other:?}");
    }
}

/// Kills the mutant that leaves `resource_account_name` out of `Row::fingerprint`: `--resume`
/// would then skip a row whose account name changed since it was verified.
#[test]
fn a_changed_resource_account_name_is_another_fingerprint() {
    let row = |name: Option<&str>| Row {
        line: 2,
        target: Target::Serial("SN-1".into()),
        user_principal_name: "room-1@contoso.com".into(),
        addressable_user_name: Some("Room 1".into()),
        resource_account_name: name.map(str::to_owned),
    };
    let renamed = [row(Some("room-1")), row(Some("room-one")), row(None)];
    for (i, a) in renamed.iter().enumerate() {
        for b in &renamed[i + 1..] {
            assert_ne!(a.fingerprint(), b.fingerprint(), "{a:?} / {b:?}");
        }
    }
}

#[test]
fn read_takes_files_up_to_64_mib() {
    assert_eq!(MAX_FILE_BYTES, 64 << 20);
    let dir = std::env::temp_dir().join(format!("autopilot-ra-rows-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("big.csv");
    let file = std::fs::File::create(&path).unwrap();
    // Sparse, all NUL: a file within the cap is refused for its content, not its size.
    file.set_len(MAX_FILE_BYTES).unwrap();
    let err = read(&path).unwrap_err();
    assert!(err.contains("has NUL bytes"), "{err}");
    file.set_len(MAX_FILE_BYTES + 1).unwrap();
    let err = read(&path).unwrap_err();
    assert!(err.ends_with("big.csv is larger than 64 MiB"), "{err}");
    std::fs::copy("tests/data/rooms-semicolon.csv", &path).unwrap();
    assert_eq!(read(&path).unwrap().rows, plain());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_row_asks_for_its_assignment() {
    let rows = plain();
    let assignment = rows[3].assignment();
    assert_eq!(
        assignment.user_principal_name.as_deref(),
        Some("huddle-5a@contoso.com")
    );
    assert_eq!(
        assignment.addressable_user_name.as_deref(),
        Some("Huddle 5A")
    );
    assert_eq!(assignment.resource_account_name, None);
    assert_eq!(
        rows[0].assignment().resource_account_name.as_deref(),
        Some("room-101")
    );
    assert_eq!(rows[0].serial(), Some("PF3ABC101"));
    let by_id = Row {
        target: Target::Device("d-1".into()),
        ..rows[0].clone()
    };
    assert_eq!(by_id.serial(), None);
}

#[test]
fn values_have_a_length_and_upns_a_form() {
    let long = |n: usize| format!("serial_number,upn\n{},a@b.c\n", "x".repeat(n));
    assert_eq!(parse_text(&long(1024)).0.len(), 1);
    let (_, bad) = parse_text(&long(1025));
    assert_eq!(bad[0].why, "serial_number is longer than 1024 characters");
    for upn in ["@b.c", "a@", "a@b@c", "a b@c", "ab.c"] {
        let (rows, bad) = parse_text(&format!("serial_number,upn\nSN-1,\"{upn}\"\n"));
        assert!(rows.is_empty(), "{upn}");
        assert!(
            bad[0].why.ends_with("is not of the form name@domain"),
            "{upn}"
        );
    }
}

#[test]
fn a_damaged_row_after_a_sep_line_keeps_its_line() {
    let mut text = "sep=,\nserial,upn,name\nSN-1,a@b.c,Réunion\n"
        .as_bytes()
        .to_vec();
    text.extend(b"SN-\xff2,b@b.c,x\n");
    let sheet = parse(&text).unwrap();
    assert_eq!(sheet.rows[0].line, 3);
    assert_eq!(
        sheet.bad,
        [BadRow {
            line: 4,
            why: "is not valid UTF-8".into()
        }]
    );
}
