//! `/trainings` and its sub-resources: training sessions.

use utoipa::OpenApi;

use super::activities::activity_paths;
use crate::trainings::dto::{
    TrainingDto, TrainingFilters, TrainingInput, TrainingPage, TrainingPatch,
};
use crate::trainings::model::TrainingRow;

activity_paths! {
    tag: "trainings", noun: "a training session", nouns: "training sessions",
    ops: [list, create, get, update, archive, verify, reject, reopen, verify_many, reject_many],
    ids: ["listTrainings", "createTraining", "getTraining", "updateTraining",
          "archiveTraining", "verifyTraining", "rejectTraining", "reopenTraining",
          "verifyTrainings", "rejectTrainings"],
    paths: ["/api/v1/trainings", "/api/v1/trainings/{id}", "/api/v1/trainings/{id}/verify",
            "/api/v1/trainings/{id}/reject", "/api/v1/trainings/{id}/reopen",
            "/api/v1/trainings/verify", "/api/v1/trainings/reject"],
    record: TrainingDto, input: TrainingInput, patch: TrainingPatch, page: TrainingPage,
    row: TrainingRow, filters: TrainingFilters,
}

const VERIFY_BODY: super::activities::OptionalBody =
    super::activities::OptionalBody("/api/v1/trainings/{id}/verify");

#[derive(OpenApi)]
#[openapi(
    paths(list, create, get, update, archive, verify, reject, reopen, verify_many, reject_many),
    components(schemas(
        TrainingDto,
        TrainingInput,
        TrainingPatch,
        TrainingPage,
        crate::trainings::dto::TrainingItem,
        crate::trainings::dto::Attendees,
        crate::trainings::dto::AttendeesPatch,
    )),
    modifiers(&VERIFY_BODY)
)]
pub struct Api;
