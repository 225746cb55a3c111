//! A filesystem store whose every write is whole: a value is written to a
//! temporary key and renamed into place, so a crash leaves either the old
//! value, the new one, or a stray temporary file — never a half-written
//! chunk under its real key. Reads, lists and erases go to the filesystem
//! store unchanged.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use zarrs::filesystem::FilesystemStore;
use zarrs::storage::byte_range::ByteRangeIterator;
use zarrs::storage::{
    AtomicRenameStorageTraits, Bytes, ListableStorageTraits, MaybeBytesIterator, OffsetBytesIterator,
    ReadableStorageTraits, StorageError, StoreKey, StoreKeys, StoreKeysPrefixes, StorePrefix, WritableStorageTraits,
};

/// Suffix of temporary keys (`<key>.floe-tmp-<pid>-<n>`).
pub const TMP_MARK: &str = ".floe-tmp-";

pub struct AtomicFsStore {
    inner: Arc<FilesystemStore>,
    counter: AtomicU64,
}

impl AtomicFsStore {
    pub fn new(inner: Arc<FilesystemStore>) -> AtomicFsStore {
        AtomicFsStore { inner, counter: AtomicU64::new(0) }
    }
}

impl ReadableStorageTraits for AtomicFsStore {
    fn get_partial_many<'a>(
        &'a self,
        key: &StoreKey,
        byte_ranges: ByteRangeIterator<'a>,
    ) -> Result<MaybeBytesIterator<'a>, StorageError> {
        self.inner.get_partial_many(key, byte_ranges)
    }
    fn size_key(&self, key: &StoreKey) -> Result<Option<u64>, StorageError> {
        self.inner.size_key(key)
    }
    fn supports_get_partial(&self) -> bool {
        self.inner.supports_get_partial()
    }
}

impl ListableStorageTraits for AtomicFsStore {
    fn list(&self) -> Result<StoreKeys, StorageError> {
        self.inner.list()
    }
    fn list_prefix(&self, prefix: &StorePrefix) -> Result<StoreKeys, StorageError> {
        self.inner.list_prefix(prefix)
    }
    fn list_dir(&self, prefix: &StorePrefix) -> Result<StoreKeysPrefixes, StorageError> {
        self.inner.list_dir(prefix)
    }
    fn size_prefix(&self, prefix: &StorePrefix) -> Result<u64, StorageError> {
        self.inner.size_prefix(prefix)
    }
}

impl WritableStorageTraits for AtomicFsStore {
    fn set(&self, key: &StoreKey, value: Bytes) -> Result<(), StorageError> {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let tmp = StoreKey::new(format!("{}{TMP_MARK}{}-{n}", key.as_str(), std::process::id()))?;
        self.inner.set(&tmp, value)?;
        self.inner.rename(&tmp, key).inspect_err(|_| {
            let _ = self.inner.erase(&tmp);
        })
    }
    fn set_partial_many(&self, key: &StoreKey, offset_values: OffsetBytesIterator) -> Result<(), StorageError> {
        self.inner.set_partial_many(key, offset_values)
    }
    fn erase(&self, key: &StoreKey) -> Result<(), StorageError> {
        self.inner.erase(key)
    }
    fn erase_prefix(&self, prefix: &StorePrefix) -> Result<(), StorageError> {
        self.inner.erase_prefix(prefix)
    }
    fn supports_set_partial(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_is_whole_and_leaves_no_temporary() {
        let dir = std::env::temp_dir().join(format!("floe-atomic-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let s = AtomicFsStore::new(Arc::new(FilesystemStore::new(&dir).unwrap()));
        let k = StoreKey::new("c/0/1").unwrap();
        s.set(&k, Bytes::from(vec![1u8, 2, 3])).unwrap();
        s.set(&k, Bytes::from(vec![4u8, 5])).unwrap();
        assert_eq!(s.get(&k).unwrap().unwrap().to_vec(), vec![4, 5]);
        let keys: Vec<String> = s.list().unwrap().iter().map(|k| k.as_str().to_string()).collect();
        assert_eq!(keys, vec!["c/0/1".to_string()]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
