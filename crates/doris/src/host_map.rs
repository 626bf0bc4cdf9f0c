//! Host mapping: the addresses a cluster advertises (its FEs' and BEs' own, often private,
//! names) translated into addresses that can be dialled from outside it, for clusters behind
//! NAT or in Kubernetes.
//!
//! The mapping is by host only (ports are kept) and is applied when a connection is dialled,
//! never to the addresses clients are keyed by: FE lists, master redirects and BE pools keep
//! the advertised names, so one [`HostMapping::replace`] reaches every client sharing the
//! mapping. Each replacement bumps a generation; pools drop idle connections opened under an
//! older one, so the next call dials the new address.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::RwLock;

/// The advertised-host → dialled-host table of one cluster. Cheap to clone; clones share
/// the table, so a change is seen by every client holding one.
#[derive(Clone, Default)]
pub struct HostMapping {
    inner: Arc<RwLock<MappingState>>,
}

#[derive(Default)]
struct MappingState {
    entries: BTreeMap<String, String>,
    generation: u64,
}

impl HostMapping {
    pub fn new(entries: BTreeMap<String, String>) -> Self {
        Self {
            inner: Arc::new(RwLock::new(MappingState {
                entries,
                generation: 0,
            })),
        }
    }

    /// The host to dial for the advertised `host`, if the table maps it.
    pub fn mapped(&self, host: &str) -> Option<String> {
        self.inner.read().entries.get(host).cloned()
    }

    /// The host to dial for the advertised `host`: its mapping, or itself.
    pub fn resolve(&self, host: &str) -> String {
        self.mapped(host).unwrap_or_else(|| host.to_owned())
    }

    pub fn entries(&self) -> BTreeMap<String, String> {
        self.inner.read().entries.clone()
    }

    /// Counts replacements that changed the table; connections opened under an older
    /// generation are not reused.
    pub fn generation(&self) -> u64 {
        self.inner.read().generation
    }

    /// Replaces the table; returns whether it changed.
    pub fn replace(&self, entries: BTreeMap<String, String>) -> bool {
        let mut state = self.inner.write();
        if state.entries == entries {
            return false;
        }
        state.entries = entries;
        state.generation += 1;
        true
    }

    /// What a failed dial of advertised `host` should add to its error: the address it
    /// was mapped to, or that it has no mapping.
    pub fn dial_note(&self, host: &str) -> String {
        match self.mapped(host) {
            Some(dialled) => format!("{host} dialled as {dialled} per host_mapping"),
            None => format!("{host} has no host_mapping entry"),
        }
    }
}

impl std::fmt::Debug for HostMapping {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.inner.read().entries.iter())
            .finish()
    }
}

/// Names under the special-use `.invalid` domain (RFC 6761), which never resolve: refused at
/// once rather than sent to a resolver.
pub fn never_resolves(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    host == "invalid" || host.ends_with(".invalid")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn maps_listed_hosts_and_passes_others_through() {
        let mapping = HostMapping::new(table(&[("be-0.private", "10.0.0.1")]));
        assert_eq!(mapping.resolve("be-0.private"), "10.0.0.1");
        assert_eq!(mapping.resolve("be-1.private"), "be-1.private");
        assert_eq!(
            mapping.dial_note("be-0.private"),
            "be-0.private dialled as 10.0.0.1 per host_mapping"
        );
        assert_eq!(
            mapping.dial_note("be-1.private"),
            "be-1.private has no host_mapping entry"
        );
    }

    #[test]
    fn clones_share_replacements_and_only_changes_bump_the_generation() {
        let mapping = HostMapping::default();
        let clone = mapping.clone();
        assert!(!mapping.replace(BTreeMap::new()));
        assert_eq!(clone.generation(), 0);
        assert!(mapping.replace(table(&[("a", "b")])));
        assert_eq!(clone.resolve("a"), "b");
        assert_eq!(clone.generation(), 1);
        assert!(!clone.replace(table(&[("a", "b")])));
        assert_eq!(mapping.generation(), 1);
    }

    #[test]
    fn only_the_invalid_domain_never_resolves() {
        assert!(never_resolves("be-0.private.invalid"));
        assert!(never_resolves("X.INVALID."));
        assert!(!never_resolves("invalid.example.com"));
        assert!(!never_resolves("127.0.0.1"));
    }
}
