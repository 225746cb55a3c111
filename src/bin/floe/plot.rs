//! The demo's two PNG plots (plotters, bitmap backend): a lat × lon heat map
//! with a colour bar, and a time series with its running mean. Text needs a
//! TrueType font registered at run time; without one the plots are drawn
//! without any text.

use std::path::Path;

use ndarray::ArrayView2;
use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::args::{CliResult, Fail};

const FONT_FILES: [&str; 5] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
];

/// Register a sans-serif font for plot text; false when none is found.
pub fn load_font() -> bool {
    static LOADED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *LOADED.get_or_init(|| {
        for f in FONT_FILES {
            if let Ok(bytes) = std::fs::read(f) {
                let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                if plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok() {
                    return true;
                }
            }
        }
        false
    })
}

fn perr(path: &Path, e: impl std::fmt::Display) -> Fail {
    Fail(format!("plotting {}: {e}", path.display()))
}

/// A perceptually ordered colour scale (viridis, by its control points), `v` in 0..=1.
fn colour(v: f64) -> RGBColor {
    const STOPS: [(u8, u8, u8); 9] = [
        (68, 1, 84),
        (71, 44, 122),
        (59, 81, 139),
        (44, 113, 142),
        (33, 144, 141),
        (39, 173, 129),
        (92, 200, 99),
        (170, 220, 50),
        (253, 231, 37),
    ];
    let v = if v.is_finite() { v.clamp(0.0, 1.0) } else { 0.0 };
    let x = v * (STOPS.len() - 1) as f64;
    let i = (x.floor() as usize).min(STOPS.len() - 2);
    let f = x - i as f64;
    let mix = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * f).round() as u8;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Heat map of `data` (rows south to north, columns 0°E eastwards) on a
/// global grid, with a colour bar labelled in `units`.
pub fn heatmap(path: &Path, data: ArrayView2<'_, f32>, title: &str, units: &str, text: bool) -> CliResult<()> {
    let (nlat, nlon) = data.dim();
    let finite = data.iter().copied().filter(|v| v.is_finite());
    let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v as f64), b.max(v as f64)));
    let (lo, hi) = if lo.is_finite() && hi > lo {
        (lo, hi)
    } else if lo.is_finite() {
        (lo - 0.5, lo + 0.5)
    } else {
        (0.0, 1.0)
    };
    let scale = |v: f32| colour((v as f64 - lo) / (hi - lo));
    let root = BitMapBackend::new(path, (1100, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| perr(path, e))?;
    let root = if text { root.titled(title, ("sans-serif", 24)).map_err(|e| perr(path, e))? } else { root };
    let (map_area, bar_area) = root.split_horizontally(960);
    let (dlat, dlon) = (180.0 / nlat as f64, 360.0 / nlon as f64);
    let label = if text { 45 } else { 0 };
    let mut chart = ChartBuilder::on(&map_area)
        .margin(15)
        .x_label_area_size(label)
        .y_label_area_size(label + 10)
        .build_cartesian_2d(0f64..360f64, -90f64..90f64)
        .map_err(|e| perr(path, e))?;
    if text {
        chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(7)
            .y_labels(7)
            .x_desc("longitude (°E)")
            .y_desc("latitude (°N)")
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| format!("{v:.0}"))
            .label_style(("sans-serif", 15))
            .draw()
            .map_err(|e| perr(path, e))?;
    }
    chart
        .draw_series((0..nlat).flat_map(|i| (0..nlon).map(move |j| (i, j))).map(|(i, j)| {
            let (y0, x0) = (-90.0 + i as f64 * dlat, j as f64 * dlon);
            Rectangle::new([(x0, y0), (x0 + dlon, y0 + dlat)], scale(data[[i, j]]).filled())
        }))
        .map_err(|e| perr(path, e))?;
    // the colour bar
    let mut bar = ChartBuilder::on(&bar_area)
        .margin_top(15)
        .margin_bottom(15 + label as u32)
        .margin_left(10)
        .margin_right(10)
        .y_label_area_size(0)
        .right_y_label_area_size(if text { 75 } else { 0 })
        .build_cartesian_2d(0f64..1f64, lo..hi)
        .map_err(|e| perr(path, e))?;
    if text {
        bar.configure_mesh()
            .disable_mesh()
            .disable_x_axis()
            .set_tick_mark_size(LabelAreaPosition::Right, 0)
            .y_labels(6)
            .y_desc(units)
            .label_style(("sans-serif", 14))
            .y_label_formatter(&|v| format!("{v:.2}"))
            .draw()
            .map_err(|e| perr(path, e))?;
    }
    let steps = 200;
    bar.draw_series((0..steps).map(|k| {
        let (a, b) = (lo + (hi - lo) * k as f64 / steps as f64, lo + (hi - lo) * (k + 1) as f64 / steps as f64);
        Rectangle::new([(0.0, a), (1.0, b)], colour(k as f64 / (steps - 1) as f64).filled())
    }))
    .map_err(|e| perr(path, e))?;
    root.present().map_err(|e| perr(path, e))?;
    Ok(())
}

/// Line plot of `y` against `x` (years), with its centred `window`-point
/// running mean.
pub fn series(path: &Path, x: &[f64], y: &[f32], window: usize, title: &str, text: bool) -> CliResult<()> {
    if x.is_empty() || x.len() != y.len() {
        return Err(perr(path, "nothing to plot"));
    }
    let (lo, hi) = y.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v as f64), b.max(v as f64)));
    let pad = ((hi - lo) * 0.05).max(0.05);
    let (x0, x1) = (x[0], x[x.len() - 1].max(x[0] + 1e-9));
    // running mean by cumulative sums, where the whole window fits
    let mut running = Vec::new();
    if y.len() >= window && window > 0 {
        let mut csum = vec![0f64; y.len() + 1];
        for (i, &v) in y.iter().enumerate() {
            csum[i + 1] = csum[i] + v as f64;
        }
        for i in 0..=y.len() - window {
            running.push((x[i + window / 2], (csum[i + window] - csum[i]) / window as f64));
        }
    }
    let root = BitMapBackend::new(path, (1100, 500)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| perr(path, e))?;
    let mut b = ChartBuilder::on(&root);
    b.margin(15).x_label_area_size(if text { 45 } else { 0 }).y_label_area_size(if text { 65 } else { 0 });
    if text {
        b.caption(title, ("sans-serif", 24));
    }
    let mut chart = b.build_cartesian_2d(x0..x1, (lo - pad)..(hi + pad)).map_err(|e| perr(path, e))?;
    if text {
        let decimals = if hi - lo < 2.0 { 2 } else { 1 };
        chart
            .configure_mesh()
            .x_labels(((x1 - x0).ceil() as usize + 1).clamp(2, 12))
            .y_labels(8)
            .x_desc("year")
            .y_desc("temperature (K)")
            .label_style(("sans-serif", 15))
            .x_label_formatter(&|v| if (v - v.round()).abs() < 1e-6 { format!("{v:.0}") } else { format!("{v:.1}") })
            .y_label_formatter(&|v| format!("{v:.decimals$}"))
            .draw()
            .map_err(|e| perr(path, e))?;
    }
    let light = RGBColor(120, 160, 220);
    let daily = chart
        .draw_series(LineSeries::new(x.iter().zip(y).map(|(&a, &b)| (a, b as f64)), light.stroke_width(1)))
        .map_err(|e| perr(path, e))?;
    if text {
        daily.label("daily").legend(move |(a, b)| PathElement::new(vec![(a, b), (a + 20, b)], light.stroke_width(2)));
    }
    if !running.is_empty() {
        let s = chart.draw_series(LineSeries::new(running, RED.stroke_width(3))).map_err(|e| perr(path, e))?;
        if text {
            s.label(format!("{window}-day running mean"))
                .legend(|(a, b)| PathElement::new(vec![(a, b), (a + 20, b)], RED.stroke_width(3)));
        }
    }
    if text {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 15))
            .draw()
            .map_err(|e| perr(path, e))?;
    }
    root.present().map_err(|e| perr(path, e))?;
    Ok(())
}
