//! `floe rechunk IN OUT --chunks ...`: bounded-memory rechunk of a Zarr
//! array ([`floe::Executor::rechunk_zarr`]), with its plan and timings.

use std::path::Path;

use floe::{Executor, RechunkReport};

use crate::args::{self, human_bytes, human_secs, parse_chunks, parse_count, parse_size, peak_rss, CliResult, Fail};

pub const USAGE: &str = "\
Usage: floe rechunk IN OUT --chunks C1,C2,... [--max-mem SIZE] [--threads N] [--overwrite]

Copy the Zarr array IN (v2 or v3) into a new Zarr v3 array OUT (zstd) whose
chunk shape is C1,C2,... (one size per axis). At most about SIZE bytes of
chunk data are held at once (default 2GiB): when a direct copy cannot fit,
the copy goes through a temporary intermediate store next to OUT (removed
afterwards; one left by a killed run is removed by the next). --threads:
worker threads (default: all cores). --overwrite replaces an existing array
at OUT; OUT may never be IN, a directory or group holding IN, or a path
inside IN.

SIZE: bytes (1000000, 1e9) or with a unit: KiB MiB GiB TiB (1024) or KB MB GB TB (1000).
";

const DEFAULT_MAX_MEM: u64 = 2 << 30;

pub fn main(argv: &[String]) -> CliResult<()> {
    let p = args::parse("rechunk", argv, &["chunks", "max-mem", "threads"], &["overwrite"])?;
    if p.help {
        print!("{USAGE}");
        return Ok(());
    }
    let [input, output] = p.positional.as_slice() else {
        return Err(Fail(format!(
            "`floe rechunk` takes IN and OUT, got {} path(s) (usage: floe rechunk IN OUT --chunks C1,C2,...)",
            p.positional.len()
        )));
    };
    let chunks = parse_chunks(p.value("chunks").ok_or("`floe rechunk` needs --chunks C1,C2,... (the new chunk shape)")?)?;
    let max_mem = p.value("max-mem").map(parse_size).transpose()?.unwrap_or(DEFAULT_MAX_MEM);
    let mut ex = Executor::cpu().progress(true);
    if let Some(t) = p.value("threads") {
        ex = ex.threads(parse_count("threads", t)?);
    }
    let (input, output) = (Path::new(input), Path::new(output));
    let plan = ex.plan_rechunk_zarr(input, output, &chunks, max_mem)?;
    let exists = output.join("zarr.json").is_file() || output.join(".zarray").is_file();
    if exists && !p.flag("overwrite") {
        return Err(Fail(format!("{}: a Zarr array already exists here; pass --overwrite to replace it", output.display())));
    }
    println!("rechunk {} → {}", input.display(), output.display());
    print_plan(&plan);
    let report = ex.rechunk_zarr(input, output, &chunks, max_mem, p.flag("overwrite"))?;
    let mut times: Vec<String> =
        report.stages.iter().enumerate().map(|(i, s)| format!("stage {} {}", i + 1, human_secs(s.seconds))).collect();
    if times.len() == 1 {
        times.clear();
    }
    let rate = report.nbytes as f64 / report.seconds.max(1e-9) / 1e6;
    println!(
        "done in {}{}: {rate:.0} MB/s{}",
        human_secs(report.seconds),
        if times.is_empty() { String::new() } else { format!(" ({})", times.join(", ")) },
        peak_rss().map(|b| format!(", peak RSS {}", human_bytes(b))).unwrap_or_default()
    );
    Ok(())
}

fn list(v: &[usize]) -> String {
    format!("[{}]", v.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(", "))
}

fn print_plan(r: &RechunkReport) {
    println!("  array        {} {} ({})", r.dtype.name(), list(&r.shape), human_bytes(r.nbytes));
    println!("  chunks       {} → {}", list(&r.source_chunks), list(&r.target_chunks));
    println!("  memory       limit {}, estimated peak {}", human_bytes(r.max_mem), human_bytes(r.estimated_peak));
    match (&r.intermediate_chunks, &r.intermediate_path) {
        (Some(i), Some(p)) => {
            println!(
                "  plan         two stages through an intermediate store with chunks {} ({}, removed afterwards)",
                list(i),
                p.display()
            )
        }
        _ => println!("  plan         direct copy"),
    }
    for (k, s) in r.stages.iter().enumerate() {
        let name = if r.stages.len() == 1 { "copy        ".to_string() } else { format!("stage {}     ", k + 1) };
        println!(
            "  {name} {} → {}: {} task(s) of {}, {} thread(s), ~{} per task",
            list(&s.read_chunks),
            list(&s.write_chunks),
            s.tasks,
            list(&s.unit),
            s.threads,
            human_bytes(s.task_bytes)
        );
    }
}
