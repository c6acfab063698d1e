-- The registry: village teams, their members, households (personal data,
-- with consent history and erasure), and the catalogue of assistance kinds
-- and training topics.
--
-- Every record carries `area_path`, the materialised path of its village,
-- so that "inside the caller's area" is one range condition, and a
-- `version` that updates must name.

CREATE TABLE teams (
    id uuid PRIMARY KEY,
    village_id uuid NOT NULL REFERENCES units (id),
    area_path text COLLATE "C" NOT NULL,
    name text NOT NULL,
    founded_on date,
    decision_number text,
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'dissolved')),
    dissolved_on date,
    search_text text NOT NULL,
    archived_at timestamptz,
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'dissolved') = (dissolved_on IS NOT NULL))
);

-- One active team per village.
CREATE UNIQUE INDEX teams_one_active_per_village ON teams (village_id)
    WHERE status = 'active' AND archived_at IS NULL;
CREATE INDEX teams_area ON teams (area_path, id);
CREATE INDEX teams_updated ON teams (updated_at);

-- A member row is one membership: moving to another team closes it
-- (left_on) and opens a new row with the same person_id.
CREATE TABLE members (
    id uuid PRIMARY KEY,
    person_id uuid NOT NULL,
    team_id uuid NOT NULL REFERENCES teams (id),
    area_path text COLLATE "C" NOT NULL,
    full_name text NOT NULL,
    gender text NOT NULL CHECK (gender IN ('female', 'male', 'other')),
    birth_year integer,
    ethnicity text,
    phone text,
    team_role text NOT NULL CHECK (team_role IN ('leader', 'deputy', 'member')),
    affiliation text NOT NULL CHECK (affiliation IN ('youth_union', 'womens_union', 'commune_police', 'teacher', 'village_head', 'other')),
    joined_on date NOT NULL,
    left_on date,
    search_text text NOT NULL,
    archived_at timestamptz,
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (left_on IS NULL OR left_on >= joined_on)
);

CREATE INDEX members_team ON members (team_id, id);
CREATE INDEX members_person ON members (person_id);
CREATE INDEX members_area ON members (area_path, id);
CREATE INDEX members_updated ON members (updated_at);

CREATE TABLE households (
    id uuid PRIMARY KEY,
    village_id uuid NOT NULL REFERENCES units (id),
    commune_id uuid NOT NULL REFERENCES units (id),
    area_path text COLLATE "C" NOT NULL,
    -- The household code of the poverty survey, unique within its commune.
    code text,
    -- NULL only once the household's personal data has been erased.
    head_name text,
    size integer NOT NULL CHECK (size BETWEEN 1 AND 50),
    ethnicity text,
    phone text,
    poverty_status text NOT NULL CHECK (poverty_status IN ('poor', 'near_poor', 'not_poor')),
    poverty_standard text,
    survey_year integer,
    deprivations text[] NOT NULL DEFAULT '{}',
    has_smartphone text NOT NULL DEFAULT 'unknown' CHECK (has_smartphone IN ('yes', 'no', 'unknown')),
    has_internet text NOT NULL DEFAULT 'unknown' CHECK (has_internet IN ('yes', 'no', 'unknown')),
    search_text text NOT NULL,
    erased_at timestamptz,
    erased_by uuid REFERENCES users (id),
    erasure_reason text,
    archived_at timestamptz,
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (head_name IS NOT NULL OR erased_at IS NOT NULL)
);

CREATE UNIQUE INDEX households_code_in_commune ON households (commune_id, code)
    WHERE code IS NOT NULL AND archived_at IS NULL;
CREATE INDEX households_area ON households (area_path, id);
CREATE INDEX households_village ON households (village_id, id);
CREATE INDEX households_updated ON households (updated_at);

-- Consent under the Personal Data Protection Law: one row per change, the
-- newest is in force.
CREATE TABLE household_consents (
    id uuid PRIMARY KEY,
    household_id uuid NOT NULL REFERENCES households (id),
    given boolean NOT NULL,
    given_on date NOT NULL,
    given_by text NOT NULL,
    purposes text[] NOT NULL DEFAULT '{}',
    note text,
    recorded_by uuid NOT NULL REFERENCES users (id),
    recorded_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX household_consents_household ON household_consents (household_id, recorded_at);

CREATE TABLE catalog_entries (
    kind text NOT NULL CHECK (kind IN ('assistance_kind', 'training_topic')),
    code text NOT NULL CHECK (code ~ '^[a-z0-9_]{2,40}$'),
    name_vi text NOT NULL,
    name_en text NOT NULL,
    retired_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, code)
);

INSERT INTO catalog_entries (kind, code, name_vi, name_en) VALUES
    ('assistance_kind', 'vneid', 'Tạo và kích hoạt định danh điện tử VNeID mức 2', 'Create and activate a level-2 VNeID electronic identity'),
    ('assistance_kind', 'public_services', 'Sử dụng dịch vụ công trực tuyến', 'Use online public services'),
    ('assistance_kind', 'cashless', 'Mở tài khoản ngân hàng, ví điện tử và thanh toán không dùng tiền mặt', 'Open a bank or e-wallet account and pay cashless'),
    ('assistance_kind', 'ecommerce', 'Đăng ký sàn thương mại điện tử, đưa nông sản và sản phẩm OCOP lên sàn', 'Register on e-commerce platforms and list farm and OCOP products'),
    ('assistance_kind', 'device_connection', 'Hỗ trợ có điện thoại thông minh, kết nối internet', 'Get a smartphone or an internet connection'),
    ('assistance_kind', 'digital_skills', 'Kỹ năng số cơ bản', 'Basic digital skills'),
    ('assistance_kind', 'scam_awareness', 'Nhận biết lừa đảo trực tuyến', 'Recognise online scams'),
    ('assistance_kind', 'policy_jobs_info', 'Tìm thông tin chính sách, việc làm', 'Find information on policies and jobs'),
    ('training_topic', 'vneid', 'Định danh điện tử VNeID', 'VNeID electronic identity'),
    ('training_topic', 'public_services', 'Dịch vụ công trực tuyến', 'Online public services'),
    ('training_topic', 'cashless', 'Thanh toán không dùng tiền mặt', 'Cashless payments'),
    ('training_topic', 'ecommerce', 'Thương mại điện tử, bán nông sản và sản phẩm OCOP', 'E-commerce, selling farm and OCOP products'),
    ('training_topic', 'digital_skills', 'Kỹ năng số cơ bản', 'Basic digital skills'),
    ('training_topic', 'scam_awareness', 'Phòng chống lừa đảo trực tuyến', 'Preventing online scams'),
    ('training_topic', 'policy_jobs_info', 'Tra cứu thông tin chính sách, việc làm', 'Finding information on policies and jobs');

ALTER TABLE users ADD COLUMN member_id uuid REFERENCES members (id);
CREATE INDEX users_member ON users (member_id);
