//! `floe demo`: the end-to-end climate job of the README.
//!
//! 1. Synthesize daily surface temperature (time × lat × lon, f32) as one
//!    floe expression — latitude gradient, land/ocean pattern, a seasonal
//!    cycle of opposite sign in the two hemispheres, a warming trend and
//!    N(0, 2 K) weather noise — and stream it into a Zarr v3 store.
//! 2. From the store: the day-of-year climatology (mean over years of each
//!    calendar day), the standard deviation of the anomalies (x minus its
//!    climatology) and the cos(latitude)-weighted global-mean series, each
//!    written as a Zarr v3 array.
//! 3. Plot the anomaly std map and the global-mean series (PNG).
//!
//! Nothing the size of the dataset is ever held in memory.

use std::f64::consts::PI;
use std::path::{Path, PathBuf};
use std::time::Instant;

use floe::{s, Array, Executor, ZarrCodec, ZarrWriteOptions};
use ndarray::{ArrayD, Ix2};

use crate::args::{self, human_bytes, human_secs, parse_count, parse_size, peak_rss, CliResult, Fail, RssMonitor};
use crate::plot;

pub const USAGE: &str = "\
Usage: floe demo [--out DIR] [--size small|medium|large] [--threads N] [--memory-limit SIZE]

The end-to-end climate demo. Synthesizes a daily surface-temperature dataset
(float32, time × lat × lon, 365-day years) as a Zarr v3 store, then computes
from the store
  - the day-of-year climatology (365 × lat × lon),
  - the standard deviation map of the anomalies (x minus its climatology),
  - the cos(latitude)-weighted global-mean series,
writes them as Zarr v3 arrays and plots the map and the series (PNG).

  --out DIR            where to write (default floe-demo-out); must be new, empty,
                       or the output of an earlier demo (which is replaced)
  --size S             small:  5 years × 45 × 90   (4° grid,   30 MB, seconds)
                       medium: 20 years × 180 × 360 (1° grid,  1.9 GB)
                       large:  25 years × 360 × 720 (0.5° grid, 9.5 GB)
                       (default small)
  --threads N          worker threads (default: all cores)
  --memory-limit SIZE  most bytes of chunks held at once (default: no limit)
";

/// Marker attribute of the group `zarr.json` the demo writes at the top of DIR.
const DEMO_MARK: &str = "floe_demo";
const DAYS: usize = 365;
const FIRST_YEAR: f64 = 2000.0;
const NOISE_STD: f64 = 2.0;
const TREND_PER_YEAR: f64 = 0.02;
/// Chunks larger than this are split along latitude (then longitude).
const MAX_CHUNK_BYTES: usize = 100_000_000;

#[derive(Clone, Copy, Debug)]
struct Size {
    name: &'static str,
    years: usize,
    nlat: usize,
    nlon: usize,
}

const SIZES: [Size; 3] = [
    Size { name: "small", years: 5, nlat: 45, nlon: 90 },
    Size { name: "medium", years: 20, nlat: 180, nlon: 360 },
    Size { name: "large", years: 25, nlat: 360, nlon: 720 },
];

/// The grid of the dataset and its chunks.
struct Grid {
    years: usize,
    nt: usize,
    nlat: usize,
    nlon: usize,
    clat: usize,
    clon: usize,
}

impl Grid {
    fn new(s: Size) -> Grid {
        let (mut clat, mut clon) = (s.nlat, s.nlon);
        while DAYS * clat * clon * 4 > MAX_CHUNK_BYTES && (clat > 1 || clon > 1) {
            if clat > 1 {
                clat = clat.div_ceil(2);
            } else {
                clon = clon.div_ceil(2);
            }
        }
        Grid { years: s.years, nt: s.years * DAYS, nlat: s.nlat, nlon: s.nlon, clat, clon }
    }
    fn shape(&self) -> Vec<usize> {
        vec![self.nt, self.nlat, self.nlon]
    }
    fn chunks(&self) -> Vec<usize> {
        vec![DAYS, self.clat, self.clon]
    }
    fn nbytes(&self) -> u64 {
        (self.nt * self.nlat * self.nlon * 4) as u64
    }
    fn dlat(&self) -> f64 {
        180.0 / self.nlat as f64
    }
    fn dlon(&self) -> f64 {
        360.0 / self.nlon as f64
    }
    /// Cell-centre latitudes in degrees, south to north.
    fn lat_deg(&self) -> floe::Result<Array<f64>> {
        let d = self.dlat();
        floe::linspace(-90.0 + d / 2.0, 90.0 - d / 2.0, self.nlat, self.clat)
    }
    /// Cell-centre longitudes in degrees east.
    fn lon_deg(&self) -> floe::Result<Array<f64>> {
        let d = self.dlon();
        floe::linspace(d / 2.0, 360.0 - d / 2.0, self.nlon, self.clon)
    }
}

/// The synthetic temperature (K) as a lazy floe expression, float32.
fn temperature(g: &Grid, seed: u64) -> floe::Result<Array<f32>> {
    let rad = PI / 180.0;
    let lat = (g.lat_deg()? * rad).insert_axis(1)?; // [lat, 1]
    let lon = g.lon_deg()? * rad; // [lon]
    let (slat, clat) = (lat.sin(), lat.cos());
    // "land": two continents in longitude, fading toward the poles; 0..1
    let land = ((&lon * 2.0 + 0.5).sin() * 0.5 + 0.5) * &clat; // [lat, lon]
                                                               // mean state: 288 K - 30 sin²(lat), land warmer in the tropics
    let base = 288.0 - &slat * &slat * 30.0 + (&land - 0.25) * 4.0; // [lat, lon]
                                                                    // seasonal amplitude: grows with |lat| and over land, sign flips at the equator
    let amp = &slat * (&land * 12.0 + 6.0); // [lat, lon]
    let t = floe::arange(0.0f64, g.nt as f64, 1.0, DAYS)?.insert_axis(1)?.insert_axis(2)?; // [time, 1, 1]
    let cycle = ((&t - 15.0) * (2.0 * PI / DAYS as f64)).cos(); // coldest mid-January in the north
    let trend = &t * (TREND_PER_YEAR / DAYS as f64);
    let noise = floe::random::normal(g.shape(), 0.0, NOISE_STD, g.chunks(), seed)?;
    let x = (base + trend).try_sub(&amp * &cycle)?.try_add(&noise)?;
    Ok(x.cast::<f32>())
}

/// What one step did, for the summary.
struct Step {
    name: &'static str,
    seconds: f64,
    /// Bytes of the dataset this step streamed (written or read).
    bytes: u64,
    /// Peak resident set size during the step, where it can be measured.
    peak_rss: Option<u64>,
}

/// Times the steps of a run and samples their peak memory.
struct Steps {
    done: Vec<Step>,
    rss: Option<RssMonitor>,
    started: Instant,
}

impl Steps {
    fn new() -> Steps {
        Steps { done: Vec::new(), rss: RssMonitor::start(), started: Instant::now() }
    }
    /// Start the next step (its time and peak RSS count from here).
    fn start(&mut self) {
        if let Some(r) = &self.rss {
            r.take_peak();
        }
        self.started = Instant::now();
    }
    /// Finish the step started last; it streamed `bytes` of the dataset.
    fn finish(&mut self, name: &'static str, bytes: u64) -> &Step {
        let peak_rss = self.rss.as_ref().map(|r| r.take_peak());
        self.done.push(Step { name, seconds: self.started.elapsed().as_secs_f64(), bytes, peak_rss });
        self.done.last().expect("just pushed")
    }
}

pub fn main(argv: &[String]) -> CliResult<()> {
    let p = args::parse("demo", argv, &["out", "size", "threads", "memory-limit"], &[])?;
    if p.help {
        print!("{USAGE}");
        return Ok(());
    }
    if let Some(extra) = p.positional.first() {
        return Err(Fail(format!("`floe demo` takes no positional argument, got `{extra}` (try `floe demo --help`)")));
    }
    let size_name = p.value("size").unwrap_or("small");
    let size = *SIZES
        .iter()
        .find(|s| s.name == size_name)
        .ok_or_else(|| Fail(format!("invalid --size `{size_name}`: expected small, medium or large")))?;
    let threads = match p.value("threads") {
        Some(t) => parse_count("threads", t)?,
        None => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
    };
    let mut ex = Executor::cpu().threads(threads).progress(true);
    let limit = p.value("memory-limit").map(parse_size).transpose()?;
    if let Some(l) = limit {
        ex = ex.memory_limit(l);
    }
    let out = PathBuf::from(p.value("out").unwrap_or("floe-demo-out"));
    prepare_out(&out)?;
    run(&ex, size, &out, threads, limit)
}

/// Create DIR (or accept an empty one, or an earlier demo's output) and
/// mark it as a Zarr group holding the demo's arrays.
fn prepare_out(out: &Path) -> CliResult<()> {
    let err = |e: std::io::Error| Fail(format!("cannot use output directory {}: {e}", out.display()));
    if out.exists() {
        if !out.is_dir() {
            return Err(Fail(format!("cannot use output directory {}: it exists and is not a directory", out.display())));
        }
        let earlier_demo = std::fs::read_to_string(out.join("zarr.json")).map(|t| t.contains(DEMO_MARK)).unwrap_or(false);
        let empty = std::fs::read_dir(out).map_err(err)?.next().is_none();
        if !empty && !earlier_demo {
            return Err(Fail(format!(
                "output directory {} is not empty and is not the output of an earlier `floe demo`; choose another --out",
                out.display()
            )));
        }
    }
    std::fs::create_dir_all(out).map_err(err)?;
    let group = serde_json::json!({
        "zarr_format": 3,
        "node_type": "group",
        "attributes": { DEMO_MARK: { "note": "written by `floe demo`; rerunning the demo replaces it" } }
    });
    let text = serde_json::to_string_pretty(&group).map_err(|e| Fail(e.to_string()))?;
    std::fs::write(out.join("zarr.json"), text).map_err(err)?;
    Ok(())
}

fn run(ex: &Executor, size: Size, out: &Path, threads: usize, limit: Option<u64>) -> CliResult<()> {
    let t_all = Instant::now();
    let g = Grid::new(size);
    println!(
        "floe demo ({}): daily surface temperature, {} years × {} lat × {} lon = {} values, float32, {}",
        size.name,
        g.years,
        g.nlat,
        g.nlon,
        g.nt * g.nlat * g.nlon,
        human_bytes(g.nbytes())
    );
    println!(
        "  chunks {} × {} × {} ({} each); output in {}; {threads} thread(s); memory limit {}",
        DAYS,
        g.clat,
        g.clon,
        human_bytes((DAYS * g.clat * g.clon * 4) as u64),
        out.display(),
        limit.map(human_bytes).unwrap_or_else(|| "none".into())
    );
    let mut steps = Steps::new();
    let paths = Paths::new(out);
    let opts = |chunks: Vec<usize>| ZarrWriteOptions::new().chunks(chunks).overwrite(true);

    // 1. the dataset, streamed block by block into the store
    println!("[1/4] synthesizing the dataset → {}", paths.data.display());
    steps.start();
    let x = temperature(&g, 2024)?;
    ex.to_zarr_with(&x, &paths.data, &opts(g.chunks()).codec(ZarrCodec::Zstd { level: 1 }))?;
    report_step(steps.finish("synthesize + write dataset", g.nbytes()), Some(dir_bytes(&paths.data)));

    // 2. day-of-year climatology: mean over the years of each calendar day
    println!("[2/4] day-of-year climatology → {}", paths.clim.display());
    steps.start();
    let x = floe::open_zarr::<f32>(&paths.data)?;
    let years: Vec<Array<f32>> =
        (0..g.years).map(|y| x.slice(s![y * DAYS..(y + 1) * DAYS, .., ..])).collect::<floe::Result<_>>()?;
    let year_refs: Vec<&Array<f32>> = years.iter().collect();
    // sum / n rather than mean: a mean's tree-reduction partials carry a count and
    // f64 moments per element (several times the chunk), a sum's only the sum
    let clim = floe::stack(0, &year_refs)?.sum(0)? / g.years as f32; // [365, lat, lon]
    ex.to_zarr_with(&clim, &paths.clim, &opts(g.chunks()))?;
    report_step(steps.finish("day-of-year climatology", g.nbytes()), None);

    // 3. anomaly std map and the area-weighted global mean, in one run
    println!("[3/4] anomaly std map → {}, global mean → {}", paths.std.display(), paths.gmean.display());
    steps.start();
    let clim = floe::open_zarr::<f32>(&paths.clim)?;
    let anomalies: Vec<Array<f32>> = years.iter().map(|y| y.try_sub(&clim)).collect::<floe::Result<_>>()?;
    let anomaly_refs: Vec<&Array<f32>> = anomalies.iter().collect();
    let std_map = floe::concatenate(0, &anomaly_refs)?.std(0, 0)?; // [lat, lon]
    let coslat = (g.lat_deg()? * (PI / 180.0)).cos();
    let wsum: f64 = (0..g.nlat).map(|i| ((-90.0 + g.dlat() * (i as f64 + 0.5)) * PI / 180.0).cos()).sum::<f64>() * g.nlon as f64;
    let w = (coslat / wsum).cast::<f32>().insert_axis(1)?; // [lat, 1], sums to 1 over the grid
    let gmean = x.try_mul(&w)?.sum([1, 2])?; // [time]
    let mut res = ex.compute_many(&[&std_map, &gmean])?;
    let gmean_v = res.pop().expect("two results");
    let std_v = res.pop().expect("two results");
    ex.to_zarr_with(&floe::from_ndarray(&std_v, vec![g.nlat, g.nlon])?, &paths.std, &opts(vec![g.nlat, g.nlon]))?;
    ex.to_zarr_with(&floe::from_ndarray(&gmean_v, vec![g.nt])?, &paths.gmean, &opts(vec![g.nt]))?;
    report_step(steps.finish("anomaly std + global mean", g.nbytes()), None);

    // 4. plots
    println!("[4/4] plots → {}, {}", paths.map_png.display(), paths.series_png.display());
    steps.start();
    let std2 = std_v.view().into_dimensionality::<Ix2>().map_err(|e| Fail(format!("internal: std map: {e}")))?;
    let gm1: Vec<f32> = gmean_v.iter().copied().collect();
    let fonts = plot::load_font();
    plot::heatmap(&paths.map_png, std2, "Standard deviation of daily temperature anomalies (K)", "K", fonts)?;
    let years_axis: Vec<f64> = (0..g.nt).map(|i| FIRST_YEAR + i as f64 / DAYS as f64).collect();
    plot::series(&paths.series_png, &years_axis, &gm1, DAYS, "Global-mean surface temperature (cos-latitude weighted)", fonts)?;
    steps.finish("plots", 0);

    summary(&g, &steps.done, t_all.elapsed().as_secs_f64(), &std_v, &gmean_v, &paths, fonts);
    Ok(())
}

struct Paths {
    data: PathBuf,
    clim: PathBuf,
    std: PathBuf,
    gmean: PathBuf,
    map_png: PathBuf,
    series_png: PathBuf,
}

impl Paths {
    fn new(out: &Path) -> Paths {
        Paths {
            data: out.join("temperature.zarr"),
            clim: out.join("climatology.zarr"),
            std: out.join("anomaly_std.zarr"),
            gmean: out.join("global_mean.zarr"),
            map_png: out.join("anomaly_std.png"),
            series_png: out.join("global_mean.png"),
        }
    }
}

fn report_step(s: &Step, stored: Option<u64>) {
    let rate = s.bytes as f64 / s.seconds.max(1e-9) / 1e6;
    let stored = stored.map(|b| format!(", {} on disk", human_bytes(b))).unwrap_or_default();
    let rss = s.peak_rss.map(|b| format!(", peak RSS {}", human_bytes(b))).unwrap_or_default();
    println!("      {} in {} ({rate:.0} MB/s){stored}{rss}", human_bytes(s.bytes), human_secs(s.seconds));
}

/// Bytes of the files under `dir`.
fn dir_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => stack.push(e.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

/// Least-squares slope of `y` against `x`.
fn slope(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let sxx: f64 = x.iter().map(|a| (a - mx) * (a - mx)).sum();
    if sxx > 0.0 {
        sxy / sxx
    } else {
        0.0
    }
}

fn summary(g: &Grid, steps: &[Step], total: f64, std_v: &ArrayD<f32>, gmean_v: &ArrayD<f32>, p: &Paths, fonts: bool) {
    println!();
    println!("summary");
    println!("  {:<30} {:>10} {:>12} {:>12}", "step", "time", "throughput", "peak RSS");
    for s in steps {
        let rate = if s.bytes > 0 { format!("{:.0} MB/s", s.bytes as f64 / s.seconds.max(1e-9) / 1e6) } else { "-".into() };
        let rss = s.peak_rss.map(human_bytes).unwrap_or_else(|| "-".into());
        println!("  {:<30} {:>10} {:>12} {:>12}", s.name, human_secs(s.seconds), rate, rss);
    }
    println!("  {:<30} {:>10}", "total", human_secs(total));
    let peak = peak_rss().into_iter().chain(steps.iter().filter_map(|s| s.peak_rss)).max();
    println!(
        "  dataset {} ({} on disk); peak RSS {}",
        human_bytes(g.nbytes()),
        human_bytes(dir_bytes(&p.data)),
        peak.map(human_bytes).unwrap_or_else(|| "n/a".into())
    );
    let n = std_v.len().max(1) as f64;
    let mean_std = std_v.iter().map(|&v| v as f64).sum::<f64>() / n;
    let (lo, hi) = std_v.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    let expected = NOISE_STD * (1.0 - 1.0 / g.years as f64).sqrt();
    println!(
        "  anomaly std: mean {mean_std:.3} K (min {lo:.3}, max {hi:.3}); the noise is N(0, {NOISE_STD} K): expected {expected:.3} K = {NOISE_STD}·√(1 − 1/{} years)",
        g.years
    );
    let annual: Vec<f64> = gmean_v
        .as_slice()
        .unwrap_or(&[])
        .chunks(DAYS)
        .map(|c| c.iter().map(|&v| v as f64).sum::<f64>() / c.len() as f64)
        .collect();
    if let (Some(first), Some(last)) = (annual.first(), annual.last()) {
        let yrs: Vec<f64> = (0..annual.len()).map(|i| i as f64).collect();
        println!(
            "  global mean: {first:.3} K in {} → {last:.3} K in {}; trend {:+.4} K/year (built in: {TREND_PER_YEAR:+.4})",
            FIRST_YEAR as i64,
            FIRST_YEAR as i64 + annual.len() as i64 - 1,
            slope(&yrs, &annual)
        );
    }
    println!("  written:");
    for (what, path) in [
        ("dataset", &p.data),
        ("climatology", &p.clim),
        ("anomaly std map", &p.std),
        ("global-mean series", &p.gmean),
        ("map plot", &p.map_png),
        ("series plot", &p.series_png),
    ] {
        println!("    {what:<20} {}", path.display());
    }
    if !fonts {
        println!("  (no font found: plots drawn without text)");
    }
}
