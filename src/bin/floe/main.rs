//! `floe`: the command-line tool of the floe crate.
//!
//! ```text
//! floe info PATH                      a Zarr array's or group's shape, dtype, chunks, codecs, sizes
//! floe rechunk IN OUT --chunks C      bounded-memory rechunk of a Zarr array
//! floe demo [--size small]            the end-to-end climate demo
//! ```
//! Every failure prints one line `floe: error: ...` on stderr and exits
//! with status 1; nothing panics through to the user.

mod args;
mod demo;
mod info;
mod plot;
mod rechunk;

/// Large chunk buffers in 2 MiB pages (see `floe::HugePageAlloc`).
#[global_allocator]
static ALLOC: floe::HugePageAlloc = floe::HugePageAlloc;

use std::io::Write;
use std::sync::Mutex;

use args::{CliResult, Fail};

const USAGE: &str = "\
floe — lazy, chunked n-dimensional arrays (command-line tool)

Usage:
  floe info PATH
      Shape, dtype, chunks, codecs and sizes of a Zarr array (v2 or v3),
      or the arrays of a Zarr group.
  floe rechunk IN OUT --chunks C1,C2,... [--max-mem SIZE] [--threads N] [--overwrite]
      Copy the Zarr array IN into a new Zarr v3 array OUT with chunk shape
      C1,C2,..., holding at most SIZE bytes of chunks (default 2GiB); goes
      through a temporary intermediate store when a direct copy cannot fit.
  floe demo [--out DIR] [--size small|medium|large] [--threads N] [--memory-limit SIZE]
      The end-to-end climate demo: synthesize daily surface temperature as a
      Zarr store, compute its day-of-year climatology, the anomaly standard
      deviation map and the area-weighted global mean, and plot them.
      Sizes: small (30 MB, seconds), medium (1.9 GB), large (9.5 GB).
  floe help | --help
      This message. `floe COMMAND --help` describes one command.

SIZE: bytes (1000000, 1e9) or with a unit: KiB MiB GiB TiB (1024) or KB MB GB TB (1000).
";

/// The panic message of the last panic, for a one-line report.
static PANIC_MSG: Mutex<Option<String>> = Mutex::new(None);

fn main() {
    // Panics are reported as one error line, never with a backtrace. Worker
    // threads' panics are caught by the executor and come back as errors;
    // a panic on the main thread is caught below.
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| info.payload().downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "unknown panic".into());
        let loc = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        if let Ok(mut m) = PANIC_MSG.lock() {
            *m = Some(format!("{msg}{loc}"));
        }
    }));
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = match std::panic::catch_unwind(|| run(&args)) {
        Ok(Ok(())) => 0,
        Ok(Err(e)) => {
            eprintln!("floe: error: {}", one_line(&e.0));
            1
        }
        Err(_) => {
            let msg = PANIC_MSG.lock().ok().and_then(|m| m.clone()).unwrap_or_default();
            eprintln!("floe: error: internal error (a bug in floe, please report it): {}", one_line(&msg));
            1
        }
    };
    let _ = std::io::stdout().flush();
    std::process::exit(code);
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn run(args: &[String]) -> CliResult<()> {
    let Some(cmd) = args.first() else {
        print!("{USAGE}");
        return Ok(());
    };
    let rest = &args[1..];
    match cmd.as_str() {
        "help" | "-h" | "--help" => {
            match rest.first().map(String::as_str) {
                Some("info") => print!("{}", info::USAGE),
                Some("rechunk") => print!("{}", rechunk::USAGE),
                Some("demo") => print!("{}", demo::USAGE),
                _ => print!("{USAGE}"),
            }
            Ok(())
        }
        "-V" | "--version" => {
            println!("floe {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        "info" => info::main(rest),
        "rechunk" => rechunk::main(rest),
        "demo" => demo::main(rest),
        other => Err(Fail(format!("unknown command `{other}` (commands: info, rechunk, demo; try `floe --help`)"))),
    }
}
