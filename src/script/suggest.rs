//! What a call that matched no function probably meant: "did you mean" from the
//! registry, the runbook's own `fn`s and Rhai's built-in functions, and the expected
//! signature, all in runbook's type names (`string`, `int`, `host`), never Rhai's.

use super::registry::{Primitive, PRIMITIVES};
use std::sync::OnceLock;

/// The message and help for a call Rhai could not match, from its signature
/// (`health (Etcd)`, `run (Host, i64)`) and the text around the call.
pub struct Explained {
    pub message: String,
    pub help: String,
}

/// A call as the script wrote it.
struct Call<'a> {
    name: &'a str,
    /// The receiver's type for `value.name(...)`, in runbook's terms.
    receiver: Option<String>,
    /// The other arguments' types, in runbook's terms.
    arguments: Vec<String>,
}

/// Explains the call Rhai reports as `signature`; `method` says whether the script
/// wrote it as `value.name(...)`, and `script_text` holds the runbook's own functions.
pub fn explain(signature: &str, method: bool, script_text: &str) -> Explained {
    let Some(call) = parse(signature, method) else {
        return Explained {
            message: format!("no function {signature}"),
            help: GENERIC_HELP.to_string(),
        };
    };
    let written = call.written();
    match &call.receiver {
        Some(receiver) => explain_method(&call, receiver, &written),
        None => explain_function(&call, &written, script_text),
    }
}

const GENERIC_HELP: &str = "check the name and the types of the arguments; `import` the module that defines it if it comes from the stdlib; `runbook doc` lists the primitives";

impl Call<'_> {
    /// `etcd.health()`, `host.run(int)`, `stpe(string, closure)`.
    fn written(&self) -> String {
        let arguments = self.arguments.join(", ");
        match &self.receiver {
            Some(receiver) => format!("{receiver}.{}({arguments})", self.name),
            None => format!("{}({arguments})", self.name),
        }
    }
}

fn explain_method(call: &Call, receiver: &str, written: &str) -> Explained {
    let object = registry_object(receiver);
    let own: Vec<&Primitive> = PRIMITIVES
        .iter()
        .filter(|p| Some(p.object) == object)
        .collect();
    let builtins: Vec<Builtin> = builtins()
        .iter()
        .filter(|b| b.receiver.as_deref() == Some(receiver))
        .cloned()
        .collect();
    // The name exists for this receiver: the arguments are what is wrong.
    let same_name: Vec<String> = own
        .iter()
        .filter(|p| p.name == call.name)
        .map(|p| p.signature.to_string())
        .chain(
            builtins
                .iter()
                .filter(|b| b.name == call.name)
                .map(|b| b.signature.clone()),
        )
        .collect();
    if !same_name.is_empty() {
        return wrong_arguments(written, &format!("{receiver}.{}", call.name), &same_name);
    }
    let mut help = Vec::new();
    let names = own
        .iter()
        .map(|p| (p.name.to_string(), p.signature.to_string()))
        .chain(
            builtins
                .iter()
                .map(|b| (b.name.clone(), b.signature.clone())),
        );
    for (_, signature) in closest(call.name, names) {
        help.push(format!("did you mean {signature}?"));
    }
    // The same name on another kind of object: the script may hold the wrong value.
    for other in PRIMITIVES
        .iter()
        .filter(|p| p.name == call.name && Some(p.object) != object && !p.object.is_empty())
    {
        help.push(format!(
            "`{}` is a method of {}: {}",
            call.name,
            article(other.object),
            other.signature
        ));
    }
    match object {
        Some(object) => help.push(format!(
            "`runbook doc {object}` lists what {} has",
            article(object)
        )),
        None => help.push(format!(
            "`runbook doc` lists the primitives; Rhai's own {receiver} functions are in its book"
        )),
    }
    Explained {
        message: format!(
            "{} has no method `{}` (called as {written})",
            article(receiver),
            call.name
        ),
        help: help.join("\n"),
    }
}

fn explain_function(call: &Call, written: &str, script_text: &str) -> Explained {
    let functions: Vec<&Primitive> = PRIMITIVES.iter().filter(|p| p.object.is_empty()).collect();
    let own = script_functions(script_text);
    let same_name: Vec<String> = functions
        .iter()
        .filter(|p| p.name == call.name)
        .map(|p| p.signature.to_string())
        .chain(
            own.iter()
                .filter(|(name, _)| name == call.name)
                .map(|(_, signature)| format!("{signature} (the runbook's own)")),
        )
        .collect();
    if !same_name.is_empty() {
        return wrong_arguments(written, call.name, &same_name);
    }
    let candidates =
        functions
            .iter()
            .map(|p| (p.name.to_string(), p.signature.to_string()))
            .chain(own.iter().map(|(name, signature)| {
                (name.clone(), format!("{signature} (the runbook's own)"))
            }))
            .chain(
                builtins()
                    .iter()
                    .filter(|b| b.receiver.is_none())
                    .map(|b| (b.name.clone(), b.signature.clone())),
            );
    let mut help: Vec<String> = closest(call.name, candidates)
        .into_iter()
        .map(|(_, signature)| format!("did you mean {signature}?"))
        .collect();
    // A method written as a function: `health()` for `etcd.health()`.
    for method in PRIMITIVES
        .iter()
        .filter(|p| p.name == call.name && !p.object.is_empty())
    {
        help.push(format!("`{}` is a method: {}", call.name, method.signature));
    }
    if help.is_empty() {
        help.push(GENERIC_HELP.to_string());
    }
    Explained {
        message: format!("no function `{}` (called as {written})", call.name),
        help: help.join("\n"),
    }
}

fn wrong_arguments(written: &str, name: &str, signatures: &[String]) -> Explained {
    let mut help = vec![format!("`{name}` takes:")];
    help.extend(signatures.iter().map(|s| format!("  {s}")));
    Explained {
        message: format!("`{name}` was called with arguments it does not take: {written}"),
        help: help.join("\n"),
    }
}

/// "an etcd", "a host", "an array of hosts".
fn article(object: &str) -> String {
    if object == "hosts" {
        return "an array of hosts".to_string();
    }
    let vowel = object.starts_with(['a', 'e', 'i', 'o', 'u']);
    format!("{} {object}", if vowel { "an" } else { "a" })
}

/// Up to three of `names` close to `name`, closest first.
pub fn closest_names<'a>(name: &str, names: impl Iterator<Item = &'a str>) -> Vec<String> {
    closest(name, names.map(|n| (n.to_string(), n.to_string())))
        .into_iter()
        .map(|(candidate, _)| candidate)
        .collect()
}

/// Up to three candidates whose names are close to `name`, closest first.
fn closest(
    name: &str,
    candidates: impl Iterator<Item = (String, String)>,
) -> Vec<(String, String)> {
    let limit = (name.chars().count() / 3).max(1);
    let mut scored: Vec<(usize, String, String)> = candidates
        .map(|(candidate, signature)| {
            (strsim::osa_distance(name, &candidate), candidate, signature)
        })
        .filter(|(distance, ..)| *distance <= limit)
        .collect();
    scored.sort();
    scored.dedup_by(|a, b| a.2 == b.2);
    scored
        .into_iter()
        .take(3)
        .map(|(_, candidate, signature)| (candidate, signature))
        .collect()
}

/// Splits Rhai's `name (T1, T2)` into the call; the first type is the receiver of a method.
fn parse(signature: &str, method: bool) -> Option<Call<'_>> {
    let (name, rest) = signature.split_once(" (")?;
    let types = rest.strip_suffix(')')?;
    let mut arguments: Vec<String> = if types.trim().is_empty() {
        Vec::new()
    } else {
        types.split(", ").map(runbook_type).collect()
    };
    let receiver = (method && !arguments.is_empty()).then(|| arguments.remove(0));
    Some(Call {
        name: name.trim(),
        receiver,
        arguments,
    })
}

/// A Rhai type name as runbook's documentation writes it.
pub fn runbook_type(rhai: &str) -> String {
    let rhai = rhai
        .trim()
        .trim_start_matches("&mut ")
        .trim_start_matches('&');
    if rhai.contains("ImmutableString") || rhai == "str" || rhai == "String" || rhai == "string" {
        return "string".into();
    }
    match rhai {
        "i64" | "i32" | "INT" | "u64" | "usize" => "int".into(),
        "f64" | "f32" | "FLOAT" => "float".into(),
        "Fn" | "FnPtr" => "closure".into(),
        "Array" | "array" => "array".into(),
        "Map" | "map" => "map".into(),
        "Blob" | "blob" => "blob".into(),
        "Dynamic" => "value".into(),
        "report row" => "row".into(),
        "()" => "()".into(),
        "Etcd" | "Lease" | "Master" | "Inventory" | "Host" | "Service" | "Error" | "Summary" => {
            rhai.to_ascii_lowercase()
        }
        other => other
            .rsplit("::")
            .next()
            .unwrap_or(other)
            .to_ascii_lowercase(),
    }
}

/// The registry's object for a receiver type (`array` holds hosts for `run_all`).
fn registry_object(receiver: &str) -> Option<&'static str> {
    Some(match receiver {
        "etcd" => "etcd",
        "lease" => "lease",
        "master" => "master",
        "inventory" => "inventory",
        "host" => "host",
        "service" => "service",
        "error" => "error",
        "array" => "hosts",
        "row" => "row",
        _ => return None,
    })
}

/// The runbook's own `fn name(params)` definitions, as (name, `name(params)`).
fn script_functions(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| {
            let rest = line
                .trim_start()
                .strip_prefix("private ")
                .unwrap_or(line.trim_start());
            let rest = rest.strip_prefix("fn ")?;
            let (name, params) = rest.split_once('(')?;
            let params = params.split_once(')')?.0;
            let name = name.trim();
            name.chars()
                .all(|c| c.is_alphanumeric() || c == '_')
                .then(|| (name.to_string(), format!("{name}({})", params.trim())))
        })
        .collect()
}

/// One of Rhai's built-in functions, in runbook's terms.
#[derive(Debug, Clone)]
struct Builtin {
    name: String,
    /// The first parameter's type, when the function can be called as its method.
    receiver: Option<String>,
    signature: String,
}

/// Rhai's built-in functions (string, array, map, blob, maths), read once from Rhai itself.
fn builtins() -> &'static [Builtin] {
    static BUILTINS: OnceLock<Vec<Builtin>> = OnceLock::new();
    BUILTINS.get_or_init(|| {
        rhai::Engine::new()
            .gen_fn_signatures(true)
            .iter()
            .filter_map(|line| builtin(line))
            .collect()
    })
}

/// `len(map: &mut map) -> i64` as `map.len() -> int`.
fn builtin(line: &str) -> Option<Builtin> {
    let (name, rest) = line.split_once('(')?;
    if !name.chars().all(|c| c.is_alphanumeric() || c == '_') || name.is_empty() {
        return None;
    }
    let (params, returns) = rest.rsplit_once(')')?;
    let types: Vec<String> = params
        .split(", ")
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            runbook_type(
                p.split_once(": ")
                    .map_or(p, |(_, t)| t)
                    .trim_end_matches('='),
            )
        })
        .collect();
    let returns = returns.trim().strip_prefix("->").map(|r| {
        let r = r.trim();
        let r = r
            .strip_prefix("Result<")
            .and_then(|r| r.split_once(", Box<EvalAltResult>>"))
            .map_or(r, |(ok, _)| ok);
        format!(" -> {}", runbook_type(r))
    });
    let returns = returns.unwrap_or_default();
    let receiver = types.first().cloned();
    let signature = match types.split_first() {
        Some((first, rest)) => format!("{first}.{name}({}){returns}", rest.join(", ")),
        None => format!("{name}(){returns}"),
    };
    Some(Builtin {
        name: name.to_string(),
        receiver,
        signature,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_misspelt_method_gets_the_primitive_it_meant_in_runbook_terms() {
        let explained = explain("helth (Etcd)", true, "");
        assert_eq!(
            explained.message,
            "an etcd has no method `helth` (called as etcd.helth())"
        );
        assert!(
            explained.help.contains("did you mean etcd.health("),
            "{}",
            explained.help
        );
        assert!(
            explained.help.contains("`runbook doc etcd`"),
            "{}",
            explained.help
        );
    }

    #[test]
    fn a_known_method_with_wrong_arguments_shows_its_signature() {
        let explained = explain("run (Host, i64)", true, "");
        assert_eq!(
            explained.message,
            "`host.run` was called with arguments it does not take: host.run(int)"
        );
        assert!(explained
            .help
            .contains("host.run(command[, #{timeout, stdin, read_only}]) -> string"));
        for internal in ["i64", "ImmutableString", "&str"] {
            assert!(!explained.message.contains(internal) && !explained.help.contains(internal));
        }
    }

    #[test]
    fn functions_are_matched_against_the_registry_the_runbook_and_rhai() {
        let explained = explain("stpe (&str | ImmutableString | String, Fn)", false, "");
        assert!(explained
            .message
            .contains("no function `stpe` (called as stpe(string, closure))"));
        assert!(
            explained.help.contains("did you mean step("),
            "{}",
            explained.help
        );

        let own = explain("check_helth (i64)", false, "fn check_health(member) {\n}\n");
        assert!(
            own.help
                .contains("did you mean check_health(member) (the runbook's own)?"),
            "{}",
            own.help
        );

        let arity = explain(
            "check_health (i64, i64)",
            false,
            "fn check_health(member) {\n}\n",
        );
        assert!(
            arity
                .help
                .contains("check_health(member) (the runbook's own)"),
            "{}",
            arity.help
        );

        let builtin = explain("lenn (map)", true, "");
        assert!(
            builtin.help.contains("did you mean map.len() -> int?"),
            "{}",
            builtin.help
        );
    }

    #[test]
    fn a_report_row_is_a_row() {
        let explained = explain("to_mp (report row)", true, "");
        assert_eq!(
            explained.message,
            "a row has no method `to_mp` (called as row.to_mp())"
        );
        assert!(
            explained.help.contains("did you mean row.to_map() -> map?"),
            "{}",
            explained.help
        );
    }

    #[test]
    fn a_method_of_another_object_says_whose_it_is() {
        let explained = explain("wait_healthy (Host)", true, "");
        assert!(
            explained
                .help
                .contains("`wait_healthy` is a method of an etcd: etcd.wait_healthy("),
            "{}",
            explained.help
        );
    }
}
