//! The core's modules depend one way: reading this crate's sources, no module reaches
//! (through `crate::`, `super::`, `self::` or a child's name) a module that reaches back.
//! A cycle fails here with the edges that make it, before it can grow.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

type Module = Vec<String>;

/// Every module of `src/` with its source (test modules cut off).
fn modules() -> BTreeMap<Module, String> {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<Module, String>) {
        for entry in std::fs::read_dir(dir).expect("source directory") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                walk(&path, root, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let relative = path.strip_prefix(root).unwrap().with_extension("");
                let mut module: Module = relative
                    .iter()
                    .map(|part| part.to_string_lossy().into_owned())
                    .collect();
                if matches!(module.last().map(String::as_str), Some("mod" | "lib")) {
                    module.pop();
                }
                let text = std::fs::read_to_string(&path).expect("source file");
                let text = match text.find("#[cfg(test)]\nmod tests") {
                    Some(at) => text[..at].to_owned(),
                    None => text,
                };
                let code: String = text
                    .lines()
                    .map(|line| line.split("//").next().unwrap_or(""))
                    .collect::<Vec<_>>()
                    .join("\n");
                out.insert(module, code);
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = BTreeMap::new();
    walk(&root, &root, &mut out);
    out
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The `a::b::c` path (lowercase segments) starting at `text`.
fn path_at(text: &str) -> Vec<String> {
    let mut segments = Vec::new();
    let mut rest = text;
    loop {
        let len = rest.find(|c: char| !is_ident(c)).unwrap_or(rest.len());
        let segment = &rest[..len];
        if segment.is_empty() || !segment.starts_with(|c: char| c.is_ascii_lowercase()) {
            break;
        }
        segments.push(segment.to_owned());
        match rest[len..].strip_prefix("::") {
            Some(next) => rest = next,
            None => break,
        }
    }
    segments
}

/// Paths following each standalone occurrence of `prefix` (`crate::`, `super::`, ...),
/// including each member of a `prefix{a, b::c}` group.
fn paths_after(code: &str, prefix: &str) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    for (at, _) in code.match_indices(prefix) {
        if code[..at].ends_with(|c: char| is_ident(c) || c == ':') {
            continue;
        }
        let rest = &code[at + prefix.len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for member in group[..end].split(',') {
                paths.push(path_at(member.trim()));
            }
        } else {
            paths.push(path_at(rest));
        }
    }
    paths
}

/// The longest module that `path` names.
fn resolve(modules: &BTreeMap<Module, String>, path: &[String]) -> Option<Module> {
    (1..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|candidate| modules.contains_key(candidate))
}

fn edges(modules: &BTreeMap<Module, String>) -> BTreeMap<Module, BTreeSet<Module>> {
    let mut graph = BTreeMap::new();
    for (module, code) in modules {
        let parent: Module = module[..module.len().saturating_sub(1)].to_vec();
        let mut targets = BTreeSet::new();
        let mut add = |base: &[String], path: Vec<String>| {
            let full: Vec<String> = base.iter().cloned().chain(path).collect();
            if let Some(target) = resolve(modules, &full) {
                targets.insert(target);
            }
        };
        for path in paths_after(code, "crate::") {
            add(&[], path);
        }
        for path in paths_after(code, "super::") {
            add(&parent, path);
        }
        for path in paths_after(code, "self::") {
            add(module, path);
        }
        for child in modules.keys() {
            let is_child = child.len() == module.len() + 1 && child.starts_with(module);
            if is_child {
                let name = format!("{}::", child.last().unwrap());
                if !paths_after(code, &name).is_empty() {
                    targets.insert(child.clone());
                }
            }
        }
        targets.remove(module);
        targets.remove(&Vec::new());
        graph.insert(module.clone(), targets);
    }
    graph
}

/// Modules from which `from` is reachable again (a cycle through `from`), if any.
fn cycle_through(graph: &BTreeMap<Module, BTreeSet<Module>>, from: &Module) -> Option<Vec<Module>> {
    let mut stack = vec![(from.clone(), vec![from.clone()])];
    let mut seen = BTreeSet::new();
    while let Some((node, trail)) = stack.pop() {
        for next in graph.get(&node).into_iter().flatten() {
            if next == from {
                return Some(trail);
            }
            if seen.insert(next.clone()) {
                let mut longer = trail.clone();
                longer.push(next.clone());
                stack.push((next.clone(), longer));
            }
        }
    }
    None
}

#[test]
fn no_module_of_the_core_depends_on_a_module_that_depends_back_on_it() {
    let modules = modules();
    assert!(modules.len() > 20, "found the sources: {}", modules.len());
    let graph = edges(&modules);
    let name = |m: &Module| format!("crate::{}", m.join("::"));
    assert!(
        graph[&vec!["job".to_owned(), "runner".to_owned()]]
            .contains(&vec!["job".to_owned(), "sync".to_owned()]),
        "the scanner sees edges (runner uses sync)"
    );
    let cycles: Vec<String> = graph
        .keys()
        .filter_map(|m| cycle_through(&graph, m))
        .map(|trail| {
            let mut names: Vec<String> = trail.iter().map(name).collect();
            names.push(names[0].clone());
            names.join(" -> ")
        })
        .collect();
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

#[test]
fn the_scanner_finds_a_cycle_when_there_is_one() {
    let modules: BTreeMap<Module, String> = [
        (vec!["a".to_owned()], "use crate::b::Thing;".to_owned()),
        (vec!["b".to_owned()], "use super::{a::Other, c};".to_owned()),
        (vec!["c".to_owned()], String::new()),
    ]
    .into_iter()
    .collect();
    let graph = edges(&modules);
    assert!(cycle_through(&graph, &vec!["a".to_owned()]).is_some());
    assert!(cycle_through(&graph, &vec!["c".to_owned()]).is_none());
}
