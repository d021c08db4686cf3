//! A small SVG writer for the Overview's charts, rendered on the server so
//! they need no script: stacked bars over time and horizontal bars. Only
//! numbers and fixed colours are written into attributes; labels go
//! through maud, which escapes them.

use maud::{html, Markup};

/// One stacked series: its name and colour (a fixed CSS colour).
pub(super) struct Series {
    pub name: &'static str,
    pub colour: &'static str,
}

/// One bar segment.
struct Rect {
    x: f64,
    y: f64,
    h: f64,
    series: usize,
    value: u64,
}

/// A stacked bar chart: `values[bucket][series]`, `labels` under some
/// buckets (every `label_every`-th).
pub(super) fn stacked_bars(
    title: &str,
    series: &[Series],
    values: &[Vec<u64>],
    labels: &[String],
    label_every: usize,
) -> Markup {
    const W: f64 = 900.0;
    const H: f64 = 220.0;
    const LEFT: f64 = 48.0;
    const BOTTOM: f64 = 28.0;
    const TOP: f64 = 10.0;
    let max = values
        .iter()
        .map(|b| b.iter().sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let plot_w = W - LEFT - 8.0;
    let plot_h = H - BOTTOM - TOP;
    let n = values.len().max(1) as f64;
    let slot = plot_w / n;
    let bar = (slot * 0.8).max(1.0);
    let mut rects = Vec::new();
    for (i, bucket) in values.iter().enumerate() {
        let x = LEFT + i as f64 * slot + (slot - bar) / 2.0;
        let mut y = TOP + plot_h;
        for (j, value) in bucket.iter().enumerate().filter(|(_, v)| **v > 0) {
            let h = *value as f64 / max as f64 * plot_h;
            y -= h;
            rects.push(Rect {
                x,
                y,
                h,
                series: j.min(series.len().saturating_sub(1)),
                value: *value,
            });
        }
    }
    html! {
        figure.chart {
            figcaption { (title) }
            svg xmlns="http://www.w3.org/2000/svg" viewBox={ "0 0 " (W) " " (H) } role="img" aria-label=(title) {
                line x1=(LEFT) y1=(TOP + plot_h) x2=(W - 8.0) y2=(TOP + plot_h) stroke="#8a94a6" {}
                text x=(LEFT - 6.0) y=(TOP + 10.0) text-anchor="end" font-size="11" fill="#5d6677" { (max) }
                text x=(LEFT - 6.0) y=(TOP + plot_h) text-anchor="end" font-size="11" fill="#5d6677" { "0" }
                @for r in &rects {
                    rect x=(fmt(r.x)) y=(fmt(r.y)) width=(fmt(bar)) height=(fmt(r.h)) fill=(series[r.series].colour) {
                        title { (series[r.series].name) ": " (r.value) }
                    }
                }
                @for (i, label) in labels.iter().enumerate() {
                    @if label_every > 0 && i % label_every == 0 {
                        text x=(fmt(LEFT + i as f64 * slot + slot / 2.0)) y=(H - 8.0) text-anchor="middle" font-size="11" fill="#5d6677" { (label) }
                    }
                }
            }
            p.legend {
                @for s in series {
                    svg.swatch xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10" width="10" height="10" { rect width="10" height="10" fill=(s.colour) {} }
                    " " (s.name) " "
                }
            }
        }
    }
}

/// Horizontal bars: one row per `(label, value)`, longest first as given.
pub(super) fn bar_list(title: &str, rows: &[(String, u64)], empty: &str) -> Markup {
    let max = rows.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1);
    html! {
        section.card.bars {
            h2 { (title) }
            @if rows.is_empty() {
                p.empty { (empty) }
            } @else {
                table.bars {
                    @for (label, value) in rows {
                        tr {
                            td.label { (label) }
                            td.bar {
                                svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 200 12" width="200" height="12" preserveAspectRatio="none" {
                                    rect width=(fmt(*value as f64 / max as f64 * 200.0)) height="12" fill="#1f5fbf" {}
                                }
                            }
                            td.value { (value) }
                        }
                    }
                }
            }
        }
    }
}

/// A coordinate with one decimal.
fn fmt(v: f64) -> String {
    format!("{v:.1}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped_and_bars_scale_to_the_largest() {
        let rows = vec![("<b>h</b>".to_string(), 10), ("b".to_string(), 5)];
        let text = bar_list("Top", &rows, "none").into_string();
        assert!(text.contains("&lt;b&gt;h&lt;/b&gt;"));
        assert!(text.contains("width=\"200.0\""));
        assert!(text.contains("width=\"100.0\""));
        let series = [Series {
            name: "info",
            colour: "#999",
        }];
        let chart = stacked_bars("t", &series, &[vec![2], vec![0], vec![4]], &[], 0).into_string();
        assert_eq!(chart.matches("<rect").count(), 2 + 1, "{chart}");
    }
}
