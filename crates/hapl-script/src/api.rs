//! What scripts can call: `platform(...)`, `p.add(...)`, and the small helpers modules use.

use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;

use hapl_core::quantity::{is_exact_version, parse_quantity};
pub use hapl_core::rules::closest;
use hapl_core::{
    Diagnostic, Frame, Migration, Nas, Node, ObjectRef, Origin, Platform, PlatformObject, Resource,
    Severity, Waiver, WaiverScope,
};
use rhai::{
    Dynamic, Engine, EvalAltResult, ImmutableString, Map, NativeCallContext, Position, INT,
};

use crate::error::{hapl_error, span_of};

type RhaiResult<T> = Result<T, Box<EvalAltResult>>;

/// The platform a script builds. Cloning the handle shares the platform.
#[derive(Clone)]
pub struct PlatformHandle(pub(crate) Rc<RefCell<PlatformState>>);

pub(crate) struct PlatformState {
    pub platform: Platform,
    /// Problems found while building (invalid objects), reported together at the end.
    pub diagnostics: Vec<Diagnostic>,
    /// (kind, namespace or "", name) of every object added so far: `has_object` is called for
    /// every chart source a module declares, and a scan of the objects made that quadratic.
    declared: HashSet<(&'static str, String, String)>,
}

/// The name of the top-level script, for call sites Rhai reports without a source.
#[derive(Clone)]
pub(crate) struct MainFile(pub Rc<str>);

/// Where the user's script made the call that is running now: the innermost call site in a
/// user file, with the stdlib frames between it and this native call.
fn origin_of(ctx: &NativeCallContext, main: &str) -> Origin {
    // Rhai's call stack, outermost first. A frame's `pos` is its call site, in the file of the
    // function that made the call: the previous frame's own source (or the main script).
    let stack = ctx.debugger().map(|d| d.call_stack()).unwrap_or_default();
    // (function called, call site), innermost first.
    let mut chain: Vec<(String, hapl_core::Span)> = Vec::with_capacity(stack.len() + 1);
    if stack.is_empty() {
        chain.push((
            ctx.fn_name().to_owned(),
            span_of(ctx.call_source().unwrap_or(main), ctx.call_position()),
        ));
    }
    for k in (0..stack.len()).rev() {
        let file = match k {
            0 => main,
            _ => stack[k - 1].source.as_deref().unwrap_or(main),
        };
        chain.push((stack[k].fn_name.to_string(), span_of(file, stack[k].pos)));
    }
    let user = chain
        .iter()
        .position(|(_, span)| !span.is_stdlib())
        .unwrap_or(chain.len() - 1);
    // Site k (< user) lies inside the function called at site k + 1.
    let frames = (0..user)
        .map(|k| Frame {
            function: chain[k + 1].0.clone(),
            span: chain[k].1.clone(),
        })
        .collect();
    Origin {
        site: chain[user].1.clone(),
        frames,
    }
}

fn main_file(ctx: &NativeCallContext) -> Rc<str> {
    ctx.tag()
        .and_then(|t| t.read_lock::<MainFile>().map(|m| m.0.clone()))
        .unwrap_or_else(|| Rc::from("<script>"))
}

/// Take a string option out of an options map, or fail naming the option.
fn take_str(opts: &mut Map, key: &str, what: &str, pos: Position) -> RhaiResult<Option<String>> {
    match opts.remove(key) {
        None => Ok(None),
        Some(v) if v.is_string() => Ok(Some(v.into_string().expect("checked"))),
        Some(v) => Err(hapl_error(
            "invalid-argument",
            format!(
                "`{key}` of {what} must be a string, found {} `{v}`",
                v.type_name()
            ),
            None,
            pos,
        )),
    }
}

fn no_more_keys(opts: &Map, what: &str, known: &[&str], pos: Position) -> RhaiResult<()> {
    match opts.keys().next() {
        None => Ok(()),
        Some(key) => Err(hapl_error(
            "invalid-argument",
            format!("{what} has no option `{key}`"),
            Some(&format!("its options are: {}", known.join(", "))),
            pos,
        )),
    }
}

fn parse_node(mut node: Map, pos: Position) -> RhaiResult<Node> {
    const KNOWN: &[&str] = &["name", "arch", "cpu", "memory"];
    let what = "`node`";
    let name = take_str(&mut node, "name", what, pos)?.unwrap_or_else(|| "node-1".to_owned());
    let arch = take_str(&mut node, "arch", what, pos)?.unwrap_or_else(|| "arm64".to_owned());
    let cpu_millis = match node.remove("cpu") {
        None => 4000,
        Some(v) if v.is_int() => (v.as_int().expect("checked").max(0) as u64) * 1000,
        Some(v) => {
            let s = v.to_string();
            match parse_quantity(&s) {
                Some(q) if v.is_string() && q > 0.0 => (q * 1000.0).round() as u64,
                _ => {
                    return Err(hapl_error(
                        "invalid-argument",
                        format!(
                            "`cpu` of `node` must be a core count like 4 or \"4000m\", found `{s}`"
                        ),
                        None,
                        pos,
                    ))
                }
            }
        }
    };
    let memory = take_str(&mut node, "memory", what, pos)?.unwrap_or_else(|| "8Gi".to_owned());
    let memory_bytes = match parse_quantity(&memory) {
        Some(q) if q > 0.0 => q as u64,
        _ => {
            return Err(hapl_error(
                "invalid-argument",
                format!("`memory` of `node` must be a quantity like \"8Gi\", found `{memory}`"),
                None,
                pos,
            ))
        }
    };
    no_more_keys(&node, what, KNOWN, pos)?;
    Ok(Node {
        name,
        arch,
        cpu_millis,
        memory_bytes,
    })
}

fn parse_nas(mut nas: Map, pos: Position) -> RhaiResult<Nas> {
    let what = "`nas`";
    let name = take_str(&mut nas, "name", what, pos)?.unwrap_or_else(|| "nas".to_owned());
    let capacity = take_str(&mut nas, "capacity", what, pos)?;
    no_more_keys(&nas, what, &["name", "capacity"], pos)?;
    match capacity.as_deref().map(|c| (c, parse_quantity(c))) {
        Some((_, Some(q))) if q > 0.0 => Ok(Nas {
            name,
            capacity_bytes: q as u64,
        }),
        other => Err(hapl_error(
            "invalid-argument",
            format!(
                "`capacity` of `nas` must be a quantity like \"4Ti\", found {}",
                other.map_or("nothing".to_owned(), |(c, _)| format!("`{c}`"))
            ),
            None,
            pos,
        )),
    }
}

fn new_platform(ctx: &NativeCallContext, name: &str, mut opts: Map) -> RhaiResult<PlatformHandle> {
    const KNOWN: &[&str] = &["cluster", "node", "nas", "repo"];
    let pos = ctx.call_position();
    if !crate::resolver::is_module_name(&name.replace('-', "_")) {
        return Err(hapl_error(
            "invalid-argument",
            format!("`{name}` is not a usable platform name"),
            Some("use lower-case letters, digits and `-`, e.g. `platform(\"home\")`"),
            pos,
        ));
    }
    let cluster =
        take_str(&mut opts, "cluster", "`platform`", pos)?.unwrap_or_else(|| name.to_owned());
    let node = match opts.remove("node") {
        None => None,
        Some(v) => match v.try_cast::<Map>() {
            Some(m) => Some(parse_node(m, pos)?),
            None => {
                return Err(hapl_error(
                    "invalid-argument",
                    "`node` of `platform` must be a map like #{ arch: \"arm64\", cpu: 4, memory: \"8Gi\" }".into(),
                    None,
                    pos,
                ))
            }
        },
    };
    let nas = match opts.remove("nas") {
        None => None,
        Some(v) => match v.try_cast::<Map>() {
            Some(m) => Some(parse_nas(m, pos)?),
            None => return Err(hapl_error(
                "invalid-argument",
                "`nas` of `platform` must be a map like #{ name: \"dpx2800\", capacity: \"4Ti\" }"
                    .into(),
                None,
                pos,
            )),
        },
    };
    let repo = take_str(&mut opts, "repo", "`platform`", pos)?;
    if let Some(repo) = &repo {
        if let Err(why) = check_repo_path(repo) {
            return Err(hapl_error(
                "invalid-path",
                format!("repo `{repo}` {why}"),
                Some("give the Flux repository's folder relative to the script's folder, e.g. `flux`"),
                pos,
            ));
        }
    }
    no_more_keys(&opts, "`platform`", KNOWN, pos)?;
    let mut platform = Platform::new(name, cluster);
    platform.node = node;
    platform.nas = nas;
    platform.repo = repo;
    platform.origin = Some(origin_of(ctx, &main_file(ctx)));
    Ok(PlatformHandle(Rc::new(RefCell::new(PlatformState {
        platform,
        diagnostics: Vec::new(),
        declared: HashSet::new(),
    }))))
}

/// A relative path inside the repo: no `..`, not absolute, no empty parts.
pub fn check_repo_path(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err("is empty".into());
    }
    if path.starts_with('/') || path.starts_with('\\') || path.contains(':') {
        return Err("must be relative to the repository root".into());
    }
    for part in path.split(['/', '\\']) {
        match part {
            ".." => return Err("must not contain `..`".into()),
            "" | "." => return Err("must not contain empty or `.` parts".into()),
            _ => {}
        }
    }
    Ok(())
}

fn add(ctx: NativeCallContext, p: &mut PlatformHandle, obj: Map, mut opts: Map) -> RhaiResult<()> {
    const KNOWN: &[&str] = &["component", "path", "layer", "phase", "reason"];
    let pos = ctx.call_position();
    let component = take_str(&mut opts, "component", "`add`", pos)?;
    let path = take_str(&mut opts, "path", "`add`", pos)?;
    let layer = take_str(&mut opts, "layer", "`add`", pos)?;
    let reason = take_str(&mut opts, "reason", "`add`", pos)?;
    let phase = match opts.remove("phase") {
        None => None,
        Some(v) => match v.as_int() {
            Ok(n @ 1..=6) => Some(n as u8),
            _ => {
                return Err(hapl_error(
                    "invalid-argument",
                    format!("`phase` of `add` must be one of the seed's phases 1 to 6, found `{v}`"),
                    Some("1 storage & data safety, 2 HA hardening, 3 long-term metrics, 4 logging & observability, 5 Zigbee/Matter/edge, 6 backups & DR"),
                    pos,
                ))
            }
        },
    };
    no_more_keys(&opts, "`add`", KNOWN, pos)?;
    if let Some(layer) = &layer {
        if !crate::resolver::is_module_name(&layer.replace('-', "_")) {
            return Err(hapl_error(
                "invalid-argument",
                format!("`{layer}` is not a usable layer name"),
                Some("use lower-case letters, digits and `-`, e.g. `datastore`"),
                pos,
            ));
        }
    }
    if let Some(path) = &path {
        if let Err(why) = check_repo_path(path) {
            return Err(hapl_error(
                "invalid-path",
                format!("path `{path}` {why}"),
                Some(
                    "give a directory relative to the repository root, e.g. `apps/home-assistant`",
                ),
                pos,
            ));
        }
    }
    let main = main_file(&ctx);
    let origin = origin_of(&ctx, &main);
    // Kind and name for a message about an invalid object (shared strings: no copy).
    let kind = obj
        .get("kind")
        .and_then(|k| k.read_lock::<ImmutableString>().map(|s| s.clone()));
    let name = obj
        .get("metadata")
        .and_then(|m| m.read_lock::<Map>())
        .and_then(|m| m.get("name").cloned())
        .and_then(|n| n.into_immutable_string().ok());
    let value = match plain_map(obj) {
        Ok(v) => v,
        Err(e) => {
            return Err(hapl_error(
                "invalid-object",
                format!(
                    "cannot use this map as an object: `{}` is {}, not plain data",
                    e.path(),
                    e.found
                ),
                Some("objects hold maps, arrays, strings, numbers, booleans and `()` only"),
                pos,
            ))
        }
    };
    let mut state = p.0.borrow_mut();
    match Resource::from_value(value) {
        Ok(resource) => {
            let component = component.unwrap_or_else(|| default_component(&resource));
            state.declared.insert((
                resource.kind(),
                resource.namespace().unwrap_or("").to_owned(),
                resource.name().to_owned(),
            ));
            state.platform.objects.push(PlatformObject {
                resource,
                origin,
                component,
                path,
                layer,
                phase,
                reason,
            });
        }
        Err(err) => {
            let described = match (kind, name) {
                (Some(kind), Some(name)) => format!("{kind} `{name}`"),
                (Some(kind), None) => kind.to_string(),
                (None, _) => "object".to_owned(),
            };
            let field = if err.path.is_empty() {
                String::new()
            } else {
                format!("`{}`: ", err.path)
            };
            state.diagnostics.push(
                Diagnostic::error("invalid-object", format!("{described} is not valid: {field}{}", err.message))
                    .at(origin.site.clone(), "made here")
                    .with_trace(origin.frames.clone())
                    .hint("the field names and types follow the Kubernetes and Flux APIs (camelCase keys)"),
            );
        }
    }
    Ok(())
}

/// A value that is not plain data: where (its path's parts, innermost first, collected only on
/// this error path) and what it is.
struct NotPlain {
    parts: Vec<PathPart>,
    found: String,
}

enum PathPart {
    Key(String),
    Index(usize),
}

impl NotPlain {
    /// The path as `spec.containers[0].name`.
    fn path(&self) -> String {
        let mut path = String::new();
        for part in self.parts.iter().rev() {
            match part {
                PathPart::Key(key) => {
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(key);
                }
                PathPart::Index(i) => path.push_str(&format!("[{i}]")),
            }
        }
        path
    }
}

/// A script map as plain data, consumed (this runs for every object, so it is direct rather
/// than serde's generic path).
fn plain_map(map: Map) -> Result<serde_json::Value, NotPlain> {
    let mut out = serde_json::Map::with_capacity(map.len());
    for (key, value) in map {
        match plain(value) {
            Ok(value) => out.insert(key.into(), value),
            Err(mut e) => {
                e.parts.push(PathPart::Key(key.into()));
                return Err(e);
            }
        };
    }
    Ok(serde_json::Value::Object(out))
}

fn plain(value: Dynamic) -> Result<serde_json::Value, NotPlain> {
    use serde_json::Value;
    let value = value.flatten();
    Ok(if value.is_unit() {
        Value::Null
    } else if let Ok(b) = value.as_bool() {
        Value::Bool(b)
    } else if let Ok(i) = value.as_int() {
        Value::from(i)
    } else if let Ok(f) = value.as_float() {
        serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
    } else if value.is_string() {
        Value::String(value.into_immutable_string().expect("checked").into())
    } else if let Ok(c) = value.as_char() {
        Value::String(c.to_string())
    } else if value.is_map() {
        return plain_map(value.cast::<Map>());
    } else if value.is_array() {
        let array = value.into_array().expect("checked");
        let mut out = Vec::with_capacity(array.len());
        for (i, item) in array.into_iter().enumerate() {
            match plain(item) {
                Ok(v) => out.push(v),
                Err(mut e) => {
                    e.parts.push(PathPart::Index(i));
                    return Err(e);
                }
            }
        }
        Value::Array(out)
    } else if value.is_blob() {
        Value::Array(
            value
                .into_blob()
                .expect("checked")
                .into_iter()
                .map(Value::from)
                .collect(),
        )
    } else {
        return Err(NotPlain {
            parts: Vec::new(),
            found: describe(value),
        });
    })
}

fn default_component(resource: &Resource) -> String {
    match resource.namespace() {
        Some(_) => resource.name().to_owned(),
        None => "cluster".to_owned(),
    }
}

pub(crate) fn register(engine: &mut Engine) {
    engine.register_type_with_name::<PlatformHandle>("Platform");
    engine.register_fn("platform", |ctx: NativeCallContext, name: &str| {
        new_platform(&ctx, name, Map::new())
    });
    engine.register_fn(
        "platform",
        |ctx: NativeCallContext, name: &str, opts: Map| new_platform(&ctx, name, opts),
    );
    engine.register_fn(
        "add",
        |ctx: NativeCallContext, p: &mut PlatformHandle, obj: Map| add(ctx, p, obj, Map::new()),
    );
    engine.register_fn("add", add);
    engine.register_get("name", |p: &mut PlatformHandle| {
        p.0.borrow().platform.name.clone()
    });
    engine.register_get("cluster", |p: &mut PlatformHandle| {
        p.0.borrow().platform.cluster.clone()
    });
    engine.register_get("arch", |p: &mut PlatformHandle| {
        p.0.borrow()
            .platform
            .node
            .as_ref()
            .map_or_else(|| "arm64".to_owned(), |n| n.arch.clone())
    });
    engine.register_fn("object_count", |p: &mut PlatformHandle| {
        p.0.borrow().platform.objects.len() as INT
    });
    // Whether an object of this kind, namespace ("" for cluster-scoped) and name is declared:
    // lets modules share one source (a chart repository several modules install from).
    engine.register_fn(
        "has_object",
        |p: &mut PlatformHandle, kind: &str, namespace: &str, name: &str| {
            p.0.borrow()
                .declared
                .contains(&(kind, namespace.to_owned(), name.to_owned()))
        },
    );
    // Bytes requested by the claims on a StorageClass so far (PersistentVolumeClaims), so a
    // module can check a NAS inventory as claims are made.
    engine.register_fn("claimed_bytes", |p: &mut PlatformHandle, class: &str| {
        let state = p.0.borrow();
        state
            .platform
            .objects
            .iter()
            .filter_map(|o| match &o.resource {
                Resource::PersistentVolumeClaim(c) => c.spec.as_ref(),
                _ => None,
            })
            .filter(|spec| spec.storage_class_name.as_deref() == Some(class))
            .filter_map(|spec| spec.resources.as_ref()?.requests.as_ref()?.get("storage"))
            .filter_map(|q| parse_quantity(&q.0))
            .sum::<f64>() as INT
    });
    // The name of the StorageClass declared as the cluster default so far, or "".
    engine.register_fn("default_storage_class", |p: &mut PlatformHandle| {
        let state = p.0.borrow();
        state
            .platform
            .objects
            .iter()
            .find_map(|o| match &o.resource {
                Resource::StorageClass(sc)
                    if sc
                        .metadata
                        .annotations
                        .as_ref()
                        .and_then(|a| a.get("storageclass.kubernetes.io/is-default-class"))
                        .is_some_and(|v| v == "true") =>
                {
                    sc.metadata.name.clone()
                }
                _ => None,
            })
            .unwrap_or_default()
    });
    // The layers objects were put in so far, sorted and without repeats.
    engine.register_fn("layers", |p: &mut PlatformHandle| {
        let state = p.0.borrow();
        let layers: std::collections::BTreeSet<&str> = state
            .platform
            .objects
            .iter()
            .filter_map(|o| o.layer.as_deref())
            .collect();
        layers
            .into_iter()
            .map(|l| Dynamic::from(l.to_owned()))
            .collect::<rhai::Array>()
    });
    // The directory a layer's objects live in (and its Flux Kustomization applies).
    engine.register_fn("layer_dir", |p: &mut PlatformHandle, layer: &str| {
        p.0.borrow().platform.layer_dir(layer)
    });
    // Put a layer in a directory of the repo's own (adopting an existing layout).
    engine.register_fn(
        "place_layer",
        |ctx: NativeCallContext, p: &mut PlatformHandle, layer: &str, dir: &str| -> RhaiResult<()> {
            if let Err(why) = check_repo_path(dir) {
                return Err(hapl_error(
                    "invalid-path",
                    format!("layer directory `{dir}` {why}"),
                    Some("give a directory relative to the repository root, e.g. `clusters/microk8s/databases`"),
                    ctx.call_position(),
                ));
            }
            p.0.borrow_mut()
                .platform
                .layer_dirs
                .insert(layer.to_owned(), dir.trim_end_matches('/').to_owned());
            Ok(())
        },
    );

    // Raising a structured error from a module: the diagnostic points at the user's line.
    engine.register_fn(
        "fail",
        |ctx: NativeCallContext, code: &str, message: &str| -> RhaiResult<()> {
            Err(hapl_error(
                code,
                message.to_owned(),
                None,
                ctx.call_position(),
            ))
        },
    );
    engine.register_fn(
        "fail",
        |ctx: NativeCallContext, code: &str, message: &str, hint: &str| -> RhaiResult<()> {
            Err(hapl_error(
                code,
                message.to_owned(),
                Some(hint),
                ctx.call_position(),
            ))
        },
    );
    register_waivers(engine);
    // Pure: it only reads the options (a method-style `&mut` is how Rhai passes them uncopied).
    rhai::FuncRegistration::new("check_options")
        .with_purity(true)
        .register_into_engine(engine, check_options);
    engine.register_fn("describe", describe);
    engine.register_fn("is_quantity", |v: Dynamic| {
        v.into_string()
            .ok()
            .is_some_and(|s| parse_quantity(&s).is_some())
    });
    // The value of a quantity string in base units (bytes, cores), rounded down; -1 if invalid.
    engine.register_fn("quantity_value", |v: Dynamic| {
        v.into_string()
            .ok()
            .and_then(|s| parse_quantity(&s))
            .map_or(-1, |q| q as INT)
    });
    engine.register_fn("is_exact_version", |v: Dynamic| {
        v.into_string().ok().is_some_and(|s| is_exact_version(&s))
    });
    engine.register_fn("is_repo_path", |v: Dynamic| {
        v.into_string()
            .ok()
            .is_some_and(|s| check_repo_path(&s).is_ok())
    });
}

/// Fails when `opts` is not a map or has a key `known` does not list (with a suggestion).
/// `opts` is borrowed, not copied: modules call this for every options map they take.
fn check_options(
    ctx: NativeCallContext,
    opts: &mut Dynamic,
    known: rhai::Array,
    function: &str,
) -> RhaiResult<()> {
    let pos = ctx.call_position();
    let Some(map) = opts.read_lock::<Map>() else {
        return Err(hapl_error(
            "invalid-argument",
            format!(
                "`{function}` takes an options map like #{{ name: \"x\" }}, found {}",
                opts.type_name()
            ),
            None,
            pos,
        ));
    };
    let is_known = |key: &str| {
        known
            .iter()
            .any(|k| match k.read_lock::<ImmutableString>() {
                Some(k) => k.as_str() == key,
                None => k.to_string() == key,
            })
    };
    let Some(key) = map.keys().find(|key| !is_known(key.as_str())) else {
        return Ok(());
    };
    let known: Vec<String> = known.iter().map(|k| k.to_string()).collect();
    let hint = match closest(key, &known) {
        Some(k) => format!("did you mean `{k}`? the options are: {}", known.join(", ")),
        None => format!("the options are: {}", known.join(", ")),
    };
    Err(hapl_error(
        "invalid-argument",
        format!("`{function}` has no option `{key}`"),
        Some(&hint),
        pos,
    ))
}

/// "the integer 10", "the string \"10\"": how messages name a value the script gave.
fn describe(v: Dynamic) -> String {
    if v.is_unit() {
        return "nothing".to_owned();
    }
    let what = match v.type_name() {
        "i64" => "the integer",
        "f64" => "the number",
        "bool" => "the boolean",
        "string" => return format!("the string {v:?}"),
        "array" => "the array",
        "map" => "the map",
        other => return format!("a value of type `{other}`"),
    };
    format!("{what} `{v}`")
}

/// Exceptions and relaxations of rules: `p.except(rule, object, reason)`,
/// `p.relax(rule, level, reason)`, `p.allow_no_cpu_limit([object,] reason)`. Each needs a
/// reason, which every check prints.
fn register_waivers(engine: &mut Engine) {
    engine.register_fn(
        "except",
        |ctx: NativeCallContext, p: &mut PlatformHandle, rule: &str, object: &str, reason: &str| {
            let target = object_ref(object, ctx.call_position())?;
            waive(&ctx, p, rule, WaiverScope::Except(target), reason)
        },
    );
    engine.register_fn(
        "relax",
        |ctx: NativeCallContext, p: &mut PlatformHandle, rule: &str, level: &str, reason: &str| {
            let pos = ctx.call_position();
            let to = match level {
                "warning" => Some(Severity::Warning),
                "note" => Some(Severity::Note),
                "off" => None,
                other => {
                    return Err(hapl_error(
                        "invalid-argument",
                        format!("`{other}` is not a level `relax` lowers a rule to"),
                        Some("use \"warning\", \"note\" or \"off\""),
                        pos,
                    ))
                }
            };
            if let (Some(r), Some(to)) = (hapl_core::rules::rule(rule), to) {
                if to <= r.severity {
                    return Err(hapl_error(
                        "invalid-argument",
                        format!(
                            "`{rule}` is already a {}; `relax` only lowers a rule",
                            r.severity
                        ),
                        Some("use a lower level, or \"off\""),
                        pos,
                    ));
                }
            }
            waive(&ctx, p, rule, WaiverScope::Relax(to), reason)
        },
    );
    engine.register_fn(
        "migrate",
        |ctx: NativeCallContext, p: &mut PlatformHandle, object: &str, opts: Map| {
            migrate(&ctx, p, object, opts)
        },
    );
    engine.register_fn(
        "allow_no_cpu_limit",
        |ctx: NativeCallContext, p: &mut PlatformHandle, reason: &str| {
            waive(
                &ctx,
                p,
                "resources-required",
                WaiverScope::NoCpuLimit(None),
                reason,
            )
        },
    );
    engine.register_fn(
        "allow_no_cpu_limit",
        |ctx: NativeCallContext, p: &mut PlatformHandle, object: &str, reason: &str| {
            let target = object_ref(object, ctx.call_position())?;
            waive(
                &ctx,
                p,
                "resources-required",
                WaiverScope::NoCpuLimit(Some(target)),
                reason,
            )
        },
    );
}

/// `p.migrate("PersistentVolumeClaim/ns/old", #{ to: "PersistentVolumeClaim/ns/new", reason })`:
/// the script moves the data of a claim, volume or StatefulSet on purpose, so a plan that
/// deletes or replaces it is not a `data-continuity` error.
fn migrate(
    ctx: &NativeCallContext,
    p: &mut PlatformHandle,
    object: &str,
    opts: Map,
) -> RhaiResult<()> {
    let pos = ctx.call_position();
    let bad = |msg: String| {
        hapl_error(
            "invalid-argument",
            msg,
            Some("write `p.migrate(\"PersistentVolumeClaim/ns/old\", #{ to: \"PersistentVolumeClaim/ns/new\", reason: \"how the data gets there\" })`"),
            pos,
        )
    };
    if let Some(k) = opts
        .keys()
        .find(|k| !["to", "reason"].contains(&k.as_str()))
    {
        return Err(bad(format!("`migrate` has no option `{k}`")));
    }
    let from = object_ref(object, pos)?;
    if !["PersistentVolumeClaim", "PersistentVolume", "StatefulSet"].contains(&from.kind.as_str()) {
        return Err(bad(format!(
            "`migrate` moves the data of a PersistentVolumeClaim, PersistentVolume or StatefulSet, not a {}",
            from.kind
        )));
    }
    let text = |key: &str| {
        opts.get(key)
            .and_then(|v| v.clone().into_string().ok())
            .filter(|s| !s.trim().is_empty())
    };
    let to = text("to")
        .ok_or_else(|| bad("`migrate` needs `to`: the object the data moves to".into()))?;
    let to = object_ref(&to, pos)?;
    let reason = text("reason").ok_or_else(|| {
        bad("`migrate` needs a `reason`: how the data gets there, in one sentence".into())
    })?;
    let origin = origin_of(ctx, &main_file(ctx));
    p.0.borrow_mut().platform.migrations.push(Migration {
        from,
        to,
        reason: reason.trim().to_owned(),
        origin,
    });
    Ok(())
}

fn object_ref(object: &str, pos: Position) -> RhaiResult<ObjectRef> {
    ObjectRef::parse(object).map_err(|e| hapl_error("invalid-argument", e, None, pos))
}

fn waive(
    ctx: &NativeCallContext,
    p: &mut PlatformHandle,
    rule: &str,
    scope: WaiverScope,
    reason: &str,
) -> RhaiResult<()> {
    let pos = ctx.call_position();
    if hapl_core::rules::rule(rule).is_none() {
        let ids = hapl_core::rules::ids();
        let hint = match closest(rule, &ids) {
            Some(id) => format!("did you mean `{id}`? `hapl explain --list` lists every rule"),
            None => "`hapl explain --list` lists every rule".to_owned(),
        };
        return Err(hapl_error(
            "unknown-rule",
            format!("there is no rule `{rule}`"),
            Some(&hint),
            pos,
        ));
    }
    if reason.trim().is_empty() {
        return Err(hapl_error(
            "invalid-argument",
            format!("waiving `{rule}` needs a reason"),
            Some("say why in one sentence; every `hapl check` prints it"),
            pos,
        ));
    }
    let origin = origin_of(ctx, &main_file(ctx));
    let mut state = p.0.borrow_mut();
    let same = |w: &Waiver| {
        w.rule == rule
            && match (&w.scope, &scope) {
                (WaiverScope::Relax(_), WaiverScope::Relax(_)) => true,
                (a, b) => a == b,
            }
    };
    if let Some(earlier) = state.platform.waivers.iter().find(|w| same(w)) {
        return Err(hapl_error(
            "invalid-argument",
            format!(
                "`{rule}` is already waived this way at {}",
                earlier.origin.site
            ),
            Some("keep one of the two lines"),
            pos,
        ));
    }
    state.platform.waivers.push(Waiver {
        rule: rule.to_owned(),
        scope,
        reason: reason.trim().to_owned(),
        origin,
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::{evaluate_str, Options};

    #[test]
    fn a_value_that_is_not_data_is_named_by_its_path() {
        let script = r#"let p = platform("t");
p.add(#{ apiVersion: "v1", kind: "ConfigMap", metadata: #{ name: "c" },
         data: #{ items: [1, #{ f: |x| x }] } });
p"#;
        let failure = evaluate_str("t.rhai", script, &Options::default()).unwrap_err();
        let message = &failure.diagnostics[0].message;
        assert!(
            message.starts_with("cannot use this map as an object: `data.items[1].f` is "),
            "{message}"
        );
        assert_eq!(failure.diagnostics[0].primary.as_ref().unwrap().line, 2);
    }
}
