//! Amount display with Stripe's currency exponents.

/// Decimal places of a currency's minor unit, as Stripe defines them: zero-decimal currencies
/// (JPY, KRW, ...), three-decimal ones (BHD, JOD, KWD, OMR, TND), two for the rest.
pub(crate) fn exponent(currency: &str) -> u32 {
    match currency.to_ascii_lowercase().as_str() {
        "bif" | "clp" | "djf" | "gnf" | "jpy" | "kmf" | "krw" | "mga" | "pyg" | "rwf" | "ugx"
        | "vnd" | "vuv" | "xaf" | "xof" | "xpf" => 0,
        "bhd" | "jod" | "kwd" | "omr" | "tnd" => 3,
        _ => 2,
    }
}

/// `1200 usd` -> `$12.00`, `500 jpy` -> `¥500`, `1500 kwd` -> `KWD 1.500`. Exact: integer
/// arithmetic only, no rounding.
pub(crate) fn format_amount(amount: i64, currency: &str) -> String {
    let decimals = exponent(currency);
    let sign = if amount < 0 { "-" } else { "" };
    let magnitude = amount.unsigned_abs();
    let number = if decimals == 0 {
        magnitude.to_string()
    } else {
        let scale = 10u64.pow(decimals);
        format!(
            "{}.{:0width$}",
            magnitude / scale,
            magnitude % scale,
            width = decimals as usize
        )
    };
    let code = currency.to_ascii_uppercase();
    match code.as_str() {
        "USD" => format!("{sign}${number}"),
        "EUR" => format!("{sign}€{number}"),
        "GBP" => format!("{sign}£{number}"),
        "JPY" => format!("{sign}¥{number}"),
        _ => format!("{sign}{code} {number}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_use_the_currency_exponent() {
        assert_eq!(format_amount(1200, "usd"), "$12.00");
        assert_eq!(format_amount(5, "eur"), "€0.05");
        assert_eq!(format_amount(500, "jpy"), "¥500");
        assert_eq!(format_amount(1000, "krw"), "KRW 1000");
        assert_eq!(format_amount(1500, "kwd"), "KWD 1.500");
        assert_eq!(format_amount(-250, "gbp"), "-£2.50");
    }
}
