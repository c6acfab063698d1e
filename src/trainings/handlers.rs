//! `/trainings`, `/trainings/{id}` and its verify, reject and reopen.

use chrono::{Duration, NaiveDate, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::dto::{
    MAX_ATTENDEES, MAX_DURATION_MINUTES, MAX_NOTES_CHARS, MAX_PLACE_CHARS, MAX_TOPICS, TrainingDto,
    TrainingFilters, TrainingInput,
};
use super::model::{TrainingChanges, TrainingRow};
use super::repo;
use crate::activities::http::Activity;
use crate::activities::{self};
use crate::audit::Entity;
use crate::auth::Scope;
use crate::db::schema::households;
use crate::domain::{Check, Invalid, short_text};
use crate::error::ApiError;
use crate::records;

const ENTITY: Entity = Entity::Training;

/// The earliest date accepted: the teams began in 2020.
fn earliest() -> NaiveDate {
    NaiveDate::from_ymd_opt(2020, 1, 1).unwrap_or(NaiveDate::MIN)
}

/// What a batch of sessions needs from the database, fetched once.
#[derive(Default)]
pub struct Known {
    /// The active training topics; `None`: look them up.
    topics: Option<Vec<String>>,
}

/// The catalogue's topics, once for a whole batch.
pub fn prefetch(conn: &mut PgConnection, _inputs: &[&TrainingInput]) -> Result<Known, ApiError> {
    Ok(Known {
        topics: Some(crate::catalog::handlers::active_codes(
            conn,
            "training_topic",
        )?),
    })
}

/// Checks a session and turns it into the columns to write.
/// `existing` is the stored session for an edit: its team may have been
/// dissolved since, which does not stop a correction.
pub fn parse(
    conn: &mut PgConnection,
    scope: &Scope,
    input: &TrainingInput,
    existing: Option<&TrainingRow>,
    known: &Known,
) -> Result<TrainingChanges, ApiError> {
    let mut check = Check::new();
    let team =
        match activities::record_team(conn, scope, input.team_id, existing.map(|e| e.team_id))? {
            Ok(team) => Some(team),
            Err(Invalid { code, message }) => {
                check.fail("team_id", code, message);
                None
            }
        };
    let village = match (input.village_id, &team) {
        (Some(v), _) => check.take("village_id", records::village_in_scope(conn, scope, v)?),
        (None, Some(t)) => records::village_in_scope(conn, scope, t.village_id)?.ok(),
        (None, None) => None,
    };
    if let Some(team) = &team {
        let there = activities::members_on(conn, team.id, &input.trainer_ids, input.held_on)?;
        for (i, m) in input.trainer_ids.iter().enumerate() {
            if !there.contains(m) {
                check.fail(
                    &format!("trainer_ids[{i}]"),
                    "not_a_member",
                    "not a member of the team on the day of the session",
                );
            }
        }
    }
    let mut household_ids = input.household_ids.clone();
    household_ids.sort();
    household_ids.dedup();
    if !household_ids.is_empty() {
        let known: Vec<Uuid> = households::table
            .filter(households::id.eq_any(&household_ids))
            .filter(scope.area_filter::<households::table>("households"))
            .filter(households::erased_at.is_null())
            .select(households::id)
            .load(conn)?;
        for (i, h) in input.household_ids.iter().enumerate() {
            if !known.contains(h) {
                check.fail(
                    &format!("household_ids[{i}]"),
                    "unknown_household",
                    "no such household in your area",
                );
            }
        }
    }
    let topics_allowed =
        crate::catalog::handlers::known_or_active(conn, &known.topics, "training_topic")?;
    if input.topics.is_empty() || input.topics.len() > MAX_TOPICS {
        check.fail("topics", "count", "give 1 to 20 topics");
    }
    let mut topics: Vec<String> = Vec::new();
    for (i, t) in input.topics.iter().enumerate() {
        if !topics_allowed.contains(t) {
            check.fail(
                &format!("topics[{i}]"),
                "unknown_topic",
                "not an active training topic of the catalogue",
            );
        } else if !topics.contains(t) {
            topics.push(t.clone());
        }
    }
    let a = &input.attendees;
    if !(0..=MAX_ATTENDEES).contains(&a.total) {
        check.fail(
            "attendees.total",
            "out_of_range",
            "must be between 0 and 10000",
        );
    }
    for (name, n) in [
        ("women", a.women),
        ("ethnic_minority", a.ethnic_minority),
        ("poor", a.poor),
    ] {
        if n < 0 || n > a.total {
            check.fail(
                &format!("attendees.{name}"),
                "out_of_range",
                "must be between 0 and the total",
            );
        }
    }
    if household_ids.len() as i64 > i64::from(a.total.max(0)) {
        check.fail(
            "household_ids",
            "more_than_attendees",
            "more households than attendees",
        );
    }
    if !(1..=MAX_DURATION_MINUTES).contains(&input.duration_minutes) {
        check.fail(
            "duration_minutes",
            "out_of_range",
            "must be between 1 and 1440",
        );
    }
    let today = crate::units::repo::today();
    if input.held_on > today + Duration::days(1) {
        check.fail("held_on", "in_future", "must not be in the future");
    }
    if input.held_on < earliest() {
        check.fail("held_on", "too_old", "must be in 2020 or later");
    }
    if input
        .recorded_at
        .is_some_and(|t| t > Utc::now() + Duration::days(1))
    {
        check.fail("recorded_at", "in_future", "must not be in the future");
    }
    let place = check.take(
        "place",
        short_text(input.place.as_deref().unwrap_or(""), MAX_PLACE_CHARS),
    );
    let notes = check.take(
        "notes",
        short_text(input.notes.as_deref().unwrap_or(""), MAX_NOTES_CHARS),
    );
    check.finish()?;
    let (Some(team), Some(village), Some(place), Some(notes)) = (team, village, place, notes)
    else {
        return Err(ApiError::internal(
            "session passed its check with a missing field",
        ));
    };
    let mut trainer_ids = input.trainer_ids.clone();
    trainer_ids.sort();
    trainer_ids.dedup();
    Ok(TrainingChanges {
        team_id: team.id,
        village_id: village.id,
        // A session belongs to its team, wherever it was held.
        area_path: team.area_path,
        place,
        held_on: input.held_on,
        duration_minutes: input.duration_minutes,
        topics: topics.into_iter().map(Some).collect(),
        trainer_ids: trainer_ids.into_iter().map(Some).collect(),
        attendees_total: a.total,
        attendees_women: a.women,
        attendees_ethnic_minority: a.ethnic_minority,
        attendees_poor: a.poor,
        household_ids: household_ids.into_iter().map(Some).collect(),
        notes,
    })
}

/// Training sessions for the shared activity handlers.
pub struct Session;

impl Activity for Session {
    type Row = TrainingRow;
    type Dto = TrainingDto;
    type Input = TrainingInput;
    type Filters = TrainingFilters;
    const ENTITY: Entity = ENTITY;

    crate::activities::activity_storage!(held_on);

    const HOUSEHOLD_KEY: &'static str = "households";

    fn household_ids(row: &Self::Row) -> Vec<Uuid> {
        row.household_ids.iter().flatten().copied().collect()
    }

    type Changes = TrainingChanges;
    const IMMUTABLE: &'static str = "id and recorded_at";

    fn input_of(row: &TrainingRow) -> TrainingInput {
        TrainingInput::from_row(row)
    }

    fn changes_immutable(base: &TrainingInput, input: &TrainingInput) -> bool {
        input.id != base.id || input.recorded_at != base.recorded_at
    }

    type Known = Known;
}
