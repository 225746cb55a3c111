//! Where a store lives on disk, compared structurally: canonical paths
//! (symbolic links, `.` and `..` resolved) compared component by component.
//! Used to refuse a write whose output overlaps one of its inputs (the
//! same store, a group holding it, or a path inside it), which would
//! otherwise delete or overwrite the data being read.

use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};

/// The canonical absolute form of `path`, which need not exist: the nearest
/// existing ancestor is canonicalized and the rest appended (`.` dropped,
/// `..` popping a component of that rest).
pub fn resolve(path: &Path) -> Result<PathBuf> {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| Error::Storage(format!("{}: cannot resolve a relative path: {e}", path.display())))?
            .join(path)
    };
    // split into the longest existing prefix and the missing rest
    let mut base = abs.as_path();
    let mut rest: Vec<Component<'_>> = Vec::new();
    let canon = loop {
        match base.canonicalize() {
            Ok(c) => break c,
            Err(_) => {
                let Some(parent) = base.parent() else {
                    return Err(Error::Storage(format!("{}: no part of this path exists", path.display())));
                };
                if let Some(last) = base.components().next_back() {
                    rest.push(last);
                }
                base = parent;
            }
        }
    };
    let mut out = canon;
    for c in rest.into_iter().rev() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(n) => out.push(n),
            Component::RootDir | Component::Prefix(_) => {}
        }
    }
    Ok(out)
}

/// How two resolved locations overlap, if they do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overlap {
    /// The same path.
    Same,
    /// The first holds the second (an ancestor directory).
    Contains,
    /// The first is inside the second.
    Inside,
}

/// Whether resolved paths `a` and `b` overlap (component-wise, so
/// `/d/ab` and `/d/a` do not).
pub fn overlap(a: &Path, b: &Path) -> Option<Overlap> {
    if a == b {
        Some(Overlap::Same)
    } else if b.starts_with(a) {
        Some(Overlap::Contains)
    } else if a.starts_with(b) {
        Some(Overlap::Inside)
    } else {
        None
    }
}

/// Refuse writing at `output` when it overlaps any of the (resolved) input
/// store locations: writing would replace or corrupt data still to be read.
pub fn check_output_disjoint(output: &Path, inputs: &[PathBuf]) -> Result<()> {
    if inputs.is_empty() {
        return Ok(());
    }
    let out = resolve(output)?;
    for input in inputs {
        let why = match overlap(&out, input) {
            None => continue,
            Some(Overlap::Same) => "input and output are the same store".to_string(),
            Some(Overlap::Contains) => format!("the output would contain the input store {}", input.display()),
            Some(Overlap::Inside) => format!("the output lies inside the input store {}", input.display()),
        };
        return Err(Error::Storage(format!(
            "{}: refusing to write: {why}, which is read by the array being written; write to another path",
            output.display()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlap_is_by_component() {
        let p = |s: &str| PathBuf::from(s);
        assert_eq!(overlap(&p("/d/a"), &p("/d/a")), Some(Overlap::Same));
        assert_eq!(overlap(&p("/d"), &p("/d/a")), Some(Overlap::Contains));
        assert_eq!(overlap(&p("/d/a/b"), &p("/d/a")), Some(Overlap::Inside));
        assert_eq!(overlap(&p("/d/ab"), &p("/d/a")), None);
        assert_eq!(overlap(&p("/d/a"), &p("/d/ab")), None);
    }

    #[test]
    fn missing_paths_resolve_through_their_existing_ancestor() {
        let dir = std::env::temp_dir().join(format!("floe-location-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("a")).unwrap();
        let canon = dir.canonicalize().unwrap();
        assert_eq!(resolve(&dir.join("a/./x/../y/z")).unwrap(), canon.join("a/y/z"));
        assert_eq!(resolve(&dir.join("b/../a")).unwrap(), canon.join("a"));
        assert_eq!(resolve(&dir.join("a/../a")).unwrap(), canon.join("a"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
