// The public items and signatures of the generated code, for the public-surface snapshot.
// Included by tests/generated_surface.rs and by the xtask (`spec update` rewrites the snapshot
// with it), so both see the same view. Dependencies: syn (full), prettyplease.

/// `source` (a generated.rs) reduced to its public items: no bodies, no docs; derives,
/// `#[non_exhaustive]` and serde attributes (the wire names) kept.
pub fn public_surface(source: &str) -> Result<String, String> {
    let file = syn::parse_file(source).map_err(|e| format!("generated code does not parse: {e}"))?;
    let surface = syn::File {
        shebang: None,
        attrs: Vec::new(),
        items: public_items(file.items),
    };
    Ok(prettyplease::unparse(&surface))
}

fn public_items(items: Vec<syn::Item>) -> Vec<syn::Item> {
    use syn::{Item, Visibility};
    let public = |vis: &Visibility| matches!(vis, Visibility::Public(_));
    items
        .into_iter()
        .filter_map(|item| match item {
            Item::Struct(mut s) if public(&s.vis) => {
                s.attrs.retain(is_derive);
                // serde attributes are the wire names: part of the surface.
                s.fields
                    .iter_mut()
                    .for_each(|f| f.attrs.retain(|a| a.path().is_ident("serde")));
                Some(Item::Struct(s))
            }
            Item::Enum(mut e) if public(&e.vis) => {
                e.attrs.retain(is_derive);
                e.variants.iter_mut().for_each(|v| v.attrs.clear());
                Some(Item::Enum(e))
            }
            Item::Use(mut u) if public(&u.vis) => {
                u.attrs.clear();
                Some(Item::Use(u))
            }
            Item::Mod(mut m) if public(&m.vis) => {
                m.attrs.clear();
                if let Some((brace, inner)) = m.content.take() {
                    m.content = Some((brace, public_items(inner)));
                }
                Some(Item::Mod(m))
            }
            Item::Impl(mut i) => {
                i.attrs.clear();
                let inherent = i.trait_.is_none();
                i.items = i
                    .items
                    .into_iter()
                    .filter_map(|item| match item {
                        syn::ImplItem::Fn(mut f) if inherent && public(&f.vis) => {
                            f.attrs.clear();
                            f.block = syn::parse_quote!({});
                            Some(syn::ImplItem::Fn(f))
                        }
                        _ => None,
                    })
                    .collect();
                Some(Item::Impl(i))
            }
            _ => None,
        })
        .collect()
}

/// Derives and `#[non_exhaustive]` decide what callers can do with a type: part of the surface.
fn is_derive(attr: &syn::Attribute) -> bool {
    attr.path().is_ident("derive") || attr.path().is_ident("non_exhaustive")
}
