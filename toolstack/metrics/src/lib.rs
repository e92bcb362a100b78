//! Metrics for Prometheus: families of samples rendered in the text
//! exposition format 0.0.4 ([`render`]), and a minimal HTTP/1.1 endpoint
//! serving them on `GET /metrics` ([`Server`]). What is measured is the
//! caller's business (the mbctl agent reads it from the store).
#![warn(missing_docs)]

mod server;

pub use server::Server;

use std::fmt::Write;

/// The `Content-Type` of the text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A metric's type, as `# TYPE` states it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Only goes up (names end in `_total`).
    Counter,
    /// Goes up and down.
    Gauge,
}

/// One sample: label pairs and a value.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// `(name, value)` label pairs, in output order.
    pub labels: Vec<(String, String)>,
    /// The value.
    pub value: f64,
}

/// A metric family: one name, help text and type, any number of samples.
#[derive(Clone, Debug, PartialEq)]
pub struct Family {
    /// Metric name (`mb_nic_rx_packets_total`).
    pub name: String,
    /// One line of help.
    pub help: String,
    /// Counter or gauge.
    pub kind: Kind,
    /// The samples.
    pub samples: Vec<Sample>,
}

impl Family {
    /// An empty family.
    pub fn new(name: &str, kind: Kind, help: &str) -> Family {
        Family {
            name: name.into(),
            help: help.into(),
            kind,
            samples: Vec::new(),
        }
    }

    /// Adds a sample with `labels`.
    pub fn add(&mut self, labels: &[(&str, &str)], value: f64) {
        self.samples.push(Sample {
            labels: labels
                .iter()
                .map(|&(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            value,
        });
    }
}

/// Finds family `name` in `fams`, adding it (with `kind` and `help`) if missing.
pub fn family<'a>(fams: &'a mut Vec<Family>, name: &str, kind: Kind, help: &str) -> &'a mut Family {
    match fams.iter().position(|f| f.name == name) {
        Some(i) => &mut fams[i],
        None => {
            fams.push(Family::new(name, kind, help));
            fams.last_mut().expect("just pushed")
        }
    }
}

/// Makes `s` a valid metric or label name: characters outside
/// `[A-Za-z0-9_]` become `_`, and a leading digit gets a `_` before it.
pub fn sanitize_name(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// A label value with `\`, `"` and newlines escaped.
fn escape_label(v: &str, out: &mut String) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// Help text with `\` and newlines escaped.
fn escape_help(v: &str, out: &mut String) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// A value as the format writes it (`+Inf`, `-Inf`, `NaN`; integers
/// without a fraction).
fn value(v: f64, out: &mut String) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        let _ = write!(out, "{}", v as i64);
    } else {
        let _ = write!(out, "{v}");
    }
}

/// Renders families in the text exposition format 0.0.4. Families
/// without samples are left out (their `# TYPE` alone says nothing).
pub fn render(fams: &[Family]) -> String {
    let mut out = String::new();
    for f in fams.iter().filter(|f| !f.samples.is_empty()) {
        out.push_str("# HELP ");
        out.push_str(&f.name);
        out.push(' ');
        escape_help(&f.help, &mut out);
        out.push('\n');
        let kind = match f.kind {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
        };
        let _ = writeln!(out, "# TYPE {} {kind}", f.name);
        for s in &f.samples {
            out.push_str(&f.name);
            if !s.labels.is_empty() {
                out.push('{');
                for (i, (k, v)) in s.labels.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(k);
                    out.push_str("=\"");
                    escape_label(v, &mut out);
                    out.push('"');
                }
                out.push('}');
            }
            out.push(' ');
            value(s.value, &mut out);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_render_with_help_type_and_labels() {
        let mut fams = Vec::new();
        let f = family(
            &mut fams,
            "mb_nic_rx_packets_total",
            Kind::Counter,
            "Frames received.",
        );
        f.add(&[("vm", "fw"), ("nic", "0")], 42.0);
        f.add(&[("vm", "fw"), ("nic", "1")], 7.0);
        family(&mut fams, "mb_vm_busy_ratio", Kind::Gauge, "Busy share.")
            .add(&[("vm", "fw")], 0.125);
        family(&mut fams, "mb_unused", Kind::Gauge, "Nothing.");
        // The same name again adds to the existing family.
        family(&mut fams, "mb_nic_rx_packets_total", Kind::Counter, "x")
            .add(&[("vm", "nat"), ("nic", "0")], 1e20);
        assert_eq!(
            render(&fams),
            "# HELP mb_nic_rx_packets_total Frames received.\n\
             # TYPE mb_nic_rx_packets_total counter\n\
             mb_nic_rx_packets_total{vm=\"fw\",nic=\"0\"} 42\n\
             mb_nic_rx_packets_total{vm=\"fw\",nic=\"1\"} 7\n\
             mb_nic_rx_packets_total{vm=\"nat\",nic=\"0\"} 100000000000000000000\n\
             # HELP mb_vm_busy_ratio Busy share.\n\
             # TYPE mb_vm_busy_ratio gauge\n\
             mb_vm_busy_ratio{vm=\"fw\"} 0.125\n"
        );
    }

    #[test]
    fn escapes_label_values_and_help() {
        let mut f = Family::new("m", Kind::Gauge, "a \\ b\nc \"q\"");
        f.add(&[("file", "C:\\x \"y\"\nz")], 1.0);
        f.add(&[], f64::NAN);
        f.add(&[], f64::INFINITY);
        f.add(&[], -2.5);
        assert_eq!(
            render(&[f]),
            "# HELP m a \\\\ b\\nc \"q\"\n# TYPE m gauge\n\
             m{file=\"C:\\\\x \\\"y\\\"\\nz\"} 1\nm NaN\nm +Inf\nm -2.5\n"
        );
    }

    #[test]
    fn names_are_sanitized() {
        assert_eq!(sanitize_name("byte_count"), "byte_count");
        assert_eq!(sanitize_name("a-b.c/d"), "a_b_c_d");
        assert_eq!(sanitize_name("0x"), "_0x");
        assert_eq!(sanitize_name(""), "_");
    }
}
