//! The image cache's stores in IndexedDB (schema v4): tier 2 of the decoded-image cache
//! (`levels`, with the small `level_index` rows that keep its LRU order across reloads) and
//! the thumbnails. Everything here is a cache, made again from the originals when missing:
//! nothing in these stores is the user's work, so the cache may drop any of it.

use sightline_idb_store::{JsBytes, TransactionMode, from_js, in_transaction, to_js};
use sightline_protocol::store::{
    LEVEL_INDEX, LEVELS, LevelIndexRow, LevelRow, THUMBNAILS, ThumbnailRow,
};
use wasm_bindgen::JsValue;

use crate::storage::{StorageError, Store};

impl Store {
    /// Stores a level's pixels with its index row, in one transaction.
    pub async fn put_level(
        &self,
        row: &LevelRow<JsBytes>,
        index: &LevelIndexRow,
    ) -> Result<(), StorageError> {
        let row = to_js(row).map_err(|e| StorageError::write(LEVELS, e))?;
        let index = to_js(index).map_err(|e| StorageError::write(LEVEL_INDEX, e))?;
        in_transaction(
            self.database(),
            &[LEVELS, LEVEL_INDEX],
            TransactionMode::ReadWrite,
            async |tx| {
                tx.object_store(LEVELS.name)?.put(&row, None)?;
                tx.object_store(LEVEL_INDEX.name)?.put(&index, None)?;
                Ok(())
            },
        )
        .await
        .map_err(|e| StorageError::write(LEVELS, e))
    }

    /// The level stored under `key`, if any.
    pub async fn level(&self, key: &str) -> Result<Option<LevelRow<JsBytes>>, StorageError> {
        self.row(LEVELS, key).await
    }

    /// Records a level's last use (its place in the LRU order after a reload).
    pub async fn touch_level(&self, index: &LevelIndexRow) -> Result<(), StorageError> {
        let index = to_js(index).map_err(|e| StorageError::write(LEVEL_INDEX, e))?;
        self.put_all(LEVEL_INDEX, vec![index]).await
    }

    /// Deletes the levels under `keys` with their index rows.
    pub async fn delete_levels(&self, keys: &[String]) -> Result<(), StorageError> {
        if keys.is_empty() {
            return Ok(());
        }
        in_transaction(
            self.database(),
            &[LEVELS, LEVEL_INDEX],
            TransactionMode::ReadWrite,
            async |tx| {
                for store in [LEVELS, LEVEL_INDEX] {
                    let object_store = tx.object_store(store.name)?;
                    for key in keys {
                        object_store.delete(JsValue::from_str(key))?;
                    }
                }
                Ok(())
            },
        )
        .await
        .map_err(|e| StorageError::write(LEVELS, e))
    }

    /// Every index row (small: no pixels are read), in no particular order.
    pub async fn level_index(&self) -> Result<Vec<LevelIndexRow>, StorageError> {
        let values = self.get_range(LEVEL_INDEX, None).await?;
        // A row that does not read is left for the LRU to never name: its level is simply
        // not counted, and is overwritten when that image is cached again.
        Ok(values.into_iter().filter_map(|v| from_js(v).ok()).collect())
    }

    /// Stores a thumbnail.
    pub async fn put_thumbnail(&self, row: &ThumbnailRow<JsBytes>) -> Result<(), StorageError> {
        let row = to_js(row).map_err(|e| StorageError::write(THUMBNAILS, e))?;
        self.put_all(THUMBNAILS, vec![row]).await
    }

    /// The thumbnail of the image with content key `key`, if made.
    pub async fn thumbnail(
        &self,
        key: &str,
    ) -> Result<Option<ThumbnailRow<JsBytes>>, StorageError> {
        self.row(THUMBNAILS, key).await
    }
}
