//! `/reports/summary`: its query string and its answer.

use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{KnownFormat, Required};
use utoipa::{IntoParams, OpenApi};

use super::activities::{format, lang};
use crate::reports::{dto, handlers};

#[derive(OpenApi)]
#[openapi(
    paths(handlers::summary),
    components(schemas(
        dto::GroupBy,
        dto::StatusFilter,
        dto::Members,
        dto::Attendees,
        dto::Outcomes,
        dto::Households,
        dto::InformationAccess,
        dto::Indicators,
        dto::UnitRef,
        dto::ReportUnit,
        dto::Row,
        dto::WaitingVillage,
        dto::Unassigned,
        dto::Summary,
    ))
)]
pub struct Api;

/// The summary's query string, as `dto::SummaryParams::parse` reads it
/// (values trimmed; a parameter it does not know is a 422 naming it).
pub struct SummaryQuery;

fn param(name: &str, required: bool, description: &str, schema: ObjectBuilder) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(if required {
            Required::True
        } else {
            Required::False
        })
        .description(Some(description))
        .schema(Some(schema))
        .build()
}

fn date() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
}

impl IntoParams for SummaryQuery {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            param(
                "unit_id",
                true,
                "The unit, of either side of the reform, inside the caller's area (404 otherwise).",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid))),
            ),
            param("from", true, "First day, inclusive.", date()),
            param(
                "to",
                true,
                "Last day, inclusive; not before `from`, and fewer than 3,660 days after it (422 naming `to` otherwise).",
                date(),
            ),
            param(
                "group_by",
                false,
                "`none`: totals only; `child`: a row per unit one level down; `month`: a row per calendar month.",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(["none", "child", "month"]))
                    .default(Some("none".into())),
            ),
            param(
                "status",
                false,
                "`verified`: verified records only; `all`: submitted and verified. Rejected and archived records never count.",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(["verified", "all"]))
                    .default(Some("verified".into())),
            ),
            format(),
            lang(),
        ]
    }
}
