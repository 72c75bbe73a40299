//! Verified API credentials, kept so that a busy integration's every request does not look its
//! key and business up again (a join of some thirty columns).
//!
//! An entry is trusted only while the store's credentials generation is the one it was read
//! under: revoking a key or changing an IP allowlist writes a new generation in the same
//! transaction, so every node, and a command-line change to a running server, takes effect with
//! the next request. Checking the generation is one small indexed read.

use crate::secrets::HashedApiKey;
use crate::store::businesses::{BusinessRecord, CredentialRecord};
use std::collections::HashMap;
use std::sync::Mutex;

/// Far more keys than one node serves at once; past it the cache starts over rather than grow.
const MAX_ENTRIES: usize = 10_000;

#[derive(Default)]
pub struct CredentialCache {
    entries: Mutex<HashMap<String, Entry>>,
}

struct Entry {
    generation: String,
    credential: CredentialRecord,
    business: BusinessRecord,
}

impl CredentialCache {
    pub fn get(
        &self,
        hash: &HashedApiKey,
        generation: &str,
    ) -> Option<(CredentialRecord, BusinessRecord)> {
        let entries = self.lock();
        let entry = entries.get(&hash.0)?;
        (entry.generation == generation).then(|| (entry.credential.clone(), entry.business.clone()))
    }

    /// Only successful lookups are kept, so an unknown key is always looked up.
    pub fn put(
        &self,
        hash: &HashedApiKey,
        generation: String,
        credential: CredentialRecord,
        business: BusinessRecord,
    ) {
        let mut entries = self.lock();
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(
            hash.0.clone(),
            Entry {
                generation,
                credential,
                business,
            },
        );
    }

    /// Records a use written to the store, so the next request does not write it again.
    pub fn touched(&self, hash: &HashedApiKey, at_ms: i64) {
        if let Some(entry) = self.lock().get_mut(&hash.0) {
            entry.credential.last_used_at = Some(at_ms);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        // A panic while holding the lock leaves nothing half-written worth refusing to read.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
