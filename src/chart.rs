//! Self-contained HTML pages with charts drawn as inline SVG by this crate:
//! no script, no stylesheet or font to fetch, and a Content-Security-Policy
//! that forbids the browser to load anything at all, so a page opened from
//! a CI artifact or an e-mail makes no network request. Every string that
//! comes from a user (ids, expressions, profile ids) goes through
//! [`escape`].
//!
//! Input: rows of numbers with labels. Output: HTML fragments, and a page
//! around them.

use std::fmt::Write as _;

/// The page's policy: nothing may be loaded; only the inline style applies.
const POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; \
                      script-src 'none'; base-uri 'none'; form-action 'none'";

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222;max-width:70em}\
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em}\
table{border-collapse:collapse;margin:.5em 0}td,th{padding:.2em .6em;text-align:right;border-bottom:1px solid #ddd}\
td:first-child,th:first-child{text-align:left}\
svg{display:block;margin:.5em 0}svg text{font:12px system-ui,sans-serif;fill:#222}\
.entered{fill:#6f9fc8}.sent{fill:#2b7bb9}.held_out{fill:#9a9a9a}.skipped{fill:#e8a33d}\
.better{stroke:#2e8b57;fill:#2e8b57}.worse{stroke:#d9534f;fill:#d9534f}.unclear{stroke:#555;fill:#555}\
.axis{stroke:#999}.zero{stroke:#222;stroke-dasharray:4 3}.bar{fill:#2b7bb9}\
.legend span{display:inline-block;width:.9em;height:.9em;margin:0 .3em 0 1em;vertical-align:middle}\
.note{color:#666}";

/// `text` with the five characters that mean something in HTML escaped:
/// safe in element content and in quoted attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A whole page: `title` (escaped here) and a `body` of fragments made by
/// this module.
pub(crate) fn page(title: &str, body: &str) -> String {
    let title = escape(title);
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{POLICY}\">\
         <meta name=\"viewport\" content=\"width=device-width\">\
         <title>{title}</title><style>{STYLE}</style></head>\n\
         <body><h1>{title}</h1>\n{body}</body></html>\n"
    )
}

/// A legend: (class, words) swatches.
pub(crate) fn legend(items: &[(&str, &str)]) -> String {
    let mut out = String::from("<p class=\"legend\">");
    for (class, words) in items {
        let _ = write!(
            out,
            "<svg width=\"12\" height=\"12\" style=\"display:inline;margin:0 .3em 0 1em\">\
             <rect class=\"{class}\" width=\"12\" height=\"12\"/></svg>{}",
            escape(words)
        );
    }
    out.push_str("</p>\n");
    out
}

/// A table; every cell is escaped.
pub(crate) fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = String::from("<table><tr>");
    for h in headers {
        let _ = write!(out, "<th>{}</th>", escape(h));
    }
    out.push_str("</tr>\n");
    for row in rows {
        out.push_str("<tr>");
        for cell in row {
            let _ = write!(out, "<td>{}</td>", escape(cell));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
    out
}

/// One part of a bar.
pub(crate) struct Segment {
    pub value: u64,
    /// The CSS class that colours it.
    pub class: &'static str,
    /// Shown on hover.
    pub title: String,
}

/// One bar of a [`bars`] chart.
pub(crate) struct Bar {
    pub label: String,
    pub segments: Vec<Segment>,
    /// Written after the bar (a count, a share).
    pub note: String,
}

const LABEL_WIDTH: f64 = 230.0;
const PLOT_WIDTH: f64 = 480.0;
const NOTE_WIDTH: f64 = 330.0;
const ROW: f64 = 26.0;

/// Horizontal bars of stacked segments, all to one scale: a funnel when
/// the rows are a journey's stages.
pub(crate) fn bars(caption: &str, rows: &[Bar]) -> String {
    let longest = (rows.iter())
        .map(|r| r.segments.iter().map(|s| s.value).sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let height = ROW * rows.len() as f64 + 8.0;
    let width = LABEL_WIDTH + PLOT_WIDTH + NOTE_WIDTH;
    let mut out = svg_open(caption, width, height);
    for (i, row) in rows.iter().enumerate() {
        let y = 4.0 + ROW * i as f64;
        let _ = write!(
            out,
            "<text x=\"0\" y=\"{:.1}\">{}</text>",
            y + 16.0,
            escape(&row.label)
        );
        let mut x = LABEL_WIDTH;
        for segment in &row.segments {
            let w = PLOT_WIDTH * segment.value as f64 / longest;
            if w > 0.0 {
                let _ = write!(
                    out,
                    "<rect class=\"{}\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"20\">\
                     <title>{}</title></rect>",
                    segment.class,
                    escape(&segment.title)
                );
            }
            x += w;
        }
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            x + 6.0,
            y + 16.0,
            escape(&row.note)
        );
    }
    out.push_str("</svg>\n");
    out
}

/// One row of an [`intervals`] chart.
pub(crate) struct Interval {
    pub label: String,
    /// (estimate, low, high), or `None` when there is none to draw.
    pub estimate: Option<(f64, f64, f64)>,
    /// The CSS class that colours it.
    pub class: &'static str,
    /// Written at the right.
    pub note: String,
}

/// Estimates with their intervals on one axis with zero marked (a forest
/// plot): an interval clear of the zero line is a difference shown.
pub(crate) fn intervals(caption: &str, rows: &[Interval], axis_label: &str) -> String {
    let extent = (rows.iter())
        .filter_map(|r| r.estimate)
        .flat_map(|(_, low, high)| [low.abs(), high.abs()])
        .fold(0.0_f64, f64::max);
    // Round ticks: the axis runs to the next of these past every bound.
    let extent = [0.05, 0.1, 0.2, 0.25, 0.5, 1.0]
        .into_iter()
        .find(|nice| *nice >= extent)
        .unwrap_or(1.0);
    let scale = |v: f64| LABEL_WIDTH + PLOT_WIDTH * (v + extent) / (2.0 * extent);
    let height = ROW * rows.len() as f64 + 36.0;
    let width = LABEL_WIDTH + PLOT_WIDTH + NOTE_WIDTH;
    let mut out = svg_open(caption, width, height);
    let bottom = ROW * rows.len() as f64 + 4.0;
    let zero = scale(0.0);
    let _ = write!(
        out,
        "<line class=\"zero\" x1=\"{zero:.1}\" y1=\"0\" x2=\"{zero:.1}\" y2=\"{bottom:.1}\"/>\
         <line class=\"axis\" x1=\"{LABEL_WIDTH}\" y1=\"{bottom:.1}\" x2=\"{:.1}\" y2=\"{bottom:.1}\"/>",
        LABEL_WIDTH + PLOT_WIDTH
    );
    for tick in [-extent, -extent / 2.0, 0.0, extent / 2.0, extent] {
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{:+.0}</text>",
            scale(tick),
            bottom + 16.0,
            tick * 100.0
        );
    }
    let _ = write!(
        out,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
        LABEL_WIDTH + PLOT_WIDTH / 2.0,
        bottom + 30.0,
        escape(axis_label)
    );
    for (i, row) in rows.iter().enumerate() {
        let y = 4.0 + ROW * i as f64 + 10.0;
        let _ = write!(
            out,
            "<text x=\"0\" y=\"{:.1}\">{}</text>",
            y + 4.0,
            escape(&row.label)
        );
        if let Some((estimate, low, high)) = row.estimate {
            let class = row.class;
            let _ = write!(
                out,
                "<line class=\"{class}\" stroke-width=\"3\" x1=\"{:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\"/>\
                 <circle class=\"{class}\" cx=\"{:.1}\" cy=\"{y:.1}\" r=\"5\"><title>{}</title></circle>",
                scale(low.max(-extent)),
                scale(high.min(extent)),
                scale(estimate),
                escape(&row.note)
            );
        }
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            LABEL_WIDTH + PLOT_WIDTH + 8.0,
            y + 4.0,
            escape(&row.note)
        );
    }
    out.push_str("</svg>\n");
    out
}

/// Vertical bars over labelled bins.
pub(crate) fn histogram(caption: &str, bins: &[(String, u64)], x_label: &str) -> String {
    let tallest = bins.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1) as f64;
    let (plot_height, left, top) = (220.0, 50.0, 10.0);
    let slot = (PLOT_WIDTH / bins.len().max(1) as f64).min(60.0);
    let width = left + slot * bins.len() as f64 + 20.0;
    let height = top + plot_height + 44.0;
    let mut out = svg_open(caption, width.max(300.0), height);
    let bottom = top + plot_height;
    let _ = write!(
        out,
        "<line class=\"axis\" x1=\"{left}\" y1=\"{bottom}\" x2=\"{:.1}\" y2=\"{bottom}\"/>\
         <text x=\"0\" y=\"{:.1}\">{}</text><text x=\"0\" y=\"{bottom:.1}\">0</text>",
        left + slot * bins.len() as f64,
        top + 10.0,
        tallest
    );
    for (i, (label, count)) in bins.iter().enumerate() {
        let x = left + slot * i as f64;
        let h = plot_height * *count as f64 / tallest;
        let _ = write!(
            out,
            "<rect class=\"bar\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h:.1}\">\
             <title>{}: {count}</title></rect>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            x + 2.0,
            bottom - h,
            slot - 4.0,
            escape(label),
            x + slot / 2.0,
            bottom + 16.0,
            escape(label)
        );
    }
    let _ = writeln!(
        out,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text></svg>",
        left + slot * bins.len() as f64 / 2.0,
        bottom + 36.0,
        escape(x_label)
    );
    out
}

fn svg_open(caption: &str, width: f64, height: f64) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" width=\"{width:.0}\" \
         height=\"{height:.0}\" viewBox=\"0 0 {width:.0} {height:.0}\" aria-label=\"{}\">",
        escape(caption)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_everything_that_could_open_markup() {
        assert_eq!(
            escape(r#"<script>alert("x" & 'y')</script>"#),
            "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;"
        );
    }

    #[test]
    fn pages_forbid_loading_anything() {
        let html = page("a <b>", "");
        assert!(html.contains("default-src 'none'"));
        assert!(html.contains("<title>a &lt;b&gt;</title>"));
    }

    #[test]
    fn bars_are_drawn_to_one_scale() {
        let bar = |label: &str, value| Bar {
            label: label.into(),
            segments: vec![Segment {
                value,
                class: "sent",
                title: String::new(),
            }],
            note: String::new(),
        };
        let svg = bars("funnel", &[bar("a", 10), bar("b", 5)]);
        assert!(svg.contains("width=\"480.0\""));
        assert!(svg.contains("width=\"240.0\""));
    }

    #[test]
    fn intervals_mark_zero_and_skip_missing_estimates() {
        let rows = [
            Interval {
                label: "up".into(),
                estimate: Some((0.2, 0.05, 0.33)),
                class: "better",
                note: "+20".into(),
            },
            Interval {
                label: "few".into(),
                estimate: None,
                class: "unclear",
                note: "too few to tell".into(),
            },
        ];
        let svg = intervals("uplift", &rows, "points");
        assert_eq!(svg.matches("<circle").count(), 1);
        assert!(svg.contains("class=\"zero\""));
    }
}
