//! CUDA C → PTX with NVRTC (loaded at run time), and the cache of compiled
//! PTX keyed by source: in memory (a generated program is compiled once
//! per process, whatever the number of blocks and runs) and on disk (once
//! per machine, as CuPy does), in the folder named by `FLOE_PTX_CACHE`, by
//! default `$XDG_CACHE_HOME/floe/ptx` or `~/.cache/floe/ptx`; `FLOE_PTX_CACHE=off`
//! turns the disk cache off. A disk file is named by a hash of the whole
//! source (prelude included), the options and NVRTC's version, and holds
//! that text in full: it is used only when the text matches (a hash names
//! files, it never decides that two sources are the same), and a file that
//! does not read back whole is ignored and rewritten. The disk cache is best effort: a
//! folder that cannot be written only costs the compile.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use cudarc::nvrtc::{compile_ptx_with_opts, CompileError, CompileOptions};

use super::kernels::COMMON;
use crate::error::{Error, Result};

/// The virtual architecture PTX is generated for (sm_80 and newer run it;
/// the driver compiles it for the card when the module is loaded).
pub const ARCH: &str = "compute_80";

/// NVRTC options besides the architecture and the rounding flags.
const OPTIONS: &[&str] = &["--std=c++17"];

/// The rounding flags `compile` sets, as part of the disk cache key.
const ROUNDING: &str = "fmad=false ftz=false prec-div=true prec-sqrt=true";

/// Whether the NVRTC library (`libnvrtc.so.12` ...) can be loaded.
pub fn nvrtc_available() -> bool {
    static PRESENT: OnceLock<bool> = OnceLock::new();
    // SAFETY: only tries to dlopen the library by its usual names.
    *PRESENT.get_or_init(|| std::panic::catch_unwind(|| unsafe { cudarc::nvrtc::sys::is_culib_present() }).unwrap_or(false))
}

/// Compile `body` (CUDA C without the common prelude, which is prepended)
/// to PTX text. Errors carry NVRTC's log.
pub fn compile(name: &str, body: &str) -> Result<String> {
    if !nvrtc_available() {
        return Err(Error::Device(
            "NVRTC (libnvrtc.so.12) cannot be loaded: install the CUDA toolkit or the `nvidia-cuda-nvrtc-cu12` wheel and put its lib folder on LD_LIBRARY_PATH".into(),
        ));
    }
    let src = full_source(name, body);
    if src.contains('\0') {
        return Err(Error::Device(format!("kernel source {name} contains a NUL byte")));
    }
    let opts = CompileOptions {
        // a * b + c rounds as on the CPU (no contraction into FMA)
        fmad: Some(false),
        ftz: Some(false),
        prec_div: Some(true),
        prec_sqrt: Some(true),
        arch: Some(ARCH),
        name: Some(name.to_string()),
        options: OPTIONS.iter().map(|o| o.to_string()).collect(),
        ..Default::default()
    };
    let res = std::panic::catch_unwind(|| compile_ptx_with_opts(&src, opts))
        .map_err(|_| Error::Device(format!("NVRTC failed (panicked) compiling {name}")))?;
    match res {
        Ok(ptx) => Ok(ptx.to_src()),
        Err(CompileError::CompileError { log, .. }) => {
            Err(Error::Device(format!("NVRTC could not compile {name}:\n{}", log.to_string_lossy())))
        }
        Err(e) => Err(Error::Device(format!("NVRTC failed on {name}: {e}"))),
    }
}

fn full_source(name: &str, body: &str) -> String {
    format!("{COMMON}\n// ---- {name}\n{body}")
}

/// NVRTC's version, (0, 0) when it cannot be asked.
fn nvrtc_version() -> (i32, i32) {
    static V: OnceLock<(i32, i32)> = OnceLock::new();
    *V.get_or_init(|| {
        let (mut major, mut minor) = (0, 0);
        // SAFETY: two out-parameters; only called once NVRTC is known to load.
        let ok = std::panic::catch_unwind(move || unsafe {
            let r = cudarc::nvrtc::sys::nvrtcVersion(&mut major, &mut minor);
            (r == cudarc::nvrtc::sys::nvrtcResult::NVRTC_SUCCESS).then_some((major, minor))
        });
        ok.ok().flatten().unwrap_or((0, 0))
    })
}

/// The disk cache folder from `FLOE_PTX_CACHE` (see the module docs).
pub fn default_disk_dir() -> Option<PathBuf> {
    match std::env::var_os("FLOE_PTX_CACHE") {
        Some(v) if v.is_empty() || v == "off" || v == "0" => None,
        Some(v) => Some(PathBuf::from(v)),
        None => std::env::var_os("XDG_CACHE_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").filter(|v| !v.is_empty()).map(|h| Path::new(&h).join(".cache")))
            .map(|c| c.join("floe").join("ptx")),
    }
}

/// The first line of a PTX file of the disk cache: its key and the lengths
/// of the key text and the PTX that follow, so a file cut short (a crash
/// while writing, a full disk) is not used.
fn disk_header(key: u64, text_len: usize, len: usize) -> String {
    format!("// floe ptx {key:016x} {text_len} {len}\n")
}

/// What a disk file must have been compiled from: the whole source, the
/// options and NVRTC's version.
fn disk_text(name: &str, body: &str) -> String {
    format!("{}\n// {ARCH} {OPTIONS:?} {ROUNDING} nvrtc {:?}\n", full_source(name, body), nvrtc_version())
}

fn disk_key(text: &str) -> u64 {
    let mut h = DefaultHasher::new();
    text.hash(&mut h);
    h.finish()
}

/// The PTX on disk for `text` (as made by [`disk_text`]), if a whole file
/// compiled from exactly that text is there.
fn disk_read(dir: &Path, text: &str) -> Option<String> {
    let key = disk_key(text);
    let file = std::fs::read_to_string(dir.join(format!("{key:016x}.ptx"))).ok()?;
    let (head, rest) = file.split_at(file.find('\n')? + 1);
    let stored = rest.get(..text.len())?;
    let ptx = &rest[text.len()..];
    (head == disk_header(key, text.len(), ptx.len()) && stored == text).then(|| ptx.to_string())
}

fn disk_write(dir: &Path, text: &str, ptx: &str) {
    let key = disk_key(text);
    // write a temporary file, then rename: readers never see half a file
    let tmp = dir.join(format!("{key:016x}.{}.tmp", std::process::id()));
    let ok = std::fs::create_dir_all(dir).is_ok()
        && std::fs::write(&tmp, format!("{}{text}{ptx}", disk_header(key, text.len(), ptx.len()))).is_ok();
    if !ok || std::fs::rename(&tmp, dir.join(format!("{key:016x}.ptx"))).is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}

/// Compiled PTX by source, in memory and (optionally) on disk.
#[derive(Default)]
pub struct PtxCache {
    /// By (name, body): the whole text is the key.
    map: Mutex<HashMap<(String, String), Arc<String>>>,
    disk: Option<PathBuf>,
    disk_hits: std::sync::atomic::AtomicUsize,
}

impl PtxCache {
    /// A cache that also keeps PTX in folder `disk` (`None`: memory only).
    pub fn with_disk(disk: Option<PathBuf>) -> PtxCache {
        PtxCache { disk, ..PtxCache::default() }
    }
    /// The PTX of `body`, compiled on first use (or read from the disk cache).
    pub fn get(&self, name: &str, body: &str) -> Result<Arc<String>> {
        let key = (name.to_string(), body.to_string());
        if let Some(p) = self.map.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return Ok(p.clone());
        }
        let text = self.disk.as_ref().map(|_| disk_text(name, body));
        let cached = match (&self.disk, &text) {
            (Some(dir), Some(t)) => disk_read(dir, t),
            _ => None,
        };
        let ptx = match cached {
            Some(p) => {
                self.disk_hits.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Arc::new(p)
            }
            None => {
                let p = Arc::new(compile(name, body)?);
                if let (Some(dir), Some(t)) = (&self.disk, &text) {
                    disk_write(dir, t, &p);
                }
                p
            }
        };
        self.map.lock().unwrap_or_else(|e| e.into_inner()).insert(key, ptx.clone());
        Ok(ptx)
    }
    /// How many sources were read from the disk cache instead of compiled.
    pub fn disk_hits(&self) -> usize {
        self.disk_hits.load(std::sync::atomic::Ordering::Relaxed)
    }
    /// Number of distinct sources compiled.
    pub fn len(&self) -> usize {
        self.map.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
    /// Whether nothing was compiled yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_files_are_used_only_when_whole() {
        let dir = std::env::temp_dir().join(format!("floe-ptx-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let text = "source A\n";
        assert_eq!(disk_read(&dir, text), None);
        disk_write(&dir, text, ".version 8.0\n.entry x {}\n");
        assert_eq!(disk_read(&dir, text).as_deref(), Some(".version 8.0\n.entry x {}\n"));
        // another source does not read it; a file cut short is not used
        assert_eq!(disk_read(&dir, "source B\n"), None);
        let f = dir.join(format!("{:016x}.ptx", disk_key(text)));
        let whole = std::fs::read_to_string(&f).unwrap();
        std::fs::write(&f, &whole[..whole.len() - 3]).unwrap();
        assert_eq!(disk_read(&dir, text), None);
        std::fs::write(&f, "garbage").unwrap();
        assert_eq!(disk_read(&dir, text), None);
        // a file under the right name made from another source (a hash
        // collision, or a file edited by hand) is not used either
        std::fs::write(&f, whole.replace("source A", "source Z")).unwrap();
        assert_eq!(disk_read(&dir, text), None);
        // no temporary files are left
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_disk_folder_follows_floe_ptx_cache() {
        // only reads the variable this test does not set; "off" is covered by the parse
        let d = default_disk_dir();
        if std::env::var_os("FLOE_PTX_CACHE").is_none() && std::env::var_os("HOME").is_some() {
            assert!(d.is_some_and(|p| p.ends_with("floe/ptx")));
        }
    }
}
