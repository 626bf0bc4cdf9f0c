//! Column types and cell values of the simulated catalog.

use std::cmp::Ordering;
use std::fmt;

/// Doris' default VARCHAR length when none is given.
const DEFAULT_VARCHAR_LEN: u32 = 65533;
/// Doris' default CHAR length when none is given.
const DEFAULT_CHAR_LEN: u32 = 1;
/// Doris' default DECIMAL precision/scale when none is given (`DECIMAL` = `DECIMAL(9, 0)`).
const DEFAULT_DECIMAL: (u8, u8) = (9, 0);

/// A column type. Scalar types are modelled; complex/semi-structured types keep their
/// lower-cased declaration text so they round-trip through SHOW CREATE TABLE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnType {
    Boolean,
    TinyInt,
    SmallInt,
    Int,
    BigInt,
    LargeInt,
    Float,
    Double,
    Decimal {
        precision: u8,
        scale: u8,
    },
    Date,
    DateTime {
        scale: u8,
    },
    Char(u32),
    Varchar(u32),
    String,
    /// ARRAY/MAP/STRUCT/JSON/VARIANT/BITMAP/HLL/QUANTILE_STATE: declaration text, lower case.
    Other(String),
}

impl ColumnType {
    /// Builds a type from its (case-insensitive) name and numeric parameters.
    pub fn from_name(name: &str, params: &[u32]) -> Option<ColumnType> {
        let p = |i: usize| params.get(i).copied();
        Some(match name.to_ascii_uppercase().as_str() {
            "BOOLEAN" | "BOOL" => ColumnType::Boolean,
            "TINYINT" => ColumnType::TinyInt,
            "SMALLINT" => ColumnType::SmallInt,
            "INT" | "INTEGER" => ColumnType::Int,
            "BIGINT" => ColumnType::BigInt,
            "LARGEINT" => ColumnType::LargeInt,
            "FLOAT" => ColumnType::Float,
            "DOUBLE" => ColumnType::Double,
            "DECIMAL" | "DECIMALV3" | "DECIMALV2" | "NUMERIC" => ColumnType::Decimal {
                precision: p(0).map(|v| v as u8).unwrap_or(DEFAULT_DECIMAL.0),
                scale: p(1).map(|v| v as u8).unwrap_or(DEFAULT_DECIMAL.1),
            },
            "DATE" | "DATEV2" => ColumnType::Date,
            "DATETIME" | "DATETIMEV2" => ColumnType::DateTime {
                scale: p(0).unwrap_or(0) as u8,
            },
            "CHAR" => ColumnType::Char(p(0).unwrap_or(DEFAULT_CHAR_LEN)),
            "VARCHAR" => ColumnType::Varchar(p(0).unwrap_or(DEFAULT_VARCHAR_LEN)),
            "STRING" | "TEXT" => ColumnType::String,
            "JSON" | "JSONB" => ColumnType::Other("json".into()),
            "VARIANT" | "BITMAP" | "HLL" | "QUANTILE_STATE" | "AGG_STATE" | "IPV4" | "IPV6" => {
                ColumnType::Other(name.to_ascii_lowercase())
            }
            _ => return None,
        })
    }

    /// Reads back what [`ColumnType::to_sql`] printed (`decimal(10,2)`, `varchar(20)`);
    /// anything else is kept as an [`ColumnType::Other`] declaration.
    pub fn from_sql(text: &str) -> ColumnType {
        let text = text.trim();
        let (name, params) = match text.split_once('(') {
            Some((name, rest)) if rest.ends_with(')') && !name.contains('<') => {
                let params: Option<Vec<u32>> = rest[..rest.len() - 1]
                    .split(',')
                    .map(|p| p.trim().parse().ok())
                    .collect();
                match params {
                    Some(params) => (name, params),
                    None => return ColumnType::Other(text.to_ascii_lowercase()),
                }
            }
            _ => (text, Vec::new()),
        };
        ColumnType::from_name(name, &params)
            .unwrap_or_else(|| ColumnType::Other(text.to_ascii_lowercase()))
    }

    /// The type as Doris 2.1 prints it in DDL text (lower case, no display width).
    pub fn to_sql(&self) -> String {
        match self {
            ColumnType::Boolean => "boolean".into(),
            ColumnType::TinyInt => "tinyint".into(),
            ColumnType::SmallInt => "smallint".into(),
            ColumnType::Int => "int".into(),
            ColumnType::BigInt => "bigint".into(),
            ColumnType::LargeInt => "largeint".into(),
            ColumnType::Float => "float".into(),
            ColumnType::Double => "double".into(),
            ColumnType::Decimal { precision, scale } => format!("decimal({precision},{scale})"),
            ColumnType::Date => "date".into(),
            ColumnType::DateTime { scale: 0 } => "datetime".into(),
            ColumnType::DateTime { scale } => format!("datetime({scale})"),
            ColumnType::Char(n) => format!("char({n})"),
            ColumnType::Varchar(n) => format!("varchar({n})"),
            ColumnType::String => "text".into(),
            ColumnType::Other(text) => text.clone(),
        }
    }

    /// The Doris primitive type name used in partition key renderings (`types: [INT]`).
    pub fn primitive_name(&self) -> String {
        match self {
            ColumnType::Boolean => "BOOLEAN".into(),
            ColumnType::TinyInt => "TINYINT".into(),
            ColumnType::SmallInt => "SMALLINT".into(),
            ColumnType::Int => "INT".into(),
            ColumnType::BigInt => "BIGINT".into(),
            ColumnType::LargeInt => "LARGEINT".into(),
            ColumnType::Float => "FLOAT".into(),
            ColumnType::Double => "DOUBLE".into(),
            ColumnType::Decimal { precision, .. } => match precision {
                0..=9 => "DECIMAL32".into(),
                10..=18 => "DECIMAL64".into(),
                _ => "DECIMAL128".into(),
            },
            ColumnType::Date => "DATEV2".into(),
            ColumnType::DateTime { .. } => "DATETIMEV2".into(),
            ColumnType::Char(_) => "CHAR".into(),
            ColumnType::Varchar(_) => "VARCHAR".into(),
            ColumnType::String => "STRING".into(),
            ColumnType::Other(text) => text.to_ascii_uppercase(),
        }
    }

    pub fn is_integer(&self) -> bool {
        matches!(
            self,
            ColumnType::TinyInt
                | ColumnType::SmallInt
                | ColumnType::Int
                | ColumnType::BigInt
                | ColumnType::LargeInt
        )
    }

    pub fn is_string(&self) -> bool {
        matches!(
            self,
            ColumnType::Char(_) | ColumnType::Varchar(_) | ColumnType::String
        )
    }

    /// Types Doris accepts as partition columns.
    pub fn can_partition(&self) -> bool {
        self.is_integer()
            || self.is_string()
            || matches!(
                self,
                ColumnType::Date | ColumnType::DateTime { .. } | ColumnType::Boolean
            )
    }

    /// The smallest value of the type: the implicit lower bound of a first range partition.
    pub fn min_value(&self) -> Value {
        match self {
            ColumnType::TinyInt => Value::Int(i8::MIN as i128),
            ColumnType::SmallInt => Value::Int(i16::MIN as i128),
            ColumnType::Int => Value::Int(i32::MIN as i128),
            ColumnType::BigInt => Value::Int(i64::MIN as i128),
            ColumnType::LargeInt => Value::Int(i128::MIN),
            ColumnType::Boolean => Value::Bool(false),
            ColumnType::Date => Value::Text("0000-01-01".into()),
            ColumnType::DateTime { .. } => Value::Text("0000-01-01 00:00:00".into()),
            _ => Value::Text(String::new()),
        }
    }

    /// Converts a literal to a value of this type, as a load or a partition bound does.
    pub fn coerce(&self, value: &Value) -> Result<Value, String> {
        if value.is_null() {
            return Ok(Value::Null);
        }
        let text = value.to_text();
        let bad = || format!("Invalid value '{text}' for type {}", self.to_sql());
        Ok(match self {
            ColumnType::Boolean => match value {
                Value::Bool(b) => Value::Bool(*b),
                _ => match text.to_ascii_lowercase().as_str() {
                    "true" | "1" => Value::Bool(true),
                    "false" | "0" => Value::Bool(false),
                    _ => return Err(bad()),
                },
            },
            t if t.is_integer() => {
                let v: i128 = match value {
                    Value::Int(i) => *i,
                    Value::Bool(b) => *b as i128,
                    Value::Float(f) => f.trunc() as i128,
                    Value::Decimal { unscaled, scale } => unscaled / 10i128.pow(*scale as u32),
                    _ => text.trim().parse().map_err(|_| bad())?,
                };
                let (lo, hi) = match t {
                    ColumnType::TinyInt => (i8::MIN as i128, i8::MAX as i128),
                    ColumnType::SmallInt => (i16::MIN as i128, i16::MAX as i128),
                    ColumnType::Int => (i32::MIN as i128, i32::MAX as i128),
                    ColumnType::BigInt => (i64::MIN as i128, i64::MAX as i128),
                    _ => (i128::MIN, i128::MAX),
                };
                if v < lo || v > hi {
                    return Err(format!(
                        "Number out of range[{text}]. type: {}",
                        t.primitive_name()
                    ));
                }
                Value::Int(v)
            }
            ColumnType::Float | ColumnType::Double => Value::Float(match value {
                Value::Int(i) => *i as f64,
                Value::Float(f) => *f,
                _ => text.trim().parse().map_err(|_| bad())?,
            }),
            ColumnType::Decimal { scale, .. } => {
                Value::parse_decimal(text.trim(), *scale).ok_or_else(bad)?
            }
            ColumnType::Date => Value::Text(normalize_date(&text).ok_or_else(bad)?),
            ColumnType::DateTime { scale } => {
                Value::Text(normalize_datetime(&text, *scale).ok_or_else(bad)?)
            }
            ColumnType::Char(n) | ColumnType::Varchar(n) => {
                if text.len() > *n as usize {
                    return Err(format!("the length of input is too long than schema. input: {text}, max length: {n}"));
                }
                Value::Text(text)
            }
            _ => Value::Text(text),
        })
    }
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_sql())
    }
}

/// `YYYY-M-D` (optionally followed by a time part) → `YYYY-MM-DD`.
fn normalize_date(text: &str) -> Option<String> {
    let date = text.trim().split([' ', 'T']).next()?;
    let mut parts = date.split('-');
    let y: u32 = parts.next()?.parse().ok()?;
    let m: u32 = parts.next()?.parse().ok()?;
    let d: u32 = parts.next()?.parse().ok()?;
    if parts.next().is_some() || m == 0 || m > 12 || d == 0 || d > 31 || y > 9999 {
        return None;
    }
    Some(format!("{y:04}-{m:02}-{d:02}"))
}

/// `YYYY-MM-DD[ HH:MM:SS[.f]]` → canonical text with `scale` fractional digits.
fn normalize_datetime(text: &str, scale: u8) -> Option<String> {
    let text = text.trim();
    let date = normalize_date(text)?;
    let time = text
        .split_once([' ', 'T'])
        .map(|(_, t)| t.trim())
        .unwrap_or("");
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let mut fields = [0u32; 3];
    if !hms.is_empty() {
        for (slot, part) in fields.iter_mut().zip(hms.split(':')) {
            *slot = part.parse().ok()?;
        }
    }
    if fields[0] > 23
        || fields[1] > 59
        || fields[2] > 59
        || !frac.chars().all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let mut out = format!("{date} {:02}:{:02}:{:02}", fields[0], fields[1], fields[2]);
    if scale > 0 {
        let mut digits: String = frac.chars().take(scale as usize).collect();
        while digits.len() < scale as usize {
            digits.push('0');
        }
        out.push('.');
        out.push_str(&digits);
    }
    Some(out)
}

/// One cell. Dates and datetimes are kept as canonical text (which sorts correctly).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Decimal { unscaled: i128, scale: u8 },
    Text(String),
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Parses `-12.345` into a decimal rounded (half up) to `scale` digits.
    pub fn parse_decimal(text: &str, scale: u8) -> Option<Value> {
        let (neg, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.strip_prefix('+').unwrap_or(text)),
        };
        let (int_part, frac_part) = digits.split_once('.').unwrap_or((digits, ""));
        if int_part.is_empty() && frac_part.is_empty() {
            return None;
        }
        if !int_part
            .chars()
            .chain(frac_part.chars())
            .all(|c| c.is_ascii_digit())
        {
            return None;
        }
        let mut unscaled: i128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().ok()?
        };
        let frac: Vec<u32> = frac_part
            .chars()
            .map(|c| c.to_digit(10).unwrap_or(0))
            .collect();
        for i in 0..scale as usize {
            unscaled = unscaled
                .checked_mul(10)?
                .checked_add(*frac.get(i).unwrap_or(&0) as i128)?;
        }
        if frac.get(scale as usize).is_some_and(|d| *d >= 5) {
            unscaled += 1;
        }
        Some(Value::Decimal {
            unscaled: if neg { -unscaled } else { unscaled },
            scale,
        })
    }

    /// The text form sent to clients (`None` for SQL NULL is handled by the caller).
    pub fn to_text(&self) -> String {
        match self {
            Value::Null => "NULL".into(),
            Value::Bool(b) => if *b { "1" } else { "0" }.into(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => format_float(*f),
            Value::Decimal { unscaled, scale } => format_decimal(*unscaled, *scale),
            Value::Text(s) => s.clone(),
        }
    }

    /// The value as a client sees it in a result set.
    pub fn to_cell(&self) -> Option<String> {
        if self.is_null() {
            None
        } else {
            Some(self.to_text())
        }
    }

    fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            Value::Bool(b) => Some(*b as i32 as f64),
            Value::Decimal { unscaled, scale } => {
                Some(*unscaled as f64 / 10f64.powi(*scale as i32))
            }
            Value::Text(s) => s.trim().parse().ok(),
            Value::Null => None,
        }
    }

    /// SQL comparison; `None` when either side is NULL. Numbers compare numerically (text
    /// is converted when the other side is a number), everything else as text.
    pub fn sql_cmp(&self, other: &Value) -> Option<Ordering> {
        match (self, other) {
            (Value::Null, _) | (_, Value::Null) => None,
            (Value::Int(a), Value::Int(b)) => Some(a.cmp(b)),
            (Value::Text(a), Value::Text(b)) => Some(a.cmp(b)),
            (
                Value::Decimal {
                    unscaled: a,
                    scale: sa,
                },
                Value::Decimal {
                    unscaled: b,
                    scale: sb,
                },
            ) => {
                let (a, b) = rescale_pair(*a, *sa, *b, *sb);
                Some(a.cmp(&b))
            }
            (Value::Decimal { unscaled, scale }, Value::Int(i)) => {
                Some(unscaled.cmp(&i.saturating_mul(10i128.pow(*scale as u32))))
            }
            (Value::Int(_), Value::Decimal { .. }) => other.sql_cmp(self).map(Ordering::reverse),
            _ => match (self.as_f64(), other.as_f64()) {
                (Some(a), Some(b)) => a.partial_cmp(&b),
                _ => Some(self.to_text().cmp(&other.to_text())),
            },
        }
    }

    /// Total order used for sorting and keys: NULL first, then `sql_cmp`.
    pub fn sort_cmp(&self, other: &Value) -> Ordering {
        match (self.is_null(), other.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            _ => self.sql_cmp(other).unwrap_or(Ordering::Equal),
        }
    }

    /// Numeric addition used by SUM aggregation and `+`.
    pub fn add(&self, other: &Value) -> Value {
        match (self, other) {
            (Value::Null, v) | (v, Value::Null) => v.clone(),
            (Value::Int(a), Value::Int(b)) => Value::Int(a.saturating_add(*b)),
            (
                Value::Decimal {
                    unscaled: a,
                    scale: sa,
                },
                Value::Decimal {
                    unscaled: b,
                    scale: sb,
                },
            ) => {
                let scale = (*sa).max(*sb);
                let (a, b) = rescale_pair(*a, *sa, *b, *sb);
                Value::Decimal {
                    unscaled: a + b,
                    scale,
                }
            }
            (Value::Decimal { unscaled, scale }, Value::Int(i))
            | (Value::Int(i), Value::Decimal { unscaled, scale }) => Value::Decimal {
                unscaled: unscaled + i * 10i128.pow(*scale as u32),
                scale: *scale,
            },
            _ => Value::Float(self.as_f64().unwrap_or(0.0) + other.as_f64().unwrap_or(0.0)),
        }
    }

    pub fn negate(&self) -> Value {
        match self {
            Value::Int(i) => Value::Int(-i),
            Value::Float(f) => Value::Float(-f),
            Value::Decimal { unscaled, scale } => Value::Decimal {
                unscaled: -unscaled,
                scale: *scale,
            },
            other => Value::Float(-other.as_f64().unwrap_or(0.0)),
        }
    }

    /// Truthiness for WHERE: NULL and zero are false.
    pub fn is_true(&self) -> bool {
        match self {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::Text(s) => s.parse::<f64>().map(|f| f != 0.0).unwrap_or(false),
            other => other.as_f64().is_some_and(|f| f != 0.0),
        }
    }
}

fn rescale_pair(a: i128, sa: u8, b: i128, sb: u8) -> (i128, i128) {
    let scale = sa.max(sb);
    (
        a * 10i128.pow((scale - sa) as u32),
        b * 10i128.pow((scale - sb) as u32),
    )
}

fn format_decimal(unscaled: i128, scale: u8) -> String {
    if scale == 0 {
        return unscaled.to_string();
    }
    let digits = unscaled.unsigned_abs().to_string();
    let scale = scale as usize;
    let padded = if digits.len() <= scale {
        format!("{}{digits}", "0".repeat(scale + 1 - digits.len()))
    } else {
        digits
    };
    let (int_part, frac_part) = padded.split_at(padded.len() - scale);
    format!(
        "{}{int_part}.{frac_part}",
        if unscaled < 0 { "-" } else { "" }
    )
}

fn format_float(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_parse_round_and_print() {
        assert_eq!(Value::parse_decimal("1.005", 2).unwrap().to_text(), "1.01");
        assert_eq!(Value::parse_decimal("-0.5", 3).unwrap().to_text(), "-0.500");
        assert_eq!(Value::parse_decimal("7", 0).unwrap().to_text(), "7");
        assert!(Value::parse_decimal("x", 2).is_none());
    }

    #[test]
    fn coercion_checks_ranges_and_formats() {
        assert_eq!(
            ColumnType::TinyInt.coerce(&Value::Int(127)).unwrap(),
            Value::Int(127)
        );
        assert!(ColumnType::TinyInt.coerce(&Value::Int(128)).is_err());
        assert_eq!(
            ColumnType::Date
                .coerce(&Value::Text("2024-1-2".into()))
                .unwrap(),
            Value::Text("2024-01-02".into())
        );
        assert_eq!(
            ColumnType::DateTime { scale: 3 }
                .coerce(&Value::Text("2024-01-02 3:04:05.1".into()))
                .unwrap(),
            Value::Text("2024-01-02 03:04:05.100".into())
        );
        assert!(ColumnType::Varchar(2)
            .coerce(&Value::Text("abc".into()))
            .is_err());
    }

    #[test]
    fn comparison_mixes_numbers_and_text() {
        assert_eq!(
            Value::Int(3).sql_cmp(&Value::Text("10".into())),
            Some(Ordering::Less)
        );
        assert_eq!(Value::Null.sql_cmp(&Value::Int(1)), None);
        assert_eq!(
            Value::parse_decimal("1.50", 2)
                .unwrap()
                .sql_cmp(&Value::Int(1)),
            Some(Ordering::Greater)
        );
    }
}
