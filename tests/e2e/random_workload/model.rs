//! The generator's model of the source schema and the seeded statement generator.
//!
//! Every statement is generated against the model so that it is valid for the source as
//! the model sees it; the model is updated only when the source accepted the statement.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::Rng;

pub const DB: &str = "src_db";

/// Table names: plain ones, SQL keywords, and names needing backquotes.
const TABLE_NAMES: &[&str] = &[
    "t1", "t2", "t3", "t4", "select", "my-table", "a b", "order", "t`q",
];
const VIEW_NAMES: &[&str] = &["v1", "v2", "view", "v-w", "x y"];
/// Value column names.
const VALUE_NAMES: &[&str] = &[
    "v1", "v2", "v3", "v4", "from", "a b", "my-col", "c`d", "key", "value",
];
/// Partition names beyond the generated `p<n>` ones (keywords the regex allows).
const PARTITION_KEYWORDS: &[&str] = &["values", "order", "select", "partition"];
const STRINGS: &[&str] = &["a", "b", "x y", "it''s", "", "q\"t", "zz", "back\\\\s"];

/// Quotes an identifier with backquotes.
pub fn q(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// `src_db`.`name`.
pub fn qt(name: &str) -> String {
    format!("{}.{}", q(DB), q(name))
}

fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Ty {
    Int,
    BigInt,
    Varchar(u32),
}

impl Ty {
    fn sql(self) -> String {
        match self {
            Ty::Int => "INT".into(),
            Ty::BigInt => "BIGINT".into(),
            Ty::Varchar(n) => format!("VARCHAR({n})"),
        }
    }
    /// The type a heavy schema change widens this one to.
    fn widened(self) -> Ty {
        match self {
            Ty::Int => Ty::BigInt,
            Ty::BigInt => Ty::BigInt,
            Ty::Varchar(n) => Ty::Varchar(n + 10),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Col {
    pub name: String,
    pub ty: Ty,
    pub key: bool,
    /// AGGREGATE model value columns.
    pub agg: Option<&'static str>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Keys {
    Dup,
    Uniq,
    Agg,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PKind {
    Range,
    List,
}

#[derive(Clone, Debug)]
pub struct Part {
    pub name: String,
    /// Range: [lo, hi).
    pub lo: i64,
    pub hi: i64,
    /// List: the values.
    pub vals: Vec<i64>,
}

#[derive(Clone, Debug)]
pub struct Partitioning {
    pub kind: PKind,
    pub col: String,
    pub parts: Vec<Part>,
    pub temps: Vec<Part>,
}

#[derive(Clone, Debug)]
pub struct Table {
    pub name: String,
    pub keys: Keys,
    pub cols: Vec<Col>,
    pub dist: String,
    pub part: Option<Partitioning>,
    pub rollups: Vec<(String, Vec<String>)>,
}

impl Table {
    fn col_mut(&mut self, name: &str) -> Option<&mut Col> {
        self.cols.iter_mut().find(|c| c.name == name)
    }
    fn has_col(&self, name: &str) -> bool {
        self.cols.iter().any(|c| c.name.eq_ignore_ascii_case(name))
    }
    fn in_rollup(&self, name: &str) -> bool {
        self.rollups
            .iter()
            .any(|(_, cols)| cols.iter().any(|c| c == name))
    }
    fn is_structural(&self, name: &str) -> bool {
        name == self.dist || self.part.as_ref().is_some_and(|p| p.col == name)
    }
    fn value_cols(&self) -> Vec<&Col> {
        self.cols.iter().filter(|c| !c.key).collect()
    }
}

#[derive(Clone, Debug)]
pub struct View {
    pub name: String,
}

#[derive(Default, Debug)]
pub struct Model {
    pub tables: Vec<Table>,
    pub views: Vec<View>,
}

impl Model {
    fn table_mut(&mut self, name: &str) -> &mut Table {
        self.tables
            .iter_mut()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("model has table {name}"))
    }
    fn name_taken(&self, name: &str) -> bool {
        self.tables
            .iter()
            .any(|t| t.name.eq_ignore_ascii_case(name))
            || self.views.iter().any(|v| v.name.eq_ignore_ascii_case(name))
    }
}

/// What an accepted statement does to the model.
pub type Effect = Box<dyn FnOnce(&mut Model)>;

pub struct Gen {
    pub rng: StdRng,
    pub model: Model,
    /// A database job: database-level DDL (tables, views) is generated too.
    pub db_job: bool,
    counter: u32,
}

fn none() -> Effect {
    Box::new(|_| {})
}

impl Gen {
    pub fn new(rng: StdRng, db_job: bool) -> Gen {
        Gen {
            rng,
            model: Model::default(),
            db_job,
            counter: 0,
        }
    }

    fn next_id(&mut self) -> u32 {
        self.counter += 1;
        self.counter
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.choose(&mut self.rng)
    }

    fn free_table_name(&mut self) -> Option<String> {
        let free: Vec<&str> = TABLE_NAMES
            .iter()
            .copied()
            .filter(|n| !self.model.name_taken(n))
            .collect();
        free.choose(&mut self.rng).map(|s| s.to_string())
    }

    fn free_view_name(&mut self) -> Option<String> {
        let free: Vec<&str> = VIEW_NAMES
            .iter()
            .copied()
            .filter(|n| !self.model.name_taken(n))
            .collect();
        free.choose(&mut self.rng).map(|s| s.to_string())
    }

    fn free_col_name(&mut self, t: &Table) -> Option<String> {
        let free: Vec<&str> = VALUE_NAMES
            .iter()
            .copied()
            .filter(|n| !t.has_col(n))
            .collect();
        free.choose(&mut self.rng).map(|s| s.to_string())
    }

    fn free_part_name(&mut self, t: &Table) -> String {
        let taken = |n: &str| {
            t.part.as_ref().is_some_and(|p| {
                p.parts
                    .iter()
                    .chain(&p.temps)
                    .any(|x| x.name.eq_ignore_ascii_case(n))
            })
        };
        if self.rng.gen_bool(0.2) {
            let kw = *PARTITION_KEYWORDS.choose(&mut self.rng).unwrap();
            if !taken(kw) {
                return kw.to_string();
            }
        }
        loop {
            let n = format!("p{}", self.next_id());
            if !taken(&n) {
                return n;
            }
        }
    }

    fn agg_for(&mut self, ty: Ty) -> &'static str {
        match ty {
            Ty::Varchar(_) => ["REPLACE", "MAX", "MIN"].choose(&mut self.rng).unwrap(),
            _ => ["SUM", "MAX", "MIN", "REPLACE"]
                .choose(&mut self.rng)
                .unwrap(),
        }
    }

    fn random_ty(&mut self) -> Ty {
        match self.rng.gen_range(0..3) {
            0 => Ty::Int,
            1 => Ty::BigInt,
            _ => Ty::Varchar(self.rng.gen_range(8..20)),
        }
    }

    fn default_for(ty: Ty) -> &'static str {
        match ty {
            Ty::Varchar(_) => "'d'",
            _ => "'0'",
        }
    }

    /// ` INT SUM DEFAULT '0'`-like tail of a value column definition.
    fn value_col_def(c: &Col) -> String {
        let agg = c.agg.map(|a| format!(" {a}")).unwrap_or_default();
        format!(
            "{} {}{} DEFAULT {}",
            q(&c.name),
            c.ty.sql(),
            agg,
            Self::default_for(c.ty)
        )
    }

    // ---- CREATE TABLE ----

    /// A random table definition named `name`, and its CREATE TABLE.
    pub fn create_table(&mut self, name: &str) -> (String, Table) {
        let keys = *[Keys::Dup, Keys::Uniq, Keys::Agg]
            .choose(&mut self.rng)
            .unwrap();
        let key_name = *["k", "id", "table"].choose(&mut self.rng).unwrap();
        let mut cols = vec![Col {
            name: key_name.into(),
            ty: Ty::Int,
            key: true,
            agg: None,
        }];
        let part_kind = match self.rng.gen_range(0..3) {
            0 => None,
            1 => Some(PKind::Range),
            _ => Some(PKind::List),
        };
        let part_col = ["pc", "day", "where"]
            .choose(&mut self.rng)
            .unwrap()
            .to_string();
        if part_kind.is_some() {
            cols.push(Col {
                name: part_col.clone(),
                ty: Ty::Int,
                key: true,
                agg: None,
            });
        }
        if self.rng.gen_bool(0.3) {
            cols.push(Col {
                name: "k2".into(),
                ty: Ty::Int,
                key: true,
                agg: None,
            });
        }
        let nvalues = self.rng.gen_range(1..4);
        let mut t = Table {
            name: name.into(),
            keys,
            cols,
            dist: key_name.into(),
            part: None,
            rollups: Vec::new(),
        };
        for _ in 0..nvalues {
            let cname = self.free_col_name(&t).unwrap();
            let ty = self.random_ty();
            let agg = (keys == Keys::Agg).then(|| self.agg_for(ty));
            t.cols.push(Col {
                name: cname,
                ty,
                key: false,
                agg,
            });
        }
        let col_sql: Vec<String> = t
            .cols
            .iter()
            .map(|c| {
                if c.key {
                    format!("{} {}", q(&c.name), c.ty.sql())
                } else {
                    Self::value_col_def(c)
                }
            })
            .collect();
        let key_list: Vec<String> = t
            .cols
            .iter()
            .filter(|c| c.key)
            .map(|c| q(&c.name))
            .collect();
        let model = match keys {
            Keys::Dup => "DUPLICATE",
            Keys::Uniq => "UNIQUE",
            Keys::Agg => "AGGREGATE",
        };
        let mut sql = format!(
            "CREATE TABLE {} ({}) {model} KEY({})",
            qt(name),
            col_sql.join(", "),
            key_list.join(", ")
        );
        if self.rng.gen_bool(0.3) {
            sql.push_str(&format!(" COMMENT {}", lit("created it's")));
        }
        if let Some(kind) = part_kind {
            let n = self.rng.gen_range(1..4);
            let mut parts = Vec::new();
            let mut defs = Vec::new();
            for i in 0..n {
                let pname = format!("p{}", self.next_id());
                match kind {
                    PKind::Range => {
                        let hi = (i + 1) * 10;
                        defs.push(format!(
                            "PARTITION {} VALUES LESS THAN (\"{hi}\")",
                            q(&pname)
                        ));
                        parts.push(Part {
                            name: pname,
                            lo: if i == 0 { i64::MIN } else { i * 10 },
                            hi,
                            vals: vec![],
                        });
                    }
                    PKind::List => {
                        let vals: Vec<i64> = (i * 3..i * 3 + 3).collect();
                        let list: Vec<String> = vals.iter().map(|v| format!("(\"{v}\")")).collect();
                        defs.push(format!(
                            "PARTITION {} VALUES IN ({})",
                            q(&pname),
                            list.join(", ")
                        ));
                        parts.push(Part {
                            name: pname,
                            lo: 0,
                            hi: 0,
                            vals,
                        });
                    }
                }
            }
            let kw = if kind == PKind::Range {
                "RANGE"
            } else {
                "LIST"
            };
            sql.push_str(&format!(
                " PARTITION BY {kw}({}) ({})",
                q(&part_col),
                defs.join(", ")
            ));
            t.part = Some(Partitioning {
                kind,
                col: part_col,
                parts,
                temps: vec![],
            });
        }
        let mut props = vec![
            "\"replication_num\" = \"1\"".to_string(),
            "\"binlog.enable\" = \"true\"".to_string(),
        ];
        if keys == Keys::Uniq && self.rng.gen_bool(0.5) {
            props.push("\"enable_unique_key_merge_on_write\" = \"true\"".into());
        }
        sql.push_str(&format!(
            " DISTRIBUTED BY HASH({}) BUCKETS {} PROPERTIES ({})",
            q(&t.dist),
            self.rng.gen_range(1..4),
            props.join(", ")
        ));
        (sql, t)
    }

    // ---- rows ----

    fn value(&mut self, ty: Ty, nullable: bool) -> String {
        if nullable && self.rng.gen_bool(0.08) {
            return "NULL".into();
        }
        match ty {
            Ty::Int => self.rng.gen_range(-50..50).to_string(),
            Ty::BigInt => self.rng.gen_range(0..2_000_000_000_000i64).to_string(),
            Ty::Varchar(_) => format!("'{}'", STRINGS.choose(&mut self.rng).unwrap()),
        }
    }

    fn part_value(&mut self, kind: PKind, p: &Part) -> i64 {
        match kind {
            PKind::Range => self.rng.gen_range(p.lo.max(0)..p.hi),
            PKind::List => *p.vals.choose(&mut self.rng).unwrap(),
        }
    }

    /// One row tuple for `t`, its partition value taken from `parts`.
    fn row(&mut self, t: &Table, parts: Option<(PKind, &[Part])>) -> String {
        let pcol = t.part.as_ref().map(|p| p.col.clone());
        let vals: Vec<String> = t
            .cols
            .iter()
            .map(|c| {
                if Some(&c.name) == pcol.as_ref() {
                    let (kind, ps) = parts.expect("partitions to route into");
                    let p = ps.choose(&mut self.rng).unwrap().clone();
                    self.part_value(kind, &p).to_string()
                } else if c.key {
                    match c.ty {
                        Ty::Varchar(_) => format!("'k{}'", self.rng.gen_range(0..5)),
                        _ => self.rng.gen_range(0..12).to_string(),
                    }
                } else {
                    self.value(c.ty, true)
                }
            })
            .collect();
        format!("({})", vals.join(", "))
    }

    /// `VALUES (...), (...)` for `t` routed into `parts` (all partitions when `None`), or
    /// `None` when a partitioned table has nowhere to put a row.
    fn values(&mut self, t: &Table, parts: Option<&[Part]>) -> Option<String> {
        let n = self.rng.gen_range(1..5);
        let routing: Option<(PKind, Vec<Part>)> = match &t.part {
            None => None,
            Some(p) => {
                let ps = parts.map(|s| s.to_vec()).unwrap_or_else(|| p.parts.clone());
                if ps.is_empty() {
                    return None;
                }
                Some((p.kind, ps))
            }
        };
        let rows: Vec<String> = (0..n)
            .map(|_| self.row(t, routing.as_ref().map(|(k, ps)| (*k, ps.as_slice()))))
            .collect();
        Some(format!("VALUES {}", rows.join(", ")))
    }

    // ---- statements ----

    /// The initial objects of a run (before the job exists).
    pub fn setup(&mut self) -> Vec<(String, Effect)> {
        let mut out: Vec<(String, Effect)> = vec![(
            format!(
                "CREATE DATABASE {} PROPERTIES (\"binlog.enable\" = \"true\")",
                q(DB)
            ),
            none(),
        )];
        let n = if self.db_job {
            self.rng.gen_range(1..4)
        } else {
            1
        };
        for _ in 0..n {
            out.push(self.create_table_stmt());
        }
        out
    }

    /// Rows for every table (run after the setup was applied).
    pub fn initial_rows(&mut self) -> Vec<(String, Effect)> {
        let tables = self.model.tables.clone();
        let mut out = Vec::new();
        for t in &tables {
            if let Some(v) = self.values(t, None) {
                out.push((format!("INSERT INTO {} {v}", qt(&t.name)), none()));
            }
        }
        if self.db_job && self.rng.gen_bool(0.5) {
            out.extend(self.create_view());
        }
        out
    }

    fn create_table_stmt(&mut self) -> (String, Effect) {
        let name = self.free_table_name().expect("a free table name");
        let (sql, t) = self.create_table(&name);
        (sql, Box::new(move |m: &mut Model| m.tables.push(t)))
    }

    /// The table name of a table job (the one table of the setup).
    pub fn only_table(&self) -> String {
        self.model.tables[0].name.clone()
    }

    /// The next workload statement(s): most are one statement, some are a short sequence
    /// (temporary partition + REPLACE).
    pub fn next(&mut self) -> Vec<(String, Effect)> {
        for _ in 0..50 {
            let r = self.rng.gen_range(0..100);
            let out = if self.db_job && r < 12 {
                self.db_ddl()
            } else if self.model.tables.is_empty() {
                continue;
            } else {
                let t = self.pick(&self.model.tables.clone()).unwrap().clone();
                self.table_op(&t)
            };
            if !out.is_empty() {
                return out;
            }
        }
        Vec::new()
    }

    fn db_ddl(&mut self) -> Vec<(String, Effect)> {
        match self.rng.gen_range(0..9) {
            0 | 1 => {
                if self.model.tables.len() >= 5 {
                    return vec![];
                }
                let Some(name) = self.free_table_name() else {
                    return vec![];
                };
                let (sql, t) = self.create_table(&name);
                let rows = self.values(&t, None);
                let mut out: Vec<(String, Effect)> =
                    vec![(sql, Box::new(move |m: &mut Model| m.tables.push(t)))];
                // New tables usually receive data right away.
                if let Some(v) = rows {
                    out.push((format!("INSERT INTO {} {v}", qt(&name)), none()));
                }
                out
            }
            2 => {
                if self.model.tables.len() <= 1 {
                    return vec![];
                }
                let t = self.pick(&self.model.tables.clone()).unwrap().name.clone();
                let force = if self.rng.gen_bool(0.5) { " FORCE" } else { "" };
                let name = t.clone();
                vec![(
                    format!("DROP TABLE {}{force}", qt(&t)),
                    Box::new(move |m: &mut Model| m.tables.retain(|x| x.name != name)),
                )]
            }
            3 => {
                let Some(new) = self.free_table_name() else {
                    return vec![];
                };
                let t = self.pick(&self.model.tables.clone()).unwrap().name.clone();
                let (old, new2) = (t.clone(), new.clone());
                vec![(
                    format!("ALTER TABLE {} RENAME {}", qt(&t), q(&new)),
                    Box::new(move |m: &mut Model| m.table_mut(&old).name = new2),
                )]
            }
            4 => {
                if self.model.tables.len() < 2 {
                    return vec![];
                }
                let two: Vec<Table> = self
                    .model
                    .tables
                    .choose_multiple(&mut self.rng, 2)
                    .cloned()
                    .collect();
                let (a, b) = (two[0].name.clone(), two[1].name.clone());
                let swap = self.rng.gen_bool(0.5);
                let sql = format!(
                    "ALTER TABLE {} REPLACE WITH TABLE {} PROPERTIES (\"swap\" = \"{swap}\")",
                    qt(&a),
                    q(&b)
                );
                vec![(
                    sql,
                    Box::new(move |m: &mut Model| {
                        if swap {
                            m.table_mut(&a).name = "\0tmp".into();
                            m.table_mut(&b).name = a.clone();
                            m.table_mut("\0tmp").name = b;
                        } else {
                            m.tables.retain(|x| x.name != a);
                            m.table_mut(&b).name = a;
                        }
                    }),
                )]
            }
            5 | 6 => self.create_view(),
            7 => {
                let Some(v) = self.pick(&self.model.views.clone()).cloned() else {
                    return vec![];
                };
                let Some(select) = self.view_select() else {
                    return vec![];
                };
                if self.rng.gen_bool(0.3) {
                    vec![(
                        format!("CREATE OR REPLACE VIEW {} AS {select}", qt(&v.name)),
                        none(),
                    )]
                } else {
                    vec![(format!("ALTER VIEW {} AS {select}", qt(&v.name)), none())]
                }
            }
            _ => {
                let Some(v) = self.pick(&self.model.views.clone()).cloned() else {
                    return vec![];
                };
                let name = v.name.clone();
                vec![(
                    format!("DROP VIEW {}", qt(&v.name)),
                    Box::new(move |m: &mut Model| m.views.retain(|x| x.name != name)),
                )]
            }
        }
    }

    fn view_select(&mut self) -> Option<String> {
        let t = self.pick(&self.model.tables.clone())?.clone();
        let k = self.rng.gen_range(1..=t.cols.len());
        let mut cols: Vec<String> = t
            .cols
            .choose_multiple(&mut self.rng, k)
            .map(|c| q(&c.name))
            .collect();
        cols.sort();
        let filter = if self.rng.gen_bool(0.5) {
            format!(
                " WHERE {} > {}",
                q(&t.cols[0].name),
                self.rng.gen_range(0..6)
            )
        } else {
            String::new()
        };
        Some(format!(
            "SELECT {} FROM {}{filter}",
            cols.join(", "),
            qt(&t.name)
        ))
    }

    fn create_view(&mut self) -> Vec<(String, Effect)> {
        let Some(name) = self.free_view_name() else {
            return vec![];
        };
        let Some(select) = self.view_select() else {
            return vec![];
        };
        let v = View { name: name.clone() };
        vec![(
            format!("CREATE VIEW {} AS {select}", qt(&name)),
            Box::new(move |m: &mut Model| m.views.push(v)),
        )]
    }

    fn table_op(&mut self, t: &Table) -> Vec<(String, Effect)> {
        let name = t.name.clone();
        let tq = qt(&t.name);
        let r = self.rng.gen_range(0..100);
        match r {
            // Loads.
            0..=29 => {
                let Some(v) = self.values(t, None) else {
                    return vec![];
                };
                if self.rng.gen_bool(0.2) {
                    // Explicit column list; missing value columns take their defaults.
                    let mut cols: Vec<&Col> = t.cols.iter().filter(|c| c.key).collect();
                    let values = t.value_cols();
                    let extra: Vec<&&Col> = values
                        .choose_multiple(&mut self.rng, values.len() / 2)
                        .collect();
                    cols.extend(extra.into_iter().copied());
                    let sub = Table {
                        cols: cols.into_iter().cloned().collect(),
                        ..t.clone()
                    };
                    let v = self.values(&sub, None).unwrap();
                    let names: Vec<String> = sub.cols.iter().map(|c| q(&c.name)).collect();
                    return vec![(
                        format!("INSERT INTO {tq} ({}) {v}", names.join(", ")),
                        none(),
                    )];
                }
                vec![(format!("INSERT INTO {tq} {v}"), none())]
            }
            30..=36 => {
                // DELETE
                let key = &t.cols[0];
                let mut cond = match self.rng.gen_range(0..3) {
                    0 => format!("{} = {}", q(&key.name), self.rng.gen_range(0..12)),
                    1 => format!(
                        "{} IN ({}, {})",
                        q(&key.name),
                        self.rng.gen_range(0..12),
                        self.rng.gen_range(0..12)
                    ),
                    _ => format!("{} > {}", q(&key.name), self.rng.gen_range(3..12)),
                };
                let mow = false;
                if (t.keys == Keys::Dup || mow) && self.rng.gen_bool(0.4) {
                    if let Some(c) = t.value_cols().iter().find(|c| c.ty != Ty::BigInt) {
                        let v = match c.ty {
                            Ty::Varchar(_) => "'a'".to_string(),
                            _ => "0".to_string(),
                        };
                        cond = format!("{} = {v}", q(&c.name));
                    }
                }
                let part = match &t.part {
                    Some(p) if !p.parts.is_empty() && self.rng.gen_bool(0.3) => {
                        format!(
                            " PARTITION {}",
                            q(&p.parts.choose(&mut self.rng).unwrap().name)
                        )
                    }
                    _ => String::new(),
                };
                vec![(format!("DELETE FROM {tq}{part} WHERE {cond}"), none())]
            }
            37..=40 => {
                if t.keys != Keys::Uniq {
                    return vec![];
                }
                let values = t.value_cols();
                let Some(c) = values.choose(&mut self.rng) else {
                    return vec![];
                };
                let v = self.value(c.ty, true);
                vec![(
                    format!(
                        "UPDATE {tq} SET {} = {v} WHERE {} < {}",
                        q(&c.name),
                        q(&t.cols[0].name),
                        self.rng.gen_range(0..12)
                    ),
                    none(),
                )]
            }
            41..=44 => {
                // INSERT OVERWRITE table or partitions.
                match &t.part {
                    Some(p) if !p.parts.is_empty() && self.rng.gen_bool(0.6) => {
                        let k = self.rng.gen_range(1..=p.parts.len().min(2));
                        let chosen: Vec<Part> =
                            p.parts.choose_multiple(&mut self.rng, k).cloned().collect();
                        let names: Vec<String> = chosen.iter().map(|p| q(&p.name)).collect();
                        let v = self.values(t, Some(&chosen)).unwrap();
                        vec![(
                            format!(
                                "INSERT OVERWRITE TABLE {tq} PARTITION ({}) {v}",
                                names.join(", ")
                            ),
                            none(),
                        )]
                    }
                    _ => {
                        let Some(v) = self.values(t, None) else {
                            return vec![];
                        };
                        vec![(format!("INSERT OVERWRITE TABLE {tq} {v}"), none())]
                    }
                }
            }
            45..=47 => match &t.part {
                Some(p) if !p.parts.is_empty() && self.rng.gen_bool(0.6) => {
                    let k = self.rng.gen_range(1..=p.parts.len().min(2));
                    let names: Vec<String> = p
                        .parts
                        .choose_multiple(&mut self.rng, k)
                        .map(|p| q(&p.name))
                        .collect();
                    vec![(
                        format!("TRUNCATE TABLE {tq} PARTITION ({})", names.join(", ")),
                        none(),
                    )]
                }
                _ => vec![(format!("TRUNCATE TABLE {tq}"), none())],
            },
            48..=53 => self.partition_op(t),
            54..=59 => self.temp_partition_op(t),
            60..=65 => {
                // ADD value column (light).
                let Some(cname) = self.free_col_name(t) else {
                    return vec![];
                };
                let ty = self.random_ty();
                let agg = (t.keys == Keys::Agg).then(|| self.agg_for(ty));
                let col = Col {
                    name: cname,
                    ty,
                    key: false,
                    agg,
                };
                let pos = match t.value_cols().choose(&mut self.rng) {
                    Some(after) if self.rng.gen_bool(0.3) => {
                        Some((after.name.clone(), format!(" AFTER {}", q(&after.name))))
                    }
                    _ => None,
                };
                let sql = format!(
                    "ALTER TABLE {tq} ADD COLUMN {}{}",
                    Self::value_col_def(&col),
                    pos.as_ref().map(|p| p.1.as_str()).unwrap_or("")
                );
                vec![(
                    sql,
                    Box::new(move |m: &mut Model| {
                        let t = m.table_mut(&name);
                        match pos {
                            Some((after, _)) => {
                                let i = t.cols.iter().position(|c| c.name == after).unwrap();
                                t.cols.insert(i + 1, col);
                            }
                            None => t.cols.push(col),
                        }
                    }),
                )]
            }
            66..=69 => {
                // DROP value column.
                let values: Vec<Col> = t
                    .value_cols()
                    .into_iter()
                    .filter(|c| !t.in_rollup(&c.name))
                    .cloned()
                    .collect();
                if values.len() < 2 {
                    return vec![];
                }
                let c = values.choose(&mut self.rng).unwrap().name.clone();
                let cn = c.clone();
                vec![(
                    format!("ALTER TABLE {tq} DROP COLUMN {}", q(&c)),
                    Box::new(move |m: &mut Model| m.table_mut(&name).cols.retain(|x| x.name != cn)),
                )]
            }
            70..=73 => {
                // MODIFY COLUMN type: a heavy schema change.
                let cands: Vec<Col> = t
                    .cols
                    .iter()
                    .filter(|c| {
                        !t.is_structural(&c.name) && !t.in_rollup(&c.name) && c.ty != Ty::BigInt
                    })
                    .cloned()
                    .collect();
                let Some(c) = cands.choose(&mut self.rng).cloned() else {
                    return vec![];
                };
                let ty = c.ty.widened();
                let def = if c.key {
                    format!("{} {} KEY", q(&c.name), ty.sql())
                } else {
                    Self::value_col_def(&Col { ty, ..c.clone() })
                };
                let cn = c.name.clone();
                vec![(
                    format!("ALTER TABLE {tq} MODIFY COLUMN {def}"),
                    Box::new(move |m: &mut Model| {
                        m.table_mut(&name).col_mut(&cn).unwrap().ty = ty;
                    }),
                )]
            }
            74..=78 => {
                // RENAME COLUMN (value columns mostly, sometimes a key).
                let keys_too = self.rng.gen_bool(0.2);
                let cands: Vec<Col> = t
                    .cols
                    .iter()
                    .filter(|c| (!c.key || keys_too) && !t.is_structural(&c.name))
                    .cloned()
                    .collect();
                let Some(c) = cands.choose(&mut self.rng).cloned() else {
                    return vec![];
                };
                let Some(new) = self.free_col_name(t) else {
                    return vec![];
                };
                let (old, new2) = (c.name.clone(), new.clone());
                vec![(
                    format!("ALTER TABLE {tq} RENAME COLUMN {} {}", q(&c.name), q(&new)),
                    Box::new(move |m: &mut Model| {
                        let t = m.table_mut(&name);
                        t.col_mut(&old).unwrap().name = new2.clone();
                        for (_, cols) in &mut t.rollups {
                            for c in cols.iter_mut().filter(|c| **c == old) {
                                *c = new2.clone();
                            }
                        }
                    }),
                )]
            }
            79..=82 => {
                let comment = ["c1", "it's a table", "the \"value\"", "", "x"]
                    .choose(&mut self.rng)
                    .unwrap();
                if self.rng.gen_bool(0.5) {
                    vec![(
                        format!("ALTER TABLE {tq} MODIFY COMMENT {}", lit(comment)),
                        none(),
                    )]
                } else {
                    let c = t.cols.choose(&mut self.rng).unwrap();
                    vec![(
                        format!(
                            "ALTER TABLE {tq} MODIFY COLUMN {} COMMENT {}",
                            q(&c.name),
                            lit(comment)
                        ),
                        none(),
                    )]
                }
            }
            83..=85 => {
                let v = self.rng.gen_bool(0.5);
                let prop = *[
                    "disable_auto_compaction",
                    "enable_single_replica_compaction",
                ]
                .choose(&mut self.rng)
                .unwrap();
                vec![(
                    format!("ALTER TABLE {tq} SET (\"{prop}\" = \"{v}\")"),
                    none(),
                )]
            }
            86..=91 => self.rollup_op(t),
            _ => {
                // A short burst of loads.
                let mut out = Vec::new();
                for _ in 0..self.rng.gen_range(2..5) {
                    if let Some(v) = self.values(t, None) {
                        out.push((format!("INSERT INTO {tq} {v}"), none()));
                    }
                }
                out
            }
        }
    }

    fn rollup_op(&mut self, t: &Table) -> Vec<(String, Effect)> {
        let name = t.name.clone();
        let tq = qt(&t.name);
        match self.rng.gen_range(0..4) {
            0 | 1 => {
                if t.rollups.len() >= 2 {
                    return vec![];
                }
                let values = t.value_cols();
                let Some(v) = values.choose(&mut self.rng) else {
                    return vec![];
                };
                let mut cols: Vec<String> = t
                    .cols
                    .iter()
                    .filter(|c| c.key)
                    .map(|c| c.name.clone())
                    .collect();
                cols.push(v.name.clone());
                let rname = if self.rng.gen_bool(0.2) && !t.rollups.iter().any(|r| r.0 == "index") {
                    "index".to_string()
                } else {
                    format!("r{}", self.next_id())
                };
                let list: Vec<String> = cols.iter().map(|c| q(c)).collect();
                let r = (rname.clone(), cols);
                vec![(
                    format!(
                        "ALTER TABLE {tq} ADD ROLLUP {} ({})",
                        q(&rname),
                        list.join(", ")
                    ),
                    Box::new(move |m: &mut Model| m.table_mut(&name).rollups.push(r)),
                )]
            }
            2 => {
                let Some((r, _)) = t.rollups.choose(&mut self.rng).cloned() else {
                    return vec![];
                };
                let rn = r.clone();
                vec![(
                    format!("ALTER TABLE {tq} DROP ROLLUP {}", q(&r)),
                    Box::new(move |m: &mut Model| m.table_mut(&name).rollups.retain(|x| x.0 != rn)),
                )]
            }
            _ => {
                let Some((r, _)) = t.rollups.choose(&mut self.rng).cloned() else {
                    return vec![];
                };
                let new = format!("r{}", self.next_id());
                let (old, new2) = (r.clone(), new.clone());
                vec![(
                    format!("ALTER TABLE {tq} RENAME ROLLUP {} {}", q(&r), q(&new)),
                    Box::new(move |m: &mut Model| {
                        for x in &mut m.table_mut(&name).rollups {
                            if x.0 == old {
                                x.0 = new2.clone();
                            }
                        }
                    }),
                )]
            }
        }
    }

    /// A free range of width 10 in [0, 100) (range tables), or free list values.
    fn free_slot(&mut self, p: &Partitioning) -> Option<Part> {
        let all: Vec<&Part> = p.parts.iter().chain(&p.temps).collect();
        match p.kind {
            PKind::Range => {
                let free: Vec<i64> = (0..10)
                    .map(|i| i * 10)
                    .filter(|lo| all.iter().all(|x| *lo + 10 <= x.lo || *lo >= x.hi))
                    .collect();
                let lo = *free.choose(&mut self.rng)?;
                Some(Part {
                    name: String::new(),
                    lo,
                    hi: lo + 10,
                    vals: vec![],
                })
            }
            PKind::List => {
                let free: Vec<i64> = (0..30)
                    .filter(|v| all.iter().all(|x| !x.vals.contains(v)))
                    .collect();
                if free.is_empty() {
                    return None;
                }
                let k = self.rng.gen_range(1..=free.len().min(3));
                let mut vals: Vec<i64> = free.choose_multiple(&mut self.rng, k).copied().collect();
                vals.sort();
                Some(Part {
                    name: String::new(),
                    lo: 0,
                    hi: 0,
                    vals,
                })
            }
        }
    }

    fn part_values_sql(kind: PKind, p: &Part) -> String {
        match kind {
            PKind::Range if p.lo == i64::MIN => format!("VALUES LESS THAN (\"{}\")", p.hi),
            PKind::Range => format!("VALUES [(\"{}\"), (\"{}\"))", p.lo, p.hi),
            PKind::List => {
                let list: Vec<String> = p.vals.iter().map(|v| format!("(\"{v}\")")).collect();
                format!("VALUES IN ({})", list.join(", "))
            }
        }
    }

    fn partition_op(&mut self, t: &Table) -> Vec<(String, Effect)> {
        let Some(p) = t.part.clone() else {
            return vec![];
        };
        let name = t.name.clone();
        let tq = qt(&t.name);
        match self.rng.gen_range(0..3) {
            0 => {
                let Some(mut slot) = self.free_slot(&p) else {
                    return vec![];
                };
                slot.name = self.free_part_name(t);
                let sql = format!(
                    "ALTER TABLE {tq} ADD PARTITION {} {}",
                    q(&slot.name),
                    Self::part_values_sql(p.kind, &slot)
                );
                vec![(
                    sql,
                    Box::new(move |m: &mut Model| {
                        m.table_mut(&name).part.as_mut().unwrap().parts.push(slot)
                    }),
                )]
            }
            1 => {
                if p.parts.len() < 2 {
                    return vec![];
                }
                let victim = p.parts.choose(&mut self.rng).unwrap().name.clone();
                let v = victim.clone();
                let force = if self.rng.gen_bool(0.3) { " FORCE" } else { "" };
                vec![(
                    format!("ALTER TABLE {tq} DROP PARTITION {}{force}", q(&victim)),
                    Box::new(move |m: &mut Model| {
                        m.table_mut(&name)
                            .part
                            .as_mut()
                            .unwrap()
                            .parts
                            .retain(|x| x.name != v)
                    }),
                )]
            }
            _ => {
                let Some(old) = p.parts.choose(&mut self.rng).map(|x| x.name.clone()) else {
                    return vec![];
                };
                let new = self.free_part_name(t);
                let (o, n) = (old.clone(), new.clone());
                vec![(
                    format!("ALTER TABLE {tq} RENAME PARTITION {} {}", q(&old), q(&new)),
                    Box::new(move |m: &mut Model| {
                        for x in &mut m.table_mut(&name).part.as_mut().unwrap().parts {
                            if x.name == o {
                                x.name = n.clone();
                            }
                        }
                    }),
                )]
            }
        }
    }

    /// ADD TEMPORARY PARTITION, maybe a load into it, then REPLACE PARTITION (strict or
    /// not, with or without `use_temp_partition_name`), or DROP TEMPORARY PARTITION.
    fn temp_partition_op(&mut self, t: &Table) -> Vec<(String, Effect)> {
        let Some(p) = t.part.clone() else {
            return vec![];
        };
        if p.parts.is_empty() {
            return vec![];
        }
        let name = t.name.clone();
        let tq = qt(&t.name);
        let target = p.parts.choose(&mut self.rng).unwrap().clone();
        let strict = p.kind == PKind::List || self.rng.gen_bool(0.5);
        let mut temp = target.clone();
        temp.name = format!("tp{}", self.next_id());
        if !strict {
            // A sub-range: not the replaced partition's range.
            let lo = target.lo.max(0);
            if target.hi - lo < 2 {
                return vec![];
            }
            temp.lo = lo;
            temp.hi = lo + (target.hi - lo) / 2;
        }
        let mut out: Vec<(String, Effect)> = Vec::new();
        let (n1, t1) = (name.clone(), temp.clone());
        out.push((
            format!(
                "ALTER TABLE {tq} ADD TEMPORARY PARTITION {} {}",
                q(&temp.name),
                Self::part_values_sql(p.kind, &temp)
            ),
            Box::new(move |m: &mut Model| m.table_mut(&n1).part.as_mut().unwrap().temps.push(t1)),
        ));
        if self.rng.gen_bool(0.7) {
            if let Some(v) = self.values(t, Some(std::slice::from_ref(&temp))) {
                out.push((
                    format!(
                        "INSERT INTO {tq} TEMPORARY PARTITION ({}) {v}",
                        q(&temp.name)
                    ),
                    none(),
                ));
            }
        }
        if self.rng.gen_bool(0.15) {
            let tn = temp.name.clone();
            out.push((
                format!(
                    "ALTER TABLE {tq} DROP TEMPORARY PARTITION {}",
                    q(&temp.name)
                ),
                Box::new(move |m: &mut Model| {
                    m.table_mut(&name)
                        .part
                        .as_mut()
                        .unwrap()
                        .temps
                        .retain(|x| x.name != tn)
                }),
            ));
            return out;
        }
        let use_temp_name = self.rng.gen_bool(0.4);
        let mut props = Vec::new();
        if !strict {
            props.push("\"strict_range\" = \"false\"".to_string());
        }
        if use_temp_name {
            props.push("\"use_temp_partition_name\" = \"true\"".to_string());
        }
        let props = if props.is_empty() {
            String::new()
        } else {
            format!(" PROPERTIES ({})", props.join(", "))
        };
        let (old, tn) = (target.name.clone(), temp.name.clone());
        out.push((
            format!(
                "ALTER TABLE {tq} REPLACE PARTITION ({}) WITH TEMPORARY PARTITION ({}){props}",
                q(&target.name),
                q(&temp.name)
            ),
            Box::new(move |m: &mut Model| {
                let p = m.table_mut(&name).part.as_mut().unwrap();
                let i = p.temps.iter().position(|x| x.name == tn).unwrap();
                let mut np = p.temps.remove(i);
                if !use_temp_name {
                    np.name = old.clone();
                }
                p.parts.retain(|x| x.name != old);
                p.parts.push(np);
            }),
        ));
        out
    }
}
