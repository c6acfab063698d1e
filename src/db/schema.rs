// @generated automatically by Diesel CLI.

diesel::table! {
    app_meta (key) {
        key -> Text,
        value -> Text,
        updated_at -> Timestamptz,
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
    }
}

diesel::joinable!(refresh_tokens -> users (user_id));
diesel::joinable!(users -> units (area_unit_id));

diesel::allow_tables_to_appear_in_same_query!(
    app_meta,
    login_failures,
    refresh_tokens,
    unit_lineage,
    units,
    users,
);
