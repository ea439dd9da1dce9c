//! Invoice PDFs: A4 pages set in the standard Helvetica fonts (every PDF viewer has them, so
//! nothing is embedded), with the same lines, explanations and totals as the invoice page.

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str};

/// What an invoice PDF shows; amounts are already formatted (e.g. "$60.00").
#[derive(Clone, Debug)]
pub struct InvoiceDocument {
    pub seller: String,
    pub customer: String,
    pub number: String,
    pub status: String,
    pub issued: String,
    pub period: String,
    pub lines: Vec<DocumentLine>,
    /// Label and amount rows under the lines: subtotal, discount, total, credit, paid, due.
    pub totals: Vec<crate::wire::TotalRow>,
}

#[derive(Clone, Debug)]
pub struct DocumentLine {
    pub description: String,
    pub explanation: String,
    pub amount: String,
}

const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const LEFT: f32 = 56.0;
const RIGHT: f32 = PAGE_W - 56.0;
const BOTTOM: f32 = 72.0;

/// Text in the fonts' WinAnsi encoding: characters it lacks are written as their nearest ASCII.
fn win_ansi(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars() {
        match c {
            ' '..='~' => out.push(c as u8),
            '€' => out.push(0x80),
            '–' => out.push(0x96),
            '—' => out.push(0x97),
            '·' => out.push(0xB7),
            '×' => out.push(0xD7),
            '£' => out.push(0xA3),
            '¥' => out.push(0xA5),
            '≈' => out.push(b'~'),
            '→' => out.extend_from_slice(b"->"),
            '\u{a0}' => out.push(b' '),
            c if (c as u32) >= 0xA0 && (c as u32) <= 0xFF => out.push(c as u32 as u8),
            _ => out.push(b'?'),
        }
    }
    out
}

/// Helvetica's average glyph width is about half the font size; enough to wrap and right-align.
fn approx_width(text: &str, size: f32) -> f32 {
    text.chars()
        .map(|c| match c {
            'i' | 'j' | 'l' | '.' | ',' | ':' | ';' | '\'' | '|' | '!' | ' ' => 0.28,
            'm' | 'w' | 'M' | 'W' => 0.83,
            'A'..='Z' | '0'..='9' | '$' | '€' | '£' => 0.62,
            _ => 0.52,
        })
        .sum::<f32>()
        * size
}

fn wrap(text: &str, size: f32, width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current = String::new();
    for word in text.split_whitespace() {
        let candidate = if current.is_empty() {
            word.to_string()
        } else {
            format!("{current} {word}")
        };
        if approx_width(&candidate, size) > width && !current.is_empty() {
            lines.push(std::mem::replace(&mut current, word.to_string()));
        } else {
            current = candidate;
        }
    }
    if !current.is_empty() {
        lines.push(current);
    }
    lines
}

struct Writer {
    pages: Vec<Content>,
    y: f32,
}

impl Writer {
    fn page(&mut self) -> &mut Content {
        self.pages.last_mut().expect("a page")
    }

    fn text(&mut self, font: &[u8], size: f32, x: f32, text: &str) {
        let y = self.y;
        let page = self.page();
        page.begin_text();
        page.set_font(Name(font), size);
        page.next_line(x, y);
        page.show(Str(&win_ansi(text)));
        page.end_text();
    }

    fn text_right(&mut self, font: &[u8], size: f32, text: &str) {
        let x = RIGHT - approx_width(text, size);
        self.text(font, size, x, text);
    }

    fn rule(&mut self) {
        let y = self.y;
        let page = self.page();
        page.set_line_width(0.5);
        page.move_to(LEFT, y);
        page.line_to(RIGHT, y);
        page.stroke();
    }

    /// Moves down by `dy`, starting a new page when the bottom margin is reached.
    fn down(&mut self, dy: f32) {
        self.y -= dy;
        if self.y < BOTTOM {
            self.pages.push(Content::new());
            self.y = PAGE_H - 72.0;
        }
    }
}

/// Renders the invoice as a complete PDF file.
pub fn invoice_pdf(doc: &InvoiceDocument) -> Vec<u8> {
    let regular = b"F1".as_slice();
    let bold = b"F2".as_slice();
    let mut w = Writer {
        pages: vec![Content::new()],
        y: PAGE_H - 72.0,
    };
    w.text(bold, 20.0, LEFT, &format!("Invoice {}", doc.number));
    w.text_right(bold, 12.0, &doc.seller);
    w.down(24.0);
    w.text(regular, 10.0, LEFT, &format!("Status: {}", doc.status));
    w.down(14.0);
    w.text(regular, 10.0, LEFT, &format!("Issued: {}", doc.issued));
    w.down(14.0);
    w.text(regular, 10.0, LEFT, &format!("Period: {}", doc.period));
    w.down(14.0);
    w.text(regular, 10.0, LEFT, &format!("Billed to: {}", doc.customer));
    w.down(28.0);
    w.text(bold, 10.0, LEFT, "Description");
    w.text_right(bold, 10.0, "Amount");
    w.down(8.0);
    w.rule();
    w.down(16.0);
    for line in &doc.lines {
        w.text(bold, 10.0, LEFT, &line.description);
        w.text_right(regular, 10.0, &line.amount);
        for part in wrap(&line.explanation, 8.0, RIGHT - LEFT - 90.0) {
            w.down(11.0);
            w.text(regular, 8.0, LEFT + 8.0, &part);
        }
        w.down(18.0);
    }
    w.rule();
    w.down(16.0);
    let last = doc.totals.len().saturating_sub(1);
    for (i, row) in doc.totals.iter().enumerate() {
        let font = if i == last { bold } else { regular };
        w.text(font, 10.0, RIGHT - 220.0, &row.label);
        w.text_right(font, 10.0, &row.amount);
        w.down(15.0);
    }

    let mut pdf = Pdf::new();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let font_regular = Ref::new(3);
    let font_bold = Ref::new(4);
    let first_page = 5;
    let page_count = w.pages.len() as i32;
    let page_ids: Vec<Ref> = (0..page_count)
        .map(|i| Ref::new(first_page + 2 * i))
        .collect();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(page_ids.iter().copied())
        .count(page_count);
    pdf.type1_font(font_regular)
        .base_font(Name(b"Helvetica"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.type1_font(font_bold)
        .base_font(Name(b"Helvetica-Bold"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    for (i, content) in w.pages.into_iter().enumerate() {
        let page_id = page_ids[i];
        let content_id = Ref::new(page_id.get() + 1);
        let mut page = pdf.page(page_id);
        page.media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H));
        page.parent(tree);
        page.contents(content_id);
        let mut resources = page.resources();
        let mut fonts = resources.fonts();
        fonts.pair(Name(regular), font_regular);
        fonts.pair(Name(bold), font_bold);
        fonts.finish();
        resources.finish();
        page.finish();
        pdf.stream(content_id, &content.finish());
    }
    pdf.document_info(Ref::new(first_page + 2 * page_count))
        .title(pdf_writer::TextStr(&format!("Invoice {}", doc.number)))
        .producer(pdf_writer::TextStr("billing-portal"));
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks the file's structure the way a viewer reads it: header, trailer, and every
    /// cross-reference entry pointing at the object it names.
    pub fn check_structure(bytes: &[u8]) -> usize {
        // Offsets are byte offsets: read the file one byte per character (Latin-1).
        let text: Vec<char> = bytes.iter().map(|&b| char::from(b)).collect();
        let at = |offset: usize, prefix: &str| {
            prefix
                .chars()
                .enumerate()
                .all(|(i, c)| text.get(offset + i) == Some(&c))
        };
        let whole: String = text.iter().collect();
        assert!(whole.starts_with("%PDF-1."), "header");
        assert!(whole.trim_end().ends_with("%%EOF"), "trailer");
        let start: usize = whole
            .rsplit("startxref")
            .next()
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .expect("startxref");
        assert!(at(start, "xref"), "startxref points at the xref table");
        let table: String = text[start..].iter().collect();
        let mut lines = table.lines().skip(1);
        let header: Vec<usize> = lines
            .next()
            .unwrap()
            .split_whitespace()
            .map(|n| n.parse().unwrap())
            .collect();
        let (first, count) = (header[0], header[1]);
        for i in 0..count {
            let entry = lines.next().unwrap();
            if !entry.contains(" n") {
                continue;
            }
            let offset: usize = entry[..10].parse().unwrap();
            assert!(
                at(offset, &format!("{} 0 obj", first + i)),
                "object {} is at its offset",
                first + i
            );
        }
        count
    }

    #[test]
    fn an_invoice_pdf_is_well_formed_and_carries_its_lines_and_total() {
        let doc = InvoiceDocument {
            seller: "Billing portal".into(),
            customer: "Acme (owner@example.com)".into(),
            number: "0002".into(),
            status: "Paid".into(),
            issued: "15 Feb 2026".into(),
            period: "15 Feb 2026 – 15 Mar 2026".into(),
            lines: (0..60)
                .map(|i| DocumentLine {
                    description: format!("Pro monthly line {i}"),
                    explanation: "5 seats × $12.00 × 1 of 1 period = $60.00, a long explanation that has to wrap onto a second line of the page because it does not fit".into(),
                    amount: "€60.00".into(),
                })
                .collect(),
            totals: vec![crate::wire::TotalRow::new("Total", "$3,600.00".into())],
        };
        let bytes = invoice_pdf(&doc);
        assert!(check_structure(&bytes) > 6);
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("(Invoice 0002)"));
        assert!(text.contains("($3,600.00)"));
        assert!(
            text.contains("Pro monthly line 59"),
            "the last line is on a later page"
        );
        // "/Type /Page" also matches the one "/Type /Pages": two or more pages need three.
        assert!(
            text.matches("/Type /Page").count() >= 3,
            "the lines span more than one page"
        );
        // € is WinAnsi 0x80, not replaced by a question mark.
        assert!(!text.contains("(?60.00)"));
    }
}
