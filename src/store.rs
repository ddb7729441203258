//! What an object's logic needs of its storage: a transactional key-value store with an alarm
//! ([`Store`]). The Durable Objects implement it over their storage; [`MemoryStore`] and
//! [`block_on`] run the same logic in native tests.
//!
//! While an object awaits its [`Store`], no other request of the object is delivered (the
//! input gate), so a read and the write that follows are one step. While it awaits anything
//! else (the queue, another object), other requests are delivered.

use serde::de::DeserializeOwned;
use serde::Serialize;

/// A failure of the store, the queue, or a message the object could not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError(format!("stored value: {e}"))
    }
}

/// `value` as the JSON text a [`Store`] keeps.
///
/// # Errors
///
/// When `value` does not serialise (a map with non-string keys).
pub fn text<T: Serialize>(value: &T) -> Result<String, StoreError> {
    Ok(serde_json::to_string(value)?)
}

/// One object's storage: values as JSON text under string keys, and one alarm. Every method
/// is storage, so the platform delivers no other request of the object while it is awaited.
#[allow(async_fn_in_trait)]
pub trait Store {
    /// The value at `key`, if any.
    async fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StoreError>;
    /// Stores each `(key, JSON text)`: written together or not at all.
    async fn put_all(&self, entries: &[(String, String)]) -> Result<(), StoreError>;
    /// The texts under keys that start with `prefix`, in key order, at most `limit`.
    async fn texts(
        &self,
        prefix: &str,
        limit: Option<usize>,
    ) -> Result<Vec<(String, String)>, StoreError>;
    /// The texts under keys from `start` (included) to `end` (excluded), in key order, at
    /// most `limit`.
    async fn texts_between(
        &self,
        start: &str,
        end: &str,
        limit: Option<usize>,
    ) -> Result<Vec<(String, String)>, StoreError>;
    /// Deletes `key`.
    async fn delete(&self, key: &str) -> Result<(), StoreError>;
    /// Deletes every key.
    async fn delete_all(&self) -> Result<(), StoreError>;
    /// Sets the alarm to fire `after_ms` from now.
    async fn set_alarm(&self, after_ms: u64) -> Result<(), StoreError>;
    /// Removes the alarm.
    async fn delete_alarm(&self) -> Result<(), StoreError>;

    /// Stores `value` at `key`.
    async fn put<T: Serialize>(&self, key: &str, value: &T) -> Result<(), StoreError> {
        self.put_all(&[(key.to_string(), text(value)?)]).await
    }

    /// The values under keys that start with `prefix`, in key order, with their keys.
    async fn list<T: DeserializeOwned>(
        &self,
        prefix: &str,
    ) -> Result<Vec<(String, T)>, StoreError> {
        self.texts(prefix, None)
            .await?
            .into_iter()
            .map(|(key, text)| Ok((key, serde_json::from_str(&text)?)))
            .collect()
    }
}

#[cfg(any(test, feature = "testing"))]
pub use memory::{block_on, MemoryStore};

#[cfg(any(test, feature = "testing"))]
mod memory {
    use super::{Store, StoreError};
    use serde::de::DeserializeOwned;
    use std::cell::{Cell, RefCell};
    use std::collections::BTreeMap;
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    /// A [`Store`] in memory, for native tests: what the object's storage holds, and its alarm.
    #[derive(Debug, Default)]
    pub struct MemoryStore {
        values: RefCell<BTreeMap<String, String>>,
        alarm: Cell<Option<u64>>,
        /// Makes the next `put_all` fail, as storage failing midway would.
        pub fail_next_write: Cell<bool>,
    }

    impl MemoryStore {
        /// Everything held: key → JSON text.
        pub fn values(&self) -> BTreeMap<String, String> {
            self.values.borrow().clone()
        }
        /// The keys held, in order.
        pub fn keys(&self) -> Vec<String> {
            self.values.borrow().keys().cloned().collect()
        }
        /// The alarm's delay, if set.
        pub fn alarm(&self) -> Option<u64> {
            self.alarm.get()
        }
    }

    impl Store for MemoryStore {
        async fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StoreError> {
            match self.values.borrow().get(key) {
                Some(text) => Ok(Some(serde_json::from_str(text)?)),
                None => Ok(None),
            }
        }
        async fn put_all(&self, entries: &[(String, String)]) -> Result<(), StoreError> {
            if self.fail_next_write.replace(false) {
                return Err(StoreError("storage failed (test)".into()));
            }
            let mut values = self.values.borrow_mut();
            for (k, v) in entries {
                values.insert(k.clone(), v.clone());
            }
            Ok(())
        }
        async fn texts(
            &self,
            prefix: &str,
            limit: Option<usize>,
        ) -> Result<Vec<(String, String)>, StoreError> {
            let values = self.values.borrow();
            let found = values
                .range(prefix.to_string()..)
                .take_while(|(k, _)| k.starts_with(prefix))
                .map(|(k, v)| (k.clone(), v.clone()));
            Ok(found.take(limit.unwrap_or(usize::MAX)).collect())
        }
        async fn texts_between(
            &self,
            start: &str,
            end: &str,
            limit: Option<usize>,
        ) -> Result<Vec<(String, String)>, StoreError> {
            if start >= end {
                return Ok(Vec::new());
            }
            let values = self.values.borrow();
            let found = values.range(start.to_string()..end.to_string());
            let found = found.map(|(k, v)| (k.clone(), v.clone()));
            Ok(found.take(limit.unwrap_or(usize::MAX)).collect())
        }
        async fn delete(&self, key: &str) -> Result<(), StoreError> {
            self.values.borrow_mut().remove(key);
            Ok(())
        }
        async fn delete_all(&self) -> Result<(), StoreError> {
            self.values.borrow_mut().clear();
            Ok(())
        }
        async fn set_alarm(&self, after_ms: u64) -> Result<(), StoreError> {
            self.alarm.set(Some(after_ms));
            Ok(())
        }
        async fn delete_alarm(&self) -> Result<(), StoreError> {
            self.alarm.set(None);
            Ok(())
        }
    }

    /// Runs `f` to completion on this thread. The object's futures over a [`MemoryStore`]
    /// never wait on anything, so a waker that does nothing is enough.
    ///
    /// # Panics
    ///
    /// When `f` is pending: it waits on something that is not a [`MemoryStore`].
    #[allow(clippy::panic)] // test support: a test that waits on something else is wrong
    pub fn block_on<F: Future>(f: F) -> F::Output {
        let mut f = pin!(f);
        let mut cx = Context::from_waker(Waker::noop());
        match f.as_mut().poll(&mut cx) {
            Poll::Ready(out) => out,
            Poll::Pending => panic!("block_on: the future waits on something not in memory"),
        }
    }
}
