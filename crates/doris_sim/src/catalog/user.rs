//! Accounts and privileges (the subset of Doris' RBAC the syncer and tests need).

use std::collections::{BTreeMap, BTreeSet};

use ccr_wire::secret::Secret;

/// Doris privilege names (`SELECT_PRIV`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Privilege {
    Node,
    Admin,
    Grant,
    Select,
    Load,
    Alter,
    Create,
    Drop,
    Usage,
    ShowView,
}

impl Privilege {
    /// Accepts `SELECT_PRIV` and `SELECT` spellings (case-insensitive).
    pub fn from_name(name: &str) -> Option<Self> {
        let upper = name.to_ascii_uppercase();
        let bare = upper.strip_suffix("_PRIV").unwrap_or(&upper);
        Some(match bare {
            "NODE" => Self::Node,
            "ADMIN" => Self::Admin,
            "GRANT" => Self::Grant,
            "SELECT" => Self::Select,
            "LOAD" => Self::Load,
            "ALTER" => Self::Alter,
            "CREATE" => Self::Create,
            "DROP" => Self::Drop,
            "USAGE" => Self::Usage,
            "SHOW_VIEW" => Self::ShowView,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Node => "NODE",
            Self::Admin => "ADMIN",
            Self::Grant => "GRANT",
            Self::Select => "SELECT",
            Self::Load => "LOAD",
            Self::Alter => "ALTER",
            Self::Create => "CREATE",
            Self::Drop => "DROP",
            Self::Usage => "USAGE",
            Self::ShowView => "SHOW_VIEW",
        }
    }

    /// What `ALL` grants on a database or table level.
    pub fn all_data_privileges() -> [Privilege; 6] {
        [
            Self::Select,
            Self::Load,
            Self::Alter,
            Self::Create,
            Self::Drop,
            Self::ShowView,
        ]
    }
}

/// One account `'name'@'host'`.
#[derive(Debug, Clone)]
pub struct User {
    pub name: String,
    pub host: String,
    pub password: Secret,
    pub global: BTreeSet<Privilege>,
    /// Privileges on `db.*`, keyed by database name.
    pub databases: BTreeMap<String, BTreeSet<Privilege>>,
    /// Privileges on `db.table`.
    pub tables: BTreeMap<(String, String), BTreeSet<Privilege>>,
}

impl User {
    pub fn new(name: &str, host: &str, password: Secret) -> Self {
        Self {
            name: name.to_owned(),
            host: host.to_owned(),
            password,
            global: BTreeSet::new(),
            databases: BTreeMap::new(),
            tables: BTreeMap::new(),
        }
    }

    /// `'name'@'host'` as Doris prints it in access-denied messages.
    pub fn identity(&self) -> String {
        format!("'{}'@'{}'", self.name, self.host)
    }

    pub fn is_admin(&self) -> bool {
        self.global.contains(&Privilege::Admin)
    }

    /// ADMIN or NODE: what cluster-management statements (SHOW BACKENDS, ...) need.
    pub fn is_operator(&self) -> bool {
        self.is_admin() || self.global.contains(&Privilege::Node)
    }

    /// Holds `privilege` on the database (globally or on `db.*`).
    pub fn has_db_privilege(&self, db: &str, privilege: Privilege) -> bool {
        self.is_admin()
            || self.global.contains(&privilege)
            || self
                .databases
                .get(db)
                .is_some_and(|p| p.contains(&privilege))
    }

    pub fn has_table_privilege(&self, db: &str, table: &str, privilege: Privilege) -> bool {
        self.has_db_privilege(db, privilege)
            || self
                .tables
                .get(&(db.to_owned(), table.to_owned()))
                .is_some_and(|p| p.contains(&privilege))
    }

    /// Any privilege at all on the database or one of its tables (database visibility).
    pub fn can_see_db(&self, db: &str) -> bool {
        self.is_admin()
            || self
                .global
                .iter()
                .any(|p| *p != Privilege::Node && *p != Privilege::Usage)
            || self.databases.get(db).is_some_and(|p| !p.is_empty())
            || self
                .tables
                .iter()
                .any(|((d, _), p)| d == db && !p.is_empty())
    }

    pub fn can_see_table(&self, db: &str, table: &str) -> bool {
        self.is_admin()
            || self
                .global
                .iter()
                .any(|p| *p != Privilege::Node && *p != Privilege::Usage)
            || self.databases.get(db).is_some_and(|p| !p.is_empty())
            || self
                .tables
                .get(&(db.to_owned(), table.to_owned()))
                .is_some_and(|p| !p.is_empty())
    }
}

/// What a GRANT applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantTarget {
    Global,
    Database(String),
    Table(String, String),
}
