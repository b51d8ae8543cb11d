//! What scripts can call beyond Rhai itself: the functions `api.rs` registers, documented for
//! the book's generated reference (`hapl reference`). A test checks that this table and the
//! engine's registrations name the same functions, so neither can drift from the other.

/// One function (all its overloads) scripts can call.
pub struct FnDoc {
    /// The section of the reference it belongs to.
    pub section: &'static str,
    /// The name as registered (`get$name` for a property).
    pub name: &'static str,
    /// How it is called, one line per overload.
    pub usage: &'static [&'static str],
    /// What it does, in Markdown.
    pub doc: &'static str,
}

/// The sections of the reference page, in order, with their introductions.
pub const SECTIONS: &[(&str, &str)] = &[
    (
        "The platform",
        "A script makes one platform and returns it as its last expression; every module function takes it as its first argument.",
    ),
    (
        "Objects",
        "Everything a platform holds is a Kubernetes or Flux object, added as a Rhai map that reads exactly like its YAML.",
    ),
    (
        "Exceptions and migrations",
        "A rule's finding is waived only with a reason, which every `hapl check` and `hapl plan` prints; see [Exceptions, with reasons](../exceptions.md).",
    ),
    (
        "Helpers for modules",
        "What the standard library builds on; a module in `lib/` may use them the same way.",
    ),
];

pub const FUNCTIONS: &[FnDoc] = &[
    FnDoc {
        section: "The platform",
        name: "platform",
        usage: &["platform(name)", "platform(name, #{ cluster, node, nas, repo })"],
        doc: "A new, empty platform. `name` is lower-case letters, digits and `-`.\n\n\
- `cluster`: the cluster's name, used in folders (`clusters/<cluster>/...`); default: `name`.\n\
- `node`: the machine, `#{ name, arch, cpu, memory }` (defaults `node-1`, `arm64`, 4, `\"8Gi\"`); the budget rules add the workloads' requests and limits up against it.\n\
- `nas`: the NAS, `#{ name, capacity }` (`capacity` a quantity like `\"4Ti\"`); claims on its storage classes are added up against it.\n\
- `repo`: the Flux repository's folder relative to the script's folder (`\"flux\"`); `hapl plan` and `apply-to-git` use it unless `--repo` is given.",
    },
    FnDoc {
        section: "The platform",
        name: "get$name",
        usage: &["p.name"],
        doc: "The platform's name.",
    },
    FnDoc {
        section: "The platform",
        name: "get$cluster",
        usage: &["p.cluster"],
        doc: "The cluster's name (see `platform`).",
    },
    FnDoc {
        section: "The platform",
        name: "get$arch",
        usage: &["p.arch"],
        doc: "The node's CPU architecture (`arm64` unless `node` says otherwise): modules pick images with it.",
    },
    FnDoc {
        section: "The platform",
        name: "layers",
        usage: &["p.layers()"],
        doc: "The layers objects were put in so far, sorted, each once.",
    },
    FnDoc {
        section: "The platform",
        name: "layer_dir",
        usage: &["p.layer_dir(layer)"],
        doc: "The folder a layer's objects live in, and that its Flux Kustomization applies: `clusters/<cluster>/<layer>` unless `place_layer` moved it.",
    },
    FnDoc {
        section: "The platform",
        name: "place_layer",
        usage: &["p.place_layer(layer, dir)"],
        doc: "Put a layer in a folder of the repository's own (`\"clusters/microk8s/databases\"`), to adopt an existing layout. `dir` is relative to the repository root.",
    },
    FnDoc {
        section: "Objects",
        name: "add",
        usage: &["p.add(object)", "p.add(object, #{ component, path, layer, phase, reason })"],
        doc: "Add an object. It is checked at once against its kind's schema (Kubernetes 1.34, Flux 2.9): an unknown field, a wrong type or a removed API version is an error at this line, naming the field's path. Two objects with one identity (kind, namespace, name) are an error.\n\n\
- `component`: the group it belongs to (an app, a piece of infrastructure); objects of one component share a folder. Default: its name, or `cluster` for a cluster-wide object.\n\
- `path`: a folder of its own, relative to the repository root.\n\
- `layer`: the Flux layer that applies it (`sources`, `storage`, `infrastructure`, `datastore`, `apps`, ...).\n\
- `phase`: the phase (1–6) a change to it belongs to; plans group changes by phase and `apply-to-git` commits each phase on its own.\n\
- `reason`: one sentence on what it does for the platform; plans print it beside the change.",
    },
    FnDoc {
        section: "Objects",
        name: "object_count",
        usage: &["p.object_count()"],
        doc: "How many objects the platform holds so far.",
    },
    FnDoc {
        section: "Objects",
        name: "has_object",
        usage: &["p.has_object(kind, namespace, name)"],
        doc: "Whether an object with this identity was added (`namespace` is `\"\"` for cluster-wide kinds): modules share one chart source this way instead of declaring it twice.",
    },
    FnDoc {
        section: "Objects",
        name: "claimed_bytes",
        usage: &["p.claimed_bytes(storage_class)"],
        doc: "The bytes requested so far by PersistentVolumeClaims on a storage class, so a module can check a NAS's capacity as claims are made.",
    },
    FnDoc {
        section: "Objects",
        name: "default_storage_class",
        usage: &["p.default_storage_class()"],
        doc: "The name of the storage class declared as the cluster's default so far, or `\"\"`.",
    },
    FnDoc {
        section: "Exceptions and migrations",
        name: "except",
        usage: &["p.except(rule, object, reason)"],
        doc: "Accept one rule's findings on one object (`\"Deployment/home/home-assistant\"`, or `\"Kind/name\"` for cluster-wide kinds). The exception is recorded on the object as the annotation `hapl.dev/except.<rule>: <reason>`, so `hapl assess` of the repository alone knows it too.",
    },
    FnDoc {
        section: "Exceptions and migrations",
        name: "relax",
        usage: &["p.relax(rule, level, reason)"],
        doc: "Lower a rule for the whole platform to `\"warning\"`, `\"note\"` or `\"off\"`. Only lowers: relaxing a warning to a warning is an error.",
    },
    FnDoc {
        section: "Exceptions and migrations",
        name: "allow_no_cpu_limit",
        usage: &["p.allow_no_cpu_limit(reason)", "p.allow_no_cpu_limit(object, reason)"],
        doc: "Accept workloads without a CPU limit (all of them, or one object): the `resources-required` rule then asks for memory limits and requests only.",
    },
    FnDoc {
        section: "Exceptions and migrations",
        name: "migrate",
        usage: &["p.migrate(object, #{ to, reason })"],
        doc: "Say that the data of a claim, volume or StatefulSet moves on purpose (`to` names the object that takes it over, `reason` how the data gets there), so a plan that deletes or replaces `object` is not a `data-continuity` error.",
    },
    FnDoc {
        section: "Helpers for modules",
        name: "fail",
        usage: &["fail(code, message)", "fail(code, message, hint)"],
        doc: "Stop with an error whose diagnostic points at the line of the user's script that called into the module, not at the module.",
    },
    FnDoc {
        section: "Helpers for modules",
        name: "check_options",
        usage: &["check_options(opts, [\"name\", \"size\"], \"fn_name\")"],
        doc: "Fail unless `opts` is a map whose keys are all in the list, suggesting the closest known key for a typo. Modules call it first thing on every options map.",
    },
    FnDoc {
        section: "Helpers for modules",
        name: "describe",
        usage: &["describe(value)"],
        doc: "How a message names a value: ``the integer `10` ``, `the string \"10\"`, `nothing`.",
    },
    FnDoc {
        section: "Helpers for modules",
        name: "is_quantity",
        usage: &["is_quantity(value)"],
        doc: "Whether `value` is a Kubernetes quantity string (`\"512Mi\"`, `\"250m\"`, `\"2\"`).",
    },
    FnDoc {
        section: "Helpers for modules",
        name: "quantity_value",
        usage: &["quantity_value(value)"],
        doc: "A quantity's value in base units (bytes, cores), rounded down; -1 when it is not a quantity.",
    },
    FnDoc {
        section: "Helpers for modules",
        name: "is_exact_version",
        usage: &["is_exact_version(value)"],
        doc: "Whether `value` is an exact version (`\"2025.1.4\"`, `\"v3.7.3\"`), not a range, `latest` or a floating tag.",
    },
    FnDoc {
        section: "Helpers for modules",
        name: "is_repo_path",
        usage: &["is_repo_path(value)"],
        doc: "Whether `value` is a folder path inside the repository: relative, without `..` or empty parts.",
    },
];

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn every_registered_function_is_documented_and_nothing_else() {
        let mut engine = rhai::Engine::new();
        crate::api::register(&mut engine);
        let registered: BTreeSet<String> = engine
            .gen_fn_signatures(false)
            .iter()
            .map(|s| s.split('(').next().unwrap_or(s).trim().to_owned())
            .collect();
        let documented: BTreeSet<String> = FUNCTIONS.iter().map(|f| f.name.to_owned()).collect();
        assert_eq!(registered, documented);
        for f in FUNCTIONS {
            assert!(
                SECTIONS.iter().any(|(s, _)| *s == f.section),
                "{}: no section `{}`",
                f.name,
                f.section
            );
            assert!(!f.usage.is_empty() && !f.doc.is_empty(), "{}", f.name);
            let called = f.name.trim_start_matches("get$");
            assert!(
                f.usage.iter().all(|u| u.contains(called)),
                "{}: {:?}",
                f.name,
                f.usage
            );
        }
    }
}
