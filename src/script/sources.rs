//! The text of every script and module loaded in a run, so diagnostics can quote any of them.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// Source texts by the name Rhai knows them by (the file path).
#[derive(Clone, Default)]
pub struct SourceMap {
    texts: Arc<RwLock<HashMap<String, Arc<str>>>>,
}

impl SourceMap {
    pub fn new() -> SourceMap {
        SourceMap::default()
    }

    pub fn insert(&self, name: &str, text: &str) {
        let mut texts = self.texts.write().unwrap_or_else(|e| e.into_inner());
        texts.insert(name.to_string(), Arc::from(text));
    }

    pub fn get(&self, name: &str) -> Option<Arc<str>> {
        let texts = self.texts.read().unwrap_or_else(|e| e.into_inner());
        texts.get(name).cloned()
    }
}
