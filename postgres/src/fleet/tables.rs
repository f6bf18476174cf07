//! The fleet's control tables (in the target's schema) and the triggers on the source's
//! tables that keep them told of every change.

/// The control tables:
/// - `partition_source`: per partition (site), the source's version, bumped by the
///   triggers in the same transaction as the change;
/// - `partition`: per partition, the source version the target holds (`base_version`) and
///   the lease (`owner`, `expires_at`), the claims made and the last error;
/// - `partition_applied`: one row per application, keyed by partition and version, so one
///   version can never be applied twice.
pub(crate) fn control_sql(source_version: &str, partition: &str, applied: &str) -> String {
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
            applied_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
            PRIMARY KEY (partition, base_version)
        );"
    )
}

/// The function that marks partitions changed (bumps their source version, makes sure
/// they have a lease row, and notifies `channel` with each name at commit), and the
/// statement-level triggers on the source's three tables that call it with the sites their
/// statement touched. One call per statement, not per row: a COPY of a million rows
/// touches each site once.
pub(crate) fn trigger_sql(
    touch: &str,
    source_version: &str,
    partition: &str,
    channel: &str,
    source: [&str; 3],
    prefix: &str,
) -> String {
    let [site, device, interface] = source;
    let mut sql = format!(
        "CREATE OR REPLACE FUNCTION {touch}(sites text[]) RETURNS void LANGUAGE plpgsql AS $fn$
        BEGIN
            INSERT INTO {source_version} (name, version)
                SELECT DISTINCT s, 1 FROM unnest(sites) AS s WHERE s IS NOT NULL
                ON CONFLICT (name) DO UPDATE SET version = {source_version}.version + 1;
            INSERT INTO {partition} (name)
                SELECT DISTINCT s FROM unnest(sites) AS s WHERE s IS NOT NULL
                ON CONFLICT (name) DO NOTHING;
            PERFORM pg_notify('{channel}', s) FROM (SELECT DISTINCT s FROM unnest(sites) AS s WHERE s IS NOT NULL) AS d;
        END
        $fn$;\n"
    );
    let interface_site = format!("(SELECT d.site FROM {device} AS d WHERE d.name = r.device)");
    for (table, name, site_of) in [
        (site, "site", "r.name".to_owned()),
        (device, "device", "r.site".to_owned()),
        (interface, "interface", interface_site),
    ] {
        let function = format!("{prefix}_touch_{name}");
        sql.push_str(&format!(
            "CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $fn$
            BEGIN
                IF TG_OP = 'INSERT' THEN
                    PERFORM {touch}(ARRAY(SELECT DISTINCT {site_of} FROM new_rows AS r));
                ELSIF TG_OP = 'DELETE' THEN
                    PERFORM {touch}(ARRAY(SELECT DISTINCT {site_of} FROM old_rows AS r));
                ELSE
                    PERFORM {touch}(ARRAY(SELECT {site_of} FROM new_rows AS r
                                          UNION SELECT {site_of} FROM old_rows AS r));
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
    sql
}
