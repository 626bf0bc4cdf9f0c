//! Feature switches shared by every job (the reference syncer's `--feature_*` flags).

use clap::ArgAction;

/// Feature switches, named and defaulted as in the reference syncer. `/features` lists them.
#[derive(Debug, Clone, clap::Args)]
pub struct FeatureFlags {
    /// A finished schema change is replicated by partial sync (restore into an alias and
    /// swap) instead of dropping the table and running a full sync.
    #[arg(long = "feature_schema_change_partial_sync", action = ArgAction::Set, num_args = 0..=1, default_value_t = true, default_missing_value = "true")]
    pub schema_change_partial_sync: bool,
    /// Full-sync restores drop target partitions (and, for database jobs, tables) that are
    /// not in the snapshot.
    #[arg(long = "feature_clean_table_and_partitions", action = ArgAction::Set, num_args = 0..=1, default_value_t = false, default_missing_value = "true")]
    pub clean_table_and_partitions: bool,
    /// Full-sync restores are atomic: the target stays readable while they run.
    #[arg(long = "feature_atomic_restore", action = ArgAction::Set, num_args = 0..=1, default_value_t = true, default_missing_value = "true")]
    pub atomic_restore: bool,
    /// A CREATE VIEW binlog drops an existing view of the same name first.
    #[arg(long = "feature_create_view_drop_exists", action = ArgAction::Set, num_args = 0..=1, default_value_t = true, default_missing_value = "true")]
    pub create_view_drop_exists: bool,
    /// A target table whose schema does not match the snapshot is restored under an alias
    /// and swapped in, instead of being dropped.
    #[arg(long = "feature_replace_not_matched_with_alias", action = ArgAction::Set, num_args = 0..=1, default_value_t = true, default_missing_value = "true")]
    pub replace_not_matched_with_alias: bool,
    /// Upserts into shadow indexes of a running schema change are skipped.
    #[arg(long = "feature_filter_shadow_indexes_upsert", action = ArgAction::Set, num_args = 0..=1, default_value_t = true, default_missing_value = "true")]
    pub filter_shadow_indexes_upsert: bool,
    /// Before a new backup, cancel a backup of this syncer still running on the source.
    #[arg(long = "feature_cancel_conflict_backup_restore_job", action = ArgAction::Set, num_args = 0..=1, default_value_t = false, default_missing_value = "true")]
    pub cancel_conflict_backup_restore_job: bool,
}

impl FeatureFlags {
    /// `(flag name, current value, default)` for every feature, sorted by name.
    pub fn list(&self) -> Vec<(&'static str, bool, bool)> {
        let mut flags = vec![
            ("feature_atomic_restore", self.atomic_restore, true),
            (
                "feature_cancel_conflict_backup_restore_job",
                self.cancel_conflict_backup_restore_job,
                false,
            ),
            (
                "feature_clean_table_and_partitions",
                self.clean_table_and_partitions,
                false,
            ),
            (
                "feature_create_view_drop_exists",
                self.create_view_drop_exists,
                true,
            ),
            (
                "feature_filter_shadow_indexes_upsert",
                self.filter_shadow_indexes_upsert,
                true,
            ),
            (
                "feature_replace_not_matched_with_alias",
                self.replace_not_matched_with_alias,
                true,
            ),
            (
                "feature_schema_change_partial_sync",
                self.schema_change_partial_sync,
                true,
            ),
        ];
        flags.sort_by_key(|(name, _, _)| *name);
        flags
    }
}

/// Parses no arguments, so the defaults stay written once, in the `#[arg]`s above.
#[derive(clap::Parser)]
struct DefaultsOnly {
    #[command(flatten)]
    features: FeatureFlags,
}

impl Default for FeatureFlags {
    fn default() -> Self {
        <DefaultsOnly as clap::Parser>::parse_from(["ccr_syncer"]).features
    }
}
