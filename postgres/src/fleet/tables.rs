//! The fleet's control tables (in the target's schema) and the triggers on the source's
//! tables that keep them told of every change.

/// The control tables:
/// - `partition_source`: per partition (site), the source's version, bumped by the
///   triggers in the same transaction as the change;
/// - `partition`: per partition, the source version the target holds (`base_version`) and
///   the lease (`owner`, `expires_at`), the claims made since its last application and
///   the last error;
/// - `partition_applied`: one row per application, keyed by partition and version, so one
///   version can never be applied twice, with the claims it took (more than one: a worker
///   took over a lease that expired);
/// - `partition_change`: per version of a partition, the devices its statement touched
///   (`NULL`: the site itself, so the whole partition), so a sync can read only those.
pub(crate) fn control_sql(
    source_version: &str,
    partition: &str,
    applied: &str,
    change: &str,
) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {source_version} (
            name    text   PRIMARY KEY,
            version bigint NOT NULL
        );
        CREATE TABLE IF NOT EXISTS {partition} (
            name         text    PRIMARY KEY,
            base_version bigint  NOT NULL DEFAULT 0,
            owner        text,
            expires_at   timestamptz,
            claims       integer NOT NULL DEFAULT 0,
            last_error   text
        );
        CREATE TABLE IF NOT EXISTS {applied} (
            partition    text        NOT NULL,
            base_version bigint      NOT NULL,
            worker       text        NOT NULL,
            claims       integer     NOT NULL,
            applied_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
            PRIMARY KEY (partition, base_version)
        );
        CREATE TABLE IF NOT EXISTS {change} (
            partition text   NOT NULL,
            device    text,
            version   bigint NOT NULL
        );
        CREATE INDEX IF NOT EXISTS partition_change_by_version ON {change} (partition, version);"
    )
}

/// The function that marks partitions changed: for each (site, device) pair (device
/// `NULL` for the site itself) it bumps the site's source version, records the device
/// under that version, makes sure the site has a lease row, and notifies `channel` with
/// the site's name at commit. And the statement-level triggers on the source's three
/// tables that call it with the pairs their statement touched: one call per statement, not
/// per row, so a COPY of a million rows costs one call. A `TRUNCATE` of any of them marks
/// every partition changed, whole.
pub(crate) fn trigger_sql(names: &TriggerNames<'_>, source: [&str; 3], prefix: &str) -> String {
    let TriggerNames {
        touch,
        source_version,
        partition,
        change,
        channel,
    } = names;
    let [site, device, interface] = source;
    let mut sql = format!(
        "CREATE OR REPLACE FUNCTION {touch}(sites text[], devices text[]) RETURNS void
         LANGUAGE plpgsql AS $fn$
        BEGIN
            WITH bumped AS (
                INSERT INTO {source_version} (name, version)
                    SELECT DISTINCT s, 1 FROM unnest(sites) AS s WHERE s IS NOT NULL
                    ON CONFLICT (name) DO UPDATE SET version = {source_version}.version + 1
                    RETURNING name, version)
            INSERT INTO {change} (partition, device, version)
                SELECT DISTINCT b.name, c.device, b.version
                  FROM bumped AS b JOIN unnest(sites, devices) AS c (site, device)
                    ON c.site = b.name;
            INSERT INTO {partition} (name)
                SELECT DISTINCT s FROM unnest(sites) AS s WHERE s IS NOT NULL
                ON CONFLICT (name) DO NOTHING;
            -- The site's name, cut to what a payload may hold (8000 bytes; a listener only
            -- wakes on it).
            PERFORM pg_notify('{channel}', left(d.s, 1000))
               FROM (SELECT DISTINCT s FROM unnest(sites) AS s WHERE s IS NOT NULL) AS d;
        END
        $fn$;\n"
    );
    // The device's site as it is once every move of the device that is under way has
    // committed: `FOR SHARE` waits for such a move and reads the row it left (a plain read
    // would see the site before the move, and the edit would bump only the old site).
    let interface_site =
        format!("(SELECT d.site FROM {device} AS d WHERE d.name = r.device FOR SHARE)");
    for (table, name, site_of, device_of) in [
        (site, "site", "r.name".to_owned(), "NULL::text"),
        (device, "device", "r.site".to_owned(), "r.name"),
        (interface, "interface", interface_site, "r.device"),
    ] {
        let function = format!("{prefix}_touch_{name}");
        let pairs = |rows: &str| {
            format!("SELECT DISTINCT {site_of} AS site, {device_of} AS device FROM {rows} AS r")
        };
        let (new_rows, old_rows) = (pairs("new_rows"), pairs("old_rows"));
        sql.push_str(&format!(
            "CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $fn$
            DECLARE
                sites   text[];
                devices text[];
            BEGIN
                IF TG_OP = 'INSERT' THEN
                    SELECT array_agg(c.site), array_agg(c.device) INTO sites, devices
                      FROM ({new_rows}) AS c;
                ELSIF TG_OP = 'DELETE' THEN
                    SELECT array_agg(c.site), array_agg(c.device) INTO sites, devices
                      FROM ({old_rows}) AS c;
                ELSE
                    SELECT array_agg(c.site), array_agg(c.device) INTO sites, devices
                      FROM ({new_rows} UNION {old_rows}) AS c;
                END IF;
                IF sites IS NOT NULL THEN
                    PERFORM {touch}(sites, devices);
                END IF;
                RETURN NULL;
            END
            $fn$;
            CREATE OR REPLACE TRIGGER statesync_insert AFTER INSERT ON {table}
                REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {function}();
            CREATE OR REPLACE TRIGGER statesync_update AFTER UPDATE ON {table}
                REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
                FOR EACH STATEMENT EXECUTE FUNCTION {function}();
            CREATE OR REPLACE TRIGGER statesync_delete AFTER DELETE ON {table}
                REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION {function}();\n"
        ));
    }
    // A TRUNCATE has no rows to tell: it changes every partition there is, whole.
    let truncated = format!("{prefix}_touch_all");
    sql.push_str(&format!(
        "CREATE OR REPLACE FUNCTION {truncated}() RETURNS trigger LANGUAGE plpgsql AS $fn$
        DECLARE
            sites text[];
        BEGIN
            SELECT array_agg(name) INTO sites FROM {source_version};
            IF sites IS NOT NULL THEN
                PERFORM {touch}(sites, array_fill(NULL::text, ARRAY[cardinality(sites)]));
            END IF;
            RETURN NULL;
        END
        $fn$;\n"
    ));
    for table in source {
        sql.push_str(&format!(
            "CREATE OR REPLACE TRIGGER statesync_truncate AFTER TRUNCATE ON {table}
                FOR EACH STATEMENT EXECUTE FUNCTION {truncated}();\n"
        ));
    }
    sql
}

/// The names [`trigger_sql`] needs.
pub(crate) struct TriggerNames<'a> {
    pub(crate) touch: &'a str,
    pub(crate) source_version: &'a str,
    pub(crate) partition: &'a str,
    pub(crate) change: &'a str,
    pub(crate) channel: &'a str,
}
