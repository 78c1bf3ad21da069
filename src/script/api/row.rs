//! Report rows: the per-member entries of `etcd.health()`, `status()`, `hashkv()`,
//! `key_counts()` and `alarms()`. Their fields are fixed and documented, so reading one
//! they do not have (`m.is_leadr`) is an error that names the field meant, where a plain
//! map would quietly give `()`.

use super::error::ScriptError;
use crate::script::suggest::closest_names;
use rhai::{Array, Dynamic, EvalAltResult, Map};
use serde::Serialize;

type RhaiResult<T> = Result<T, Box<EvalAltResult>>;

/// One entry of a report: its fields, and what it is an entry of, for errors.
#[derive(Clone)]
pub struct Row {
    /// "an etcd.status() member": how errors name the row.
    of: &'static str,
    fields: Map,
}

impl Row {
    /// A row from a view that serializes as a map.
    pub fn from_view(of: &'static str, view: impl Serialize) -> RhaiResult<Dynamic> {
        let value = rhai::serde::to_dynamic(view)?;
        let fields = value
            .try_cast::<Map>()
            .expect("a report view serializes as a map");
        Ok(Row::from_map(of, fields))
    }

    /// A row with exactly these fields.
    pub fn from_map(of: &'static str, fields: Map) -> Dynamic {
        Dynamic::from(Row { of, fields })
    }

    fn field(&self, name: &str) -> RhaiResult<Dynamic> {
        match self.fields.get(name) {
            Some(value) => Ok(value.clone()),
            None => Err(self.no_such_field(name)),
        }
    }

    fn set(&mut self, name: &str, value: Dynamic) -> RhaiResult<()> {
        match self.fields.get_mut(name) {
            Some(slot) => {
                *slot = value;
                Ok(())
            }
            None => Err(ScriptError::new(
                format!(
                    "{} has fixed fields: `{name}` cannot be added to it",
                    self.of
                ),
                "runbook::row::fixed_fields",
                Some(format!(
                    "copy it into a map first: `let m = row.to_map(); m.{name} = ...;`"
                )),
            )
            .into_rhai()),
        }
    }

    fn no_such_field(&self, name: &str) -> Box<EvalAltResult> {
        let names = self.field_names();
        let meant = closest_names(name, self.fields.keys().map(|k| k.as_str()));
        let help = match meant.as_slice() {
            [] => format!("its fields are: {names}"),
            [one] => format!("did you mean `{one}`? Its fields are: {names}"),
            several => format!(
                "did you mean one of {}? Its fields are: {names}",
                several
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        ScriptError::new(
            format!("{} has no field `{name}`", self.of),
            "runbook::row::no_such_field",
            Some(help),
        )
        .into_rhai()
    }

    fn field_names(&self) -> String {
        self.fields
            .keys()
            .map(|k| k.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn to_map(&self) -> Map {
        self.fields
            .iter()
            .map(|(k, v)| (k.clone(), plain(v)))
            .collect()
    }
}

/// `value` with every row in it (at any depth) turned into a plain map: what serializing,
/// printing and the journal need.
pub fn plain(value: &Dynamic) -> Dynamic {
    let value = value.flatten_clone();
    if let Some(row) = value.read_lock::<Row>() {
        return row.to_map().into();
    }
    if value.is_array() {
        let items = value.cast::<Array>();
        return items.iter().map(plain).collect::<Array>().into();
    }
    if value.is_map() {
        let fields = value.cast::<Map>();
        return fields
            .iter()
            .map(|(k, v)| (k.clone(), plain(v)))
            .collect::<Map>()
            .into();
    }
    value
}

/// `value` as JSON, rows as objects.
pub fn to_json(value: &Dynamic) -> RhaiResult<serde_json::Value> {
    rhai::serde::from_dynamic::<serde_json::Value>(&plain(value))
}

/// Registers rows: fields read and written as on a map (`m.host`, `m["host"]`), and the
/// map functions a report's reader uses (`keys`, `values`, `len`, `in`, `+`, `==`).
pub fn register(engine: &mut rhai::Engine) {
    engine
        .register_type_with_name::<Row>("report row")
        .register_indexer_get(|row: &mut Row, name: &str| row.field(name))
        .register_indexer_set(|row: &mut Row, name: &str, value: Dynamic| row.set(name, value))
        .register_fn("to_map", |row: &mut Row| row.to_map())
        .register_fn("keys", |row: &mut Row| -> Array {
            row.fields.keys().map(|k| k.clone().into()).collect()
        })
        .register_fn("values", |row: &mut Row| -> Array {
            row.fields.values().map(plain).collect()
        })
        .register_fn("len", |row: &mut Row| row.fields.len() as i64)
        .register_fn("contains", |row: &mut Row, name: &str| {
            row.fields.contains_key(name)
        })
        .register_fn("to_string", |row: &mut Row| {
            Dynamic::from_map(row.to_map()).to_string()
        })
        .register_fn("to_debug", |row: &mut Row| {
            format!("{:?}", Dynamic::from_map(row.to_map()))
        })
        .register_fn("==", |a: &mut Row, b: Row| a.fields_equal(&b))
        .register_fn("!=", |a: &mut Row, b: Row| !a.fields_equal(&b))
        .register_fn("+", |a: &mut Row, b: Map| merged(a.to_map(), b))
        .register_fn("+", |a: &mut Row, b: Row| merged(a.to_map(), b.to_map()))
        .register_fn("+", |a: Map, b: Row| merged(a, b.to_map()));
}

impl Row {
    /// Same fields with equal values, compared as their JSON.
    fn fields_equal(&self, other: &Row) -> bool {
        let json = |row: &Row| to_json(&row.to_map().into()).ok();
        json(self) == json(other)
    }
}

/// `a` with `b`'s fields over it, as `+` does for maps.
fn merged(mut a: Map, b: Map) -> Map {
    a.extend(b);
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine() -> rhai::Engine {
        let mut engine = rhai::Engine::new();
        register(&mut engine);
        let mut fields = Map::new();
        fields.insert("host".into(), "etcd-1".into());
        fields.insert("is_leader".into(), true.into());
        fields.insert("error".into(), Dynamic::UNIT);
        let row = Row::from_map("an etcd.status() member", fields);
        engine.register_fn("row", move || row.clone());
        engine
    }

    fn error_of(script: &str) -> (String, String) {
        let error = engine().run(script).unwrap_err();
        let EvalAltResult::ErrorRuntime(value, _) = *error else {
            panic!("not a runtime error: {error}");
        };
        let error = value.cast::<ScriptError>();
        (
            error.message().to_string(),
            error.help().unwrap().to_string(),
        )
    }

    #[test]
    fn reads_known_fields_as_a_map_does() {
        let engine = engine();
        let got: Array = engine
            .eval(
                r#"let m = row(); [m.host, m["is_leader"], m.error == (), "host" in m,
                   m.keys(), m.len(), (m + #{x: 1}).x, m == row(), `${m}` == `${m.to_map()}`]"#,
            )
            .unwrap();
        let got: Vec<String> = got.iter().map(|v| v.to_string()).collect();
        assert_eq!(
            got,
            [
                "etcd-1",
                "true",
                "true",
                "true",
                r#"["error", "host", "is_leader"]"#,
                "3",
                "1",
                "true",
                "true"
            ]
        );
    }

    #[test]
    fn a_misspelt_field_is_an_error_naming_the_field_meant() {
        let (message, help) = error_of("row().is_leadr");
        assert_eq!(message, "an etcd.status() member has no field `is_leadr`");
        assert_eq!(
            help,
            "did you mean `is_leader`? Its fields are: error, host, is_leader"
        );
        let (_, help) = error_of(r#"row()["nothing_like_it"]"#);
        assert_eq!(help, "its fields are: error, host, is_leader");
    }

    #[test]
    fn known_fields_can_be_set_and_others_not_added() {
        let engine = engine();
        let host: String = engine
            .eval(r#"let m = row(); m.host = "etcd-2"; m.host"#)
            .unwrap();
        assert_eq!(host, "etcd-2");
        let (message, help) = error_of("let m = row(); m.note = 1;");
        assert_eq!(
            message,
            "an etcd.status() member has fixed fields: `note` cannot be added to it"
        );
        assert!(help.contains("m.note = ..."), "{help}");
        let copied: i64 = engine
            .eval("let m = row().to_map(); m.note = 1; m.note")
            .unwrap();
        assert_eq!(copied, 1);
    }

    #[test]
    fn rows_serialize_as_objects_at_any_depth() {
        let engine = engine();
        let value: Dynamic = engine.eval("#{members: [row()], n: 1}").unwrap();
        assert_eq!(
            to_json(&value).unwrap().to_string(),
            r#"{"members":[{"error":null,"host":"etcd-1","is_leader":true}],"n":1}"#
        );
    }
}
