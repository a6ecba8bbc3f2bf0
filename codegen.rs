// How spec/openapi.json becomes Rust: the one definition of the generator settings and of the
// constructors generated for request bodies. `build.rs` and the xtask (`xtask/src/surface.rs`)
// both `include!` this file, so the xtask's "surface changed" signal and its semver verdict see
// exactly what the build compiles (tests/generated_surface.rs and xtask/tests/codegen.rs fail if
// the two ever disagree). Dependencies: progenitor, openapiv3, syn (full), quote, proc-macro2.

/// Generate the client for `spec`: progenitor with the crate's settings, then `new()` and
/// `with_<field>()` for every request-body type. progenitor's panics (e.g. `default` beside `204`)
/// come back as one-line errors.
pub fn generate_client(spec: &openapiv3::OpenAPI) -> Result<syn::File, String> {
    let run = || -> Result<syn::File, String> {
        let tokens = progenitor::Generator::new(&generator_settings(spec)?)
            .generate_tokens(spec)
            .map_err(|e| format!("progenitor cannot generate a client: {e}"))?;
        let mut file: syn::File = syn::parse2(tokens)
            .map_err(|e| format!("progenitor produced code that does not parse: {e}"))?;
        add_input_constructors(&mut file, &input_types(spec))?;
        hide_client_constructors(&mut file)?;
        file.items.push(operations_table(spec)?);
        Ok(file)
    };
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let out = std::panic::catch_unwind(run);
    std::panic::set_hook(hook);
    out.unwrap_or_else(|panic| {
        let why = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("no message");
        Err(format!(
            "progenitor panicked: {}",
            why.lines().next().unwrap_or("")
        ))
    })
}

/// `mod operations`: one row per operation of the spec (id, method, path template, path
/// parameters) and one constant per operation id, so that the hand-written code names operations
/// through the compiler (a misspelt id does not build) and no path is written down twice.
fn operations_table(spec: &openapiv3::OpenAPI) -> Result<syn::Item, String> {
    let mut consts = Vec::new();
    let mut rows = Vec::new();
    for (path, method, op) in spec.operations() {
        let id = op
            .operation_id
            .as_deref()
            .ok_or_else(|| format!("{} {path} has no operationId", method.to_uppercase()))?;
        let name = quote::format_ident!("{}", id.to_uppercase());
        let method = method.to_uppercase();
        let params: Vec<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .collect();
        let doc = format!(" `{method} {path}`");
        consts.push(quote::quote! {
            #[doc = #doc]
            pub const #name: &str = #id;
        });
        rows.push(quote::quote! {
            Operation { id: #name, method: #method, path: #path, params: &[#(#params),*] }
        });
    }
    let tokens = quote::quote! {
        /// Every operation of the spec, generated from it (codegen.rs): the one list that path
        /// checks, call spans and the stand-in's routes read.
        pub mod operations {
            /// One operation: its id, HTTP method, path template and path parameters in order.
            #[non_exhaustive]
            #[derive(Debug, Clone, Copy)]
            pub struct Operation {
                /// The spec's `operationId` (the generated method's name).
                pub id: &'static str,
                /// Upper case, as sent: `GET`, `POST`, …
                pub method: &'static str,
                /// The path template below the base URL, as in the spec: `/users/{user-id}`.
                pub path: &'static str,
                /// The template's parameters, in path order.
                pub params: &'static [&'static str],
            }
            #(#consts)*
            /// All of them, in the spec's order.
            pub const OPERATIONS: &[Operation] = &[#(#rows),*];
            /// The row of `id`, if the spec has it.
            pub fn find(id: &str) -> Option<&'static Operation> {
                OPERATIONS.iter().find(|op| op.id == id)
            }
        }
    };
    syn::parse2(tokens).map_err(|e| format!("internal: the operations table does not parse: {e}"))
}

/// progenitor's settings. Positional methods (the `GraphClient` wrapper calls them), hooks
/// expected (auth, request ids and retries live in src/hooks.rs).
///
/// Every component type is `#[non_exhaustive]` (typify's own declarative patch), so a property,
/// variant or type Microsoft adds is a minor change: code outside the crate cannot name every
/// field in a struct literal or match every variant, and builds request bodies with the
/// generated `new()` / `with_<field>()` instead.
fn generator_settings(
    spec: &openapiv3::OpenAPI,
) -> Result<progenitor::GenerationSettings, String> {
    let inner_type = "crate::hooks::HookState"
        .parse::<proc_macro2::TokenStream>()
        .map_err(|e| format!("bad inner type path: {e}"))?;
    let mut settings = progenitor::GenerationSettings::new();
    settings
        .with_interface(progenitor::InterfaceStyle::Positional)
        .with_tag(progenitor::TagStyle::Merged)
        .with_hooks(progenitor::HooksMode::Expected)
        .with_inner_type(inner_type);
    let inputs = input_types(spec);
    for name in spec.components.iter().flat_map(|c| c.schemas.keys()) {
        let mut patch = progenitor::TypePatch::default();
        patch.with_attr("#[non_exhaustive]");
        if inputs.contains(name) {
            // Callers compare what they built with what they meant to send.
            patch.with_derive("PartialEq").with_derive("Eq");
        }
        settings.with_patch(name, &patch);
    }
    Ok(settings)
}

/// Component schemas a caller builds: request bodies and everything they reference.
fn input_types(spec: &openapiv3::OpenAPI) -> std::collections::BTreeSet<String> {
    fn refs(value: &serde_json::Value, out: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, v) in map {
                    match (key.as_str(), v.as_str()) {
                        ("$ref", Some(r)) => out.extend(
                            r.strip_prefix("#/components/schemas/").map(str::to_owned),
                        ),
                        _ => refs(v, out),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut todo = Vec::new();
    for (_, _, op) in spec.operations() {
        if let Some(body) = &op.request_body {
            let body = match body {
                openapiv3::ReferenceOr::Item(body) => Some(body),
                openapiv3::ReferenceOr::Reference { reference } => spec
                    .components
                    .as_ref()
                    .and_then(|c| {
                        c.request_bodies
                            .get(reference.trim_start_matches("#/components/requestBodies/"))
                    })
                    .and_then(|b| b.as_item()),
            };
            if let Some(body) = body {
                refs(&serde_json::to_value(body).unwrap_or_default(), &mut todo);
            }
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    while let Some(name) = todo.pop() {
        if let Some(schema) = spec.components.as_ref().and_then(|c| c.schemas.get(&name))
            && seen.insert(name)
        {
            refs(&serde_json::to_value(schema).unwrap_or_default(), &mut todo);
        }
    }
    seen
}

/// `#[doc(hidden)]` on `Client::new` and `Client::new_with_client`: they take the crate's
/// private hook state, so no user can call them; the client comes from
/// `GraphClient::generated()`.
fn hide_client_constructors(file: &mut syn::File) -> Result<(), String> {
    let mut hidden = 0;
    for item in &mut file.items {
        let syn::Item::Impl(block) = item else {
            continue;
        };
        let is_client = matches!(&*block.self_ty, syn::Type::Path(p) if p.path.is_ident("Client"));
        if !is_client || block.trait_.is_some() {
            continue;
        }
        for item in &mut block.items {
            if let syn::ImplItem::Fn(f) = item
                && matches!(f.sig.ident.to_string().as_str(), "new" | "new_with_client")
            {
                f.attrs.push(syn::parse_quote!(#[doc(hidden)]));
                hidden += 1;
            }
        }
    }
    if hidden == 0 {
        return Err("progenitor produced no `Client::new` to hide".into());
    }
    Ok(())
}

/// For each request-body struct in `mod types`: `new()` (taking the required properties) and
/// `with_<field>()` for each optional one, generated from the struct itself so that a new
/// property gets its setter with no hand edit.
fn add_input_constructors(
    file: &mut syn::File,
    inputs: &std::collections::BTreeSet<String>,
) -> Result<(), String> {
    let types = file
        .items
        .iter_mut()
        .find_map(|item| match item {
            syn::Item::Mod(m) if m.ident == "types" => m.content.as_mut().map(|(_, items)| items),
            _ => None,
        })
        .ok_or("progenitor produced no `types` module")?;
    // Each impl goes right after its struct, where a reader of generated.rs looks for it.
    let mut at = 0;
    while at < types.len() {
        if let syn::Item::Struct(s) = &types[at]
            && inputs.contains(&s.ident.to_string())
        {
            let constructors = input_constructors(s)?;
            types.insert(at + 1, constructors);
            at += 1;
        }
        at += 1;
    }
    Ok(())
}

fn input_constructors(s: &syn::ItemStruct) -> Result<syn::Item, String> {
    let name = &s.ident;
    let mut required = Vec::new();
    let mut initialisers = Vec::new();
    let mut setters = Vec::new();
    for field in &s.fields {
        let ident = field
            .ident
            .as_ref()
            .ok_or_else(|| format!("request body type {name} is not a struct with named fields"))?;
        let ty = &field.ty;
        let docs: Vec<&syn::Attribute> = field
            .attrs
            .iter()
            .filter(|a| a.path().is_ident("doc"))
            .collect();
        let wire = serde_value(field, "rename").unwrap_or_else(|| ident.to_string());
        let summary = format!(" Sets `{wire}`.");
        let setter = quote::format_ident!("with_{}", ident.to_string().trim_start_matches("r#"));
        if let Some(inner) = option_inner(ty) {
            initialisers.push(quote::quote! { #ident: ::std::option::Option::None });
            setters.push(quote::quote! {
                #[doc = #summary]
                #(#docs)*
                #[must_use]
                pub fn #setter(mut self, value: impl ::std::convert::Into<#inner>) -> Self {
                    self.#ident = ::std::option::Option::Some(value.into());
                    self
                }
            });
        } else if let Some(default) = serde_default(field) {
            initialisers.push(quote::quote! { #ident: #default });
            setters.push(quote::quote! {
                #[doc = #summary]
                #(#docs)*
                #[must_use]
                pub fn #setter(mut self, value: impl ::std::convert::Into<#ty>) -> Self {
                    self.#ident = value.into();
                    self
                }
            });
        } else {
            initialisers.push(quote::quote! { #ident: #ident.into() });
            required.push(quote::quote! { #ident: impl ::std::convert::Into<#ty> });
        }
    }
    let new_doc = if required.is_empty() {
        format!(" An empty `{name}` (no property set); add properties with the `with_…` methods.")
    } else {
        format!(" A `{name}` with its required properties; add optional ones with the `with_…` methods.")
    };
    let allow = (required.len() > 7).then(|| quote::quote! { #[allow(clippy::too_many_arguments)] });
    let tokens = quote::quote! {
        impl #name {
            #[doc = #new_doc]
            #allow
            #[must_use]
            pub fn new(#(#required),*) -> Self {
                Self { #(#initialisers),* }
            }
            #(#setters)*
        }
    };
    syn::parse2(tokens).map_err(|e| format!("internal: constructors for {name} do not parse: {e}"))
}

/// `T` when `ty` is `Option<T>` (any path spelling progenitor uses).
fn option_inner(ty: &syn::Type) -> Option<&syn::Type> {
    let syn::Type::Path(p) = ty else { return None };
    let last = p.path.segments.last()?;
    if last.ident != "Option" {
        return None;
    }
    match &last.arguments {
        syn::PathArguments::AngleBracketed(args) => match args.args.first()? {
            syn::GenericArgument::Type(t) => Some(t),
            _ => None,
        },
        _ => None,
    }
}

/// The value a missing property takes when serde has a default for it.
fn serde_default(field: &syn::Field) -> Option<proc_macro2::TokenStream> {
    let mut found = None;
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let _ = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("default") {
                found = Some(match meta.value() {
                    Ok(v) => {
                        let path: syn::LitStr = v.parse()?;
                        let path: syn::ExprPath = path.parse()?;
                        quote::quote! { #path() }
                    }
                    Err(_) => quote::quote! { ::std::default::Default::default() },
                });
            } else if meta.input.peek(syn::Token![=]) {
                let _: syn::Expr = meta.value()?.parse()?;
            }
            Ok(())
        });
    }
    found
}

/// A `#[serde(key = "…")]` string of a field.
fn serde_value(field: &syn::Field, key: &str) -> Option<String> {
    let mut found = None;
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let _ = attr.parse_nested_meta(|meta| {
            if meta.input.peek(syn::Token![=]) {
                let value: syn::LitStr = meta.value()?.parse()?;
                if meta.path.is_ident(key) {
                    found = Some(value.value());
                }
            }
            Ok(())
        });
    }
    found
}
