//! `/webhooks`: an integration client's webhooks, their secrets and their
//! deliveries, and their links.

use utoipa::openapi::schema::{ArrayBuilder, Object, ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::{OpenApi, ToSchema};

use super::links::{self, Link, first, next_page, same};
use crate::webhooks::handlers::{self, DeliveryDto, WebhookDto};

#[derive(OpenApi)]
#[openapi(
    paths(
        handlers::list,
        handlers::create,
        handlers::get,
        handlers::update,
        handlers::delete,
        handlers::rotate,
        handlers::deliveries,
        handlers::delivery,
        handlers::redeliver,
    ),
    components(schemas(
        WebhookDto,
        handlers::WithSecret,
        handlers::NewWebhookBody,
        handlers::PatchBody,
        DeliveryDto,
        crate::webhooks::repo::DeliveredChange,
        WebhookList,
        DeliveryPage,
    ))
)]
struct Api;

/// The piece, with its links.
pub fn api() -> utoipa::openapi::OpenApi {
    let mut doc = Api::openapi();
    links::add(&mut doc, LINKS);
    doc
}

const CREATED: &[(&str, &str)] = &[("id", "$response.body#/webhook/id")];
/// A delivery's webhook and the delivery.
const DELIVERY: &[(&str, &str)] = &[
    ("id", "$response.body#/webhook_id"),
    ("delivery_id", "$response.body#/id"),
];
const FIRST_DELIVERY: &[(&str, &str)] = &[
    ("id", "$request.path.id"),
    ("delivery_id", "$response.body#/items/0/id"),
];

const fn created(name: &'static str, to: &'static str) -> Link {
    Link {
        parameters: CREATED,
        ..same("createWebhook", "201", name, to)
    }
}

const LINKS: &[Link] = &[
    created("get", "getWebhook"),
    created("update", "updateWebhook"),
    created("rotate", "rotateWebhookSecret"),
    created("deliveries", "listWebhookDeliveries"),
    created("delete", "deleteWebhook"),
    first("listWebhooks", "get", "getWebhook"),
    first("listWebhooks", "deliveries", "listWebhookDeliveries"),
    same("getWebhook", "200", "update", "updateWebhook"),
    same("getWebhook", "200", "rotate", "rotateWebhookSecret"),
    same("getWebhook", "200", "deliveries", "listWebhookDeliveries"),
    same("getWebhook", "200", "delete", "deleteWebhook"),
    next_page(
        "listWebhookDeliveries",
        &[
            ("id", "$request.path.id"),
            ("cursor", "$response.body#/next_cursor"),
            ("status", "$request.query.status"),
        ],
    ),
    Link {
        from: "listWebhookDeliveries",
        status: "200",
        name: "get",
        to: "getWebhookDelivery",
        parameters: FIRST_DELIVERY,
        description: "The page's first delivery.",
    },
    Link {
        from: "listWebhookDeliveries",
        status: "200",
        name: "redeliver",
        to: "redeliverWebhookDelivery",
        parameters: FIRST_DELIVERY,
        description: "Send the page's first delivery again.",
    },
    Link {
        from: "getWebhookDelivery",
        status: "200",
        name: "redeliver",
        to: "redeliverWebhookDelivery",
        parameters: DELIVERY,
        description: "Send the same delivery again.",
    },
];

/// Record types of the change feed, at least one.
fn entity_list() -> ArrayBuilder {
    ArrayBuilder::new()
        .items(crate::changes::feed_entities())
        .min_items(Some(1))
}

/// A webhook's record types, as answered: each once.
pub fn entities() -> utoipa::openapi::Array {
    entity_list()
        .unique_items(true)
        .description(Some("The record types sent, in the change feed's order."))
        .build()
}

/// The record types of a new webhook.
pub fn entities_given() -> utoipa::openapi::Array {
    entity_list()
        .description(Some(
            "The record types wanted: at least one, each a type of the change feed's (one given twice counts once).",
        ))
        .build()
}

/// New record types of a webhook, or `null` to keep them.
pub fn entities_patched() -> Schema {
    Schema::OneOf(
        OneOfBuilder::new()
            .item(entities_given())
            .item(ObjectBuilder::new().schema_type(Type::Null))
            .description(Some(
                "New record types, at least one; absent or `null` keeps them.",
            ))
            .build(),
    )
}

/// The states of a delivery.
fn delivery_states() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(crate::webhooks::repo::STATUSES))
}

/// A delivery's state.
pub fn status() -> Object {
    delivery_states()
        .description(Some(
            "`pending`, `delivered` or `failed` (retried for the configured time, a day by default, without a 2xx answer).",
        ))
        .build()
}

/// The state a list of deliveries is filtered by.
pub fn statuses() -> Object {
    delivery_states().build()
}

/// The client's webhooks.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct WebhookList {
    items: Vec<WebhookDto>,
}

/// A page of a webhook's deliveries, newest change first.
#[derive(ToSchema)]
#[schema(as = WebhookDeliveryPage)]
#[allow(dead_code)]
pub struct DeliveryPage {
    items: Vec<DeliveryDto>,
    /// The cursor of the next page; `null` on the last one.
    #[schema(required = true)]
    next_cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use crate::webhooks::target::MAX_URL_LEN;

    /// The limits written as literals in the attributes are the code's.
    #[test]
    fn the_limits_are_the_codes() {
        let doc = super::super::value();
        let schemas = &doc["components"]["schemas"];
        for schema in ["NewWebhook", "WebhookPatch", "Webhook"] {
            assert_eq!(
                schemas[schema]["properties"]["url"]["maxLength"], MAX_URL_LEN,
                "{schema}"
            );
        }
        let create = &doc["paths"]["/api/v1/webhooks"]["post"]["description"];
        assert!(
            create.as_str().unwrap_or_default().contains(&format!(
                "At most {} webhooks",
                super::handlers::MAX_PER_CLIENT
            )),
            "{create}"
        );
        let entities = &schemas["NewWebhook"]["properties"]["entities"]["items"]["enum"];
        assert_eq!(
            entities.as_array().map(Vec::len),
            Some(crate::audit::Entity::feed().len())
        );
    }
}
