//! `/assistances`, `/assistances/{id}` and its verify, reject and reopen.

use std::collections::HashMap;

use chrono::{Duration, NaiveDate, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::dto::{
    AssistanceDto, AssistanceFilters, AssistanceInput, Help, MAX_ACCURACY_M, MAX_HELP,
    MAX_NOTES_CHARS,
};
use super::model::{AssistanceChanges, AssistanceRow};
use super::repo;
use crate::activities::http::Activity;
use crate::activities::{self};
use crate::audit::Entity;
use crate::auth::Scope;
use crate::db::schema::teams;
use crate::domain::{Check, Invalid, short_text};
use crate::error::ApiError;
use crate::households::model::HouseholdRow;

crate::code_enum!(
    /// How one kind of help went.
    #[derive(utoipa::ToSchema)]
    Outcome { Done = "done", Partly = "partly", NotDone = "not_done" }
);

const ENTITY: Entity = Entity::Assistance;

/// The earliest visit date accepted: the teams began in 2020.
fn earliest() -> NaiveDate {
    NaiveDate::from_ymd_opt(2020, 1, 1).unwrap_or(NaiveDate::MIN)
}

/// What a batch of visits needs from the database, fetched once.
#[derive(Default)]
pub struct Known {
    /// The batch's households with their village's active team; `None`:
    /// look each up.
    households: Option<HashMap<Uuid, (HouseholdRow, Option<Uuid>)>>,
    /// The active kinds of help; `None`: look them up.
    kinds: Option<Vec<String>>,
}

/// Households with the active team of their village, by id.
fn households_and_teams(
    conn: &mut PgConnection,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, (HouseholdRow, Option<Uuid>)>, ApiError> {
    use crate::db::schema::households;
    let rows: Vec<(HouseholdRow, Option<Uuid>)> = households::table
        .left_join(
            teams::table.on(teams::village_id
                .eq(households::village_id)
                .and(teams::status.eq("active"))
                .and(teams::archived_at.is_null())),
        )
        .filter(households::id.eq_any(ids))
        .select((HouseholdRow::as_select(), teams::id.nullable()))
        .load(conn)?;
    let mut found = HashMap::with_capacity(rows.len());
    for (row, team) in rows {
        found.entry(row.id).or_insert((row, team));
    }
    Ok(found)
}

/// The households of a batch and the catalogue's kinds of help, in two
/// queries for the whole batch.
pub fn prefetch(conn: &mut PgConnection, inputs: &[&AssistanceInput]) -> Result<Known, ApiError> {
    let mut ids: Vec<Uuid> = inputs.iter().map(|i| i.household_id).collect();
    ids.sort();
    ids.dedup();
    Ok(Known {
        households: Some(households_and_teams(conn, &ids)?),
        kinds: Some(crate::catalog::handlers::active_codes(
            conn,
            "assistance_kind",
        )?),
    })
}

/// A household inside the scope, with the active team of its village.
fn household_and_team(
    conn: &mut PgConnection,
    scope: &Scope,
    id: Uuid,
    known: &Known,
) -> Result<(HouseholdRow, Option<Uuid>), ApiError> {
    let (row, team) = match &known.households {
        Some(found) => found.get(&id).cloned(),
        None => households_and_teams(conn, &[id])?.remove(&id),
    }
    .ok_or(ApiError::NotFound)?;
    let row = scope.admit(row, |r| &r.area_path)?;
    Ok((row, team))
}

/// Checks a visit and turns it into the columns to write.
/// `existing` is the stored visit for an edit: its household and team may
/// have been archived or dissolved since, which does not stop a correction.
pub fn parse(
    conn: &mut PgConnection,
    scope: &Scope,
    input: &AssistanceInput,
    existing: Option<&AssistanceRow>,
    known: &Known,
) -> Result<AssistanceChanges, ApiError> {
    let mut check = Check::new();
    // The household and its village's active team in one trip.
    let (household, village_team) = match household_and_team(conn, scope, input.household_id, known)
    {
        Ok((h, t)) => (Ok(h), t),
        Err(e) => (Err(e), None),
    };
    let household = match household {
        Ok(h)
            if (h.archived_at.is_some() || h.erased_at.is_some())
                && existing.map(|e| e.household_id) != Some(h.id) =>
        {
            check.fail(
                "household_id",
                "not_active",
                "the household is archived or erased",
            );
            None
        }
        Ok(h) => Some(h),
        Err(ApiError::NotFound) => {
            check.fail(
                "household_id",
                "unknown_household",
                "no such household in your area",
            );
            None
        }
        Err(e) => return Err(e),
    };
    let team_id = match (input.team_id, &household) {
        // The village's active team, as the phone usually names it.
        (Some(t), Some(_)) if village_team == Some(t) => Some(t),
        (Some(t), Some(h)) => {
            match activities::record_team(conn, scope, t, existing.map(|e| e.team_id))? {
                Ok(team) if team.village_id == h.village_id => Some(team.id),
                Ok(_) => {
                    check.fail(
                        "team_id",
                        "other_village",
                        "the team serves another village than the household's",
                    );
                    None
                }
                Err(Invalid { code, message }) => {
                    check.fail("team_id", code, message);
                    None
                }
            }
        }
        (None, Some(_)) => {
            let team = village_team;
            if team.is_none() {
                check.fail(
                    "team_id",
                    "no_team",
                    "the household's village has no active team; send team_id",
                );
            }
            team
        }
        (_, None) => None,
    };
    if let Some(team_id) = team_id {
        let there = activities::members_on(conn, team_id, &input.member_ids, input.visited_on)?;
        for (i, m) in input.member_ids.iter().enumerate() {
            if !there.contains(m) {
                check.fail(
                    &format!("member_ids[{i}]"),
                    "not_a_member",
                    "not a member of the team on the day of the visit",
                );
            }
        }
    }
    let mut member_ids = input.member_ids.clone();
    member_ids.sort();
    member_ids.dedup();

    let kinds_allowed =
        crate::catalog::handlers::known_or_active(conn, &known.kinds, "assistance_kind")?;
    if input.help.is_empty() || input.help.len() > MAX_HELP {
        check.fail("help", "count", "give 1 to 20 kinds of help");
    }
    let mut help = Vec::new();
    for (i, h) in input.help.iter().enumerate() {
        let f = |name: &str| format!("help[{i}].{name}");
        if !kinds_allowed.contains(&h.kind) {
            check.fail(
                &f("kind"),
                "unknown_kind",
                "not an active assistance kind of the catalogue",
            );
        } else if help.iter().any(|x: &Help| x.kind == h.kind) {
            check.fail(&f("kind"), "duplicate", "each kind once per visit");
        }
        let outcome = check.take(&f("outcome"), Outcome::parse(&h.outcome));
        let reason = check.take(
            &f("reason"),
            short_text(
                h.reason.as_deref().unwrap_or(""),
                activities::MAX_REASON_CHARS,
            ),
        );
        if outcome == Some(Outcome::NotDone) && matches!(reason, Some(None)) {
            check.fail(&f("reason"), "required", "say why it was not done");
        }
        if let (Some(outcome), Some(reason)) = (outcome, reason) {
            help.push(Help {
                kind: h.kind.clone(),
                outcome: outcome.as_str().into(),
                reason,
            });
        }
    }
    let today = crate::units::repo::today();
    if input.visited_on > today + Duration::days(1) {
        check.fail("visited_on", "in_future", "must not be in the future");
    }
    if input.visited_on < earliest() {
        check.fail("visited_on", "too_old", "must be in 2020 or later");
    }
    if input
        .recorded_at
        .is_some_and(|t| t > Utc::now() + Duration::days(1))
    {
        check.fail("recorded_at", "in_future", "must not be in the future");
    }
    let notes = check.take(
        "notes",
        short_text(input.notes.as_deref().unwrap_or(""), MAX_NOTES_CHARS),
    );
    if let Some(p) = &input.position {
        if !(-90.0..=90.0).contains(&p.latitude) {
            check.fail(
                "position.latitude",
                "out_of_range",
                "must be between -90 and 90",
            );
        }
        if !(-180.0..=180.0).contains(&p.longitude) {
            check.fail(
                "position.longitude",
                "out_of_range",
                "must be between -180 and 180",
            );
        }
        if p.accuracy_m
            .is_some_and(|a| !(0.0..=MAX_ACCURACY_M).contains(&f64::from(a)))
        {
            check.fail(
                "position.accuracy_m",
                "out_of_range",
                "must be between 0 and 100000 metres",
            );
        }
    }
    check.finish()?;
    let (Some(household), Some(team_id), Some(notes)) = (household, team_id, notes) else {
        return Err(ApiError::internal(
            "visit passed its check with a missing field",
        ));
    };
    Ok(AssistanceChanges {
        household_id: household.id,
        team_id,
        area_path: household.area_path,
        visited_on: input.visited_on,
        member_ids: member_ids.into_iter().map(Some).collect(),
        kinds: help.iter().map(|h| Some(h.kind.clone())).collect(),
        outcomes: serde_json::to_value(&help).map_err(ApiError::internal)?,
        notes,
        latitude: input.position.as_ref().map(|p| p.latitude),
        longitude: input.position.as_ref().map(|p| p.longitude),
        accuracy_m: input.position.as_ref().and_then(|p| p.accuracy_m),
    })
}

/// Assistance visits for the shared activity handlers.
pub struct Visit;

impl Activity for Visit {
    type Row = AssistanceRow;
    type Dto = AssistanceDto;
    type Input = AssistanceInput;
    type Filters = AssistanceFilters;
    const ENTITY: Entity = ENTITY;

    crate::activities::activity_storage!(visited_on);

    const HOUSEHOLD_KEY: &'static str = "household";

    fn household_ids(row: &Self::Row) -> Vec<Uuid> {
        vec![row.household_id]
    }

    type Changes = AssistanceChanges;
    const IMMUTABLE: &'static str = "id, household_id and recorded_at";

    fn input_of(row: &AssistanceRow) -> AssistanceInput {
        AssistanceInput::from_row(row)
    }

    fn changes_immutable(base: &AssistanceInput, input: &AssistanceInput) -> bool {
        input.id != base.id
            || input.household_id != base.household_id
            || input.recorded_at != base.recorded_at
    }

    type Known = Known;
}
