//! Which subscribers of a price a migration moves: everyone, or a cohort narrowed by seat count
//! and by a list of customers (names or organisation ids).

use serde::{Deserialize, Serialize};

/// A migration's cohort. The empty cohort is every subscriber of the price.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cohort {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_quantity: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_quantity: Option<i64>,
    /// Customers by organisation name (any case) or id; empty: any customer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub customers: Vec<String>,
}

impl Cohort {
    /// Reads the preview form's fields: seats from, seats to (each empty or a whole number), and
    /// customers separated by commas or new lines.
    pub fn parse(min: &str, max: &str, customers: &str) -> Result<Cohort, String> {
        let bound = |text: &str, what: &str| -> Result<Option<i64>, String> {
            let text = text.trim();
            if text.is_empty() {
                return Ok(None);
            }
            text.parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .map(Some)
                .ok_or_else(|| {
                    format!("\"{text}\" is not a seat count; enter {what} as a whole number, or leave it empty.")
                })
        };
        let (min_quantity, max_quantity) = (
            bound(min, "the fewest seats")?,
            bound(max, "the most seats")?,
        );
        if let (Some(min), Some(max)) = (min_quantity, max_quantity) {
            if min > max {
                return Err(format!(
                    "The cohort is from {min} to {max} seats; the first number must not be above the second."
                ));
            }
        }
        let mut listed: Vec<String> = Vec::new();
        for name in customers.split([',', '\n']).map(str::trim) {
            if !name.is_empty() && !listed.iter().any(|l| l.eq_ignore_ascii_case(name)) {
                listed.push(name.to_string());
            }
        }
        Ok(Cohort {
            min_quantity,
            max_quantity,
            customers: listed,
        })
    }

    pub fn is_everyone(&self) -> bool {
        self == &Cohort::default()
    }

    /// Whether this cohort holds the subscriber of organisation `org_id` named `org_name` with
    /// `quantity` seats.
    pub fn includes(&self, org_id: &str, org_name: &str, quantity: i64) -> bool {
        self.min_quantity.is_none_or(|min| quantity >= min)
            && self.max_quantity.is_none_or(|max| quantity <= max)
            && (self.customers.is_empty()
                || self
                    .customers
                    .iter()
                    .any(|c| c == org_id || c.eq_ignore_ascii_case(org_name)))
    }

    /// The listed customers that name none of `subscribers` (organisation id and name).
    pub fn unknown<'a>(&'a self, subscribers: &[(&str, &str)]) -> Vec<&'a str> {
        self.customers
            .iter()
            .filter(|c| {
                !subscribers
                    .iter()
                    .any(|(id, name)| *c == id || c.eq_ignore_ascii_case(name))
            })
            .map(String::as_str)
            .collect()
    }

    /// In words: "every subscriber", "subscribers with 3 to 10 seats among Acme, Beta".
    pub fn describe(&self) -> String {
        if self.is_everyone() {
            return "every subscriber".into();
        }
        let seats = match (self.min_quantity, self.max_quantity) {
            (Some(min), Some(max)) => format!(" with {min} to {max} seats"),
            (Some(min), None) => format!(" with {min} seats or more"),
            (None, Some(max)) => format!(" with at most {max} seats"),
            (None, None) => String::new(),
        };
        let among = if self.customers.is_empty() {
            String::new()
        } else {
            format!(" among {}", self.customers.join(", "))
        };
        format!("subscribers{seats}{among}")
    }

    /// As stored: empty for everyone, JSON otherwise.
    pub fn to_stored(&self) -> String {
        if self.is_everyone() {
            String::new()
        } else {
            serde_json::to_string(self).unwrap_or_default()
        }
    }

    pub fn from_stored(text: &str) -> Result<Cohort, String> {
        if text.trim().is_empty() {
            return Ok(Cohort::default());
        }
        serde_json::from_str(text).map_err(|e| format!("a migration's cohort is unreadable ({e})"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cohort_narrows_by_seats_and_by_customer_name_or_id() {
        let cohort = Cohort::parse(" 3 ", "", "acme, org_ab12\nAcme").unwrap();
        assert_eq!(cohort.customers, ["acme", "org_ab12"]);
        assert!(cohort.includes("org_1", "Acme", 3));
        assert!(!cohort.includes("org_1", "Acme", 2));
        assert!(cohort.includes("org_ab12", "Beta", 40));
        assert!(!cohort.includes("org_2", "Gamma", 40));
        assert_eq!(
            cohort.describe(),
            "subscribers with 3 seats or more among acme, org_ab12"
        );
        assert_eq!(cohort.unknown(&[("org_1", "ACME")]), ["org_ab12"]);
        assert_eq!(Cohort::from_stored(&cohort.to_stored()), Ok(cohort));
        let everyone = Cohort::parse("", "", " ,\n").unwrap();
        assert!(everyone.is_everyone());
        assert_eq!(everyone.to_stored(), "");
        assert_eq!(everyone.describe(), "every subscriber");
        assert!(everyone.includes("org_9", "Anyone", 0));
        assert_eq!(
            Cohort::parse("", "5", "").unwrap().describe(),
            "subscribers with at most 5 seats"
        );
    }

    #[test]
    fn bad_bounds_say_what_to_enter() {
        assert_eq!(
            Cohort::parse("three", "", ""),
            Err("\"three\" is not a seat count; enter the fewest seats as a whole number, or leave it empty.".into())
        );
        assert_eq!(
            Cohort::parse("", "-1", ""),
            Err("\"-1\" is not a seat count; enter the most seats as a whole number, or leave it empty.".into())
        );
        assert_eq!(
            Cohort::parse("10", "3", ""),
            Err(
                "The cohort is from 10 to 3 seats; the first number must not be above the second."
                    .into()
            )
        );
    }
}
