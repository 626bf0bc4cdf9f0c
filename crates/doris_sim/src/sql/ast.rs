//! Parsed statements.

use crate::catalog::table::{AggregationType, Buckets, DefaultValue, KeysModel, PartitionKind};
use crate::catalog::types::{ColumnType, Value};

/// `[catalog.][db.]name`; the `internal` catalog prefix is accepted and dropped.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectName {
    pub db: Option<String>,
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Eq,
    NullSafeEq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Concat,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Literal(Value),
    /// `a`, `t.a`, `db.t.a`, `catalog.db.t.a`.
    Column(Vec<String>),
    SystemVar(String),
    UserVar(String),
    Function {
        name: String,
        args: Vec<Expr>,
        star: bool,
        distinct: bool,
    },
    Binary {
        op: BinaryOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    Not(Box<Expr>),
    Negate(Box<Expr>),
    IsNull {
        expr: Box<Expr>,
        negated: bool,
    },
    InList {
        expr: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
    },
    Between {
        expr: Box<Expr>,
        low: Box<Expr>,
        high: Box<Expr>,
        negated: bool,
    },
    Like {
        expr: Box<Expr>,
        pattern: Box<Expr>,
        negated: bool,
    },
    Subquery(Box<Select>),
    Cast {
        expr: Box<Expr>,
        type_name: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum SelectItem {
    /// `*` or `t.*`.
    Wildcard,
    Expr {
        expr: Expr,
        alias: Option<String>,
        /// The item's source text (result label).
        label: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum TableSource {
    Table(ObjectName),
    /// Table-valued function, e.g. `frontends()`.
    Function {
        name: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct FromClause {
    pub source: TableSource,
    pub alias: Option<String>,
    /// `PARTITION (p, ...)` / `TEMPORARY PARTITION (...)`: (temporary, names).
    pub partitions: Option<(bool, Vec<String>)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrderItem {
    pub expr: Expr,
    pub descending: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Select {
    pub items: Vec<SelectItem>,
    pub from: Option<FromClause>,
    pub filter: Option<Expr>,
    pub group_by: Vec<Expr>,
    pub having: Option<Expr>,
    pub order_by: Vec<OrderItem>,
    pub limit: Option<u64>,
    pub offset: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ColumnDef {
    pub name: String,
    pub column_type: ColumnType,
    pub is_key: bool,
    pub aggregation: Option<AggregationType>,
    pub nullable: Option<bool>,
    pub auto_increment: bool,
    pub default: Option<DefaultValue>,
    pub comment: Option<String>,
}

/// One partition bound value: a literal, or MAXVALUE (`None`).
pub type BoundValue = Option<Value>;

#[derive(Debug, Clone, PartialEq)]
pub enum PartitionValues {
    /// ADD PARTITION on an unpartitioned table (binlog replay form).
    None,
    LessThan(Vec<BoundValue>),
    Fixed {
        lower: Vec<BoundValue>,
        upper: Vec<BoundValue>,
    },
    In(Vec<Vec<BoundValue>>),
    /// `VALUES IN` omitted in a LIST table: the DEFAULT partition.
    Default,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PartitionDef {
    pub name: String,
    pub if_not_exists: bool,
    pub values: PartitionValues,
    pub properties: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PartitionClause {
    pub kind: PartitionKind,
    pub columns: Vec<String>,
    pub auto_expr: Option<String>,
    pub partitions: Vec<PartitionDef>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DistributionDef {
    /// `None` = RANDOM.
    pub hash_columns: Option<Vec<String>>,
    pub buckets: Option<Buckets>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CreateTable {
    pub if_not_exists: bool,
    pub name: ObjectName,
    pub columns: Vec<ColumnDef>,
    /// Inline `INDEX ...` definitions, re-rendered.
    pub indexes: Vec<String>,
    pub keys: Option<(KeysModel, Vec<String>)>,
    pub comment: Option<String>,
    pub partition: Option<PartitionClause>,
    pub distribution: Option<DistributionDef>,
    pub properties: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ColumnPosition {
    First,
    After(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum AlterTableOp {
    SetProperties(Vec<(String, String)>),
    AddPartition {
        temporary: bool,
        partition: PartitionDef,
        distribution: Option<DistributionDef>,
    },
    DropPartition {
        temporary: bool,
        if_exists: bool,
        name: String,
        force: bool,
    },
    RenamePartition {
        old: String,
        new: String,
    },
    ReplacePartition {
        partitions: Vec<String>,
        temp_partitions: Vec<String>,
        properties: Vec<(String, String)>,
    },
    AddColumns {
        columns: Vec<ColumnDef>,
        position: Option<ColumnPosition>,
    },
    DropColumn {
        name: String,
    },
    ModifyColumn {
        column: ColumnDef,
        position: Option<ColumnPosition>,
    },
    ModifyColumnComment {
        name: String,
        comment: String,
    },
    RenameColumn {
        old: String,
        new: String,
    },
    Rename {
        new: String,
    },
    ModifyComment(String),
    /// `ADD ROLLUP r (c, ...) [DUPLICATE KEY (c, ...)] [FROM base] [PROPERTIES (...)]`.
    AddRollup {
        name: String,
        columns: Vec<String>,
        duplicate_keys: Vec<String>,
    },
    DropRollup {
        name: String,
    },
    RenameRollup {
        old: String,
        new: String,
    },
    ReplaceWithTable {
        other: String,
        swap: bool,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum GrantObject {
    Global,
    Database(String),
    Table(String, String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct UserIdentity {
    pub name: String,
    pub host: String,
}

/// `LIKE 'pattern'` or `WHERE expr` after a SHOW.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ShowFilter {
    pub like: Option<String>,
    pub filter: Option<Expr>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum InsertSource {
    Values(Vec<Vec<Expr>>),
    Select(Box<Select>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Insert {
    pub overwrite: bool,
    pub table: ObjectName,
    /// (temporary, names)
    pub partitions: Option<(bool, Vec<String>)>,
    pub columns: Option<Vec<String>>,
    pub label: Option<String>,
    pub source: InsertSource,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SetAssignment {
    /// Variable name in lower case; `names` for `SET NAMES`.
    pub name: String,
    pub user_var: bool,
    pub global: bool,
    pub value: Expr,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    Select(Box<Select>),
    Set(Vec<SetAssignment>),
    Use(String),
    ShowDatabases(ShowFilter),
    ShowTables {
        full: bool,
        db: Option<String>,
        filter: ShowFilter,
    },
    ShowCreateDatabase(String),
    ShowCreateTable {
        name: ObjectName,
        view_expected: bool,
    },
    ShowFrontends,
    ShowBackends,
    ShowFrontendConfig(ShowFilter),
    SetFrontendConfig(Vec<(String, String)>),
    ShowVariables(ShowFilter),
    ShowProc(String),
    ShowPartitions {
        table: ObjectName,
        temporary: bool,
        filter: ShowFilter,
        order_by: Vec<OrderItem>,
        limit: Option<u64>,
    },
    ShowTableById(i64),
    /// `SHOW GRANTS [FOR user]` (`user: None` = the current user) or `SHOW ALL GRANTS`.
    ShowGrants {
        all: bool,
        user: Option<UserIdentity>,
    },
    /// `SHOW TRANSACTION [FROM db] WHERE id = N | label = "x"`.
    ShowTransaction {
        db: Option<String>,
        filter: Option<Expr>,
    },
    ShowColumns {
        table: ObjectName,
        full: bool,
        /// `DESC t ALL`: one block of rows per index, with IndexName/IndexKeysType.
        all_indexes: bool,
    },
    /// `SHOW ALTER TABLE ROLLUP [FROM db] [WHERE ...]`.
    ShowAlterTableRollup {
        db: Option<String>,
        filter: ShowFilter,
    },
    /// `CREATE MATERIALIZED VIEW mv AS SELECT ...` (synchronous MV on one table).
    CreateMaterializedView {
        if_not_exists: bool,
        name: String,
        query: Box<Select>,
    },
    /// `DROP MATERIALIZED VIEW [IF EXISTS] mv ON t`.
    DropMaterializedView {
        if_exists: bool,
        name: String,
        table: ObjectName,
    },
    ShowWarnings,
    CreateDatabase {
        if_not_exists: bool,
        name: String,
        properties: Vec<(String, String)>,
    },
    DropDatabase {
        if_exists: bool,
        name: String,
        force: bool,
    },
    AlterDatabaseProperties {
        name: String,
        properties: Vec<(String, String)>,
    },
    CreateUser {
        if_not_exists: bool,
        user: UserIdentity,
        password: Option<String>,
    },
    Grant {
        privileges: Vec<String>,
        object: GrantObject,
        user: UserIdentity,
    },
    CreateTable(Box<CreateTable>),
    DropTable {
        if_exists: bool,
        name: ObjectName,
        force: bool,
        view: bool,
    },
    CreateView {
        if_not_exists: bool,
        or_replace: bool,
        name: ObjectName,
        columns: Vec<String>,
        comment: Option<String>,
        query: Box<Select>,
    },
    AlterView {
        name: ObjectName,
        columns: Vec<String>,
        query: Box<Select>,
    },
    AlterTable {
        name: ObjectName,
        ops: Vec<AlterTableOp>,
    },
    Truncate {
        name: ObjectName,
        partitions: Option<Vec<String>>,
    },
    Insert(Box<Insert>),
    /// `UPDATE t SET c = expr, ... [WHERE ...]` (UNIQUE KEY tables).
    Update {
        table: ObjectName,
        assignments: Vec<(String, Expr)>,
        filter: Option<Expr>,
    },
    Delete {
        table: ObjectName,
        partitions: Option<Vec<String>>,
        filter: Option<Expr>,
    },
    /// `BACKUP SNAPSHOT [db.]label TO repo [ON | EXCLUDE (refs)] [PROPERTIES (...)]`.
    Backup {
        name: ObjectName,
        repository: String,
        refs: Option<Vec<BackupRef>>,
        exclude: bool,
        properties: Vec<(String, String)>,
    },
    /// `SHOW BACKUP [FROM db] [WHERE ...]`.
    ShowBackup {
        db: Option<String>,
        filter: Option<Expr>,
    },
    /// `SHOW [BRIEF] RESTORE [FROM db] [WHERE ...]`.
    ShowRestore {
        db: Option<String>,
        filter: Option<Expr>,
        brief: bool,
    },
    /// `CANCEL BACKUP | RESTORE [FROM db]`.
    CancelBackupRestore {
        db: Option<String>,
        restore: bool,
    },
    /// Statements accepted as no-ops (`SYNC`, `BEGIN`, `COMMIT`, ...).
    NoOp,
}

/// One table of a BACKUP's `ON (...)` / `EXCLUDE (...)` list.
#[derive(Debug, Clone, PartialEq)]
pub struct BackupRef {
    pub table: String,
    pub partitions: Vec<String>,
    /// `TEMPORARY PARTITION (...)`.
    pub temporary: bool,
}
