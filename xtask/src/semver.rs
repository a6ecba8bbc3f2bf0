//! The semver verdict of a regeneration: a structural comparison of the public items of the old
//! and new generated code (syn trees from codegen.rs), never a text diff.
//!
//! major: something a caller uses is removed or retyped (operation, parameter, property,
//! response, variant, derive), or a caller must now supply something (a required property);
//! minor: only additions a caller of the documented construction cannot notice (new optional
//! property of a `#[non_exhaustive]` type, new operation, type or enum variant);
//! patch: the public items are identical (docs, wire details inside function bodies).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use quote::ToTokens;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Patch,
    Minor,
    Major,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Patch => "patch",
            Level::Minor => "minor",
            Level::Major => "major",
        })
    }
}

/// The level and the reasons for it (the reasons of the deciding level first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub level: Level,
    pub reasons: Vec<(Level, String)>,
}

impl fmt::Display for Verdict {
    /// The one line a release tool or a reviewer reads: `semver: minor — reason; reason`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reasons: Vec<&str> = self.reasons.iter().map(|(_, r)| r.as_str()).collect();
        write!(f, "semver: {} — {}", self.level, reasons.join("; "))
    }
}

/// Compare two generated files. With no public item changed, the verdict is patch and the reason
/// says what did change (function bodies, docs, nothing).
pub fn verdict(old: &syn::File, new: &syn::File) -> Verdict {
    let (o, n) = (Surface::of(old), Surface::of(new));
    let mut reasons = Vec::new();
    let mut push = |level: Level, text: String| reasons.push((level, text));

    for (name, ot) in &o.types {
        match n.types.get(name) {
            None => push(Level::Major, format!("type {name} removed")),
            Some(nt) => compare_type(name, ot, nt, &mut push),
        }
    }
    for name in n.types.keys().filter(|k| !o.types.contains_key(*k)) {
        push(Level::Minor, format!("type {name} added"));
    }
    for (name, sig) in &o.fns {
        match n.fns.get(name) {
            None => push(Level::Major, format!("{} removed", fn_label(name, sig))),
            Some(s) => compare_fn(&fn_label(name, sig), sig, s, &mut push),
        }
    }
    for (name, sig) in n.fns.iter().filter(|(k, _)| !o.fns.contains_key(*k)) {
        push(Level::Minor, format!("{} added", fn_label(name, sig)));
    }
    for item in o.other.difference(&n.other) {
        push(Level::Major, format!("removed: {item}"));
    }
    for item in n.other.difference(&o.other) {
        push(Level::Minor, format!("added: {item}"));
    }

    if reasons.is_empty() {
        let (os, ns) = (strip(old), strip(new));
        let why = if os != ns {
            "generated code changed inside function bodies only (no public item changed)"
        } else if old.to_token_stream().to_string() != new.to_token_stream().to_string() {
            "documentation only"
        } else {
            "no change to the generated Rust"
        };
        reasons.push((Level::Patch, why.to_owned()));
    }
    let level = reasons
        .iter()
        .map(|(l, _)| *l)
        .max()
        .unwrap_or(Level::Patch);
    reasons.sort_by_key(|r| std::cmp::Reverse(r.0));
    Verdict { level, reasons }
}

/// Operations are the generated client's async methods.
fn fn_label(key: &str, sig: &syn::Signature) -> String {
    match key.strip_prefix("Client::") {
        Some(op) if sig.asyncness.is_some() => format!("operation {op}"),
        _ => format!("function {key}"),
    }
}

/// Parameters by name (type, position) and the return type.
fn compare_fn(
    label: &str,
    o: &syn::Signature,
    n: &syn::Signature,
    push: &mut impl FnMut(Level, String),
) {
    if docless(o) == docless(n) {
        return;
    }
    let params = |s: &syn::Signature| -> Vec<(String, String)> {
        s.inputs
            .iter()
            .map(|arg| match arg {
                syn::FnArg::Receiver(r) => ("self".to_owned(), docless(r)),
                syn::FnArg::Typed(t) => (docless(&t.pat), docless(&t.ty)),
            })
            .collect()
    };
    let (op, np) = (params(o), params(n));
    let mut explained = false;
    for (name, ty) in &op {
        match np.iter().find(|(n, _)| n == name) {
            None => push(Level::Major, format!("{label}: parameter {name} removed")),
            Some((_, t)) if t != ty => push(
                Level::Major,
                format!(
                    "{label}: parameter {name} retyped: {} -> {}",
                    show(ty),
                    show(t)
                ),
            ),
            _ => continue,
        }
        explained = true;
    }
    // Major even for an `Option`: every call site must pass one more argument.
    for (name, ty) in np.iter().filter(|(n, _)| !op.iter().any(|(o, _)| o == n)) {
        let how = if show(ty).starts_with("Option<") {
            "added (an Option, still one more argument)"
        } else {
            "added (required)"
        };
        push(Level::Major, format!("{label}: parameter {name} {how}"));
        explained = true;
    }
    if docless(&o.output) != docless(&n.output) {
        push(
            Level::Major,
            format!(
                "{label}: response type changed: {} -> {}",
                show(&output(&o.output)),
                show(&output(&n.output))
            ),
        );
        explained = true;
    }
    if !explained {
        push(
            Level::Major,
            format!(
                "{label}: signature changed: {} -> {}",
                docless(o),
                docless(n)
            ),
        );
    }
}

fn compare_type(name: &str, o: &TypeShape, n: &TypeShape, push: &mut impl FnMut(Level, String)) {
    if o.kind != n.kind {
        push(
            Level::Major,
            format!("type {name} changed from {} to {}", o.kind, n.kind),
        );
        return;
    }
    if !o.non_exhaustive && n.non_exhaustive {
        push(
            Level::Major,
            format!("type {name} became #[non_exhaustive]"),
        );
    }
    if o.non_exhaustive && !n.non_exhaustive {
        push(
            Level::Minor,
            format!("type {name} is no longer #[non_exhaustive]"),
        );
    }
    for d in o.derives.difference(&n.derives) {
        push(
            Level::Major,
            format!("type {name} no longer implements {d}"),
        );
    }
    for d in n.derives.difference(&o.derives) {
        push(Level::Minor, format!("type {name} now implements {d}"));
    }
    let member = if o.kind == "enum" {
        "variant"
    } else {
        "property"
    };
    for (m, om) in &o.members {
        match n.members.get(m) {
            None => push(Level::Major, format!("{member} {name}.{m} removed")),
            Some(nm) if nm.ty != om.ty => push(
                Level::Major,
                format!(
                    "{member} {name}.{m} retyped: {} -> {}",
                    show(&om.ty),
                    show(&nm.ty)
                ),
            ),
            Some(nm) if nm.optional != om.optional => push(
                if nm.optional {
                    Level::Minor
                } else {
                    Level::Major
                },
                format!(
                    "{member} {name}.{m} became {}",
                    if nm.optional { "optional" } else { "required" }
                ),
            ),
            Some(nm) if nm.wire != om.wire => push(
                Level::Patch,
                format!(
                    "{member} {name}.{m}: serde attributes changed: {} -> {}",
                    om.wire, nm.wire
                ),
            ),
            _ => {}
        }
    }
    for (m, nm) in n
        .members
        .iter()
        .filter(|(m, _)| !o.members.contains_key(*m))
    {
        let (level, how) = match (o.kind, o.non_exhaustive, nm.optional) {
            ("enum", true, _) => (Level::Minor, "added"),
            ("enum", false, _) => (Level::Major, "added to an exhaustive enum"),
            (_, true, true) => (Level::Minor, "added (optional)"),
            (_, _, false) => (Level::Major, "added (required)"),
            (_, false, true) => (Level::Major, "added to an exhaustive struct"),
        };
        push(level, format!("{member} {name}.{m} {how}"));
    }
}

#[derive(Default)]
struct Surface {
    /// `types::Name` (or `Name` at the top level) → shape.
    types: BTreeMap<String, TypeShape>,
    /// `Type::method` → signature.
    fns: BTreeMap<String, syn::Signature>,
    /// Re-exports, trait impls, modules, aliases and constants, as docless text.
    other: BTreeSet<String>,
}

struct TypeShape {
    kind: &'static str,
    non_exhaustive: bool,
    derives: BTreeSet<String>,
    members: BTreeMap<String, Member>,
}

struct Member {
    ty: String,
    optional: bool,
    /// `#[serde(...)]` attributes (wire names, defaults).
    wire: String,
}

impl Surface {
    fn of(file: &syn::File) -> Surface {
        let mut s = Surface::default();
        s.items("", &file.items);
        s
    }

    fn items(&mut self, prefix: &str, items: &[syn::Item]) {
        use syn::{Item, Visibility};
        let public = |v: &Visibility| matches!(v, Visibility::Public(_));
        for item in items {
            match item {
                Item::Struct(st) if public(&st.vis) => {
                    let members = st
                        .fields
                        .iter()
                        .enumerate()
                        .filter(|(_, f)| public(&f.vis))
                        .map(|(i, f)| {
                            let name = f
                                .ident
                                .as_ref()
                                .map_or_else(|| i.to_string(), ToString::to_string);
                            (name, member(f))
                        })
                        .collect();
                    self.types.insert(
                        item_name(prefix, &st.ident),
                        shape("struct", &st.attrs, members),
                    );
                }
                Item::Enum(en) if public(&en.vis) => {
                    let members = en
                        .variants
                        .iter()
                        .map(|v| {
                            let fields = v.fields.to_token_stream().to_string();
                            (
                                v.ident.to_string(),
                                Member {
                                    ty: fields,
                                    optional: true,
                                    wire: serde_attrs(&v.attrs),
                                },
                            )
                        })
                        .collect();
                    self.types.insert(
                        item_name(prefix, &en.ident),
                        shape("enum", &en.attrs, members),
                    );
                }
                Item::Mod(m) if public(&m.vis) => {
                    if let Some((_, inner)) = &m.content {
                        self.items(&format!("{prefix}{}::", m.ident), inner);
                    }
                }
                Item::Impl(im) => {
                    let self_ty = docless(&im.self_ty);
                    match &im.trait_ {
                        None => {
                            for f in &im.items {
                                if let syn::ImplItem::Fn(f) = f
                                    && public(&f.vis)
                                {
                                    let key =
                                        format!("{}::{}", item_name(prefix, &self_ty), f.sig.ident);
                                    self.fns.insert(key, f.sig.clone());
                                }
                            }
                        }
                        Some((_, path, _)) => {
                            self.other
                                .insert(format!("impl {} for {prefix}{self_ty}", docless(path)));
                        }
                    }
                }
                Item::Use(u) if public(&u.vis) => {
                    self.other.insert(format!("{prefix}{}", docless(&u.tree)));
                }
                Item::Type(t) if public(&t.vis) => {
                    self.other
                        .insert(format!("type {prefix}{} = {}", t.ident, docless(&t.ty)));
                }
                Item::Const(c) if public(&c.vis) => {
                    self.other
                        .insert(format!("const {prefix}{}: {}", c.ident, docless(&c.ty)));
                }
                _ => {}
            }
        }
    }
}

/// Items of progenitor's `types` module go by their own name (`types::X` → `X`).
fn item_name(prefix: &str, name: &impl fmt::Display) -> String {
    let full = format!("{prefix}{name}");
    full.strip_prefix("types::").unwrap_or(&full).to_owned()
}

fn shape(
    kind: &'static str,
    attrs: &[syn::Attribute],
    members: BTreeMap<String, Member>,
) -> TypeShape {
    let mut derives = BTreeSet::new();
    for a in attrs.iter().filter(|a| a.path().is_ident("derive")) {
        let _ = a.parse_nested_meta(|m| {
            let path = docless(&m.path);
            derives.insert(path.trim_start_matches("::").replace(' ', ""));
            Ok(())
        });
    }
    TypeShape {
        kind,
        non_exhaustive: attrs.iter().any(|a| a.path().is_ident("non_exhaustive")),
        derives,
        members,
    }
}

/// A property is optional when a caller may leave it out: `Option<_>` or a serde default.
fn member(f: &syn::Field) -> Member {
    let wire = serde_attrs(&f.attrs);
    let is_option = matches!(&f.ty, syn::Type::Path(p)
        if p.path.segments.last().is_some_and(|s| s.ident == "Option"));
    let serde_default = f
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("serde"))
        .any(|a| {
            let mut found = false;
            let _ = a.parse_nested_meta(|m| {
                found |= m.path.is_ident("default");
                if m.input.peek(syn::Token![=]) {
                    let _: syn::Expr = m.value()?.parse()?;
                }
                Ok(())
            });
            found
        });
    Member {
        ty: docless(&f.ty),
        optional: is_option || serde_default,
        wire,
    }
}

fn serde_attrs(attrs: &[syn::Attribute]) -> String {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("serde"))
        .map(docless)
        .collect::<Vec<_>>()
        .join(" ")
}

fn output(r: &syn::ReturnType) -> String {
    match r {
        syn::ReturnType::Default => "()".to_owned(),
        syn::ReturnType::Type(_, ty) => docless(ty),
    }
}

/// Token text as a reader writes it: `Option<String>`, not `:: std :: option :: Option < … >`.
fn show(tokens: &str) -> String {
    let mut s = tokens
        .replace(" :: ", "::")
        .replace(":: ", "::")
        .replace(" < ", "<")
        .replace(" <", "<")
        .replace("< ", "<")
        .replace(" >", ">")
        .replace(" ,", ",")
        .replace("& ", "&")
        .replace(",>", ">");
    for std_path in [
        "::std::option::",
        "::std::string::",
        "::std::vec::",
        "types::",
    ] {
        s = s.replace(std_path, "");
    }
    s.trim_start_matches("::").to_owned()
}

/// Tokens as a compact string (token text is independent of formatting and doc comments are
/// never inside the nodes this is called on, except function signatures, which carry none).
fn docless(t: &impl ToTokens) -> String {
    t.to_token_stream().to_string()
}

/// The whole file without doc comments, as text (for telling bodies from docs).
fn strip(file: &syn::File) -> String {
    crate::doc_comments::strip_docs(file.to_token_stream()).to_string()
}
