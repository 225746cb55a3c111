//! `floe info PATH`: what a Zarr array holds (format, shape, dtype, chunks,
//! codecs, fill value, stored vs uncompressed size) or which arrays a Zarr
//! group holds.

use std::path::Path;

use floe::ZarrArray;
use serde_json::Value;
use zarrs::array::ArrayShardedExt;
use zarrs::storage::ReadableStorageTraits;

use crate::args::{self, human_bytes, CliResult, Fail};

pub const USAGE: &str = "\
Usage: floe info PATH

Describe the Zarr array (v2 or v3) at PATH: format, shape, dtype, chunk
shape and chunk grid (with how many chunks are present on disk), codecs,
fill value, stored and uncompressed bytes. For a Zarr group, list the
arrays and groups it holds.
";

pub fn main(argv: &[String]) -> CliResult<()> {
    let p = args::parse("info", argv, &[], &[])?;
    if p.help {
        print!("{USAGE}");
        return Ok(());
    }
    let [path] = p.positional.as_slice() else {
        return Err(Fail(format!("`floe info` takes one PATH, got {} (usage: floe info PATH)", p.positional.len())));
    };
    let path = Path::new(path);
    if !path.exists() {
        return Err(Fail(format!("{}: no such file or directory", path.display())));
    }
    match node_kind(path) {
        Node::Array => print!("{}", describe_array(path)?),
        Node::Group(v) => print!("{}", describe_group(path, v)?),
        Node::Neither => {
            return Err(Fail(format!("{}: not a Zarr array or group (no zarr.json, .zarray or .zgroup)", path.display())))
        }
    }
    Ok(())
}

enum Node {
    Array,
    /// A group and its Zarr format.
    Group(u8),
    Neither,
}

fn read_json(path: &Path) -> Option<Value> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

fn node_kind(path: &Path) -> Node {
    if let Some(v) = read_json(&path.join("zarr.json")) {
        return match v.get("node_type").and_then(Value::as_str) {
            Some("group") => Node::Group(3),
            _ => Node::Array,
        };
    }
    if path.join(".zarray").is_file() {
        return Node::Array;
    }
    if path.join(".zgroup").is_file() {
        return Node::Group(2);
    }
    if path.join("zarr.json").is_file() {
        return Node::Array; // unreadable metadata: opening reports why
    }
    Node::Neither
}

/// `name(key=value, ...)` of one codec's JSON (v3 `{name, configuration}` or
/// a v2 compressor/filter `{id, ...}`), nested codec lists included.
fn codec_text(c: &Value) -> String {
    let (name, conf): (String, Vec<(String, Value)>) = match c {
        Value::String(s) => (s.clone(), vec![]),
        Value::Object(m) => {
            if let Some(n) = m.get("name").and_then(Value::as_str) {
                let conf = m
                    .get("configuration")
                    .and_then(Value::as_object)
                    .map(|c| c.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                    .unwrap_or_default();
                (n.to_string(), conf)
            } else if let Some(id) = m.get("id").and_then(Value::as_str) {
                (id.to_string(), m.iter().filter(|(k, _)| *k != "id").map(|(k, v)| (k.clone(), v.clone())).collect())
            } else {
                return c.to_string();
            }
        }
        other => return other.to_string(),
    };
    if conf.is_empty() {
        return name;
    }
    let parts: Vec<String> = conf
        .iter()
        .map(|(k, v)| match v {
            Value::Array(list) if list.iter().all(|x| x.get("name").is_some()) && !list.is_empty() => {
                format!("{k}=[{}]", list.iter().map(codec_text).collect::<Vec<_>>().join(" → "))
            }
            Value::String(s) => format!("{k}={s}"),
            _ => format!("{k}={v}"),
        })
        .collect();
    format!("{name}({})", parts.join(", "))
}

fn codecs_line(meta: &Value) -> String {
    if let Some(list) = meta.get("codecs").and_then(Value::as_array) {
        return list.iter().map(codec_text).collect::<Vec<_>>().join(" → ");
    }
    // Zarr v2: filters, then the compressor
    let mut parts = vec![];
    if let Some(order) = meta.get("order").and_then(Value::as_str) {
        parts.push(format!("order {order}"));
    }
    if let Some(fs) = meta.get("filters").and_then(Value::as_array) {
        parts.extend(fs.iter().map(|f| format!("filter {}", codec_text(f))));
    }
    match meta.get("compressor") {
        Some(Value::Null) | None => parts.push("no compressor".into()),
        Some(c) => parts.push(format!("compressor {}", codec_text(c))),
    }
    parts.join(", ")
}

fn dims(v: &[impl std::fmt::Display]) -> String {
    if v.is_empty() {
        return "() (0-d)".into();
    }
    v.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(" × ")
}

/// `floe info` checks which chunks are on disk for grids of at most this many chunks.
const MAX_COUNTED_CHUNKS: u64 = 1 << 20;

fn describe_array(path: &Path) -> CliResult<String> {
    let z = match ZarrArray::open(path) {
        Ok(z) => z,
        // still worth describing from its metadata: an element type floe
        // does not compute with, or a floe write not finished
        Err(e @ floe::Error::DType(_)) => return describe_raw(path, &e.to_string()),
        // a chunk grid too large for floe to list: the metadata still describes it
        Err(e @ floe::Error::Chunks(_)) => return describe_raw(path, &e.to_string()),
        Err(e) if e.to_string().contains("unfinished floe write") => return describe_raw(path, &e.to_string()),
        Err(e) => return Err(e.into()),
    };
    let za = z.zarrs();
    let meta = serde_json::to_value(za.metadata()).map_err(|e| Fail(format!("{}: metadata: {e}", path.display())))?;
    let format = meta.get("zarr_format").and_then(Value::as_u64).unwrap_or(3);
    let shape = z.shape();
    let nd = shape.len();
    let zero = vec![0u64; nd];
    let chunk_shape: Vec<u64> = if nd == 0 {
        vec![]
    } else {
        za.chunk_shape(&zero).map_err(|e| Fail(format!("{}: {e}", path.display())))?.iter().map(|c| c.get()).collect()
    };
    let grid: Vec<u64> = za.chunk_grid_shape().to_vec();
    let nchunks: u64 = grid.iter().fold(1u64, |a, &g| a.saturating_mul(g));
    // chunks present and their stored bytes (one metadata lookup per chunk:
    // not done for grids too large to walk quickly)
    let store = za.storage();
    let (mut present, mut stored) = (0u64, 0u64);
    let mut idx = vec![0u64; nd];
    let counted = nchunks <= MAX_COUNTED_CHUNKS;
    if nchunks > 0 && counted {
        loop {
            if let Ok(Some(n)) = store.size_key(&za.chunk_key(&idx)) {
                present += 1;
                stored += n;
            }
            // next index, last axis fastest
            let mut k = nd;
            let mut done = true;
            while k > 0 {
                k -= 1;
                idx[k] += 1;
                if idx[k] < grid[k] {
                    done = false;
                    break;
                }
                idx[k] = 0;
            }
            if done {
                break;
            }
        }
    }
    let uncompressed = shape.iter().fold(z.dtype().size() as u64, |a, &s| a.saturating_mul(s as u64));
    let mut o = String::new();
    let line = |o: &mut String, k: &str, v: String| o.push_str(&format!("  {k:<13}{v}\n"));
    o.push_str(&format!("{}: Zarr v{format} array\n", path.display()));
    let mut shape_s = dims(shape);
    if let Some(names) = meta.get("dimension_names").and_then(Value::as_array) {
        let names: Vec<String> = names.iter().map(|n| n.as_str().unwrap_or("-").to_string()).collect();
        if !names.is_empty() {
            shape_s.push_str(&format!("   ({})", names.join(", ")));
        }
    }
    line(&mut o, "shape", shape_s);
    line(&mut o, "dtype", z.dtype().name().to_string());
    let chunk_bytes = chunk_shape.iter().fold(z.dtype().size() as u64, |a, &c| a.saturating_mul(c));
    let what = if za.is_sharded() { "shards" } else { "chunks" };
    line(&mut o, what, format!("{}   ({} each, uncompressed)", dims(&chunk_shape), human_bytes(chunk_bytes)));
    if let Some(inner) = za.effective_subchunk_shape().filter(|_| za.is_sharded()) {
        let inner: Vec<u64> = inner.iter().map(|c| c.get()).collect();
        line(&mut o, "inner chunks", dims(&inner));
    }
    let on_disk = if counted {
        format!("{present} present on disk{}", if present < nchunks { " (missing ones read as the fill value)" } else { "" })
    } else {
        format!("not counted on disk (more than {MAX_COUNTED_CHUNKS})")
    };
    line(&mut o, "grid", format!("{} = {nchunks} {what}, {on_disk}", dims(&grid)));
    line(&mut o, "codecs", codecs_line(&meta));
    line(&mut o, "fill value", meta.get("fill_value").map(|v| v.to_string()).unwrap_or_else(|| "none".into()));
    let ratio = if stored > 0 { format!(", ratio {:.2}×", uncompressed as f64 / stored as f64) } else { String::new() };
    if counted {
        line(&mut o, "stored", format!("{} in {present} {what} ({stored} bytes)", human_bytes(stored)));
    }
    line(&mut o, "uncompressed", format!("{} ({uncompressed} bytes){ratio}", human_bytes(uncompressed)));
    if let Some(attrs) = meta.get("attributes").and_then(Value::as_object).filter(|a| !a.is_empty()) {
        let keys: Vec<&str> = attrs.keys().map(String::as_str).collect();
        line(&mut o, "attributes", keys.join(", "));
    }
    Ok(o)
}

/// An array floe cannot open, described from its metadata file alone.
fn describe_raw(path: &Path, why: &str) -> CliResult<String> {
    let (meta, format) = match (read_json(&path.join("zarr.json")), read_json(&path.join(".zarray"))) {
        (Some(v), _) => (v, 3),
        (None, Some(v)) => (v, 2),
        _ => return Err(Fail(why.to_string())),
    };
    let mut o = format!("{}: Zarr v{format} array\n", path.display());
    let line = |o: &mut String, k: &str, v: String| o.push_str(&format!("  {k:<13}{v}\n"));
    line(&mut o, "shape", dims(&num_list(meta.get("shape"))));
    let dtype = meta
        .get(if format == 3 { "data_type" } else { "dtype" })
        .map(|d| d.as_str().map(str::to_string).unwrap_or_else(|| d.to_string()));
    line(&mut o, "dtype", dtype.unwrap_or_default());
    let chunks =
        if format == 3 { num_list(meta.pointer("/chunk_grid/configuration/chunk_shape")) } else { num_list(meta.get("chunks")) };
    line(&mut o, "chunks", dims(&chunks));
    line(&mut o, "codecs", codecs_line(&meta));
    line(&mut o, "fill value", meta.get("fill_value").map(|v| v.to_string()).unwrap_or_else(|| "none".into()));
    line(&mut o, "note", format!("floe cannot read it: {why}"));
    Ok(o)
}

/// One line per child array or group (recursively), sorted by name.
fn describe_group(path: &Path, format: u8) -> CliResult<String> {
    let mut o = format!("{}: Zarr v{format} group\n", path.display());
    let mut n = 0;
    list_children(path, 1, &mut o, &mut n)?;
    if n == 0 {
        o.push_str("  (no arrays or groups)\n");
    }
    Ok(o)
}

fn list_children(dir: &Path, depth: usize, o: &mut String, n: &mut usize) -> CliResult<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| Fail(format!("{}: {e}", dir.display())))?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .collect();
    entries.sort_by_key(|e| e.file_name());
    let pad = "  ".repeat(depth);
    for e in entries {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        match node_kind(&p) {
            Node::Array => {
                *n += 1;
                o.push_str(&format!("{pad}{name:<24} {}\n", array_summary(&p)));
            }
            Node::Group(v) => {
                *n += 1;
                o.push_str(&format!("{pad}{name}/   (group, v{v})\n"));
                list_children(&p, depth + 1, o, n)?;
            }
            Node::Neither => {}
        }
    }
    Ok(())
}

/// `float32 1825 × 45 × 90, chunks 365 × 45 × 90` from the metadata alone
/// (any data type, without opening through floe).
fn array_summary(p: &Path) -> String {
    if let Some(v) = read_json(&p.join("zarr.json")) {
        let shape = num_list(v.get("shape"));
        let dtype =
            v.get("data_type").map(|d| d.as_str().map(str::to_string).unwrap_or_else(|| d.to_string())).unwrap_or_default();
        let chunks = num_list(v.pointer("/chunk_grid/configuration/chunk_shape"));
        let unfinished = if v.get(floe::store::zarr::IN_PROGRESS).is_some() { "   [unfinished floe write]" } else { "" };
        return format!("{dtype:<8} {}   chunks {}{unfinished}", dims(&shape), dims(&chunks));
    }
    if let Some(v) = read_json(&p.join(".zarray")) {
        let shape = num_list(v.get("shape"));
        let chunks = num_list(v.get("chunks"));
        let dtype = v.get("dtype").map(|d| d.as_str().map(str::to_string).unwrap_or_else(|| d.to_string())).unwrap_or_default();
        return format!("{dtype:<8} {}   chunks {}   (v2)", dims(&shape), dims(&chunks));
    }
    "(unreadable metadata)".into()
}

fn num_list(v: Option<&Value>) -> Vec<u64> {
    v.and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_u64).collect()).unwrap_or_default()
}
