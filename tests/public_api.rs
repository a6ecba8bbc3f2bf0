//! The hand-written public API as a snapshot (issue 25): every `pub` item of `src/` with its
//! signature, without bodies or docs, file by file. A change to what users can name or call
//! shows up as a snapshot diff to review (`cargo insta review`) and goes in the CHANGELOG; once a
//! version is tagged, `cargo-semver-checks` against it takes over (ARCHITECTURE.md, decisions).
//!
//! `pub` inside the crate's `pub(crate)` modules counts: the crate root re-exports those items
//! (the snapshot of `src/lib.rs` lists the re-exports). Test modules are left out, and so are
//! items a `macro_rules!` makes (the id newtypes of `api/ids.rs`: tests/ids_newtypes.rs holds
//! their contract) and the generated types (tests/generated_surface.rs).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use syn::{ImplItem, Item, TraitItem, Visibility};

#[test]
fn hand_written_public_api() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    files.sort();
    let parsed: Vec<(PathBuf, syn::File)> = files
        .into_iter()
        .map(|file| {
            let source = std::fs::read_to_string(&file).unwrap();
            let parsed = syn::parse_file(&source)
                .unwrap_or_else(|e| panic!("{} does not parse: {e}", file.display()));
            (file, parsed)
        })
        .collect();
    let public_types: HashSet<String> = parsed
        .iter()
        .flat_map(|(_, f)| f.items.iter().filter_map(public_type_name))
        .collect();
    let mut surface = String::new();
    for (file, parsed) in parsed {
        let items = public_items(parsed.items, &public_types);
        if items.is_empty() {
            continue;
        }
        let name = file.strip_prefix(root).unwrap().display().to_string();
        let text = prettyplease::unparse(&syn::File {
            shebang: None,
            attrs: Vec::new(),
            items,
        });
        surface.push_str(&format!("// {}\n{text}\n", name.replace('\\', "/")));
    }
    insta::assert_snapshot!("hand_written_public_api", surface);
}

/// Every `.rs` file under `dir`, tests' own files (`tests/`, `*_tests.rs`) left out.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            if name != "tests" {
                rust_files(&path, out);
            }
        } else if name.ends_with(".rs") && !name.ends_with("_tests.rs") {
            out.push(path);
        }
    }
}

/// The name of a public struct, enum or trait.
fn public_type_name(item: &Item) -> Option<String> {
    match item {
        Item::Struct(s) if public(&s.vis) => Some(s.ident.to_string()),
        Item::Enum(e) if public(&e.vis) => Some(e.ident.to_string()),
        Item::Trait(t) if public(&t.vis) => Some(t.ident.to_string()),
        _ => None,
    }
}

/// The last segment of an impl's self type (`Call<'a, T>` → `Call`).
fn self_type_name(ty: &syn::Type) -> Option<String> {
    match ty {
        syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    }
}

/// Private fields are not the surface, but whether there are any is (a struct literal needs all
/// of them): they become one `_private: ()`.
fn hide_private_fields(fields: &mut syn::Fields) {
    let private = |f: &syn::Field| !public(&f.vis);
    let (syn::Fields::Named(syn::FieldsNamed { named: list, .. })
    | syn::Fields::Unnamed(syn::FieldsUnnamed { unnamed: list, .. })) = fields
    else {
        return;
    };
    let had_private = list.iter().any(private);
    let mut kept: syn::punctuated::Punctuated<syn::Field, syn::Token![,]> = list
        .iter()
        .filter(|f| !private(f))
        .cloned()
        .map(|mut f| {
            f.attrs.clear();
            f
        })
        .collect();
    if had_private {
        let named = matches!(fields, syn::Fields::Named(_));
        kept.push(if named {
            syn::parse_quote!(_private: ())
        } else {
            syn::Field {
                attrs: Vec::new(),
                vis: Visibility::Inherited,
                mutability: syn::FieldMutability::None,
                ident: None,
                colon_token: None,
                ty: syn::parse_quote!(()),
            }
        });
    }
    match fields {
        syn::Fields::Named(n) => n.named = kept,
        syn::Fields::Unnamed(u) => u.unnamed = kept,
        syn::Fields::Unit => {}
    }
}

fn public(vis: &Visibility) -> bool {
    matches!(vis, Visibility::Public(_))
}

/// `#[cfg(test)]` items are not the API.
fn is_test_only(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg") && a.parse_args::<syn::Ident>().is_ok_and(|i| i == "test")
    })
}

/// What decides what callers can do with an item: derives, `#[non_exhaustive]`, `#[must_use]`
/// and feature gates.
fn keep_attrs(attrs: &mut Vec<syn::Attribute>) {
    attrs.retain(|a| {
        let p = a.path();
        p.is_ident("derive") || p.is_ident("non_exhaustive") || p.is_ident("cfg")
    });
}

fn public_items(items: Vec<Item>, public_types: &HashSet<String>) -> Vec<Item> {
    items
        .into_iter()
        .filter_map(|item| {
            let item = match item {
                Item::Struct(mut s) if public(&s.vis) => {
                    keep_attrs(&mut s.attrs);
                    hide_private_fields(&mut s.fields);
                    Item::Struct(s)
                }
                Item::Enum(mut e) if public(&e.vis) => {
                    keep_attrs(&mut e.attrs);
                    e.variants.iter_mut().for_each(|v| {
                        v.attrs.retain(|a| a.path().is_ident("non_exhaustive"));
                        v.fields.iter_mut().for_each(|f| f.attrs.clear());
                    });
                    Item::Enum(e)
                }
                Item::Fn(mut f) if public(&f.vis) => {
                    keep_attrs(&mut f.attrs);
                    f.block = syn::parse_quote!({});
                    Item::Fn(f)
                }
                Item::Const(mut c) if public(&c.vis) => {
                    c.attrs.clear();
                    Item::Const(c)
                }
                Item::Static(mut s) if public(&s.vis) => {
                    s.attrs.clear();
                    Item::Static(s)
                }
                Item::Type(mut t) if public(&t.vis) => {
                    t.attrs.clear();
                    Item::Type(t)
                }
                Item::Use(mut u) if public(&u.vis) => {
                    keep_attrs(&mut u.attrs);
                    Item::Use(u)
                }
                Item::Trait(mut t) if public(&t.vis) => {
                    t.attrs.clear();
                    for item in &mut t.items {
                        match item {
                            TraitItem::Fn(f) => {
                                f.attrs.clear();
                                f.default = None;
                                f.semi_token = Some(Default::default());
                            }
                            TraitItem::Type(t) => t.attrs.clear(),
                            TraitItem::Const(c) => c.attrs.clear(),
                            _ => {}
                        }
                    }
                    Item::Trait(t)
                }
                Item::Mod(mut m) if !is_test_only(&m.attrs) => {
                    // A module's own public items (inline modules); `mod x;` files come by walk.
                    let (brace, inner) = m.content.take()?;
                    let inner = public_items(inner, public_types);
                    if inner.is_empty() || !public(&m.vis) {
                        return None;
                    }
                    keep_attrs(&mut m.attrs);
                    m.content = Some((brace, inner));
                    Item::Mod(m)
                }
                // Impls of the public types only: a private type's are no one's business.
                Item::Impl(mut i)
                    if !is_test_only(&i.attrs)
                        && self_type_name(&i.self_ty)
                            .is_some_and(|n| public_types.contains(&n)) =>
                {
                    keep_attrs(&mut i.attrs);
                    let is_trait = i.trait_.is_some();
                    i.items.retain_mut(|item| match item {
                        ImplItem::Fn(f) if is_trait || public(&f.vis) => {
                            f.attrs.clear();
                            f.block = syn::parse_quote!({});
                            // A trait's methods are the trait's: the impl's header says enough.
                            !is_trait
                        }
                        ImplItem::Const(c) if public(&c.vis) => {
                            c.attrs.clear();
                            true
                        }
                        // `IntoFuture::Output` and the like are what callers get.
                        ImplItem::Type(t) => {
                            t.attrs.clear();
                            is_trait
                        }
                        _ => false,
                    });
                    if !is_trait && i.items.is_empty() {
                        return None;
                    }
                    Item::Impl(i)
                }
                _ => return None,
            };
            Some(item)
        })
        .collect()
}
