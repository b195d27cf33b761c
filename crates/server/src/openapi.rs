//! The OpenAPI 3.1 document served at `GET /openapi.json`, generated from the code: each route
//! is registered with its `#[utoipa::path]` (see [`crate::app::router`]), each request and
//! response body is the Rust type the handler parses or renders, and [`finish`] adds what every
//! route shares (the error bodies and the authentication schemes) instead of repeating it.

use axum::body::Bytes;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Extension;
use serde::Serialize;
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder};
use utoipa::openapi::security::{SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref};
use utoipa::ToSchema;

/// Every successful Stytch response: the body's own fields, plus `status_code` and
/// `request_id`. [`crate::stytch::reply`] renders exactly this type.
#[derive(Serialize, ToSchema)]
pub struct Envelope<T> {
    #[serde(flatten)]
    pub body: T,
    /// The HTTP status, repeated in the body as Stytch does.
    pub status_code: u16,
    /// This request's id, also sent as the `request-id` header.
    pub request_id: String,
}

/// The document's fixed parts; the paths come from the router.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Latchkey",
        description = "A self-hosted identity server that speaks the Stytch API \
                       (`/v1/…`, HTTP Basic with the project id and secret) and serves Stack \
                       Auth's contact-channels API (`/api/v1/…`) over the same users. \
                       Deviations from Stytch are listed in docs/compatibility.md.",
        license(name = "AGPL-3.0-or-later", identifier = "AGPL-3.0-or-later")
    ),
    components(schemas(crate::error::ErrorBody, crate::stack::StackErrorBody))
)]
pub struct ApiDoc;

const STYTCH_AUTH: &str = "project_basic";
const STACK_PROJECT: &str = "stack_project_id";
const STACK_ACCESS_TYPE: &str = "stack_access_type";
const STACK_SERVER_KEY: &str = "stack_secret_server_key";
const STACK_CLIENT_KEY: &str = "stack_publishable_client_key";
const STACK_ACCESS_TOKEN: &str = "stack_access_token";

/// Adds to `api`, generated from the routes, what they all share: the authentication schemes,
/// which of them each route takes, and the error bodies (Stytch's on `/v1`, Stack Auth's on
/// `/api/v1`) for every 4XX and 5XX answer.
pub fn finish(mut api: OpenApi) -> OpenApi {
    let components = api.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        STYTCH_AUTH,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Basic)
                .description(Some(
                    "The project id as the user name and the project secret as the password.",
                ))
                .build(),
        ),
    );
    for (name, header_name, description) in [
        (STACK_PROJECT, "x-stack-project-id", "The Stack project id."),
        (
            STACK_ACCESS_TYPE,
            "x-stack-access-type",
            "`server` (with the secret server key) or `client` (with the publishable client \
             key and the user's access token).",
        ),
        (
            STACK_SERVER_KEY,
            "x-stack-secret-server-key",
            "The project's secret server key.",
        ),
        (
            STACK_CLIENT_KEY,
            "x-stack-publishable-client-key",
            "The project's publishable client key.",
        ),
        (
            STACK_ACCESS_TOKEN,
            "x-stack-access-token",
            "The signed-in user's access token.",
        ),
    ] {
        components.add_security_scheme(
            name,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                header_name,
                description,
            ))),
        );
    }

    for (path, item) in api.paths.paths.iter_mut() {
        let stack = path.starts_with("/api/v1/");
        let (schema, security) = if path.starts_with("/v1/") {
            (
                "ErrorBody",
                vec![SecurityRequirement::new(STYTCH_AUTH, Vec::<String>::new())],
            )
        } else if stack {
            let none = Vec::<String>::new;
            (
                "StackErrorBody",
                vec![
                    SecurityRequirement::new(STACK_PROJECT, none())
                        .add(STACK_ACCESS_TYPE, none())
                        .add(STACK_SERVER_KEY, none()),
                    SecurityRequirement::new(STACK_PROJECT, none())
                        .add(STACK_ACCESS_TYPE, none())
                        .add(STACK_CLIENT_KEY, none())
                        .add(STACK_ACCESS_TOKEN, none()),
                ],
            )
        } else {
            continue;
        };
        for operation in operations(item) {
            // A route that says `security(())` (the public JWKS) keeps what it says.
            if operation.security.is_none() {
                operation.security = Some(security.clone());
            }
            for (status, description) in [
                ("4XX", "The request was refused; the body says why."),
                ("5XX", "The server failed; the body says so."),
            ] {
                let mut response = ResponseBuilder::new().description(description).content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name(schema)))
                        .build(),
                );
                if stack {
                    // Stack Auth answers errors without a known code in plain text.
                    response = response.content(
                        "text/plain",
                        ContentBuilder::new()
                            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                            .build(),
                    );
                }
                let response = response.build();
                operation
                    .responses
                    .responses
                    .insert(status.to_owned(), response.into());
            }
        }
    }
    api
}

fn operations(item: &mut utoipa::openapi::PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        item.get.as_mut(),
        item.put.as_mut(),
        item.post.as_mut(),
        item.delete.as_mut(),
        item.patch.as_mut(),
    ]
    .into_iter()
    .flatten()
}

/// The rendered document, built once with the router and handed to [`serve`] as an extension.
#[derive(Clone)]
pub struct Document(pub Bytes);

/// This server's OpenAPI 3.1 document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "operations",
    operation_id = "openapi",
    responses((status = 200, description = "The OpenAPI 3.1 document of this server.",
               content_type = "application/json", body = Object))
)]
pub async fn serve(Extension(document): Extension<Document>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], document.0)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::path::{Path, PathBuf};

    fn rust_files(dir: &Path, into: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                rust_files(&path, into);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                into.push(path);
            }
        }
    }

    /// The document names each schema after its Rust type, without the module: two types of
    /// one name (say each module's `CreateRequest`) would silently share one entry, and one
    /// route would be described with the other's body.
    #[test]
    fn schema_type_names_are_unique() {
        let server = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        rust_files(&server.join("src"), &mut files);
        rust_files(&server.join("../core/src"), &mut files);
        let mut seen: HashMap<String, PathBuf> = HashMap::new();
        let mut count = 0;
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            let mut derives_schema = false;
            for line in text.lines().map(str::trim) {
                if line.starts_with("#[derive(") || line.starts_with("#[cfg_attr(") {
                    derives_schema |= line.contains("ToSchema");
                    continue;
                }
                if line.starts_with("#[") || line.starts_with("///") {
                    continue;
                }
                if derives_schema {
                    let name = line
                        .split_whitespace()
                        .skip_while(|word| *word != "struct" && *word != "enum")
                        .nth(1)
                        .map(|word| {
                            word.split(['<', '{', '(', ';'])
                                .next()
                                .unwrap_or_default()
                                .to_owned()
                        });
                    if let Some(name) = name {
                        count += 1;
                        let previous = seen.insert(name.clone(), file.clone());
                        assert!(
                            previous.is_none(),
                            "two schema types named {name}: {previous:?} and {file:?}"
                        );
                    }
                }
                derives_schema = false;
            }
        }
        assert!(count > 40, "found only {count} schema types");
    }
}
