//! `/view`: every job on one page, for a person. HTML by default (refreshing itself), or
//! `?format=text|tsv|json`; the reference's `?type=html|table|raw` are accepted too.

use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::contract::{ViewAnswer, ViewLine};

use ccr_core::job::spec::SyncType;
use ccr_core::job::JobOverview;

/// Seconds between two refreshes of the HTML page.
pub const REFRESH_SECS: u32 = 5;

const COLUMNS: [&str; 11] = [
    "Job Name",
    "Type",
    "State",
    "Phase",
    "Lag",
    "Lag(Secs)",
    "Last Error",
    "Last Fullsync Time",
    "Last Fullsync Reason",
    "Is Hostmapping",
    "Owner",
];

/// How the page is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewFormat {
    Html,
    Text,
    Tsv,
    Json,
}

impl ViewFormat {
    /// From the query string: `format=` (ours) or `type=` (the reference's names).
    pub fn from_query(query: Option<&str>) -> Result<Self, String> {
        let mut chosen = None;
        for pair in query
            .unwrap_or_default()
            .split('&')
            .filter(|p| !p.is_empty())
        {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let format = match (key, value.to_ascii_lowercase().as_str()) {
                ("format" | "type", "html") => ViewFormat::Html,
                ("format", "text") | ("type", "table") => ViewFormat::Text,
                ("format", "tsv") | ("type", "raw") => ViewFormat::Tsv,
                ("format", "json") => ViewFormat::Json,
                ("format" | "type", other) => {
                    return Err(format!(
                        "unknown view format {other:?}: use html, text, tsv or json"
                    ))
                }
                _ => continue,
            };
            chosen = Some(format);
        }
        Ok(chosen.unwrap_or(ViewFormat::Html))
    }
}

/// What another syncer's job shows as its state (its status lives there).
const ELSEWHERE: &str = "elsewhere";

/// One job's line, the JSON form; the other formats render its cells.
fn line(job: &JobOverview) -> ViewLine {
    let kind = match job.sync_type {
        Some(SyncType::Table) => "table",
        Some(SyncType::Database) => "db",
        None => "",
    };
    let mut line = ViewLine {
        name: job.name.clone(),
        kind: kind.to_owned(),
        state: ELSEWHERE.to_owned(),
        phase: String::new(),
        lag: None,
        lag_seconds: None,
        last_error: String::new(),
        last_full_sync_time: String::new(),
        last_full_sync_reason: String::new(),
        host_mapping: job.host_mapping,
        owner: job.owner.clone(),
    };
    if let Some(status) = &job.status {
        line.state = status.state.to_owned();
        line.phase = format!("{}/{}", status.progress_state, status.sub_state);
        line.lag = Some(status.lag_binlogs);
        line.lag_seconds = Some(status.lag_seconds);
        line.last_error = status.last_error.clone().unwrap_or_default();
        line.last_full_sync_time
            .clone_from(&status.last_full_sync_time);
        line.last_full_sync_reason
            .clone_from(&status.last_full_sync_reason);
    }
    line
}

/// The cells of one line, in [`COLUMNS`] order; a job of another syncer shows only its
/// name, kind, state and owner.
fn cells(line: &ViewLine) -> [String; 11] {
    let number = |n: Option<i64>| n.map(|n| n.to_string()).unwrap_or_default();
    let elsewhere = line.state == ELSEWHERE;
    [
        line.name.clone(),
        line.kind.clone(),
        line.state.clone(),
        line.phase.clone(),
        number(line.lag),
        number(line.lag_seconds),
        line.last_error.clone(),
        line.last_full_sync_time.clone(),
        line.last_full_sync_reason.clone(),
        if elsewhere {
            String::new()
        } else {
            line.host_mapping.to_string()
        },
        line.owner.clone(),
    ]
}

pub fn render(format: ViewFormat, jobs: &[JobOverview], syncer: &str) -> Response {
    let lines: Vec<ViewLine> = jobs.iter().map(line).collect();
    match format {
        ViewFormat::Html => (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            html(&lines, syncer),
        )
            .into_response(),
        ViewFormat::Text => text_response(aligned(&lines)),
        ViewFormat::Tsv => text_response(tsv(&lines)),
        ViewFormat::Json => axum::Json(ViewAnswer {
            success: true,
            jobs: lines,
        })
        .into_response(),
    }
}

fn text_response(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

/// Tabs and line breaks inside a cell would break the line format.
fn one_line(cell: &str) -> String {
    cell.replace(['\t', '\n', '\r'], " ")
}

fn tsv(jobs: &[ViewLine]) -> String {
    let mut out = COLUMNS.join("\t");
    out.push('\n');
    for job in jobs {
        let line: Vec<String> = cells(job).iter().map(|c| one_line(c)).collect();
        out.push_str(&line.join("\t"));
        out.push('\n');
    }
    out
}

/// A table with aligned columns for a terminal.
fn aligned(jobs: &[ViewLine]) -> String {
    let rows: Vec<Vec<String>> = std::iter::once(COLUMNS.iter().map(|c| c.to_string()).collect())
        .chain(
            jobs.iter()
                .map(|j| cells(j).iter().map(|c| one_line(c)).collect()),
        )
        .collect();
    let widths: Vec<usize> = (0..COLUMNS.len())
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let rule: String = widths
        .iter()
        .map(|w| format!("+{}", "-".repeat(w + 2)))
        .collect::<String>()
        + "+\n";
    let mut out = rule.clone();
    for (i, row) in rows.iter().enumerate() {
        for (cell, width) in row.iter().zip(&widths) {
            let pad = width - cell.chars().count();
            out.push_str(&format!("| {cell}{} ", " ".repeat(pad)));
        }
        out.push_str("|\n");
        if i == 0 {
            out.push_str(&rule);
        }
    }
    out.push_str(&rule);
    out
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn html(jobs: &[ViewLine], syncer: &str) -> String {
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str(&format!(
        "<meta http-equiv=\"refresh\" content=\"{REFRESH_SECS}\">\n"
    ));
    out.push_str(&format!(
        "<title>ccr_syncer {} — jobs</title>\n",
        escape(syncer)
    ));
    out.push_str(
        "<style>\
         body{font-family:sans-serif;margin:1.5em;color:#222}\
         table{border-collapse:collapse;font-size:14px}\
         th,td{border:1px solid #bbb;padding:4px 8px;text-align:left;vertical-align:top}\
         th{background:#eef}\
         tr.failing td{background:#fdd}\
         tr.paused td{background:#ffd}\
         td.num{text-align:right}\
         td.error{max-width:32em;word-break:break-word}\
         </style>\n</head>\n<body>\n",
    );
    out.push_str(&format!(
        "<h1>Jobs of syncer {}</h1>\n<p id=\"summary\">{} job(s); refreshed every {REFRESH_SECS} s. \
         Also as <a href=\"?format=text\">text</a>, <a href=\"?format=tsv\">tsv</a>, \
         <a href=\"?format=json\">json</a>.</p>\n",
        escape(syncer),
        jobs.len()
    ));
    out.push_str("<table id=\"jobs\">\n<tr>");
    for column in COLUMNS {
        out.push_str(&format!("<th>{}</th>", escape(column)));
    }
    out.push_str("</tr>\n");
    for job in jobs {
        let class = if !job.last_error.is_empty() {
            "failing"
        } else if job.state == "paused" {
            "paused"
        } else {
            ""
        };
        out.push_str(&format!(
            "<tr class=\"{class}\" data-job=\"{}\">",
            escape(&job.name)
        ));
        for (i, cell) in cells(job).iter().enumerate() {
            let class = match i {
                4 | 5 => " class=\"num\"",
                6 => " class=\"error\"",
                _ => "",
            };
            out.push_str(&format!("<td{class}>{}</td>", escape(cell)));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n</body>\n</html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_come_from_ours_or_the_reference_names() {
        assert_eq!(ViewFormat::from_query(None), Ok(ViewFormat::Html));
        assert_eq!(
            ViewFormat::from_query(Some("format=tsv")),
            Ok(ViewFormat::Tsv)
        );
        assert_eq!(
            ViewFormat::from_query(Some("type=table")),
            Ok(ViewFormat::Text)
        );
        assert_eq!(
            ViewFormat::from_query(Some("type=raw")),
            Ok(ViewFormat::Tsv)
        );
        assert_eq!(
            ViewFormat::from_query(Some("forward=1&format=json")),
            Ok(ViewFormat::Json)
        );
        assert!(ViewFormat::from_query(Some("format=xml")).is_err());
    }

    #[test]
    fn cells_are_escaped_in_html_and_kept_on_one_line_in_tsv() {
        let job = JobOverview {
            name: "<script>alert(1)</script>".into(),
            owner: "127.0.0.1:9190".into(),
            sync_type: None,
            status: None,
            host_mapping: false,
        };
        let page = html(&[line(&job)], "127.0.0.1:9190");
        assert!(!page.contains("<script>"), "{page}");
        assert!(page.contains("&lt;script&gt;"));
        let job = JobOverview {
            name: "a\tb\nc".into(),
            ..job
        };
        let lines = tsv(&[line(&job)]);
        assert_eq!(lines.lines().count(), 2, "{lines}");
    }
}
