//! `/view`: every job on one page, for a person. HTML by default (refreshing itself), or
//! `?format=text|tsv|json`; the reference's `?type=html|table|raw` are accepted too.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

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

/// The cells of one job's line, in [`COLUMNS`] order.
fn cells(job: &JobOverview) -> [String; 11] {
    let kind = match job.sync_type {
        Some(SyncType::Table) => "table",
        Some(SyncType::Database) => "db",
        None => "",
    };
    match &job.status {
        Some(status) => [
            job.name.clone(),
            kind.to_owned(),
            status.state.to_owned(),
            format!("{}/{}", status.progress_state, status.sub_state),
            status.lag_binlogs.to_string(),
            status.lag_seconds.to_string(),
            status.last_error.clone().unwrap_or_default(),
            status.last_full_sync_time.clone(),
            status.last_full_sync_reason.clone(),
            job.host_mapping.to_string(),
            job.owner.clone(),
        ],
        None => [
            job.name.clone(),
            kind.to_owned(),
            "elsewhere".to_owned(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            job.owner.clone(),
        ],
    }
}

pub fn render(format: ViewFormat, jobs: &[JobOverview], syncer: &str) -> Response {
    match format {
        ViewFormat::Html => (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            html(jobs, syncer),
        )
            .into_response(),
        ViewFormat::Text => text_response(aligned(jobs)),
        ViewFormat::Tsv => text_response(tsv(jobs)),
        ViewFormat::Json => {
            let jobs = jobs.iter().map(json_line).collect();
            axum::Json(ViewAnswer {
                success: true,
                jobs,
            })
            .into_response()
        }
    }
}

pub fn bad_format(message: String) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({"success": false, "error_msg": message})),
    )
        .into_response()
}

fn text_response(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

fn json_line(job: &JobOverview) -> ViewLine {
    let [name, kind, state, phase, lag, lag_secs, error, fs_time, fs_reason, mapping, owner] =
        cells(job);
    ViewLine {
        name,
        kind,
        state,
        phase,
        lag: lag.parse().ok(),
        lag_seconds: lag_secs.parse().ok(),
        last_error: error,
        last_full_sync_time: fs_time,
        last_full_sync_reason: fs_reason,
        host_mapping: mapping == "true",
        owner,
    }
}

/// Tabs and line breaks inside a cell would break the line format.
fn one_line(cell: &str) -> String {
    cell.replace(['\t', '\n', '\r'], " ")
}

fn tsv(jobs: &[JobOverview]) -> String {
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
fn aligned(jobs: &[JobOverview]) -> String {
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

fn html(jobs: &[JobOverview], syncer: &str) -> String {
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
        let class = match &job.status {
            Some(s) if s.last_error.is_some() => "failing",
            Some(s) if s.state == "paused" => "paused",
            _ => "",
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
        let page = html(std::slice::from_ref(&job), "127.0.0.1:9190");
        assert!(!page.contains("<script>"), "{page}");
        assert!(page.contains("&lt;script&gt;"));
        let job = JobOverview {
            name: "a\tb\nc".into(),
            ..job
        };
        let lines = tsv(&[job]);
        assert_eq!(lines.lines().count(), 2, "{lines}");
    }
}
