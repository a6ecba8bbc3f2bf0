//! Guards the generated client: any change to the spec, the adjustments or progenitor that
//! alters the generated Rust shows up here as a snapshot diff to review (`cargo insta review`).

const GENERATED: &str = include_str!(concat!(env!("OUT_DIR"), "/generated.rs"));

#[test]
fn generated_source() {
    insta::assert_snapshot!("generated_source", GENERATED);
}

/// The public items and signatures only, so a reviewer sees the API change at a glance.
#[test]
fn generated_public_surface() {
    let file = syn::parse_file(GENERATED).expect("generated code parses");
    let surface = syn::File {
        shebang: None,
        attrs: Vec::new(),
        items: public_items(file.items),
    };
    insta::assert_snapshot!("generated_public_surface", prettyplease::unparse(&surface));
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
