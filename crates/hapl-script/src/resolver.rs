//! Module resolution, in order: the project's `lib/` folder, then the embedded stdlib.
//!
//! Scripts import modules by plain name (`import "nas_pvc" as nas;`): no paths, so a script can
//! read nothing but modules. A project module with the same name as a stdlib module replaces it.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::rc::Rc;

use rhai::{Engine, EvalAltResult, Module, ModuleResolver, Position, Scope, Shared, AST};

use crate::error::hapl_error;
use crate::sources::Sources;
use crate::stdlib;

/// Where a module came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModuleOrigin {
    Project(PathBuf),
    Stdlib,
}

pub struct Resolver {
    lib_dir: Option<PathBuf>,
    state: Rc<RefCell<ResolverState>>,
}

#[derive(Default)]
pub struct ResolverState {
    pub sources: Sources,
    /// Module name → the file name its diagnostics use.
    pub files: BTreeMap<String, String>,
    /// Module name → where it was found, for `hapl check` notes about shadowing.
    pub origins: BTreeMap<String, ModuleOrigin>,
    cache: BTreeMap<String, Shared<Module>>,
    loading: Vec<String>,
}

impl Resolver {
    pub fn new(lib_dir: Option<PathBuf>, state: Rc<RefCell<ResolverState>>) -> Self {
        Resolver { lib_dir, state }
    }
}

pub fn is_module_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 64
}

impl ModuleResolver for Resolver {
    fn resolve(
        &self,
        engine: &Engine,
        _source: Option<&str>,
        name: &str,
        pos: Position,
    ) -> Result<Shared<Module>, Box<EvalAltResult>> {
        if !is_module_name(name) {
            return Err(hapl_error(
                "module-name",
                format!("`{name}` is not a module name"),
                Some("import modules by name, e.g. `import \"nas_pvc\" as nas;`; paths are not allowed"),
                pos,
            ));
        }
        if let Some(module) = self.state.borrow().cache.get(name) {
            return Ok(module.clone());
        }
        {
            let state = self.state.borrow();
            if let Some(i) = state.loading.iter().position(|n| n == name) {
                let mut cycle: Vec<&str> = state.loading[i..].iter().map(String::as_str).collect();
                cycle.push(name);
                return Err(hapl_error(
                    "module-cycle",
                    format!("module `{name}` imports itself: {}", cycle.join(" → ")),
                    Some("break the cycle: move what both modules need into a third module"),
                    pos,
                ));
            }
        }

        let (file, text, origin) = self.find(name, pos)?;
        {
            let mut state = self.state.borrow_mut();
            state.sources.insert(file.clone(), text.clone());
            state.files.insert(name.to_owned(), file.clone());
            state.origins.insert(name.to_owned(), origin);
        }
        let mut ast: AST = engine
            .compile(&text)
            .map_err(|err| wrap_in_module(name, EvalAltResult::ErrorParsing(*err.0, err.1), pos))?;
        ast.set_source(file.as_str());
        self.state.borrow_mut().loading.push(name.to_owned());
        let result = Module::eval_ast_as_new(Scope::new(), &ast, engine);
        let mut state = self.state.borrow_mut();
        state.loading.pop();
        let mut module = result.map_err(|err| wrap_in_module(name, *err, pos))?;
        module.build_index();
        let module: Shared<Module> = module.into();
        state.cache.insert(name.to_owned(), module.clone());
        Ok(module)
    }
}

impl Resolver {
    fn find(
        &self,
        name: &str,
        pos: Position,
    ) -> Result<(String, String, ModuleOrigin), Box<EvalAltResult>> {
        if let Some(dir) = &self.lib_dir {
            let path = dir.join(format!("{name}.rhai"));
            if path.is_file() {
                let bytes = std::fs::read(&path).map_err(|e| {
                    hapl_error(
                        "module-read",
                        format!("cannot read `{}`: {e}", path.display()),
                        None,
                        pos,
                    )
                })?;
                let text = String::from_utf8(bytes).map_err(|_| {
                    hapl_error(
                        "script-encoding",
                        format!("`{}` is not valid UTF-8", path.display()),
                        Some("save the module as UTF-8"),
                        pos,
                    )
                })?;
                let file = format!("lib/{name}.rhai");
                return Ok((file, text, ModuleOrigin::Project(path)));
            }
        }
        match stdlib::module(name) {
            Some(text) => Ok((
                stdlib::file_name(name),
                text.to_owned(),
                ModuleOrigin::Stdlib,
            )),
            None => {
                let known: Vec<&str> = stdlib::MODULES.iter().map(|(n, _)| *n).collect();
                Err(hapl_error(
                    "module-not-found",
                    format!("there is no module `{name}`"),
                    Some(&format!(
                        "the standard library has: {}; a project module goes in lib/{name}.rhai",
                        known.join(", ")
                    )),
                    pos,
                ))
            }
        }
    }
}

fn wrap_in_module(name: &str, err: EvalAltResult, pos: Position) -> Box<EvalAltResult> {
    Box::new(EvalAltResult::ErrorInModule(
        name.to_owned(),
        Box::new(err),
        pos,
    ))
}
