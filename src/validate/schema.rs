//! The manifest against its JSON Schema, compiled into the binary and checked offline (boon;
//! nothing is ever fetched). A manifest is checked against the schema of the version it
//! declares: this kitap's `schemas/manifest.schema.json` for [`SCHEMA_VERSION`], the released
//! schema of each earlier version for older manifests, which stay valid as they were written.

use std::sync::OnceLock;

use serde_json::Value;

use super::{Problem, Severity};
use crate::manifest::SCHEMA_VERSION;

/// The schema of [`SCHEMA_VERSION`].
const CURRENT: &str = include_str!("../../schemas/manifest.schema.json");

/// The schemas earlier kitaps released, by version, as they were. When [`SCHEMA_VERSION`] is
/// raised, the schema it leaves behind is added here.
const EARLIER: [(&str, &str); 5] = [
    (
        "1.0",
        include_str!("../../schemas/manifest-1.0.schema.json"),
    ),
    (
        "1.1",
        include_str!("../../schemas/manifest-1.1.schema.json"),
    ),
    (
        "1.2",
        include_str!("../../schemas/manifest-1.2.schema.json"),
    ),
    (
        "1.3",
        include_str!("../../schemas/manifest-1.3.schema.json"),
    ),
    (
        "1.4",
        include_str!("../../schemas/manifest-1.4.schema.json"),
    ),
];

/// Where the schema is registered; never fetched (see [`NoLoader`]).
const URL: &str = "https://github.com/kitap/kitap/schemas/manifest.schema.json";

/// Which schema checks a manifest of `version`: 0 this kitap's, `i + 1` the earlier version
/// `EARLIER[i]`. A version kitap never released gets this kitap's (whose `schema_version` rule
/// then names it).
fn which(version: Option<&str>) -> usize {
    match version {
        Some(v) if v != SCHEMA_VERSION => EARLIER
            .iter()
            .position(|(known, _)| *known == v)
            .map_or(0, |i| i + 1),
        _ => 0,
    }
}

fn text(which: usize) -> &'static str {
    match which {
        0 => CURRENT,
        i => EARLIER[i - 1].1,
    }
}

/// Refuses every load: the schemas are compiled in and nothing is read from the network or disk.
struct NoLoader;

impl boon::UrlLoader for NoLoader {
    fn load(&self, url: &str) -> Result<Value, Box<dyn std::error::Error>> {
        Err(format!("{url}: kitap loads no schema from outside the binary").into())
    }
}

struct Compiled {
    schemas: boon::Schemas,
    index: boon::SchemaIndex,
}

/// The schema `which` names, compiled once per process.
fn compiled(which: usize) -> &'static Compiled {
    static COMPILED: [OnceLock<Compiled>; EARLIER.len() + 1] =
        [const { OnceLock::new() }; EARLIER.len() + 1];
    COMPILED[which].get_or_init(|| {
        let value: Value =
            serde_json::from_str(text(which)).expect("the compiled-in schema is JSON");
        let mut schemas = boon::Schemas::new();
        let mut compiler = boon::Compiler::new();
        compiler.use_loader(Box::new(NoLoader));
        compiler
            .add_resource(URL, value)
            .expect("the compiled-in schema registers");
        let index = compiler
            .compile(URL, &mut schemas)
            .expect("the compiled-in schema compiles");
        Compiled { schemas, index }
    })
}

/// Every schema violation of the manifest, one problem each, with the JSON pointer of the
/// value in its path (`manifest.json: /books/3/pages/0/confidence`); a violation inside a
/// book is that book's problem, given with the book's index.
pub(super) fn check(manifest: &Value) -> Vec<(Option<usize>, Problem)> {
    let version = manifest.get("schema_version").and_then(Value::as_str);
    let c = compiled(which(version));
    let Err(error) = c.schemas.validate(manifest, c.index) else {
        return Vec::new();
    };
    let mut leaves = Vec::new();
    collect_leaves(&error, &mut leaves);
    let mut problems: Vec<(Option<usize>, Problem)> = Vec::new();
    for (pointer, message) in leaves {
        let index = book_index(&pointer);
        let book = index.map(|n| {
            let id = manifest["books"][n]["id"].as_str();
            id.map_or_else(|| format!("books[{n}]"), str::to_string)
        });
        let path = if pointer.is_empty() {
            "manifest.json".to_string()
        } else {
            format!("manifest.json: {pointer}")
        };
        if problems
            .iter()
            .any(|(_, p)| p.path == path && p.message == message)
        {
            continue;
        }
        let problem = Problem {
            book,
            path,
            code: "schema",
            message,
            severity: Severity::Error,
        };
        problems.push((index, problem));
    }
    problems
}

/// The errors that say what is wrong (boon nests them under `allOf`, `$ref` and the like).
fn collect_leaves(e: &boon::ValidationError, out: &mut Vec<(String, String)>) {
    if e.causes.is_empty() {
        out.push((e.instance_location.to_string(), e.kind.to_string()));
    }
    for cause in &e.causes {
        collect_leaves(cause, out);
    }
}

/// The index of the book a pointer `/books/N/…` lies in.
fn book_index(pointer: &str) -> Option<usize> {
    let rest = pointer.strip_prefix("/books/")?;
    rest.split('/').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_current_schema_is_of_this_kitaps_version() {
        let schema: Value = serde_json::from_str(CURRENT).unwrap();
        assert_eq!(
            schema["properties"]["schema_version"]["const"], SCHEMA_VERSION,
            "schemas/manifest.schema.json and manifest::SCHEMA_VERSION disagree"
        );
    }

    #[test]
    fn each_earlier_schema_is_of_its_version_and_compiles() {
        for (i, (version, text)) in EARLIER.iter().enumerate() {
            let schema: Value = serde_json::from_str(text).unwrap();
            assert_eq!(schema["properties"]["schema_version"]["const"], *version);
            assert!(!crate::manifest::is_newer_schema(version), "{version}");
            if *version != SCHEMA_VERSION {
                assert_eq!(which(Some(version)), i + 1);
            }
            compiled(i + 1);
        }
        compiled(0);
    }

    #[test]
    fn violations_name_the_pointer_and_the_book() {
        let manifest = serde_json::json!({
            "schema_version": SCHEMA_VERSION,
            "books": [{ "id": "kz-0001", "page_count": -1 }],
        });
        let problems = check(&manifest);
        let (index, page_count) = problems
            .iter()
            .find(|(_, p)| p.path == "manifest.json: /books/0/page_count")
            .expect("the negative page count");
        assert_eq!(*index, Some(0));
        assert_eq!(page_count.book.as_deref(), Some("kz-0001"));
        assert_eq!(page_count.code, "schema");
        assert!(problems.iter().any(|(i, p)| p.path == "manifest.json"
            && i.is_none()
            && p.book.is_none()
            && p.message.contains("kitap_version")));
    }

    #[test]
    fn an_unknown_version_is_checked_against_this_kitaps_schema() {
        let problems = check(&serde_json::json!({ "schema_version": "0.9" }));
        assert!(
            problems
                .iter()
                .any(|(_, p)| p.path == "manifest.json: /schema_version"),
            "{problems:?}"
        );
    }
}
