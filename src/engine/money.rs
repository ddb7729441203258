//! Amounts and currencies, as purchases, leads (R-C2) and conversions (R-M2) carry them: a
//! value from 0 to [`MAX_VALUE`] with at most two decimals, in a currency named by its
//! ISO 4217 code.

use serde_json::Value;

/// Largest purchase, lead or conversion value accepted.
pub const MAX_VALUE: f64 = 1e9;

/// The active ISO 4217 currency codes (2025 list, funds and precious metals excluded), sorted.
const ISO_4217: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD",
    "CDF", "CHF", "CLP", "CNY", "COP", "CRC", "CUC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP",
    "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF",
    "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD",
    "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP",
    "LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR",
    "MVR", "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB",
    "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD",
    "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SLL", "SOS", "SRD", "SSP", "STN", "SVC", "SYP",
    "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD",
    "UYU", "UZS", "VED", "VES", "VND", "VUV", "WST", "XAF", "XCD", "XCG", "XOF", "XPF", "YER",
    "ZAR", "ZMW", "ZWG",
];

/// True when `code` is an active ISO 4217 currency code (upper case, as the standard writes it).
pub fn is_currency(code: &str) -> bool {
    ISO_4217.binary_search(&code).is_ok()
}

/// A problem with one field: the field and what is wrong.
pub type FieldProblem = (&'static str, String);

/// An amount in a currency, checked: `value` a number from 0 to [`MAX_VALUE`] with at most two
/// decimals, `currency` an ISO 4217 code. Names the field at fault.
pub fn check_money(value: &Value, currency: &str) -> Result<f64, FieldProblem> {
    let amount = value.as_f64().filter(|v| v.is_finite()).filter(|v| {
        let cents = v * 100.0;
        (0.0..=MAX_VALUE).contains(v) && (cents - cents.round()).abs() < 1e-6
    });
    let Some(amount) = amount else {
        return Err((
            "value",
            format!("a number from 0 to {MAX_VALUE}, at most 2 decimals"),
        ));
    };
    if !is_currency(currency) {
        return Err(("currency", "an ISO 4217 code such as GBP".to_string()));
    }
    Ok(amount)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_code_list_is_sorted_so_that_binary_search_holds() {
        assert!(ISO_4217.windows(2).all(|w| w[0] < w[1]));
    }

    /// R-M2, R-C2: values are money, currencies are ISO 4217 codes.
    #[test]
    fn r_m2_money_is_checked() {
        assert_eq!(check_money(&json!(12.5), "GBP"), Ok(12.5));
        assert_eq!(check_money(&json!(0), "JPY"), Ok(0.0));
        for (v, c, field) in [
            (json!(-1), "GBP", "value"),
            (json!("12"), "GBP", "value"),
            (json!(1.001), "GBP", "value"),
            (json!(2e9), "GBP", "value"),
            (json!(1), "gbp", "currency"),
            (json!(1), "XXX", "currency"),
            (json!(1), "ABC", "currency"),
            (json!(1), "XAU", "currency"),
        ] {
            assert_eq!(check_money(&v, c).map_err(|e| e.0), Err(field), "{v} {c}");
        }
    }
}
