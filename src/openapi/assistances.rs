//! `/assistances` and its sub-resources: household assistance visits.

use utoipa::OpenApi;

use super::activities::activity_paths;
use crate::assistances::dto::{
    AssistanceDto, AssistanceFilters, AssistanceInput, AssistancePage, AssistancePatch,
};
use crate::assistances::model::AssistanceRow;

activity_paths! {
    tag: "assistances", noun: "an assistance visit", nouns: "assistance visits",
    ops: [list, create, get, update, archive, verify, reject, reopen, verify_many, reject_many],
    ids: ["listAssistances", "createAssistance", "getAssistance", "updateAssistance",
          "archiveAssistance", "verifyAssistance", "rejectAssistance", "reopenAssistance",
          "verifyAssistances", "rejectAssistances"],
    paths: ["/api/v1/assistances", "/api/v1/assistances/{id}", "/api/v1/assistances/{id}/verify",
            "/api/v1/assistances/{id}/reject", "/api/v1/assistances/{id}/reopen",
            "/api/v1/assistances/verify", "/api/v1/assistances/reject"],
    record: AssistanceDto, input: AssistanceInput, patch: AssistancePatch, page: AssistancePage,
    row: AssistanceRow, filters: AssistanceFilters,
}

const VERIFY_BODY: super::activities::OptionalBody =
    super::activities::OptionalBody("/api/v1/assistances/{id}/verify");

#[derive(OpenApi)]
#[openapi(
    paths(list, create, get, update, archive, verify, reject, reopen, verify_many, reject_many),
    components(schemas(
        AssistanceDto,
        AssistanceInput,
        AssistancePatch,
        AssistancePage,
        crate::assistances::dto::AssistanceItem,
        crate::assistances::dto::Help,
        crate::assistances::dto::Position,
        crate::assistances::dto::PositionPatch,
        crate::assistances::handlers::Outcome,
    )),
    modifiers(&VERIFY_BODY)
)]
pub struct Api;
