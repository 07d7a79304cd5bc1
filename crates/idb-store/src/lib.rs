//! IndexedDB glue shared by the page (`sightline-web`, which owns the database) and the
//! worker (`sightline-worker`, which reads models and image bytes from it):
//!
//! - [`in_transaction`]: one transaction over some stores, its requests, and for a
//!   read-write one the commit and the check that the browser did not abort it;
//! - [`get`]: one row by key, in a transaction of its own;
//! - [`migrate`]: the stores a schema upgrade creates, from `protocol::store::SCHEMA`;
//! - [`to_js`] / [`from_js`]: the rows of `protocol::store` as the plain JS objects
//!   IndexedDB holds (serde-wasm-bindgen: the field names are the serde types'), with
//!   [`JsBytes`] for bytes that stay in JS memory.
//!
//! A crate of its own because neither side can hold it for the other: `protocol` builds
//! natively and knows no web-sys, the worker depends on `vision` (burn), which the page must
//! never pull in, and the page crate is the app. It depends on `idb` and `protocol` only,
//! and like `sightline-web` compiles to nothing natively.
#![cfg(target_arch = "wasm32")]

pub use idb::{Database, KeyRange, ObjectStore, Transaction, TransactionMode};
use idb::{KeyPath, ObjectStoreParams};
use js_sys::{ArrayBuffer, Uint8Array};
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sightline_protocol::store::{StoreSpec, stores_added};
use wasm_bindgen::{JsCast, JsValue};

/// Why a transaction did not do its work.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// IndexedDB refused a request: a closed connection, a missing store, the quota...
    #[error(transparent)]
    Idb(#[from] idb::Error),
    /// The transaction ended without committing; `reason` is the browser's, when it gave
    /// one (`QuotaExceededError: …` when the disk or the origin's quota is full).
    #[error("the browser aborted the transaction{}", reason.as_ref().map(|r| format!(" ({r})")).unwrap_or_default())]
    Aborted { reason: Option<String> },
    /// A row made inside the transaction could not be turned into its JS form.
    #[error("a row could not be written ({0})")]
    Row(String),
}

/// A row that could not be turned into a JS object or read back from one.
pub type RowError = serde_wasm_bindgen::Error;

/// Runs `body` in one transaction over `stores` in `mode`. A read-write transaction is then
/// committed, and [`Error::Aborted`] returned unless the browser reports it committed; a
/// read-only one simply ends with its last request.
///
/// When `body` fails, the transaction is left to the browser, which commits the requests
/// already made.
pub async fn in_transaction<T>(
    database: &Database,
    stores: &[StoreSpec],
    mode: TransactionMode,
    body: impl AsyncFnOnce(&Transaction) -> Result<T, Error>,
) -> Result<T, Error> {
    let names: Vec<&str> = stores.iter().map(|store| store.name).collect();
    let transaction = database.transaction(&names, mode)?;
    let value = body(&transaction).await?;
    if mode == TransactionMode::ReadWrite {
        // A second handle on the same transaction: awaiting the commit consumes the first,
        // and the reason of an abort is read from the transaction afterwards.
        let handle = JsValue::from(transaction);
        let watched = Transaction::try_from(handle.clone())?;
        let transaction = Transaction::try_from(handle)?;
        if !transaction.commit()?.await?.is_committed() {
            let reason = watched
                .error()
                .map(|error| format!("{}: {}", error.name(), error.message()));
            return Err(Error::Aborted { reason });
        }
    }
    Ok(value)
}

/// The row under `key` in `store`, `None` if absent (one read-only transaction).
pub async fn get(
    database: &Database,
    store: StoreSpec,
    key: &str,
) -> Result<Option<JsValue>, Error> {
    in_transaction(database, &[store], TransactionMode::ReadOnly, async |tx| {
        Ok(tx
            .object_store(store.name)?
            .get(JsValue::from_str(key))?
            .await?)
    })
    .await
}

/// Creates the stores that the schema upgrade from `old_version` to `new_version` adds.
/// Called from the open request's `upgradeneeded` handler only.
pub fn migrate(database: &Database, old_version: u32, new_version: u32) -> Result<(), idb::Error> {
    for store in stores_added(old_version, new_version) {
        let mut params = ObjectStoreParams::new();
        params.key_path(Some(KeyPath::new_single(store.key_path)));
        database.create_object_store(store.name, params)?;
    }
    Ok(())
}

/// `row` as the JS object IndexedDB stores.
pub fn to_js<R: Serialize>(row: &R) -> Result<JsValue, RowError> {
    serde_wasm_bindgen::to_value(row)
}

/// The row stored as `value`.
pub fn from_js<R: DeserializeOwned>(value: JsValue) -> Result<R, RowError> {
    serde_wasm_bindgen::from_value(value)
}

/// Bytes of a row as a JS `Uint8Array`: stored and read back without a copy into wasm
/// memory (a stored `ArrayBuffer` reads as a view of it).
#[derive(Clone, Debug)]
pub struct JsBytes(pub Uint8Array);

impl JsBytes {
    /// A JS copy of `bytes`.
    pub fn copy_of(bytes: &[u8]) -> Self {
        Self(Uint8Array::from(bytes))
    }

    /// The bytes, copied into wasm memory.
    pub fn to_vec(&self) -> Vec<u8> {
        self.0.to_vec()
    }
}

impl Serialize for JsBytes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serde_wasm_bindgen::preserve::serialize(&self.0, serializer)
    }
}

impl<'de> Deserialize<'de> for JsBytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value: JsValue = serde_wasm_bindgen::preserve::deserialize(deserializer)?;
        if let Some(array) = value.dyn_ref::<Uint8Array>() {
            Ok(Self(array.clone()))
        } else if let Some(buffer) = value.dyn_ref::<ArrayBuffer>() {
            Ok(Self(Uint8Array::new(buffer)))
        } else {
            Err(D::Error::custom(
                "not bytes (a Uint8Array or an ArrayBuffer)",
            ))
        }
    }
}
