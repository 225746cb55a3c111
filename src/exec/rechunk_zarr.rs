//! `Executor::rechunk_zarr`: copy a Zarr array into a new store with other
//! chunks, in bounded memory (the idea of the `rechunker` package).
//!
//! With source chunks `S` and target chunks `T` per axis, a direct copy runs
//! one task per *unit* `U = roundup(max(S, T), T)`: every unit is read with
//! one subset read (the rechunk is folded into the stored source) and
//! written as whole target chunks. A task holds about
//! `2·bytes(U) + 2·bytes(S) + 2·bytes(T)` (the unit, twice while a subset
//! read converts its bytes to elements; one source chunk, encoded and
//! decoded; one contiguous target chunk and its encoded bytes — encoded
//! chunks counted at their uncompressed size), and `threads` tasks run at
//! once. When source and target chunks are "orthogonal" (e.g. rows
//! to columns), `U` is most of the array; the copy then goes through an
//! intermediate store with chunks `I = min(S, T)` grown while both stages
//! still fit: stage 1 `S → I`, stage 2 `I → T`, each a direct copy with
//! small units. The intermediate store lives next to the output and is
//! removed at the end (also on error).

use std::path::{Path, PathBuf};
use std::time::Instant;

use std::sync::Arc;

use super::Executor;
use crate::array::Array;
use crate::chunks::ChunkSpec;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::expr::{build, NodeRef, Source};
use crate::store::location::{check_output_disjoint, overlap, resolve};
use crate::store::{ZarrArray, ZarrCodec, ZarrWriteOptions};

/// One copy pass of a rechunk plan.
#[derive(Clone, Debug, PartialEq)]
pub struct RechunkStage {
    /// Chunk shape read.
    pub read_chunks: Vec<usize>,
    /// Block shape of one task (whole written chunks).
    pub unit: Vec<usize>,
    /// Chunk shape written.
    pub write_chunks: Vec<usize>,
    /// Tasks (units) of the pass.
    pub tasks: usize,
    /// Worker threads used (at most the executor's).
    pub threads: usize,
    /// Estimated bytes held by one running task.
    pub task_bytes: u64,
    /// Seconds the pass took (0 in a plan not yet run).
    pub seconds: f64,
}

/// What `rechunk_zarr` planned and did.
#[derive(Clone, Debug, PartialEq)]
pub struct RechunkReport {
    pub shape: Vec<usize>,
    pub dtype: DType,
    pub source_chunks: Vec<usize>,
    pub target_chunks: Vec<usize>,
    /// Chunks of the intermediate store, when one is used.
    pub intermediate_chunks: Option<Vec<usize>>,
    /// Where the intermediate store was (removed after the run).
    pub intermediate_path: Option<PathBuf>,
    /// One stage for a direct copy, two through an intermediate store.
    pub stages: Vec<RechunkStage>,
    /// The memory budget.
    pub max_mem: u64,
    /// Estimated peak: the largest `threads × task_bytes` of the stages.
    pub estimated_peak: u64,
    /// Bytes of the whole array, uncompressed.
    pub nbytes: u64,
    /// Seconds of the whole run (0 in a plan not yet run).
    pub seconds: f64,
}

impl RechunkReport {
    /// Whether the copy goes through an intermediate store.
    pub fn uses_intermediate(&self) -> bool {
        self.intermediate_chunks.is_some()
    }
}

/// Copies of a unit held at once by one task: a multi-chunk subset read
/// (zarrs `retrieve_array_subset`) decodes into a byte buffer, then converts
/// it into a new `Vec<T>`, so both exist for a moment (measured: a task
/// reading 374 MB units peaks at ~870 MB). 1 once reads decode straight into
/// typed buffers.
const UNIT_COPIES: u64 = 2;

fn prod(v: &[usize]) -> u64 {
    v.iter().map(|&x| x as u64).product()
}

/// Per axis: `max(s, t)` rounded up to a multiple of `t`, at most the axis
/// length (a block covering the whole axis is whole chunks too).
fn unit_shape(shape: &[usize], s: &[usize], t: &[usize]) -> Vec<usize> {
    (0..shape.len())
        .map(|k| {
            let u = s[k].max(t[k]).div_ceil(t[k]) * t[k];
            u.min(shape[k].max(1))
        })
        .collect()
}

fn ntasks(shape: &[usize], unit: &[usize]) -> usize {
    shape.iter().zip(unit).map(|(&l, &u)| l.div_ceil(u.max(1)).max(1)).product()
}

/// The stage copying chunks `s` into chunks `t`, with as many of `threads`
/// as fit in `max_mem` (0 when not even one task fits).
fn stage(shape: &[usize], e: u64, s: &[usize], t: &[usize], threads: usize, max_mem: u64) -> RechunkStage {
    let unit = unit_shape(shape, s, t);
    let task_bytes = (UNIT_COPIES * prod(&unit) + 2 * prod(s) + 2 * prod(t)) * e;
    let tasks = ntasks(shape, &unit);
    let fit = (max_mem / task_bytes.max(1)).min(usize::MAX as u64) as usize;
    RechunkStage {
        read_chunks: s.to_vec(),
        unit,
        write_chunks: t.to_vec(),
        tasks,
        threads: threads.min(tasks).min(fit),
        task_bytes,
        seconds: 0.0,
    }
}

/// Relative time of a plan: passes over the data divided by the threads of each.
fn cost(stages: &[RechunkStage]) -> f64 {
    stages.iter().map(|s| 1.0 / s.threads.max(1) as f64).sum()
}

/// The intermediate chunks: `min(S, T)` grown (doubling, toward
/// `max(S, T)`, the smallest relative size first) while both stages keep
/// `want` threads within `max_mem`.
fn intermediate(
    shape: &[usize],
    e: u64,
    s: &[usize],
    t: &[usize],
    threads: usize,
    max_mem: u64,
) -> Option<(Vec<usize>, [RechunkStage; 2])> {
    let nd = shape.len();
    let cap: Vec<usize> = (0..nd).map(|k| s[k].max(t[k]).min(shape[k].max(1))).collect();
    let mut i: Vec<usize> = (0..nd).map(|k| s[k].min(t[k]).min(cap[k])).collect();
    let plan = |i: &[usize]| [stage(shape, e, s, i, threads, max_mem), stage(shape, e, i, t, threads, max_mem)];
    let first = plan(&i);
    let want = first[0].threads.min(first[1].threads);
    if want == 0 {
        return None;
    }
    let ok = |p: &[RechunkStage; 2]| p[0].threads >= want.min(p[0].tasks) && p[1].threads >= want.min(p[1].tasks);
    loop {
        let mut axes: Vec<usize> = (0..nd).filter(|&k| i[k] < cap[k]).collect();
        axes.sort_by(|&a, &b| (i[a] as f64 / cap[a] as f64).total_cmp(&(i[b] as f64 / cap[b] as f64)));
        let mut grown = false;
        for k in axes {
            let mut c = i.clone();
            c[k] = (2 * i[k]).min(cap[k]);
            if ok(&plan(&c)) {
                i = c;
                grown = true;
                break;
            }
        }
        if !grown {
            break;
        }
    }
    let p = plan(&i);
    Some((i, p))
}

/// The stored array at `path` read in blocks of `unit`: one subset read per
/// block, whatever the read amplification (`open_zarr(path).rechunk(unit)`
/// leaves a rechunk that misaligned reads would make a gather of stored
/// blocks, whose memory the plan could not bound).
fn unit_reads(path: &Path, unit: &[usize]) -> Result<NodeRef> {
    let z = Arc::new(ZarrArray::open(path)?);
    let shape = z.shape().to_vec();
    let dtype = z.dtype();
    let chunks = ChunkSpec::from(unit.to_vec()).resolve(&shape, dtype.size())?;
    let origin = vec![0; shape.len()];
    Ok(build::source(Source::Stored { array: z, origin }, shape, dtype, chunks))
}

fn intermediate_path(output: &Path) -> PathBuf {
    let dir = output.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    dir.join(format!("{}{}", intermediate_prefix(output), std::process::id()))
}

/// Removes the intermediate store when dropped (on success and on error).
struct RemoveOnDrop(PathBuf);
impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Prefix of the intermediate stores of rechunks into `output`
/// (`.<name>.floe-rechunk-tmp-<pid>`).
fn intermediate_prefix(output: &Path) -> String {
    let name = output.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "rechunk".into());
    format!(".{name}.floe-rechunk-tmp-")
}

/// Whether process `pid` is running (a process we may not signal is running too).
fn process_alive(pid: i32) -> bool {
    if std::path::Path::new("/proc/self").exists() {
        return std::path::Path::new(&format!("/proc/{pid}")).exists();
    }
    // SAFETY: signal 0 checks that the process exists and sends nothing
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Remove intermediate stores of earlier rechunks into `output` whose
/// process is gone (killed before it could remove them). Those of running
/// processes, names that do not end in a valid process id, and the input
/// being read (rechunking a leftover intermediate store) are left.
fn remove_stale_intermediates(output: &Path, input: &Path) {
    let prefix = intermediate_prefix(output);
    let dir = output.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix(prefix.as_str())) else { continue };
        if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(pid) = pid.parse::<i32>() else { continue };
        if pid <= 0 || pid as u32 == std::process::id() || process_alive(pid) {
            continue;
        }
        let reads_it = resolve(&e.path()).is_ok_and(|p| overlap(&p, input).is_some());
        if e.file_type().is_ok_and(|t| t.is_dir()) && !reads_it {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

impl Executor {
    /// The plan `rechunk_zarr` would run (nothing is read but metadata,
    /// nothing is written). Errors as `rechunk_zarr` does before running.
    pub fn plan_rechunk_zarr(&self, input: &Path, output: &Path, chunks: &[usize], max_mem: u64) -> Result<RechunkReport> {
        let z = ZarrArray::open(input)?;
        let shape = z.shape().to_vec();
        let dtype = z.dtype();
        let nd = shape.len();
        if chunks.len() != nd {
            return Err(Error::Chunks(format!(
                "{} chunk sizes given for an array of {nd} dimension(s) (shape {shape:?})",
                chunks.len()
            )));
        }
        if let Some(k) = chunks.iter().position(|&c| c == 0) {
            return Err(Error::Chunks(format!("chunk size 0 on axis {k}")));
        }
        // the output (and the intermediate store next to it) must not overlap
        // the input: replacing it would delete the data still to be read
        let inputs = [z.location().to_path_buf()];
        check_output_disjoint(output, &inputs)?;
        check_output_disjoint(&intermediate_path(output), &inputs)?;
        let e = dtype.size() as u64;
        let s: Vec<usize> = z.chunks().max_block().iter().map(|&b| b.max(1)).collect();
        let t = chunks.to_vec();
        let threads = self.threads.max(1);
        let direct = stage(&shape, e, &s, &t, threads, max_mem);
        let full = threads.min(direct.tasks);
        let mut report = RechunkReport {
            shape: shape.clone(),
            dtype,
            source_chunks: s.clone(),
            target_chunks: t.clone(),
            intermediate_chunks: None,
            intermediate_path: None,
            stages: vec![],
            max_mem,
            estimated_peak: 0,
            nbytes: prod(&shape) * e,
            seconds: 0.0,
        };
        let via = if direct.threads == full { None } else { intermediate(&shape, e, &s, &t, threads, max_mem) };
        match via {
            Some((i, p)) if direct.threads == 0 || cost(&p) < cost(std::slice::from_ref(&direct)) => {
                report.intermediate_chunks = Some(i);
                report.intermediate_path = Some(intermediate_path(output));
                report.stages = p.to_vec();
            }
            _ if direct.threads > 0 => report.stages = vec![direct],
            _ => {
                let i0: Vec<usize> = (0..nd).map(|k| s[k].min(t[k]).min(shape[k].max(1))).collect();
                let via_bytes =
                    stage(&shape, e, &s, &i0, 1, u64::MAX).task_bytes.max(stage(&shape, e, &i0, &t, 1, u64::MAX).task_bytes);
                let needed = direct.task_bytes.min(via_bytes);
                return Err(Error::MemoryLimit {
                    op: format!(
                        "rechunk of {} {shape:?} from chunks {s:?} to {t:?} (a direct copy needs {} bytes a task, \
                         a copy through intermediate chunks {i0:?} {via_bytes} bytes a task)",
                        dtype.name(),
                        direct.task_bytes
                    ),
                    needed,
                    limit: max_mem,
                });
            }
        }
        report.estimated_peak = report.stages.iter().map(|st| st.threads as u64 * st.task_bytes).max().unwrap_or(0);
        Ok(report)
    }

    /// Copy the Zarr array at `input` into a new Zarr v3 array (zstd) at
    /// `output` with chunk shape `chunks`, holding at most about `max_mem`
    /// bytes of chunk data at once (see the module docs for the plan). With
    /// `overwrite`, an existing array at `output` is replaced.
    pub fn rechunk_zarr(
        &self,
        input: &Path,
        output: &Path,
        chunks: &[usize],
        max_mem: u64,
        overwrite: bool,
    ) -> Result<RechunkReport> {
        let t0 = Instant::now();
        let mut report = self.plan_rechunk_zarr(input, output, chunks, max_mem)?;
        let is_array = output.join("zarr.json").is_file() || output.join(".zarray").is_file();
        if is_array && !overwrite {
            return Err(Error::Storage(format!(
                "{}: a Zarr array already exists here; pass overwrite to replace it",
                output.display()
            )));
        }
        remove_stale_intermediates(output, &resolve(input)?);
        let dtype = report.dtype;
        let stages = report.stages.clone();
        let copy = |from: &Path, to: &Path, st: &RechunkStage, codec: ZarrCodec| -> Result<f64> {
            let ex = self.clone().threads(st.threads.max(1)).memory_limit(max_mem);
            let opts = ZarrWriteOptions::new().chunks(st.write_chunks.clone()).codec(codec).overwrite(true);
            let t = Instant::now();
            let node = unit_reads(from, &st.unit)?;
            crate::dispatch_dtype!(dtype, E => {
                ex.to_zarr_with(&Array::<E>::from_node(node), to, &opts)?;
            });
            Ok(t.elapsed().as_secs_f64())
        };
        let out_opts = ZarrCodec::default();
        match &report.intermediate_path {
            None => {
                report.stages[0].seconds = copy(input, output, &stages[0], out_opts)?;
            }
            Some(tmp) => {
                if tmp.exists() {
                    std::fs::remove_dir_all(tmp).map_err(|e| Error::Storage(format!("{}: {e}", tmp.display())))?;
                }
                let _guard = RemoveOnDrop(tmp.clone());
                report.stages[0].seconds = copy(input, tmp, &stages[0], ZarrCodec::Zstd { level: 1 })?;
                report.stages[1].seconds = copy(tmp, output, &stages[1], out_opts)?;
            }
        }
        report.seconds = t0.elapsed().as_secs_f64();
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_whole_target_chunks() {
        assert_eq!(unit_shape(&[1000, 1000], &[10, 1000], &[100, 100]), vec![100, 1000]);
        assert_eq!(unit_shape(&[1000, 1000], &[30, 7], &[20, 20]), vec![40, 20]);
        assert_eq!(unit_shape(&[50], &[10], &[100]), vec![50]);
    }

    #[test]
    fn orthogonal_chunks_go_through_an_intermediate_store() {
        let shape = [10_000, 10_000];
        let (s, t) = ([1, 10_000], [10_000, 1]);
        let (i, p) = intermediate(&shape, 8, &s, &t, 2, 64 << 20).expect("fits");
        assert!(i.iter().all(|&c| c > 1), "{i:?}");
        assert!(p.iter().all(|st| st.threads == 2 && 2 * st.task_bytes <= 64 << 20), "{p:?}");
        // a direct copy would need the whole array per task
        assert_eq!(stage(&shape, 8, &s, &t, 2, 64 << 20).threads, 0);
    }
}
