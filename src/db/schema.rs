// @generated automatically by Diesel CLI.

diesel::table! {
    app_meta (key) {
        key -> Text,
        value -> Text,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    assistances (id) {
        id -> Uuid,
        household_id -> Uuid,
        team_id -> Uuid,
        area_path -> Text,
        visited_on -> Date,
        member_ids -> Array<Nullable<Uuid>>,
        kinds -> Array<Nullable<Text>>,
        outcomes -> Jsonb,
        notes -> Nullable<Text>,
        latitude -> Nullable<Float8>,
        longitude -> Nullable<Float8>,
        accuracy_m -> Nullable<Float4>,
        recorded_at -> Timestamptz,
        received_at -> Timestamptz,
        recorded_by -> Uuid,
        status -> Text,
        status_reason -> Nullable<Text>,
        status_by -> Nullable<Uuid>,
        status_at -> Nullable<Timestamptz>,
        body_hash -> Bytea,
        archived_at -> Nullable<Timestamptz>,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Int8,
        event_id -> Uuid,
        at -> Timestamptz,
        actor_kind -> Text,
        actor_id -> Nullable<Uuid>,
        actor_name -> Nullable<Text>,
        action -> Text,
        entity -> Text,
        entity_id -> Nullable<Text>,
        unit_id -> Nullable<Uuid>,
        area_path -> Nullable<Text>,
        before -> Nullable<Jsonb>,
        after -> Nullable<Jsonb>,
        request_id -> Nullable<Uuid>,
        address -> Nullable<Text>,
        content_hash -> Bytea,
        seq -> Nullable<Int8>,
        prev_hash -> Nullable<Bytea>,
        chain_hash -> Nullable<Bytea>,
        sealed -> Nullable<Text>,
        openings -> Nullable<Text>,
    }
}

diesel::table! {
    catalog_entries (kind, code) {
        kind -> Text,
        code -> Text,
        name_vi -> Text,
        name_en -> Text,
        retired_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        version -> Int4,
    }
}

diesel::table! {
    clients (id) {
        id -> Uuid,
        client_id -> Text,
        secret_hash -> Text,
        name -> Text,
        area_unit_id -> Nullable<Uuid>,
        active -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        scopes -> Array<Nullable<Text>>,
        rate_per_minute -> Int4,
        previous_secret_hash -> Nullable<Text>,
        previous_secret_until -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
        session_epoch -> Int8,
        version -> Int4,
    }
}

diesel::table! {
    household_consents (id) {
        id -> Uuid,
        household_id -> Uuid,
        given -> Bool,
        given_on -> Date,
        given_by -> Text,
        purposes -> Array<Nullable<Text>>,
        note -> Nullable<Text>,
        recorded_by -> Uuid,
        recorded_at -> Timestamptz,
    }
}

diesel::table! {
    households (id) {
        id -> Uuid,
        village_id -> Uuid,
        commune_id -> Uuid,
        area_path -> Text,
        code -> Nullable<Text>,
        head_name -> Nullable<Text>,
        size -> Int4,
        ethnicity -> Nullable<Text>,
        phone -> Nullable<Text>,
        poverty_status -> Text,
        poverty_standard -> Nullable<Text>,
        survey_year -> Nullable<Int4>,
        deprivations -> Array<Nullable<Text>>,
        has_smartphone -> Text,
        has_internet -> Text,
        search_text -> Text,
        erased_at -> Nullable<Timestamptz>,
        erased_by -> Nullable<Uuid>,
        erasure_reason -> Nullable<Text>,
        archived_at -> Nullable<Timestamptz>,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        body_hash -> Nullable<Bytea>,
    }
}

diesel::table! {
    login_failures (id) {
        id -> Int8,
        username -> Text,
        address -> Text,
        at -> Timestamptz,
    }
}

diesel::table! {
    members (id) {
        id -> Uuid,
        person_id -> Uuid,
        team_id -> Uuid,
        area_path -> Text,
        full_name -> Text,
        gender -> Text,
        birth_year -> Nullable<Int4>,
        ethnicity -> Nullable<Text>,
        phone -> Nullable<Text>,
        team_role -> Text,
        affiliation -> Text,
        joined_on -> Date,
        left_on -> Nullable<Date>,
        search_text -> Text,
        archived_at -> Nullable<Timestamptz>,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    period_locks (unit_id, month) {
        unit_id -> Uuid,
        month -> Date,
        area_path -> Text,
        reason -> Nullable<Text>,
        locked_by -> Uuid,
        locked_at -> Timestamptz,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Uuid,
        user_id -> Uuid,
        family_id -> Uuid,
        token_hash -> Bytea,
        issued_at -> Timestamptz,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    report_household_counts (village_id, poverty_status, has_smartphone, has_internet, lacking) {
        village_id -> Uuid,
        poverty_status -> Text,
        has_smartphone -> Text,
        has_internet -> Text,
        lacking -> Bool,
        n -> Int8,
    }
}

diesel::table! {
    report_household_months (village_id, month, status, kind, household_id) {
        village_id -> Uuid,
        month -> Date,
        status -> Text,
        kind -> Text,
        household_id -> Uuid,
        n -> Int4,
        poor -> Bool,
        lacking -> Bool,
    }
}

diesel::table! {
    report_household_year_counts (village_id, year, kind, poor, lacking, verified) {
        village_id -> Uuid,
        year -> Int4,
        kind -> Text,
        poor -> Bool,
        lacking -> Bool,
        verified -> Bool,
        n -> Int8,
    }
}

diesel::table! {
    report_household_years (village_id, year, kind, household_id) {
        village_id -> Uuid,
        year -> Int4,
        kind -> Text,
        household_id -> Uuid,
        months_all -> Int4,
        months_verified -> Int4,
        poor -> Bool,
        lacking -> Bool,
        shared -> Bool,
    }
}

diesel::table! {
    report_visit_months (village_id, month, status, kind, outcome) {
        village_id -> Uuid,
        month -> Date,
        status -> Text,
        kind -> Text,
        outcome -> Text,
        n -> Int8,
    }
}

diesel::table! {
    report_visit_years (village_id, year, status, kind, outcome) {
        village_id -> Uuid,
        year -> Date,
        status -> Text,
        kind -> Text,
        outcome -> Text,
        n -> Int8,
    }
}

diesel::table! {
    teams (id) {
        id -> Uuid,
        village_id -> Uuid,
        area_path -> Text,
        name -> Text,
        founded_on -> Nullable<Date>,
        decision_number -> Nullable<Text>,
        status -> Text,
        dissolved_on -> Nullable<Date>,
        search_text -> Text,
        archived_at -> Nullable<Timestamptz>,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    trainings (id) {
        id -> Uuid,
        team_id -> Uuid,
        village_id -> Uuid,
        area_path -> Text,
        place -> Nullable<Text>,
        held_on -> Date,
        duration_minutes -> Int4,
        topics -> Array<Nullable<Text>>,
        trainer_ids -> Array<Nullable<Uuid>>,
        attendees_total -> Int4,
        attendees_women -> Int4,
        attendees_ethnic_minority -> Int4,
        attendees_poor -> Int4,
        household_ids -> Array<Nullable<Uuid>>,
        notes -> Nullable<Text>,
        recorded_at -> Timestamptz,
        received_at -> Timestamptz,
        recorded_by -> Uuid,
        status -> Text,
        status_reason -> Nullable<Text>,
        status_by -> Nullable<Uuid>,
        status_at -> Nullable<Timestamptz>,
        body_hash -> Bytea,
        archived_at -> Nullable<Timestamptz>,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    unit_lineage (old_unit_id, new_unit_id) {
        old_unit_id -> Uuid,
        new_unit_id -> Uuid,
        relation -> Text,
        note -> Nullable<Text>,
    }
}

diesel::table! {
    units (id) {
        id -> Uuid,
        level -> Text,
        code -> Text,
        name -> Text,
        short_name -> Text,
        unit_type -> Text,
        parent_id -> Nullable<Uuid>,
        province_code -> Text,
        valid_from -> Date,
        valid_to -> Nullable<Date>,
        path -> Text,
        search_text -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    users (id) {
        id -> Uuid,
        username -> Text,
        password_hash -> Text,
        role -> Text,
        area_unit_id -> Nullable<Uuid>,
        display_name -> Nullable<Text>,
        active -> Bool,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        member_id -> Nullable<Uuid>,
        session_epoch -> Int8,
        sessions_ended_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    village_communes (village_id, commune_id) {
        village_id -> Uuid,
        commune_id -> Uuid,
        path -> Text,
        assigned_by -> Nullable<Uuid>,
        assigned_at -> Timestamptz,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Uuid,
        webhook_id -> Uuid,
        event_id -> Int8,
        entity -> Text,
        entity_id -> Text,
        status -> Text,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        retry_from -> Timestamptz,
        last_attempt_at -> Nullable<Timestamptz>,
        last_status -> Nullable<Int4>,
        last_error -> Nullable<Text>,
        delivered_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    webhook_sender (singleton) {
        singleton -> Bool,
        holder -> Uuid,
        until -> Timestamptz,
    }
}

diesel::table! {
    webhooks (id) {
        id -> Uuid,
        client_id -> Uuid,
        url -> Text,
        entities -> Array<Nullable<Text>>,
        active -> Bool,
        secret -> Text,
        previous_secret -> Nullable<Text>,
        previous_secret_until -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        version -> Int4,
    }
}

diesel::joinable!(assistances -> households (household_id));
diesel::joinable!(assistances -> teams (team_id));
diesel::joinable!(assistances -> users (status_by));
diesel::joinable!(clients -> units (area_unit_id));
diesel::joinable!(household_consents -> households (household_id));
diesel::joinable!(household_consents -> users (recorded_by));
diesel::joinable!(households -> users (erased_by));
diesel::joinable!(members -> teams (team_id));
diesel::joinable!(period_locks -> units (unit_id));
diesel::joinable!(period_locks -> users (locked_by));
diesel::joinable!(refresh_tokens -> users (user_id));
diesel::joinable!(teams -> units (village_id));
diesel::joinable!(trainings -> teams (team_id));
diesel::joinable!(trainings -> units (village_id));
diesel::joinable!(trainings -> users (status_by));
diesel::joinable!(users -> members (member_id));
diesel::joinable!(users -> units (area_unit_id));
diesel::joinable!(village_communes -> users (assigned_by));
diesel::joinable!(webhook_deliveries -> audit_events (event_id));
diesel::joinable!(webhook_deliveries -> webhooks (webhook_id));
diesel::joinable!(webhooks -> clients (client_id));

diesel::allow_tables_to_appear_in_same_query!(
    app_meta,
    assistances,
    audit_events,
    catalog_entries,
    clients,
    household_consents,
    households,
    login_failures,
    members,
    period_locks,
    refresh_tokens,
    report_household_counts,
    report_household_months,
    report_household_year_counts,
    report_household_years,
    report_visit_months,
    report_visit_years,
    teams,
    trainings,
    unit_lineage,
    units,
    users,
    village_communes,
    webhook_deliveries,
    webhook_sender,
    webhooks,
);
