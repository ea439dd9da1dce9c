//! Text people type that other people later read: names, email addresses, notes, reasons.
//!
//! Such text ends up in email subjects and headers, on staff screens, in the audit log and in CSV
//! exports. It may not carry control characters (a CR/LF in a subject starts a new header; a NUL
//! cuts it short) or Unicode's invisible direction controls, which make text display differently
//! from what it is (`invoice`, U+202E, `fdp.exe` shows as `invoiceexe.pdf`). Line breaks are allowed only
//! where a field is multi-line (notes), and then only as `\n`.

/// Why a piece of text cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TextProblem {
    #[error("is empty")]
    Empty,
    #[error("is longer than {max} characters")]
    TooLong { max: usize },
    #[error("contains a control character (such as a line break, tab or NUL)")]
    ControlCharacter,
    #[error("contains an invisible text-direction character (a Unicode bidirectional control)")]
    DirectionControl,
}

/// Whether a field is one line (names, addresses) or may have line breaks (notes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lines {
    One,
    Many,
}

/// Unicode's bidirectional formatting characters: marks, embeddings, overrides and isolates.
pub fn is_direction_control(c: char) -> bool {
    matches!(c,
        '\u{061C}' | '\u{200E}' | '\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2066}'..='\u{2069}')
}

/// Characters that break a line or a header without being visible: C0 and C1 controls, DEL, and
/// the Unicode line and paragraph separators.
pub fn is_control(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
}

/// The first problem with `text` as typed (after trimming), if any. In a multi-line field `\r\n`
/// and `\n` are line breaks, not control characters.
pub fn problem(text: &str, lines: Lines) -> Option<TextProblem> {
    text.chars().find_map(|c| {
        if is_direction_control(c) {
            Some(TextProblem::DirectionControl)
        } else if is_control(c) && !(lines == Lines::Many && matches!(c, '\n' | '\r')) {
            Some(TextProblem::ControlCharacter)
        } else {
            None
        }
    })
}

/// Trims `raw` and checks it: not empty (unless `allow_empty`), at most `max` characters, no
/// control or direction characters. Multi-line text has its `\r\n` made `\n`.
pub fn clean(
    raw: &str,
    max: usize,
    lines: Lines,
    allow_empty: bool,
) -> Result<String, TextProblem> {
    let text = raw.trim();
    if text.is_empty() && !allow_empty {
        return Err(TextProblem::Empty);
    }
    if let Some(problem) = problem(text, lines) {
        return Err(problem);
    }
    let text = if lines == Lines::Many {
        text.replace("\r\n", "\n")
    } else {
        text.to_string()
    };
    if text.contains('\r') {
        return Err(TextProblem::ControlCharacter);
    }
    if text.chars().count() > max {
        return Err(TextProblem::TooLong { max });
    }
    Ok(text)
}

/// The message for a field called `field` (e.g. "The organisation name") with `problem`, which
/// says what to do about it.
pub fn explain(field: &str, problem: TextProblem) -> String {
    match problem {
        TextProblem::Empty => format!("{field} is empty: fill it in."),
        TextProblem::TooLong { max } => {
            format!("{field} is too long: keep it to {max} characters or fewer.")
        }
        TextProblem::ControlCharacter => format!(
            "{field} contains a control character (a line break, tab or similar invisible character): remove it and try again."
        ),
        TextProblem::DirectionControl => format!(
            "{field} contains an invisible text-direction character, which can make text display as something else: retype it without it."
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_and_notes_pass() {
        assert_eq!(
            clean("  Acme GmbH  ", 100, Lines::One, false).unwrap(),
            "Acme GmbH"
        );
        assert_eq!(
            clean("Zürich – 東京 👩‍💻", 100, Lines::One, false).unwrap(),
            "Zürich – 東京 👩‍💻"
        );
        assert_eq!(
            clean("first line\r\nsecond", 100, Lines::Many, false).unwrap(),
            "first line\nsecond"
        );
        assert_eq!(clean("", 10, Lines::One, true).unwrap(), "");
    }

    #[test]
    fn controls_and_direction_characters_are_refused() {
        for bad in [
            "Acme\r\nBcc: x@evil.example",
            "Acme\nInc",
            "Ac\0me",
            "Acme\tInc",
            "Acme\u{7f}",
            "Ac\u{85}me",
            "Acme\u{2028}Inc",
        ] {
            assert_eq!(
                clean(bad, 100, Lines::One, false),
                Err(TextProblem::ControlCharacter),
                "{bad:?}"
            );
        }
        for bad in [
            "invoice\u{202E}fdp.exe",
            "\u{2066}Acme",
            "Acme\u{200F}",
            "a\u{061C}b",
        ] {
            assert_eq!(
                clean(bad, 100, Lines::Many, false),
                Err(TextProblem::DirectionControl),
                "{bad:?}"
            );
        }
        assert_eq!(
            clean("a\0b", 100, Lines::Many, false),
            Err(TextProblem::ControlCharacter)
        );
        assert_eq!(
            clean("a\rb", 100, Lines::Many, false),
            Err(TextProblem::ControlCharacter)
        );
        assert_eq!(clean("   ", 10, Lines::One, false), Err(TextProblem::Empty));
        assert_eq!(
            clean("abcdef", 5, Lines::One, false),
            Err(TextProblem::TooLong { max: 5 })
        );
    }

    #[test]
    fn messages_name_the_field_and_what_to_do() {
        let m = explain("The organisation name", TextProblem::ControlCharacter);
        assert!(m.starts_with("The organisation name contains a control character"));
        assert!(m.contains("remove it"));
        let m = explain("The note", TextProblem::TooLong { max: 1000 });
        assert_eq!(
            m,
            "The note is too long: keep it to 1000 characters or fewer."
        );
    }
}
